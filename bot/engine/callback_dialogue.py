"""The callback request inside a conversation: consent, phone number, moment, who to call, then stored.

The request is staged with the turn's writes and committed with the conversation, so the confirmation the
person reads is only returned once the request is in the database. Phases are sub-states of the
`request_callback` step (`rappel.consent`, …).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.clock import now
from bot.core.messages import CallbackRef, Inbound, InboundKind
from bot.core.slots import UNKNOWN
from bot.core.text import parse_phone
from bot.engine.inbound import button_value
from bot.language.model import Step
from bot.storage import NewCallback
from bot.understanding.matching import build_candidates, match_one

if TYPE_CHECKING:
    from bot.engine.dialogue import Dialogue

CONSENT_TEXT_VERSION = "callback-v1"  # recorded with the consent: which wording the person agreed to
MOMENTS = ("morning", "afternoon", "any")
# Per phase: (value, typed synonyms, message holding the button label).
OPTIONS: dict[str, list[tuple[str, list[str], str]]] = {
    "consent": [
        ("yes", ["oui", "d accord", "ok", "volontiers", "ouais"], "consent_yes_label"),
        ("no", ["non", "pas maintenant", "je ne sais pas", "je sais pas"], "consent_no_label"),
    ],
    "phone": [("no", ["non", "annuler", "pas de numero"], "consent_no_label")],
    "moment": [(m, [], f"moment_{m}") for m in MOMENTS],
    "who": [("person", [], "who_person_label"), ("relative", ["moi", "a moi"], "who_relative_label")],
}
QUESTIONS = {
    "consent": "callback_consent",
    "phone": "callback_phone",
    "moment": "callback_moment",
    "who": "callback_who",
}


class CallbackDialogue:
    def __init__(self, dialogue: Dialogue) -> None:
        self.d = dialogue

    @property
    def draft(self) -> dict[str, Any]:
        draft: dict[str, Any] = self.d.data.setdefault("callback_draft", {})
        return draft

    def prompt(self, phase: str) -> None:
        options = [(value, self.d.label(label)) for value, _, label in OPTIONS[phase]]
        self.d.question(
            self.d.flow.messages[QUESTIONS[phase]], options, request="contact" if phase == "phone" else None
        )

    def understood(self, phase: str, inbound: Inbound) -> str | None:
        values = [value for value, _, _ in OPTIONS[phase]]
        value = button_value(inbound)
        if value in values:
            return value
        if not inbound.text:
            return None
        candidates = build_candidates(
            [(v, [*synonyms, *self.d.flow.messages[label].variants.values()]) for v, synonyms, label in OPTIONS[phase]]
        )
        return match_one(inbound.text, candidates, values, allow_unknown=False)

    async def answer(self, step: Step, phase: str, inbound: Inbound) -> None:
        value = self.understood(phase, inbound)
        if value == "no" and phase in ("consent", "phone"):
            await self.decline(step)
        elif phase == "consent":
            if value == "yes":
                self.d.privacy.accept()
                self.draft["consent_at"] = now().isoformat()
                self.ask(step, "phone")
            else:
                self.d.missed()
        elif phase == "phone":
            phone = parse_phone(inbound.text) if inbound.kind in (InboundKind.TEXT, InboundKind.CONTACT) else None
            if phone is None:
                self.d.missed("callback_phone_invalid")
                return
            self.draft["phone"] = phone
            self.ask(step, "moment")
        elif value is None:
            self.d.missed()
        elif phase == "moment":
            self.draft["moment"] = value
            if self.d.answers.get("for_whom") == "relative":
                self.ask(step, "who")
            else:
                self.draft["contact"] = "person"
                await self.record(step, inbound)
        else:
            self.draft["contact"] = value
            await self.record(step, inbound)

    def ask(self, step: Step, phase: str) -> None:
        self.d.move(f"{step.id}.{phase}")
        self.prompt(phase)

    async def decline(self, step: Step) -> None:
        self.d.data.pop("callback_draft", None)  # nothing kept: not even a number typed before "non"
        self.d.say("callback_declined")
        await self.leave(step)

    async def record(self, step: Step, inbound: Inbound) -> None:
        draft = self.d.data.pop("callback_draft")
        persona = (self.d.data.get("persona") or {}).get("id")
        answers = {k: v for k, v in self.d.answers.items() if v not in (UNKNOWN, [UNKNOWN])}
        queue = self.d.queues.route(self.d.places.position())  # the team covering where the person is
        row = self.d.writes.create_callback(
            NewCallback(
                conversation_key=self.d.record.key,
                queue=queue.name,
                persona=persona,
                answers={**answers, "offers": self.d.data.get("offers", [])},
                phone=draft["phone"],
                moment=draft["moment"],
                contact=draft["contact"],
                consent_at=datetime.fromisoformat(draft["consent_at"]),
                consent_text=CONSENT_TEXT_VERSION,
                first_name=inbound.first_name[:64] or None,
            )
        )
        self.d.callback = CallbackRef(row.id, row.queue, row.status)
        self.d.data.setdefault("callbacks", []).append(row.id)
        self.d.privacy.consented(row.id, draft["consent_at"], CONSENT_TEXT_VERSION)
        moment = self.d.label(f"moment_{draft['moment']}")
        self.d.say("callback_done", moment=moment[:1].lower() + moment[1:], queue=queue.label)
        await self.leave(step)

    async def leave(self, step: Step) -> None:
        """After the callback request (made or declined): back to the interrupted question, if any."""
        resume = self.d.data.pop("resume", None)
        steps = self.d.flow.steps
        if isinstance(resume, str) and resume in steps and steps[resume].waits:
            self.d.say("resume")
            self.d.move(resume)
            self.d.prompt()
        else:
            await self.d.enter(self.d.next_of(step, None))
