"""The flow's own questions and menus: a button pressed, a typed answer read by the understanding, several
choices ticked one by one. Returns outcomes like the other sub-dialogues (the location question belongs to the
places).

A typed answer read with certainty is taken, with any answers the same message gives to later questions; read
with doubt, it is asked back (« Si je comprends bien : … ? » Oui / Non); not read, it is said kindly and kept,
masked, for the coordinators.
"""

from __future__ import annotations

from bot.core.clock import now
from bot.core.commands import CONFIRM
from bot.core.messages import Button, Inbound, InboundKind, Reply
from bot.core.slots import UNKNOWN, SlotValue
from bot.core.text import normalise, parse_coordinates
from bot.engine.bundle import FlowBundle
from bot.engine.conversation import Conversation, Guess
from bot.engine.inbound import CONFIRM_WORDS, button_value, exclusive_clean, is_empty, parse_input, toggle
from bot.engine.outcomes import Guessed, Missed, Next, Outcome, Prompt, Rated, Say, Send, Store, Toggled, Unclear
from bot.engine.view import View
from bot.language.model import Step
from bot.understanding.analysis import read as read_text
from bot.understanding.masking import mask_personal
from bot.understanding.question import Context, Option, Question, Understood
from bot.understanding.reader import spot, understand

GUESS_YES = "guess_yes"  # the buttons under « Si je comprends bien : … ? »
GUESS_NO = "guess_no"


class QuestionDialogue:
    def __init__(self, bundle: FlowBundle) -> None:
        self.bundle = bundle

    def answer(self, view: View, step: Step, inbound: Inbound) -> list[Outcome]:
        conversation = view.conversation
        guess = conversation.guess
        settled: list[Outcome] = []
        if guess is not None:
            settled = [Guessed(None)]
            if guess.step == step.id and not self.clear_answer(view, step, inbound):
                reply = guess_reply(view, inbound)
                if reply == "yes":
                    value: SlotValue = list(guess.values) if step.multi else guess.values[0]
                    return [*settled, *self.take(view, step, value, None)]
                if reply == "no":
                    return [*settled, Unclear(step.id, guess.text, "refused"), Say("guess_refused"), Prompt()]
        if step.kind == "menu":
            return [*settled, *self.answer_menu(view, step, inbound)]
        if step.multi:
            return [*settled, *self.answer_multi(view, step, inbound)]
        return [*settled, *self.answer_question(view, step, inbound)]

    def context(self, conversation: Conversation) -> Context:
        for_whom = conversation.answers.get("for_whom")
        return Context(for_whom if isinstance(for_whom, str) else None, now().year)

    def read(self, view: View, step: Step, text: str) -> Understood:
        return understand(
            text, self.bundle.question_for(step), self.context(view.conversation), besides=self.later(view, step)
        )

    def later(self, view: View, step: Step) -> list[Question]:
        """The questions still to come: a message may answer them too."""
        answers = view.conversation.answers
        return [
            self.bundle.question_for(s)
            for s in self.bundle.flow.steps.values()
            if s.kind == "ask" and s.choices and s.slot not in answers and s.slot != step.slot
        ]

    def answer_menu(self, view: View, step: Step, inbound: Inbound) -> list[Outcome]:
        value = button_value(inbound)
        if value is None and inbound.kind is InboundKind.TEXT:
            understood = self.read(view, step, inbound.text)
            if step.feedback == "word" and not understood.sure and not is_empty(inbound):
                # the optional word: kept masked, then on as the first button goes (« Non merci »)
                return [Rated(None, kept(inbound.text)), Next(step, step.choices[0])]
            if understood.level == "doubt":
                return self.doubt(view, step, understood, inbound.text)
            value = understood.values[0] if understood.sure else None
        choice = next((c for c in step.choices if c.value == value), None)
        if choice is None:
            return self.missed(step, inbound)
        if step.feedback == "rating" and choice.value != "skip":
            return [Rated(choice.value, None), Next(step, choice)]
        return [Next(step, choice)]

    def answer_question(self, view: View, step: Step, inbound: Inbound) -> list[Outcome]:
        order = [c.value for c in step.choices] + ([UNKNOWN] if step.allow_unknown else [])
        value: str | None = None
        if inbound.kind is InboundKind.BUTTON:
            value = inbound.values[0] if inbound.values and inbound.values[0] in order else None
        elif inbound.kind is InboundKind.TEXT:
            if step.choices:
                understood = self.read(view, step, inbound.text)
                if understood.sure:
                    return self.take(view, step, understood.values[0], inbound.text, understood)
                if understood.level == "doubt":
                    return self.doubt(view, step, understood, inbound.text)
            if step.input is not None:
                value = parse_input(step.input, inbound.text)
        elif inbound.kind is InboundKind.LOCATION and step.input == "location":
            value = parse_coordinates(inbound.latitude, inbound.longitude)
        if value is None:
            if is_empty(inbound):
                return [Missed("empty_input")]
            if step.input is not None:
                invalid = step.invalid or self.bundle.flow.messages[f"invalid_{step.input}"]
                return [Missed(invalid)]
            return self.missed(step, inbound)
        return [Store(step, value)]

    def answer_multi(self, view: View, step: Step, inbound: Inbound) -> list[Outcome]:
        order = [c.value for c in step.choices] + ([UNKNOWN] if step.allow_unknown else [])
        pending = list(view.conversation.pending or ())
        if inbound.kind is InboundKind.BUTTON and inbound.values and inbound.values[0] in order:
            return [Toggled(tuple(toggle(step, pending, inbound.values[0]))), Prompt(edit=True)]
        if inbound.kind is InboundKind.CHOICES and inbound.values and all(v in order for v in inbound.values):
            chosen = list(dict.fromkeys(inbound.values))
            return [Store(step, exclusive_clean(step, chosen))]
        confirm = (inbound.kind is InboundKind.BUTTON and inbound.values == (CONFIRM,)) or (
            inbound.kind is InboundKind.TEXT and normalise(inbound.text) in CONFIRM_WORDS
        )
        if confirm:
            return [Store(step, pending)] if pending else [Missed("multi_hint")]
        if inbound.kind is InboundKind.TEXT:
            understood = self.read(view, step, inbound.text)
            if understood.sure:
                return self.take(view, step, exclusive_clean(step, list(understood.values)), inbound.text, understood)
            if understood.level == "doubt":
                return self.doubt(view, step, understood, inbound.text)
        return self.missed(step, inbound)

    # ----- what follows a reading ----------------------------------------------------------------------------
    def take(
        self, view: View, step: Step, value: SlotValue, text: str | None, understood: Understood | None = None
    ) -> list[Outcome]:
        """The answer, and what the same message says of questions still to come (when it says more)."""
        says_more = text is not None and (understood is None or _says_more(text, understood))
        return [Store(step, value, self.volunteered(view, step, text) if text and says_more else {})]

    def volunteered(self, view: View, step: Step, text: str) -> dict[str, SlotValue]:
        later = self.later(view, step)
        if not later:
            return {}
        found = spot(text, later, self.context(view.conversation))
        multi = {q.slot for q in later if q.multi}
        return {slot: list(u.values) if slot in multi else u.values[0] for slot, u in found.items()}

    def opening(self, inbound: Inbound) -> dict[str, SlotValue]:
        """The answers a first message gives (« ma mère a 85 ans et n'a qu'un fixe »), before any question."""
        if inbound.kind is not InboundKind.TEXT or len(normalise(inbound.text).split()) < 2:
            return {}
        asks = [self.bundle.question_for(s) for s in self.bundle.flow.steps.values() if s.kind == "ask" and s.choices]
        found = spot(inbound.text, asks, Context(None, now().year))
        multi = {q.slot for q in asks if q.multi}
        return {slot: list(u.values) if slot in multi else u.values[0] for slot, u in found.items()}

    def doubt(self, view: View, step: Step, understood: Understood, text: str) -> list[Outcome]:
        """« Si je comprends bien : ce n'est pas pour moi ? » with Oui / Non."""
        labels = {c.value: view.render(c.label) for c in step.choices}
        labels[UNKNOWN] = view.label("unknown_label")
        return ask_back(view, step.id, understood.values, [labels.get(v, v) for v in understood.values], text)

    def clear_answer(self, view: View, step: Step, inbound: Inbound) -> bool:
        """« non, elle a du mal à marcher » to a guess answers the question itself, clearly."""
        return (
            inbound.kind is InboundKind.TEXT
            and bool(step.choices)
            and len(normalise(inbound.text).split()) > 2
            and self.read(view, step, inbound.text).sure
        )

    def missed(self, step: Step, inbound: Inbound) -> list[Outcome]:
        if is_empty(inbound):
            return [Missed("empty_input")]
        unclear: list[Outcome] = []
        if inbound.kind is InboundKind.TEXT and read_text(inbound.text).terms:  # « bonjour » teaches nothing
            unclear = [Unclear(step.id, kept(inbound.text), "not_understood")]
        return [*unclear, Missed("not_understood")]


