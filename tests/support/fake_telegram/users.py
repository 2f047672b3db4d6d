"""Simulated people: a user in a private chat with the bot, and a group whose members talk to it."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from .models import JSON, CallbackQueryRecord, ChatState, MessageKind, StoredMessage, utf16_len

if TYPE_CHECKING:
    from .server import FakeTelegram

_file_ids = itertools.count(1)
_query_ids = itertools.count(1)


def _file(prefix: str) -> JSON:
    number = next(_file_ids)
    return {"file_id": f"{prefix}-file-{number}", "file_unique_id": f"{prefix}-unique-{number}"}


def _describe(message: StoredMessage) -> str:
    who = "bot" if message.from_bot else "user"
    content = message.text if message.text is not None else f"<{message.kind}>"
    buttons = f" buttons={message.buttons()}" if message.reply_markup else ""
    return f"  {who} #{message.message_id}: {content!r}{buttons}"


class FakeChat:
    """What a test sees of one chat: the bot's messages, their keyboards, and waits on the bot's activity."""

    def __init__(self, server: FakeTelegram, chat: ChatState) -> None:
        self.server = server
        self.chat = chat
        self._mark = 0  # chat.activity at the last action (or next_reply): next_reply returns what came after

    @property
    def id(self) -> int:
        return self.chat.id

    @property
    def history(self) -> list[StoredMessage]:
        """Every message of the chat, the users' and the bot's, in order."""
        return list(self.chat.messages)

    @property
    def messages(self) -> list[StoredMessage]:
        """The bot's messages in this chat, with their current content, in order."""
        return [message for message in self.chat.messages if message.from_bot]

    @property
    def last(self) -> StoredMessage | None:
        """The bot's latest message in this chat."""
        for message in reversed(self.chat.messages):
            if message.from_bot:
                return message
        return None

    def message(self, message_id: int) -> StoredMessage:
        found = self.chat.by_id.get(message_id)
        if found is None:
            raise AssertionError(f"no message #{message_id} in chat {self.id}\n{self.summary()}")
        return found

    def buttons(self, message: StoredMessage | int | None = None) -> list[str]:
        """Labels of the inline keyboard of the bot's latest message (or of ``message``)."""
        if isinstance(message, int):
            message = self.message(message)
        target = message if message is not None else self.last
        return target.buttons() if target is not None else []

    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard currently shown: the last one sent and not removed since, or None."""
        return self.chat.reply_keyboard

    def summary(self, count: int = 8) -> str:
        lines = [_describe(message) for message in self.chat.messages[-count:]]
        return f"last messages of chat {self.id}:\n" + ("\n".join(lines) if lines else "  (none)")

    async def wait_for(self, predicate: Callable[[Self], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate(self)`` holds; it is re-checked after every bot call concerning this chat."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s; {self.summary()}")
            await self.chat.signal.wait(remaining)

    async def next_reply(self, timeout: float = 10.0, settle: float = 0.15) -> list[StoredMessage]:  # noqa: ASYNC109
        """The bot's messages sent or edited since the last action, once the bot has been quiet for ``settle`` s."""
        chat, mark = self.chat, self._mark
        deadline = time.monotonic() + timeout
        while chat.activity <= mark:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply from the bot within {timeout} s; {self.summary()}")
            await chat.signal.wait(remaining)
        while (quiet := time.monotonic() - chat.activity_at) < settle:
            await chat.signal.wait(settle - quiet)
        self._mark = chat.activity
        ids = sorted({message_id for activity, message_id in chat.activity_log if activity > mark})
        return [chat.by_id[message_id] for message_id in ids if message_id in chat.by_id]

    # -- acting as a member ------------------------------------------------------------------------------------

    def _post(self, sender: JSON, kind: MessageKind, fields: JSON) -> JSON:
        chat = self.chat
        message = StoredMessage(chat.new_message_id(), chat.id, False, kind, int(time.time()), sender_id=sender["id"])
        message.text = fields.get("text")
        message.entities = fields.get("entities", [])
        message.payload = {
            "message_id": message.message_id,
            "from": sender,
            "chat": chat.as_dict(),
            "date": message.date,
            **fields,
        }
        chat.add(message)
        self._mark = chat.activity
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        return self.server.push_update("message", dict(message.payload), chat.id)

    def _text(self, sender: JSON, text: str) -> JSON:
        fields: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._post(sender, "text", fields)

    def _find_button(self, label: str, message_id: int | None) -> tuple[StoredMessage, JSON]:
        if message_id is not None:
            candidates = [self.message(message_id)]
        else:
            candidates = [message for message in reversed(self.messages) if message.reply_markup]
        for message in candidates:
            buttons = [button for row in (message.reply_markup or {}).get("inline_keyboard", []) for button in row]
            exact = [button for button in buttons if button["text"] == label]
            if exact:
                return message, exact[0]
            partial = [button for button in buttons if label.casefold() in button["text"].casefold()]
            if len(partial) == 1:
                return message, partial[0]
            if partial:
                labels = [button["text"] for button in partial]
                raise AssertionError(f"{label!r} is ambiguous on message #{message.message_id}: {labels}")
        raise AssertionError(f"no inline button {label!r} on the bot's messages; {self.summary()}")

    def _press(self, sender: JSON, label: str, message_id: int | None) -> str:
        message, button = self._find_button(label, message_id)
        data = button.get("callback_data")
        if data is None:
            raise AssertionError(f"button {button['text']!r} sends no callback_data: {button}")
        query_id = f"{self.id & 0xFFFFFFFF}{next(_query_ids):08d}"
        body: JSON = {
            "id": query_id,
            "from": sender,
            "message": dict(message.payload),
            "chat_instance": str(abs(self.id) * 7919),
            "data": data,
        }
        record = CallbackQueryRecord(query_id, self.id, message.message_id, sender["id"], data, time.monotonic())
        self.server.callback_queries[query_id] = record
        self._mark = self.chat.activity
        self.server.push_update("callback_query", body, self.id)
        return query_id

    def _location(self, sender: JSON, latitude: float, longitude: float) -> JSON:
        return self._post(sender, "location", {"location": {"latitude": latitude, "longitude": longitude}})


