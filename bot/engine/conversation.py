"""The typed conversation: what the dialogue knows about one person between two of their messages.

It is stored as JSON in the conversation's row, converted in one place (`from_json`, `to_json`) where the
engine reads and saves the row. The JSON keeps the keys rows have always had (what reads them outside the engine,
the at-rest encryption of a phone number typed for a callback request not yet complete, keeps finding them), plus
`format`; format 2 stores the interruptions as a list (`interruptions`). Rows written before `format` existed,
with their `resume` and `forget_return` keys, and rows of format 1 read the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.core.messages import PersonaResult
from bot.core.slots import SlotValue
from bot.places.offers import ResolvedLocation

FORMAT = 2  # 1: typed, interruptions in `resume`/`forget_return`; none: written before the conversation was typed


@dataclass(frozen=True, slots=True)
class CallbackDraft:
    """A callback request being asked for, one answer at a time (nothing is recorded before the last one)."""

    consent_at: datetime | None = None
    phone: str | None = None  # E.164
    moment: str | None = None
    contact: str | None = None
    relation: str | None = None  # a relative: who they are to the person (`skip`: not said)
    name: str | None = None  # how the person called wants to be called ("": not said)


@dataclass(frozen=True, slots=True)
class TalkToHuman:
    """The person asked for a human (/humain) while a question was open: once the callback request is made or
    declined, that question is asked again."""

    resume: str


@dataclass(frozen=True, slots=True)
class ConfirmForget:
    """The person asked to be forgotten (/oublier): "non" goes back to where they were."""

    back: str


Interruption = TalkToHuman | ConfirmForget
Frame = TypeVar("Frame", TalkToHuman, ConfirmForget)


@dataclass(frozen=True, slots=True)
class Notice:
    """The privacy notice as shown in this conversation, and when the person went on after reading it."""

    version: str
    shown_at: datetime | None
    accepted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    """The consent given for one callback request: when, and to which wording."""

    consent_at: datetime | None
    version: str


@dataclass(frozen=True, slots=True)
class PrivacyRecord:
    """What the person was told and agreed to: kept when they start again, erased with everything else."""

    notice: Notice | None = None
    consents: Mapping[str, Consent] = field(default_factory=dict)  # per callback request id, in the order given


@dataclass(frozen=True, slots=True)
class OffersCursor:
    page: int = 0  # pages shown so far: the next one starts after them
    exhausted: bool | None = None  # None until places were looked for
    shown: tuple[str, ...] = ()  # ids of the places shown, in order (sent with a callback request)


@dataclass(frozen=True, slots=True)
class Guess:
    """A typed answer read with doubt, waiting for the person's « oui » (« Si je comprends bien : … ? »)."""

    step: str
    values: tuple[str, ...]
    text: str  # what was typed, masked: kept until « oui » or « non », for coordinators if « non »


