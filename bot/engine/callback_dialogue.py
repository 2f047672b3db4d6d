"""The callback request inside a conversation: consent, who to call and who the writer is to the person (for a
relative), phone number, moment, how to call them (a first name, optional), then stored. Who to call comes before
the number, so the relative knows whose number is asked for, and every later text speaks of whoever will be
called.

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
from bot.core.text import parse_name, parse_phone
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
from bot.language.callback_answers import CALLBACK_PHASES, SKIP
from bot.language.model import Step
from bot.places.offers import ResolvedLocation
from bot.storage import NewCallback
from bot.understanding.masking import mask_personal
from bot.understanding.question import NOTHING, Context, Understood, phase_question
from bot.understanding.reader import understand

CONSENT_TEXT_VERSION = "callback-v1"  # recorded with the consent: which wording the person agreed to
MOMENTS = ("morning", "afternoon", "any")
QUESTIONS = {
    "consent": "callback_consent",
    "phone": "callback_phone",
    "moment": "callback_moment",
    "who": "callback_who",
    "relation": "callback_relation",
    "name": "callback_name",
}
TYPED = ("phone", "name")  # phases answered in the person's own words: never asked back, never kept when unclear


class CallbackDialogue:
    def __init__(self, key: str, queues: QueueSet, where: Callable[[Conversation], ResolvedLocation | None]) -> None:
        self.key = key  # the conversation's, recorded with the request
        self.queues = queues
        self.where = where  # where the person is: the team covering it takes the request

    def prompt(self, view: View, phase: str) -> Ask:
        options = tuple((value, view.label(label)) for value, label in CALLBACK_PHASES[phase])
        return Ask(view.flow.messages[QUESTIONS[phase]], options, "contact" if phase == "phone" else None)

    def reading(self, view: View, step: Step, phase: str, inbound: Inbound) -> Understood:
        """A button pressed, or the typed text read against the phase's answers (as the person it is for)."""
        value = button_value(inbound)
        if value in [value for value, _ in CALLBACK_PHASES[phase]]:
            return Understood((value,), 1.0, ())
        return self.typed(view, step, phase, inbound.text) if inbound.text else NOTHING

    def typed(self, view: View, step: Step, phase: str, text: str) -> Understood:
        for_whom = view.conversation.answers.get("for_whom")
        context = Context(for_whom if isinstance(for_whom, str) else None, now().year)
        return understand(text, phase_question(step, phase), context)

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
        if value is None and reading.level == "doubt" and phase not in TYPED:
            # « je travaille le matin » → « Si je comprends bien : l'après-midi ? » Oui / Non
            words = [view.label(label) for v, label in CALLBACK_PHASES[phase] if v == reading.values[0]]
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
            draft = dataclasses.replace(draft, consent_at=now())
            if view.conversation.answers.get("for_whom") == "relative":
                return [Accept(), Draft(draft), *self.ask(view, step, "who")]
            return [Accept(), Draft(dataclasses.replace(draft, contact="person")), *self.ask(view, step, "phone")]
        if phase == "phone":
            phone = parse_phone(inbound.text) if inbound.kind in (InboundKind.TEXT, InboundKind.CONTACT) else None
            if phone is None:
                return [Missed("callback_phone_invalid")]
            return self.following(view, step, dataclasses.replace(draft, phone=phone))
        if phase == "name":
            name = "" if value == SKIP else parse_name(inbound.text) if inbound.kind is InboundKind.TEXT else None
            if name is None:  # never kept as « not understood »: it is someone's name
                return [Missed("callback_name_invalid")]
            return self.following(view, step, dataclasses.replace(draft, name=name))
        if value is None:
            return [*self.unclear(step, phase, inbound), Missed()]
        if phase == "who":
            return self.following(view, step, dataclasses.replace(draft, contact=value))
        if phase == "relation":
            return self.following(view, step, dataclasses.replace(draft, relation=value))
        return self.following(view, step, dataclasses.replace(draft, moment=value))

    def following(self, view: View, step: Step, draft: CallbackDraft) -> list[Outcome]:
        """The next question the draft has no answer for (a draft begun before a question was added may hold the
        later ones already), then the request recorded."""
        relative = view.conversation.answers.get("for_whom") == "relative"
        for phase, missing in (
            ("who", relative and draft.contact is None),
            ("relation", relative and draft.relation is None),
            ("phone", draft.phone is None),
            ("moment", draft.moment is None),
            ("name", draft.name is None),
        ):
            if missing:
                return [Draft(draft), *self.ask(view, step, phase)]
        return self.record(view, step, draft)

    def unclear(self, step: Step, phase: str, inbound: Inbound) -> list[Outcome]:
        """A typed answer not understood, kept masked for the coordinators (never a number: not this phase)."""
        if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
            return []
        return [Unclear(f"{step.id}.{phase}", mask_personal(inbound.text), "not_understood")]

    def ask(self, view: View, step: Step, phase: str) -> list[Outcome]:
        return [Move(f"{step.id}.{phase}"), self.prompt(view, phase)]

    def record(self, view: View, step: Step, draft: CallbackDraft) -> list[Outcome]:
        if draft.contact is None and view.conversation.answers.get("for_whom") != "relative":
            draft = dataclasses.replace(draft, contact="person")  # a draft stored before who was settled first
        if draft.consent_at is None or draft.phone is None or draft.moment is None or draft.contact is None:
            # A number that no longer decrypts (its key was dropped) is left out when the conversation is read:
            # the question it answered is asked again.
            phase = "consent" if draft.consent_at is None else "who" if draft.contact is None else "phone"
            return [Draft(draft), *self.ask(view, step, phase)]
        conversation = view.conversation
        answers = {k: v for k, v in conversation.answers.items() if v not in (UNKNOWN, [UNKNOWN])}
        place = self.where(conversation)
        queue = self.queues.route(place)  # the team covering where the person is
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
            first_name=draft.name or None,
            commune=place.commune or None if place else None,  # the commune only: never the coordinates
            code_insee=place.code_insee or None if place else None,
            relation=draft.relation if draft.relation not in (None, SKIP) else None,
            channel=self.key.partition(":")[0] or None,
        )
        moment = view.label(f"moment_said_{draft.moment}")  # « le matin », « dès que possible »
        return [
            RecordCallback(request, Consent(draft.consent_at, CONSENT_TEXT_VERSION)),
            Say("callback_done", {"moment": moment, "queue": queue.label}),
            *self.leave(view, step),
        ]

    def leave(self, view: View, step: Step) -> list[Outcome]:
        """After the callback request (made or declined): back to the interrupted question, if any."""
        frame = view.conversation.interruption(TalkToHuman)
        steps = view.flow.steps
        if frame is not None and frame.resume in steps and steps[frame.resume].waits:
            return [Resume(TalkToHuman), Say("resume"), Move(frame.resume), Prompt()]
        return [Resume(TalkToHuman), Next(step)]