class FakeUser(FakeChat):
    """A user in a private chat with the bot (the chat id is the user id)."""

    def __init__(self, server: FakeTelegram, chat: ChatState, language_code: str = "fr") -> None:
        super().__init__(server, chat)
        self.language_code = language_code

    @property
    def first_name(self) -> str:
        return self.chat.first_name or "User"

    def as_dict(self) -> JSON:
        """The User object of this user."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.chat.last_name:
            user["last_name"] = self.chat.last_name
        if self.chat.username:
            user["username"] = self.chat.username
        user["language_code"] = self.language_code
        return user

    def block(self, blocked: bool = True) -> None:
        """The user blocks the bot: sending to the chat then fails with 403 Forbidden."""
        self.chat.blocked = blocked

    async def send(self, text: str) -> JSON:
        """The user sends a text message ("/start" gets its bot_command entity); returns the Update."""
        return self._text(self.as_dict(), text)

    async def press(self, label: str, message_id: int | None = None) -> str:
        """Press an inline button of the bot's latest message having it; returns the callback query id."""
        return self._press(self.as_dict(), label, message_id)

    async def share_location(self, latitude: float, longitude: float) -> JSON:
        return self._location(self.as_dict(), latitude, longitude)

    async def share_contact(self, phone_number: str, first_name: str | None = None) -> JSON:
        contact = {"phone_number": phone_number, "first_name": first_name or self.first_name, "user_id": self.id}
        return self._post(self.as_dict(), "contact", {"contact": contact})

    async def send_photo(self, caption: str | None = None) -> JSON:
        sizes = [
            {**_file("photo"), "width": width, "height": width * 3 // 4, "file_size": width * 40} for width in (90, 320)
        ]
        fields: JSON = {"photo": sizes}
        if caption:
            fields["caption"] = caption
        return self._post(self.as_dict(), "photo", fields)

    async def send_voice(self, duration: int = 3) -> JSON:
        voice = {**_file("voice"), "duration": duration, "mime_type": "audio/ogg", "file_size": 4000 * duration}
        return self._post(self.as_dict(), "voice", {"voice": voice})

    async def send_sticker(self, emoji: str = "👍") -> JSON:
        sticker = {
            **_file("sticker"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._post(self.as_dict(), "sticker", {"sticker": sticker})

    async def send_document(self, file_name: str = "document.pdf", mime_type: str = "application/pdf") -> JSON:
        document = {**_file("document"), "file_name": file_name, "mime_type": mime_type, "file_size": 12345}
        return self._post(self.as_dict(), "document", {"document": document})

    async def edit(self, message_id: int, text: str) -> JSON:
        """The user edits one of their text messages; returns the edited_message Update."""
        message = self.message(message_id)
        if message.from_bot or message.kind != "text":
            raise AssertionError(f"message #{message_id} is not a text message of the user")
        message.history.append(message.text)
        message.text, message.edits, message.edit_date = text, message.edits + 1, int(time.time())
        message.payload = {**message.payload, "text": text, "edit_date": message.edit_date}
        message.payload.pop("entities", None)
        self._mark = self.chat.activity
        return self.server.push_update("edited_message", dict(message.payload), self.id)


class FakeGroup(FakeChat):
    """A supergroup: members (user ids; names taken from server.user() when known) talk to the bot."""

    def member(self, user_id: int) -> JSON:
        """The User object of a member."""
        known = self.server.users.get(user_id)
        if known is not None:
            return known.as_dict()
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}", "language_code": "fr"}

    async def send(self, user_id: int, text: str) -> JSON:
        return self._text(self.member(user_id), text)

    async def press(self, user_id: int, label: str, message_id: int | None = None) -> str:
        return self._press(self.member(user_id), label, message_id)

    async def share_location(self, user_id: int, latitude: float, longitude: float) -> JSON:
        return self._location(self.member(user_id), latitude, longitude)
