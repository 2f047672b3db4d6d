"""What the person is told about their data, what they can see of it, and erasing it.

- The notice (`privacy_notice`): said once in a conversation, in its first turn, before the first question: what
  is kept, why, how long, who sees it, how to see and erase it. The person's first answer after it records the
  acceptance (time and wording version) in the conversation's data.
- `/mesdonnees`: the answers in words (the labels of the buttons chosen), the callback requests (state, number,
  moment), when the notice and the callback consent were accepted, and when each will be erased.
- `/oublier`: after a confirmation, the conversation and the personal fields of its callback requests are erased
  (the engine's transaction: Transaction.forget); the anonymous fields stay for the statistics.

What is recorded lives under `data["privacy"]`, kept when the person starts again (/start) and erased with
everything else (/oublier, retention).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.clock import PARIS, now
from bot.core.messages import Inbound, Reply
from bot.core.slots import SLOT_TITLES, UNKNOWN
from bot.core.text import national
from bot.engine.inbound import button_value
from bot.engine.machine import ENDED_STATE, FORGET_STATE
from bot.storage.records import CallbackRow
from bot.understanding.matching import build_candidates, match_one

if TYPE_CHECKING:
    from bot.engine.dialogue import Dialogue

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


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


class PrivacyDialogue:
    def __init__(self, dialogue: Dialogue, terms: PrivacyTerms, callbacks_of: CallbackReader | None) -> None:
        self.d = dialogue
        self.terms = terms
        self.callbacks_of = callbacks_of

    @property
    def record(self) -> dict[str, Any]:
        found: dict[str, Any] = self.d.data.setdefault("privacy", {})
        return found

    # ----- the notice ------------------------------------------------------------------------------------------
    def inform(self) -> None:
        """Before the question of this turn, the notice, when this conversation has not shown it yet: added to the
        plain message just before the question (the welcome), else as a message of its own."""
        notice = self.d.data.get("privacy", {}).get("notice")
        if notice is not None and notice.get("version") == NOTICE_VERSION:
            return
        replies = self.d.replies
        asking = [i for i, r in enumerate(replies) if r.buttons or r.request]
        if not asking:
            return  # nothing asked in this turn: the notice comes with the next question
        at = asking[-1]
        text = self.d.label("privacy_notice")
        before = replies[at - 1] if at > 0 else None
        if before is not None and not (before.buttons or before.request or before.offers or before.edit):
            replies[at - 1] = dataclasses.replace(before, text=f"{before.text}\n\n{text}")
        else:
            replies.insert(at, Reply(text))
        self.record["notice"] = {"version": NOTICE_VERSION, "shown_at": now().isoformat()}

    def accept(self) -> None:
        """The person answers after reading the notice: their acceptance, with its moment, is recorded once."""
        notice = self.d.data.get("privacy", {}).get("notice")
        if notice is not None and "accepted_at" not in notice:
            notice["accepted_at"] = now().isoformat()

    def consented(self, callback_id: str, consent_at: str, version: str) -> None:
        """The consent given for a callback request (its moment and wording), for /mesdonnees."""
        self.record.setdefault("callbacks", {})[callback_id] = {"consent_at": consent_at, "version": version}

    # ----- /oublier ---------------------------------------------------------------------------------------------
    def ask_forget(self) -> None:
        """Everything is erased only once confirmed; "non" goes back to where the person was."""
        if self.d.state != FORGET_STATE:
            self.d.data["forget_return"] = self.d.state
            self.d.move(FORGET_STATE)
        self.prompt_forget()

    def prompt_forget(self) -> None:
        options = [("yes", self.d.label("forget_yes_label")), ("no", self.d.label("forget_no_label"))]
        self.d.question(self.d.flow.messages["forget_confirm"], options)

    async def answer_forget(self, inbound: Inbound) -> None:
        messages = self.d.flow.messages
        candidates = build_candidates(
            [
                ("yes", ["oui", *messages["forget_yes_label"].variants.values()]),
                ("no", ["non", *messages["forget_no_label"].variants.values()]),
            ]
        )
        value = button_value(inbound) or match_one(inbound.text, candidates, ["yes", "no"], allow_unknown=False)
        if value == "yes":
            self.d.writes.forget_conversation()  # the engine erases it all in the turn's transaction
            self.d.forgotten = True
            self.d.say("forget_done")
            self.d.move(ENDED_STATE)
        elif value == "no":
            back = str(self.d.data.pop("forget_return", self.d.flow.start))
            self.d.say("forget_cancelled")
            self.d.move(back if self.d.machine.knows(back) else self.d.flow.start)
            await self.d.reprompt()
        else:
            self.d.missed()

    # ----- /mesdonnees -----------------------------------------------------------------------------------------
    async def show(self) -> None:
        """What is stored about the person, in words, in one message."""
        callbacks = list(await self.callbacks_of(self.d.record.key)) if self.callbacks_of else []
        answers = self.answer_lines()
        notice = self.d.data.get("privacy", {}).get("notice") or {}
        accepted = _moment(notice.get("accepted_at"))
        if not answers and not callbacks and accepted is None:
            self.d.say("my_data_nothing")
            return
        parts = [self.d.label("my_data_intro")]
        if answers:
            parts.append(self.d.render(self.d.flow.messages["my_data_answers"], answers="\n".join(answers)))
        if self.d.data.get("persona"):
            parts.append(self.d.label("my_data_profile"))
        if accepted is not None:
            parts.append(self.d.render(self.d.flow.messages["my_data_notice"], date=day_and_time(accepted)))
        parts += [self.callback_text(row) for row in sorted(callbacks, key=_created)]
        erase = now() + timedelta(days=self.terms.conversation_days)  # this turn is the latest: counted from now
        parts.append(self.d.render(self.d.flow.messages["my_data_erasure"], erase_date=day(erase)))
        self.d.replies.append(Reply("\n\n".join(p for p in parts if p.strip())))

    def answer_lines(self) -> list[str]:
        """ "• Appareils : Un smartphone, Un ordinateur", in the flow's order, with the buttons' own words."""
        answers = self.d.answers
        lines: list[str] = []
        seen: set[str] = set()
        for step in self.d.flow.steps.values():
            slot = step.slot
            if slot is None or slot in seen or slot not in answers:
                continue
            seen.add(slot)
            labels = {c.value: self.d.render(c.label) for c in step.choices}
            labels[UNKNOWN] = self.d.label("unknown_label")
            value = answers[slot]
            words = [labels.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value])]
            title = SLOT_TITLES.get(slot) or (self.d.render(step.text) if step.text else slot)
            lines.append(f"• {title} : {', '.join(words)}")
        return lines

    def callback_text(self, row: CallbackRow) -> str:
        consent = self.record.get("callbacks", {}).get(row.id, {})
        consent_at = _moment(consent.get("consent_at"))
        created = row.created_at or now()
        moment = self.d.label(f"moment_{row.moment}") if row.moment in ("morning", "afternoon", "any") else ""
        status = f"callback_status_{row.status}"
        return self.d.render(
            self.d.flow.messages["my_data_callback"],
            date=day_and_time(created),
            status=self.d.label(status) if status in self.d.flow.messages else row.status,
            phone=national(row.phone) or self.d.label("my_data_erased"),
            moment=moment[:1].lower() + moment[1:],
            consent_date=day_and_time(consent_at or created),
            erase_date=day(created + timedelta(days=self.terms.callback_days)),
        )


def _created(row: CallbackRow) -> datetime:
    return row.created_at or now()