@dataclass(frozen=True, slots=True)
class Conversation:
    """Answers and dialogue context. Frozen: the dialogue replaces it, field by field, as the turn goes."""

    answers: Mapping[str, SlotValue] = field(default_factory=dict)
    persona: PersonaResult | None = None
    pending: tuple[str, ...] | None = None  # toggled so far on a several-choice question, before "Valider"
    misses: int = 0  # answers not understood in a row on the current question
    guess: Guess | None = None
    draft: CallbackDraft | None = None
    interruptions: tuple[Interruption, ...] = ()  # innermost last
    location_choices: tuple[ResolvedLocation, ...] = ()  # homonyms offered, by department
    position: ResolvedLocation | None = None  # where the person is, resolved when they answered
    offers: OffersCursor = OffersCursor()
    callbacks: tuple[str, ...] = ()  # ids of the callback requests made in this conversation
    called: str | None = None  # who the last request calls back (`person`, `relative`): later texts speak of them
    privacy: PrivacyRecord = PrivacyRecord()
    unknown: Mapping[str, Any] = field(default_factory=dict)  # keys another version wrote: kept as read

    # ----- changes (each returns a new conversation) ------------------------------------------------------
    def answered(self, slot: str, value: SlotValue) -> Conversation:
        return dataclasses.replace(self, answers={**self.answers, slot: value}, pending=None)

    def restarted(self) -> Conversation:
        """Starting again forgets the answers, not what the person was told and agreed to (erased by /oublier)."""
        return Conversation(privacy=self.privacy)

    def interrupted(self, frame: Interruption) -> Conversation:
        """`frame` on top of the stack. An earlier frame of its kind is dropped: an interruption the person left
        by another command (/start, /stop, another question) never traps a later one."""
        kept = tuple(f for f in self.interruptions if type(f) is not type(frame))
        return dataclasses.replace(self, interruptions=(*kept, frame))

    def interruption(self, kind: type[Frame]) -> Frame | None:
        return next((f for f in reversed(self.interruptions) if isinstance(f, kind)), None)

    def resumed(self, kind: type[Interruption]) -> Conversation:
        """The interruption of that kind is over (whatever comes next)."""
        return dataclasses.replace(self, interruptions=tuple(f for f in self.interruptions if not isinstance(f, kind)))

    def noticed(self, notice: Notice) -> Conversation:
        return dataclasses.replace(self, privacy=dataclasses.replace(self.privacy, notice=notice))

    def accepted(self, at: datetime) -> Conversation:
        """The person answers after reading the notice: their acceptance, with its moment, is recorded once."""
        notice = self.privacy.notice
        if notice is None or notice.accepted_at is not None:
            return self
        return self.noticed(dataclasses.replace(notice, accepted_at=at))

    def recorded(self, callback_id: str, consent: Consent, called: str | None = None) -> Conversation:
        """A callback request was made from the draft: the draft is done with, the consent kept for /mesdonnees."""
        consents = {**self.privacy.consents, callback_id: consent}
        return dataclasses.replace(
            self,
            draft=None,
            callbacks=(*self.callbacks, callback_id),
            called=called or self.called,
            privacy=dataclasses.replace(self.privacy, consents=consents),
        )

    def offered(self, shown: tuple[str, ...], exhausted: bool) -> Conversation:
        """A page of places was looked for: a page further when some were shown."""
        cursor = self.offers
        if shown:
            cursor = OffersCursor(cursor.page + 1, cursor.exhausted, (*cursor.shown, *shown))
        return dataclasses.replace(self, offers=dataclasses.replace(cursor, exhausted=exhausted))

    # ----- the storage boundary -----------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conversation:
        """A conversation as stored, in this format or the untyped one before it (same keys, no `format`). What
        is stored is plain JSON: objects are dicts (checked as such: it runs on every message)."""
        persona = data.get("persona")
        draft = data.get("callback_draft")
        privacy = data.get("privacy")
        frames = _frames(data)
        choices = data.get("location_choices")
        position = data.get("position")
        pending = data.get("pending")
        return cls(
            answers=dict(data.get("answers") or {}),
            persona=_persona(persona) if isinstance(persona, dict) and persona else None,
            pending=tuple(pending) if isinstance(pending, list) else None,
            misses=int(data.get("misses", 0)),
            guess=_guess(data.get("guess")),
            draft=_draft(draft) if isinstance(draft, dict) else None,
            interruptions=tuple(frames),
            location_choices=tuple(ResolvedLocation.from_json(c) for c in choices.values())
            if isinstance(choices, dict)
            else (),
            position=ResolvedLocation.from_json(position) if isinstance(position, dict) and position else None,
            offers=OffersCursor(
                int(data.get("offers_page", 0)),
                bool(data["offers_exhausted"]) if "offers_exhausted" in data else None,
                tuple(data.get("offers") or ()),
            ),
            callbacks=tuple(data.get("callbacks") or ()),
            called=str(data["called"]) if data.get("called") in ("person", "relative") else None,
            privacy=_privacy(privacy) if isinstance(privacy, dict) else PrivacyRecord(),
            unknown={k: v for k, v in data.items() if k not in _KEYS},
        )

    def to_json(self) -> dict[str, Any]:
        """The conversation as stored: plain JSON, only the keys that hold something."""
        data: dict[str, Any] = {"format": FORMAT, **self.unknown, "answers": _plain(self.answers)}
        if self.persona is not None:
            p = self.persona
            data["persona"] = {"id": p.id, "confidence": p.confidence, "reasons": list(p.reasons)}
        if self.pending is not None:
            data["pending"] = list(self.pending)
        if self.misses:
            data["misses"] = self.misses
        if self.guess is not None:
            g = self.guess
            data["guess"] = {"step": g.step, "values": list(g.values), "text": g.text}
        if self.draft is not None:
            data["callback_draft"] = _draft_json(self.draft)
        if self.interruptions:
            data["interruptions"] = [_frame_json(frame) for frame in self.interruptions]
        if self.location_choices:
            data["location_choices"] = {c.label: _location_json(c) for c in self.location_choices}
        if self.position is not None:
            data["position"] = _location_json(self.position)
        if self.offers.page:
            data["offers_page"] = self.offers.page
        if self.offers.exhausted is not None:
            data["offers_exhausted"] = self.offers.exhausted
        if self.offers.shown:
            data["offers"] = list(self.offers.shown)
        if self.callbacks:
            data["callbacks"] = list(self.callbacks)
        if self.called is not None:
            data["called"] = self.called
        privacy = _privacy_json(self.privacy)
        if privacy:
            data["privacy"] = privacy
        return data


