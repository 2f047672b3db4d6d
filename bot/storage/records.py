"""Plain records exchanged with storage, and the cache of recently used conversations."""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

# An inbox or outbox row belongs to the process that wrote it (or adopted it) until its lease runs out; the owner
# renews its leases while it runs, so only the rows of a process that died are adopted by another.
LEASE = timedelta(seconds=30)


@dataclass(slots=True)
class ConversationRecord:
    """A conversation as stored: where it stands, and what is known (answers and dialogue context)."""

    key: str
    flow: str
    flow_version: str
    state: str
    data: dict[str, Any]
    version: int = 0  # 0: not stored yet; then a random start (first_version), +1 at every save


@dataclass(frozen=True, slots=True)
class NewCallback:
    conversation_key: str
    queue: str
    persona: str | None
    answers: dict[str, Any]
    phone: str
    moment: str
    contact: str
    consent_at: datetime
    consent_text: str
    first_name: str | None = None  # how the person called wants to be called (asked, skippable)
    commune: str | None = None  # of the place the person gave, never its coordinates
    code_insee: str | None = None
    relation: str | None = None  # who the relative who wrote is to the person: child, partner, family, friend, pro
    channel: str | None = None  # telegram, web (the conversation key's prefix, kept once the key is erased)

    def stored_as(self, callback_id: str, created_at: datetime | None = None) -> CallbackRow:
        """The request as the database now holds it: status `new`."""
        return CallbackRow(
            callback_id,
            self.conversation_key,
            "new",
            self.queue,
            self.persona,
            self.answers,
            self.phone,
            self.moment,
            self.contact,
            first_name=self.first_name,
            created_at=created_at,
            updated_at=created_at,
            commune=self.commune,
            code_insee=self.code_insee,
            relation=self.relation,
            channel=self.channel,
        )


@dataclass(frozen=True, slots=True)
class CallbackRow:
    id: str
    conversation_key: str | None
    status: str
    queue: str
    persona: str | None
    answers: dict[str, Any] | None
    phone: str | None
    moment: str | None
    contact: str | None
    first_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    attempts: int = 0
    claimed_by: str | None = None
    claimed_name: str | None = None
    claimed_at: datetime | None = None
    outcome: str | None = None
    note: str | None = None
    resolved_at: datetime | None = None
    reminded_at: datetime | None = None
    scheduled_at: datetime | None = None  # the time agreed with the person for the call (« Rappeler le … à … »)
    post_chat_id: int | None = None
    post_message_id: int | None = None
    commune: str | None = None
    code_insee: str | None = None
    relation: str | None = None
    channel: str | None = None
    notice_message_id: int | None = None  # the person's latest Telegram message about it


@dataclass(frozen=True, slots=True)
class Listed:
    """Which requests a list shows: of these queues (None: all), in these states (None: any), held by `holder`,
    from `commune`, made in [since, until)."""

    queues: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    holder: str | None = None
    commune: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """One change in a callback request's life (the audit trail): what, who, when, from where."""

    callback_id: str
    at: datetime
    action: str  # created, claimed, released, done, unreachable, retry, cancelled, note, reminded
    from_status: str | None
    to_status: str
    actor: str  # "person", "system", "telegram:<user id>", "web:<login>"
    actor_name: str | None
    via: str  # telegram, web, dashboard, system
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedUpdate:
    """An update a channel received (the inbox): its id in the channel, the chat it belongs to, its content."""

    update_id: int
    chat_id: int
    payload: dict[str, Any]


def first_of_each(updates: Sequence[ReceivedUpdate], among: Collection[int] | None = None) -> list[ReceivedUpdate]:
    """Each update_id once (its first copy), in the given order; only those in `among` when given."""
    firsts: dict[int, ReceivedUpdate] = {}
    for u in updates:
        if among is None or u.update_id in among:
            firsts.setdefault(u.update_id, u)
    return list(firsts.values())


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A call a channel must make (the outbox): a method of its API and its parameters, for one chat."""

    chat_id: int
    method: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutgoingRow:
    id: int  # the outbox row: deleted once sent; within a chat, calls are made in id order
    chat_id: int
    method: str
    params: dict[str, Any]


def first_version() -> int:
    """The version a new conversation starts at: random, so that a conversation erased (/oublier) and begun
    again never goes through the versions of the old one, and a stale copy of the old one held by another
    process can never pass the version check."""
    return secrets.randbelow(2**30) + 1


def copy_record(record: ConversationRecord) -> ConversationRecord:
    """A copy through JSON, as a database would do: data must be plain JSON, and nothing is shared."""
    return ConversationRecord(
        record.key, record.flow, record.flow_version, record.state, json.loads(json.dumps(record.data)), record.version
    )


class ConversationCache:
    """Recently used conversations as last committed by this process (bounded, least recently used out).

    Safe across processes: every write checks the stored version, so a stale entry makes the write fail
    with ConflictError, the entry is dropped and the turn is redone on a fresh read.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._records: OrderedDict[str, ConversationRecord] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: str) -> ConversationRecord | None:
        record = self._records.get(key)
        if record is None:
            return None
        self._records.move_to_end(key)
        return copy_record(record)

    def apply(self, written: dict[str, ConversationRecord], touched: set[str]) -> None:
        """After a commit: keep what was written, forget what was deleted or found stale."""
        self.discard(touched - written.keys())
        if self.size <= 0:
            return
        for key, record in written.items():
            self._records[key] = copy_record(record)
            self._records.move_to_end(key)
        while len(self._records) > self.size:
            self._records.popitem(last=False)

    def discard(self, keys: set[str]) -> None:
        for key in keys:
            self._records.pop(key, None)


