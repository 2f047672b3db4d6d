"""Plain data shared by the fake server's modules: recorded calls and deliveries, faults, limits, chat state."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

FaultKind = Literal["429", "500", "502", "slow", "drop", "timeout"]
FAULT_KINDS: frozenset[str] = frozenset({"429", "500", "502", "slow", "drop", "timeout"})


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional ``parameters``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 error; ``detail`` is what follows ``Bad Request: ``."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(slots=True)
class Call:
    """One HTTP call to the Bot API. ``status`` is 0 while unanswered and for dropped / timed-out calls."""

    method: str
    params: JSON
    at: float
    status: int = 0
    chat_id: int | None = None
    result: object | None = None
    description: str | None = None  # the error description when the call failed


@dataclass(slots=True)
class Delivery:
    """One attempt to POST an update to the webhook; ``status`` is None when no HTTP answer came back."""

    update_id: int
    status: int | None
    at: float
    chat_id: int | None = None
    error: str | None = None


@dataclass
class Fault:
    """The next ``count`` calls of ``method`` (any method when None) fail with ``kind``.

    "429" answers Too Many Requests with ``retry_after``; "500" an Internal Server Error; "502" a Bad Gateway from
    the proxy in front of the API (an HTML page, not JSON); "slow" waits ``delay`` then answers normally; "drop"
    closes the connection without an answer; "timeout" never answers.
    """

    method: str | None = None
    kind: FaultKind = "500"
    count: int = 1
    retry_after: int = 1
    delay: float = 0.0
    until: float | None = None  # set by FakeTelegram.storm(): matches every call until this monotonic time

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}, expected one of {sorted(FAULT_KINDS)}")


@dataclass
class Limits:
    """Flood limits: at most N message-sending calls in any window of T * tolerance seconds.

    ``per_chat`` applies to each private chat, ``group`` to each group chat, ``overall`` to the whole bot.
    """

    per_chat: tuple[int, float] = (3, 3.0)
    overall: tuple[int, float] = (30, 1.0)
    group: tuple[int, float] = (20, 60.0)
    tolerance: float = 0.9


class Signal:
    """A broadcast wake-up: ``notify()`` (synchronous) wakes every coroutine blocked in ``wait()``."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, within: float | None) -> bool:
        """Wait for the next notify(); False on timeout. Check your condition right before calling it."""
        event = self._event
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            return False
        return True


MessageKind = Literal["text", "location", "venue", "contact", "photo", "voice", "sticker", "document"]


@dataclass
class StoredMessage:
    """A message of a chat with its current content (edits update it in place)."""

    message_id: int
    chat_id: int
    from_bot: bool
    kind: MessageKind
    date: int
    text: str | None = None
    html: str | None = None  # the raw text as sent when parse_mode was HTML
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None  # the inline keyboard (only inline keyboards are attached to a message)
    sent_markup: JSON | None = None  # whatever reply_markup was sent (reply keyboards included)
    sender_id: int | None = None  # the user who sent it (users' messages)
    edits: int = 0
    edit_date: int | None = None
    history: list[str | None] = field(default_factory=list)  # previous texts, oldest first
    payload: JSON = field(default_factory=dict)  # the Message object as last returned / delivered

    @property
    def location(self) -> JSON | None:
        return self.payload.get("location")

    @property
    def venue(self) -> JSON | None:
        return self.payload.get("venue")

    def buttons(self) -> list[str]:
        """Labels of the inline keyboard, row by row."""
        if not self.reply_markup:
            return []
        return [button["text"] for row in self.reply_markup.get("inline_keyboard", []) for button in row]

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else f"user {self.sender_id}"
        return f"<#{self.message_id} {who} {self.kind} {self.text!r} buttons={self.buttons()}>"


@dataclass
class ChatState:
    """A chat the server knows: its messages in order, the shown reply keyboard, who is waiting on it."""

    id: int
    type: Literal["private", "supergroup"]
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    title: str | None = None
    messages: list[StoredMessage] = field(default_factory=list)
    by_id: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: JSON | None = None
    blocked: bool = False
    actions: list[str] = field(default_factory=list)  # sendChatAction actions, in order
    menu_button: JSON | None = None
    activity: int = 0  # bumped on every bot message or edit in this chat
    activity_at: float = 0.0
    activity_log: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=1000))  # (activity, message_id)
    signal: Signal = field(default_factory=Signal)

    def as_dict(self) -> JSON:
        if self.type == "private":
            chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name or "User"}
            if self.last_name:
                chat["last_name"] = self.last_name
            if self.username:
                chat["username"] = self.username
            return chat
        return {"id": self.id, "type": self.type, "title": self.title or "Group"}

    def add(self, message: StoredMessage) -> None:
        self.messages.append(message)
        self.by_id[message.message_id] = message

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def bot_activity(self, message_id: int) -> None:
        self.activity += 1
        self.activity_at = time.monotonic()
        self.activity_log.append((self.activity, message_id))


@dataclass
class CallbackQueryRecord:
    """A callback query created by a button press, and whether / when the bot answered it."""

    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created_at: float
    answered_at: float | None = None
    answer: JSON | None = None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, how Telegram counts text lengths and entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