_KEYS = frozenset(
    {
        "format",
        "answers",
        "persona",
        "pending",
        "misses",
        "guess",
        "callback_draft",
        "interruptions",
        "resume",
        "forget_return",
        "location_choices",
        "position",
        "offers_page",
        "offers_exhausted",
        "offers",
        "callbacks",
        "called",
        "privacy",
    }
)


def _guess(data: object) -> Guess | None:
    if not isinstance(data, dict) or not isinstance(data.get("values"), list):
        return None
    return Guess(str(data.get("step", "")), tuple(str(v) for v in data["values"]), str(data.get("text", "")))


def _frames(data: Mapping[str, Any]) -> list[Interruption]:
    """The interruption stack, innermost last: a list since format 2, two keys before."""
    stored = data.get("interruptions")
    if isinstance(stored, list):
        frames: list[Interruption] = []
        for frame in stored:
            if not isinstance(frame, dict):
                continue
            if frame.get("kind") == "human" and isinstance(frame.get("resume"), str):
                frames.append(TalkToHuman(frame["resume"]))
            elif frame.get("kind") == "forget" and isinstance(frame.get("back"), str):
                frames.append(ConfirmForget(frame["back"]))
        return frames
    frames = []
    if isinstance(data.get("resume"), str):
        frames.append(TalkToHuman(data["resume"]))
    if "forget_return" in data:  # frames are looked up by kind: their order on the stack never decides
        frames.append(ConfirmForget(str(data["forget_return"])))
    return frames


def _frame_json(frame: Interruption) -> dict[str, str]:
    if isinstance(frame, TalkToHuman):
        return {"kind": "human", "resume": frame.resume}
    return {"kind": "forget", "back": frame.back}


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _plain(answers: Mapping[str, SlotValue]) -> dict[str, SlotValue]:
    return {slot: list(value) if isinstance(value, list) else value for slot, value in answers.items()}


def _location_json(location: ResolvedLocation) -> dict[str, Any]:
    """As `ResolvedLocation.to_json`, without its deep copy of values that are all plain (saved every turn)."""
    return {name: getattr(location, name) for name in _LOCATION_FIELDS}


_LOCATION_FIELDS = tuple(f.name for f in dataclasses.fields(ResolvedLocation))


def _persona(data: Mapping[str, Any]) -> PersonaResult:
    return PersonaResult(data["id"], data["confidence"], tuple(data.get("reasons") or ()))


def _draft(data: Mapping[str, Any]) -> CallbackDraft:
    return CallbackDraft(
        _moment(data.get("consent_at")),
        data.get("phone"),
        data.get("moment"),
        data.get("contact"),
        data.get("relation"),
        data.get("name"),
    )


def _draft_json(draft: CallbackDraft) -> dict[str, str]:
    fields = {"consent_at": _iso(draft.consent_at), "phone": draft.phone, "moment": draft.moment}
    fields |= {"contact": draft.contact, "relation": draft.relation, "name": draft.name}
    return {name: value for name, value in fields.items() if value is not None}


def _privacy(data: Mapping[str, Any]) -> PrivacyRecord:
    notice = data.get("notice")
    consents = data.get("callbacks")
    return PrivacyRecord(
        Notice(str(notice.get("version")), _moment(notice.get("shown_at")), _moment(notice.get("accepted_at")))
        if isinstance(notice, dict)
        else None,
        {
            str(callback_id): Consent(_moment(c.get("consent_at")), str(c.get("version")))
            for callback_id, c in consents.items()
            if isinstance(c, dict)
        }
        if isinstance(consents, dict)
        else {},
    )


def _privacy_json(privacy: PrivacyRecord) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if privacy.notice is not None:
        notice = {"version": privacy.notice.version, "shown_at": _iso(privacy.notice.shown_at)}
        notice["accepted_at"] = _iso(privacy.notice.accepted_at)
        data["notice"] = {name: value for name, value in notice.items() if value is not None}
    if privacy.consents:
        data["callbacks"] = {
            callback_id: {"consent_at": _iso(c.consent_at), "version": c.version}
            for callback_id, c in privacy.consents.items()
        }
    return data