YES_WORDS = ("oui", "c'est ça", "exactement", "tout à fait", "voilà", "d'accord", "oui c'est bien ça", "absolument")
NO_WORDS = ("non", "pas du tout", "ce n'est pas ça", "non pas ça", "faux", "vous vous trompez", "erreur")


def ask_back(view: View, question: str, values: tuple[str, ...], words: list[str], text: str) -> list[Outcome]:
    """« Si je comprends bien : … ? » with Oui / Non, the guess kept (masked) until the person answers it."""
    said = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " et " + words[-1]
    said = said[:1].lower() + said[1:]
    reply = Reply(
        view.render(view.flow.messages["guess_question"], answer=said),
        (Button(view.label("guess_yes_label"), GUESS_YES), Button(view.label("guess_no_label"), GUESS_NO)),
    )
    return [Guessed(Guess(question, values, kept(text))), Send(reply)]


def guess_reply(view: View, inbound: Inbound) -> str | None:
    """« oui » / « non » to a guess; None for anything else (then read as a new answer to the question)."""
    value = button_value(inbound)
    if value in (GUESS_YES, GUESS_NO):
        return "yes" if value == GUESS_YES else "no"
    if inbound.kind is not InboundKind.TEXT:
        return None
    messages = view.flow.messages
    question = Question(
        "guess",
        None,
        (
            Option("yes", (*messages["guess_yes_label"].variants.values(), *YES_WORDS)),
            Option("no", (*messages["guess_no_label"].variants.values(), *NO_WORDS)),
        ),
    )
    understood = understand(inbound.text, question)
    return understood.values[0] if understood.sure else None


def _says_more(text: str, understood: Understood) -> bool:
    """Words that mean something and did not carry the answer: the message may answer later questions too."""
    carried = set(normalise(" ".join(understood.evidence)).split())
    return any(t.weight >= 0.5 and normalise(t.word) not in carried for t in read_text(text).terms)


def kept(text: str) -> str:
    """What is kept of a typed answer for the coordinators: masked (phone numbers, e-mail addresses, names), then
    cut by the masking itself, so that no number is half shown."""
    return mask_personal(text)