class WriteLog:
    """What a transaction wrote, so the cache follows only committed changes."""

    def __init__(self) -> None:
        self.written: dict[str, ConversationRecord] = {}
        self.touched: set[str] = set()

    def saved(self, record: ConversationRecord) -> None:
        self.written[record.key] = record

    def stale(self, key: str) -> None:
        self.touched.add(key)

    def deleted(self, key: str) -> None:
        self.touched.add(key)
        self.written.pop(key, None)


MisunderstoodKind = Literal["not_understood", "refused"]
NOT_UNDERSTOOD: MisunderstoodKind = "not_understood"
REFUSED: MisunderstoodKind = "refused"  # « Si je comprends bien : … ? » answered « non »


@dataclass(frozen=True, slots=True)
class Misunderstood:
    """An answer the bot did not understand, or understood and then had refused, kept for the coordinators
    (`flows misunderstood`) so they can teach the flow its wording. Never linked to the conversation: no key, no
    chat. `text` must already be masked by the caller (bot.understanding.masking.mask_personal): storage keeps it
    as given. `question`: the step id, or a dialogue's phase (« rappel.who »)."""

    flow: str
    flow_version: str
    question: str
    text: str
    kind: MisunderstoodKind


@dataclass(frozen=True, slots=True)
class MisunderstoodRow:
    """A stored Misunderstood, with its row id and when it was written."""

    id: int
    flow: str
    flow_version: str
    question: str
    text: str
    kind: MisunderstoodKind
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MisunderstoodGroup:
    """The same text (as written) of the same kind at the same question of one flow version, counted (the report's
    grouped query)."""

    flow: str
    flow_version: str
    question: str
    text: str
    kind: MisunderstoodKind
    count: int
    last: datetime


@dataclass(frozen=True, slots=True)
class FeedbackAnswer:
    """« Est-ce que cette conversation vous a été utile ? »: a rating (`yes`, `some`, `no`), or the optional word
    that follows it (masked by the caller), for the coordinators' figures. Nothing identifies the person: no key, no
    chat, no phone; only the flow, its version and the day. A word is kept apart from its rating."""

    flow: str
    flow_version: str
    rating: str | None
    word: str | None


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """A stored FeedbackAnswer, with its row id and the day it was written (never the time)."""

    id: int
    flow: str
    flow_version: str
    day: date
    rating: str | None
    word: str | None


class TurnWrites:
    """What a turn decided to write, staged while the turn is worked out (outside any transaction) and then
    committed in one transaction with the conversation: the person reads a confirmation only once it is."""

    def __init__(self) -> None:
        self.callbacks: list[tuple[str, NewCallback]] = []
        self.forget = False
        self.cancel = False  # cancel the person's open callback requests (/annuler)
        self.misunderstood: list[Misunderstood] = []
        self.feedback: list[FeedbackAnswer] = []

    def create_callback(self, new: NewCallback) -> CallbackRow:
        callback_id = secrets.token_hex(6)
        self.callbacks.append((callback_id, new))
        return new.stored_as(callback_id)

    def forget_conversation(self) -> None:
        self.forget = True

    def cancel_callbacks(self) -> None:
        self.cancel = True

    def note_misunderstood(self, answer: Misunderstood) -> None:
        """Keep, with the turn, an answer not understood (its text masked by the caller)."""
        self.misunderstood.append(answer)

    def note_feedback(self, answer: FeedbackAnswer) -> None:
        """Keep, with the turn, the person's last answer on the conversation (anonymous)."""
        self.feedback.append(answer)
