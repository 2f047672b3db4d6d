"""What the person is told about their data, what they can see of it, and erasing it.

- The notice (`privacy_notice`): said once in a conversation, in its first turn, before the first question: what
  is kept, why, how long, who sees it, how to see and erase it. The person's first answer after it records the
  acceptance (time and wording version) in the conversation.
- `/mesdonnees`: the answers in words (the labels of the buttons chosen), the callback requests (state, number,
  moment), when the notice and the callback consent were accepted, and when each will be erased.
- `/oublier`: after a confirmation, the conversation and the personal fields of its callback requests are erased
  (the engine's transaction: Transaction.forget); the anonymous fields stay for the statistics.

What is recorded lives in the conversation's privacy record, kept when the person starts again (/start) and
erased with everything else (/oublier, retention).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import PARIS, now
from bot.core.messages import Inbound, Reply
from bot.core.slots import SLOT_TITLES, UNKNOWN
from bot.core.text import national
from bot.engine.conversation import ConfirmForget, Notice
from bot.engine.inbound import button_value
from bot.engine.machine import ENDED_STATE, FORGET_STATE
from bot.engine.outcomes import Ask, Forget, Informed, Interrupt, Missed, Move, Outcome, Reprompt, Resume, Say, Send
from bot.engine.view import View
from bot.storage.records import CallbackRow
from bot.understanding.matching import build_candidates, match_one

NOTICE_VERSION = "notice-v1"  # recorded with the acceptance: which wording of `privacy_notice` the person read
CallbackReader = Callable[[str], Awaitable[Sequence[CallbackRow]]]


@dataclass(frozen=True, slots=True)
class PrivacyTerms:
    """The retention periods people are told (Settings: RETENTION_CONVERSATIONS_DAYS, RETENTION_CALLBACKS_DAYS)."""

    conversation_days: int = 180
    callback_days: int = 90

    def variables(self) -> dict[str, str]:
        """`{retention_answers}`, `{retention_phone}` of the texts: "6 mois", "3 mois"."""
        return {
            "retention_answers": duration(self.conversation_days),
            "retention_phone": duration(self.callback_days),
        }


def duration(days: int) -> str:
    """A number of days as people say it: "1 an", "6 mois", "2 semaines", "45 jours"."""
    for size, one, many in ((365, "an", "ans"), (30, "mois", "mois"), (7, "semaine", "semaines")):
        if days >= size and days % size == 0:
            count = days // size
            return f"{count} {one if count == 1 else many}"
    return f"{days} jour" if days == 1 else f"{days} jours"


def day(moment: datetime) -> str:
    """ "21/05/2027" (Paris time)."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y")


