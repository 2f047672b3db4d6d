"""The callback request inside a conversation: consent, phone number, moment, who to call, then stored.

The request is staged with the turn's writes and committed with the conversation, so the confirmation the
person reads is only returned once the request is in the database. Phases are sub-states of the
`request_callback` step (`rappel.consent`, …).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bot.callbacks.queues import QueueSet
from bot.core.clock import now
from bot.core.messages import Inbound, InboundKind
from bot.core.slots import UNKNOWN
from bot.core.text import parse_phone
from bot.engine.conversation import CallbackDraft, Consent, Conversation, TalkToHuman
from bot.engine.inbound import button_value
from bot.engine.outcomes import (
    Accept,
    Ask,
    Draft,
    Guessed,
    Missed,
    Move,
    Next,
    Outcome,
    Prompt,
    RecordCallback,
    Resume,
    Say,
    Unclear,
)
from bot.engine.questions import ask_back, guess_reply
from bot.engine.view import View
from bot.language.flows import Flow
from bot.language.model import Step
from bot.places.offers import ResolvedLocation
from bot.storage import NewCallback
from bot.understanding.masking import mask_personal
from bot.understanding.question import NOTHING, Context, Option, Question, Understood
from bot.understanding.reader import understand

CONSENT_TEXT_VERSION = "callback-v1"  # recorded with the consent: which wording the person agreed to
MOMENTS = ("morning", "afternoon", "any")
# Per phase: (value, what people write for it, message holding the button label).
OPTIONS: dict[str, list[tuple[str, list[str], str]]] = {
    "consent": [
        (
            "yes",
            ["oui", "d'accord", "volontiers", "bien sûr", "oui oui", "avec plaisir", "je veux bien", "allez-y",
             "oui rappelez-moi", "pas de souci", "ça marche", "entendu", "parfait", "oui merci",
             "ouais", "ok", "oui svp", "oui s'il vous plaît", "d'accord merci", "oui pas de problème",
             "c'est d'accord", "oui je suis d'accord", "oui bien sûr", "ok d'accord", "vas-y", "oui c'est bon"],
            "consent_yes_label",
        ),
        (
            "no",
            ["non", "pas maintenant", "je ne sais pas", "je préfère pas", "non merci", "pas d'accord",
             "finalement non", "non, pas de numéro", "hors de question",
             "surtout pas", "je ne veux pas donner mon numéro", "plus tard",
             "je ne préfère pas", "nan", "non non", "pas aujourd'hui", "je ne veux pas",
             "je préfère ne pas donner mon numéro", "non ça ira", "laissez tomber", "pas envie", "non finalement",
             "je vais réfléchir", "une autre fois", "pas pour l'instant"],
            "consent_no_label",
        ),
    ],
    "phone": [("no", ["non", "annuler", "pas de numéro", "je ne veux pas le donner"], "consent_no_label")],
    "moment": [
        (
            "morning",
            ["le matin", "plutôt le matin", "dans la matinée", "avant midi", "vers 10 heures", "vers 9 heures",
             "de bonne heure", "tôt", "matinée", "le matin de préférence", "plutôt en matinée",
             "avant le repas de midi", "vers 11h", "à 9h", "entre 9h et 11h", "le matin c'est mieux",
             "en début de matinée", "le matin svp", "le matin après 9h"],
            "moment_morning",
        ),
        (
            "afternoon",
            ["l'après-midi", "plutôt l'après-midi", "après le déjeuner", "après la sieste", "vers 15 heures",
             "vers 14 heures", "en fin de journée", "vers 16 heures", "après manger", "plutôt l'aprem", "l'aprem",
             "en début d'après-midi", "vers 15h", "après 14h", "après le repas", "en fin d'après-midi", "apres midi",
             "après ma sieste", "vers 17h", "l'après-midi de préférence"],
            "moment_afternoon",
        ),
        (
            "any",
            ["peu importe", "n'importe quand", "quand vous voulez", "comme vous voulez", "toute la journée",
             "ça m'est égal", "je suis toujours là", "à tout moment", "quand ça vous arrange", "pas de préférence",
             "les deux", "je suis là tout le temps", "quand vous pouvez", "n'importe quelle heure",
             "les deux me vont", "je suis toujours à la maison", "peu importe l'heure",
             "je suis disponible tout le temps", "à n'importe quel moment", "toute la journée ça va",
             "je suis à la retraite, je suis dispo", "quand ça vous arrange le mieux"],
            "moment_any",
        ),
    ],
    "who": [
        (
            "person",
            ["elle", "lui", "elle directement", "lui directement", "appelez-la", "appelez-le", "plutôt elle",
             "plutôt lui", "ma mère", "mon père", "directement ma mère", "la personne concernée", "mon proche",
             "c'est mieux de l'appeler elle", "appelez ma maman", "la personne elle-même", "directement",
             "appelez-la directement", "appelez mon père", "ma maman", "mon papa", "ma mère directement",
             "c'est elle qu'il faut appeler", "plutôt ma mère", "mon grand-père", "ma grand-mère", "appelez-le lui",
             "vous pouvez l'appeler elle", "c'est mieux de l'appeler lui", "ma femme", "mon mari", "ma tante",
             "mon oncle", "ma soeur", "mon frère", "ma belle-mère", "mon beau-père", "ma voisine", "mon voisin",
             "ma marraine", "mon parrain", "la dame", "le monsieur", "la dame que j'aide", "la personne que j'aide"],
            "who_person_label",
        ),
        (
            "relative",
            ["moi", "à moi", "rappelez-moi", "appelez-moi", "moi plutôt", "c'est moi qu'il faut appeler",
             "moi, son fils", "moi, sa fille", "pas elle, moi", "moi, je serai avec elle", "mon numéro à moi",
             "moi, je suis sa fille", "plutôt moi", "c'est moi", "appelez-moi plutôt", "mon numéro",
             "moi car elle entend mal", "moi, elle n'entend pas bien", "moi c'est mieux", "à moi, sa petite-fille",
             "moi son petit-fils", "moi sa belle-fille"],
            "who_relative_label",
        ),
    ],
}  # fmt: skip
HOURS = {"morning": (6, 11), "afternoon": (12, 20)}  # « vers 10h »: the moment by the hour said
QUESTIONS = {
    "consent": "callback_consent",
    "phone": "callback_phone",
    "moment": "callback_moment",
    "who": "callback_who",
}


class CallbackDialogue:
    def __init__(self, key: str, queues: QueueSet, where: Callable[[Conversation], ResolvedLocation | None]) -> None:
        self.key = key  # the conversation's, recorded with the request
        self.queues = queues
        self.where = where  # where the person is: the team covering it takes the request

    def prompt(self, view: View, phase: str) -> Ask:
        options = tuple((value, view.label(label)) for value, _, label in OPTIONS[phase])
        return Ask(view.flow.messages[QUESTIONS[phase]], options, "contact" if phase == "phone" else None)

    def reading(self, view: View, step: Step, phase: str, inbound: Inbound) -> Understood:
        """A button pressed, or the typed text read against the phase's answers (as the person it is for)."""
        value = button_value(inbound)
        if value in [value for value, _, _ in OPTIONS[phase]]:
            return Understood((value,), 1.0, ())
        return self.typed(view, step, phase, inbound.text) if inbound.text else NOTHING

    def typed(self, view: View, step: Step, phase: str, text: str) -> Understood:
        for_whom = view.conversation.answers.get("for_whom")
        context = Context(for_whom if isinstance(for_whom, str) else None, now().year)
        return understand(text, phase_question(view.flow, step.id, phase), context)

    def answer(self, view: View, step: Step, phase: str, inbound: Inbound) -> list[Outcome]:
        reading = self.reading(view, step, phase, inbound)
        value = reading.values[0] if reading.sure else None
        settled: list[Outcome] = []
        guess = view.conversation.guess
        if guess is not None:
            settled = [Guessed(None)]
            if guess.step == f"{step.id}.{phase}" and value is None:
                reply = guess_reply(view, inbound)
                if reply == "no":
                    return [*settled, Unclear(guess.step, guess.text, "refused"), Say("guess_refused"), Prompt()]
                value = guess.values[0] if reply == "yes" else None
        if value is None and reading.level == "doubt" and phase != "phone":
            # « je travaille le matin » → « Si je comprends bien : l'après-midi ? » Oui / Non
            words = [view.label(label) for v, _, label in OPTIONS[phase] if v == reading.values[0]]
            return [*settled, *ask_back(view, f"{step.id}.{phase}", reading.values[:1], words, inbound.text)]
        return [*settled, *self.proceed(view, step, phase, inbound, value)]

    def proceed(self, view: View, step: Step, phase: str, inbound: Inbound, value: str | None) -> list[Outcome]:
        draft = view.conversation.draft or CallbackDraft()
        if value == "no" and phase in ("consent", "phone"):
            # Nothing kept: not even a number typed before "non".
            return [Draft(None), Say("callback_declined"), *self.leave(view, step)]
        if phase == "consent":
            if value != "yes":
                return [*self.unclear(step, phase, inbound), Missed()]
            return [Accept(), Draft(dataclasses.replace(draft, consent_at=now())), *self.ask(view, step, "phone")]
        if phase == "phone":
            phone = parse_phone(inbound.text) if inbound.kind in (InboundKind.TEXT, InboundKind.CONTACT) else None
            if phone is None:
                return [Missed("callback_phone_invalid")]
            return [Draft(dataclasses.replace(draft, phone=phone)), *self.ask(view, step, "moment")]
        if value is None:
            return [*self.unclear(step, phase, inbound), Missed()]
        if phase == "moment":
            draft = dataclasses.replace(draft, moment=value)
            if view.conversation.answers.get("for_whom") == "relative":
                return [Draft(draft), *self.ask(view, step, "who")]
            return self.record(view, step, dataclasses.replace(draft, contact="person"), inbound)
        return self.record(view, step, dataclasses.replace(draft, contact=value), inbound)

    def unclear(self, step: Step, phase: str, inbound: Inbound) -> list[Outcome]:
        """A typed answer not understood, kept masked for the coordinators (never a number: not this phase)."""
        if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
            return []
        return [Unclear(f"{step.id}.{phase}", mask_personal(inbound.text), "not_understood")]

    def ask(self, view: View, step: Step, phase: str) -> list[Outcome]:
        return [Move(f"{step.id}.{phase}"), self.prompt(view, phase)]

    def record(self, view: View, step: Step, draft: CallbackDraft, inbound: Inbound) -> list[Outcome]:
        if draft.consent_at is None or draft.phone is None or draft.moment is None or draft.contact is None:
            # A number that no longer decrypts (its key was dropped) is left out when the conversation is read:
            # the question it answered is asked again.
            return [Draft(draft), *self.ask(view, step, "consent" if draft.consent_at is None else "phone")]
        conversation = view.conversation
        answers = {k: v for k, v in conversation.answers.items() if v not in (UNKNOWN, [UNKNOWN])}
        queue = self.queues.route(self.where(conversation))  # the team covering where the person is
        request = NewCallback(
            conversation_key=self.key,
            queue=queue.name,
            persona=conversation.persona.id if conversation.persona else None,
            answers={**answers, "offers": list(conversation.offers.shown)},
            phone=draft.phone,
            moment=draft.moment,
            contact=draft.contact,
            consent_at=draft.consent_at,
            consent_text=CONSENT_TEXT_VERSION,
            first_name=inbound.first_name[:64] or None,
        )
        moment = view.label(f"moment_{draft.moment}")
        return [
            RecordCallback(request, Consent(draft.consent_at, CONSENT_TEXT_VERSION)),
            Say("callback_done", {"moment": moment[:1].lower() + moment[1:], "queue": queue.label}),
            *self.leave(view, step),
        ]

    def leave(self, view: View, step: Step) -> list[Outcome]:
        """After the callback request (made or declined): back to the interrupted question, if any."""
        frame = view.conversation.interruption(TalkToHuman)
        steps = view.flow.steps
        if frame is not None and frame.resume in steps and steps[frame.resume].waits:
            return [Resume(TalkToHuman), Say("resume"), Move(frame.resume), Prompt()]
        return [Resume(TalkToHuman), Next(step)]


def phase_question(flow: Flow, step_id: str, phase: str) -> Question:
    """A phase of the callback request as the understanding reads it (`rappel.who`: « moi » and « elle » differ)."""
    options = tuple(
        Option(value, tuple(flow.messages[label].variants.values()), tuple(examples), HOURS.get(value), value == "any")
        for value, examples, label in OPTIONS[phase]
    )
    return Question(f"{step_id}.{phase}", None, options, persons=phase == "who")