def day_and_time(moment: datetime) -> str:
    """ "23/11/2026 à 10:42" (Paris time)."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


class PrivacyDialogue:
    def __init__(
        self, key: str, terms: PrivacyTerms, callbacks_of: CallbackReader | None, states: frozenset[str]
    ) -> None:
        self.key = key
        self.terms = terms
        self.callbacks_of = callbacks_of
        self.states = states  # where "non" to /oublier may go back to: the states of the conversation's flow

    # ----- the notice ------------------------------------------------------------------------------------------
    def inform(self, view: View, replies: Sequence[Reply]) -> list[Outcome]:
        """Before the question of this turn, the notice, when this conversation has not shown it yet: added to the
        plain message just before the question (the welcome), else as a message of its own."""
        notice = view.conversation.privacy.notice
        if notice is not None and notice.version == NOTICE_VERSION:
            return []
        asking = [i for i, r in enumerate(replies) if r.buttons or r.request]
        if not asking:
            return []  # nothing asked in this turn: the notice comes with the next question
        at = asking[-1]
        text = view.label("privacy_notice")
        before = replies[at - 1] if at > 0 else None
        informed = list(replies)
        if before is not None and not (before.buttons or before.request or before.offers or before.edit):
            informed[at - 1] = dataclasses.replace(before, text=f"{before.text}\n\n{text}")
        else:
            informed.insert(at, Reply(text))
        return [Informed(tuple(informed), Notice(NOTICE_VERSION, now()))]

    # ----- /oublier ---------------------------------------------------------------------------------------------
    def ask_forget(self, view: View) -> list[Outcome]:
        """Everything is erased only once confirmed; "non" goes back to where the person was."""
        if view.state == FORGET_STATE:
            return [self.prompt_forget(view)]
        return [Interrupt(ConfirmForget(view.state)), Move(FORGET_STATE), self.prompt_forget(view)]

    def prompt_forget(self, view: View) -> Ask:
        options = (("yes", view.label("forget_yes_label")), ("no", view.label("forget_no_label")))
        return Ask(view.flow.messages["forget_confirm"], options)

    def answer_forget(self, view: View, inbound: Inbound) -> list[Outcome]:
        messages = view.flow.messages
        candidates = build_candidates(
            [
                ("yes", ["oui", *messages["forget_yes_label"].variants.values()]),
                ("no", ["non", *messages["forget_no_label"].variants.values()]),
            ]
        )
        value = button_value(inbound) or match_one(inbound.text, candidates, ["yes", "no"], allow_unknown=False)
        if value == "yes":
            return [Forget(), Say("forget_done"), Move(ENDED_STATE)]  # the engine erases it all in the transaction
        if value == "no":
            frame = view.conversation.interruption(ConfirmForget)
            back = frame.back if frame is not None else view.flow.start
            back = back if back in self.states else view.flow.start
            return [Resume(ConfirmForget), Say("forget_cancelled"), Move(back), Reprompt()]
        return [Missed()]

    # ----- /mesdonnees -----------------------------------------------------------------------------------------
    async def show(self, view: View) -> list[Outcome]:
        """What is stored about the person, in words, in one message."""
        callbacks = list(await self.callbacks_of(self.key)) if self.callbacks_of else []
        answers = self.answer_lines(view)
        conversation = view.conversation
        notice = conversation.privacy.notice
        accepted = notice.accepted_at if notice is not None else None
        if not answers and not callbacks and accepted is None:
            return [Say("my_data_nothing")]
        messages = view.flow.messages
        parts = [view.label("my_data_intro")]
        if answers:
            parts.append(view.render(messages["my_data_answers"], answers="\n".join(answers)))
        if conversation.persona is not None:
            parts.append(view.label("my_data_profile"))
        if accepted is not None:
            parts.append(view.render(messages["my_data_notice"], date=day_and_time(accepted)))
        parts += [self.callback_text(view, row) for row in sorted(callbacks, key=_created)]
        erase = now() + timedelta(days=self.terms.conversation_days)  # this turn is the latest: counted from now
        parts.append(view.render(messages["my_data_erasure"], erase_date=day(erase)))
        return [Send(Reply("\n\n".join(p for p in parts if p.strip())))]

    def answer_lines(self, view: View) -> list[str]:
        """ "• Appareils : Un smartphone, Un ordinateur", in the flow's order, with the buttons' own words."""
        answers = view.conversation.answers
        lines: list[str] = []
        seen: set[str] = set()
        for step in view.flow.steps.values():
            slot = step.slot
            if slot is None or slot in seen or slot not in answers:
                continue
            seen.add(slot)
            labels = {c.value: view.render(c.label) for c in step.choices}
            labels[UNKNOWN] = view.label("unknown_label")
            value = answers[slot]
            words = [labels.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value])]
            title = SLOT_TITLES.get(slot) or (view.render(step.text) if step.text else slot)
            lines.append(f"• {title} : {', '.join(words)}")
        return lines

    def callback_text(self, view: View, row: CallbackRow) -> str:
        consent = view.conversation.privacy.consents.get(row.id)
        consent_at = consent.consent_at if consent is not None else None
        created = row.created_at or now()
        moment = view.label(f"moment_{row.moment}") if row.moment in ("morning", "afternoon", "any") else ""
        status = f"callback_status_{row.status}"
        return view.render(
            view.flow.messages["my_data_callback"],
            date=day_and_time(created),
            status=view.label(status) if status in view.flow.messages else row.status,
            phone=national(row.phone) or view.label("my_data_erased"),
            moment=moment[:1].lower() + moment[1:],
            name=f" Prénom : {row.first_name}." if row.first_name else "",
            consent_date=day_and_time(consent_at or created),
            erase_date=day(created + timedelta(days=self.terms.callback_days)),
        )


def _created(row: CallbackRow) -> datetime:
    return row.created_at or now()
