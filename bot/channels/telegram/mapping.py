"""Telegram ⇄ engine, both ways, with no input or output: an Update becomes an Inbound, a Turn becomes the API
calls that show it. Everything Telegram-specific about the conversation's look lives here.

Buttons carry `1|<question token>|<value>` (64 bytes at most): the leading version lets a later format
recognise presses on messages sent by this one, and the token lets the engine recognise a press on an
earlier question's message (answered kindly instead of being read as today's answer).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.messages import Button, Inbound, Reply, Turn, question_token
from bot.storage.records import Outgoing

FORMAT = "1"  # the callback_data format; a press whose data has another format is an old message's
MAP = "map"  # "1|map|lat,lon": show a place on a map (answered by the channel, not the engine)
NOTICE_TOKEN = "cmd"  # the question token of a notice's buttons: commands, valid whatever the question
OLD_BUTTON = "old"  # the question token given to presses the engine cannot place: never a current question
MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096  # characters of a message, after the HTML is read
SELECTED = "✅ "
KEY_PREFIX = "telegram:"
# Update types the bot handles; Telegram sends no others (setWebhook / getUpdates `allowed_updates`).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


@dataclass(frozen=True, slots=True)
class Labels:
    """Texts of the channel's own buttons, from the flow's messages."""

    share_location: str
    share_contact: str
    show_map: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """What an update asks of the bot."""

    chat_id: int
    inbound: Inbound | None  # for the engine; None when the channel answers alone (a map button)
    callback_query_id: str | None = None  # to answer (answerCallbackQuery), always
    message_id: int | None = None  # the message whose button was pressed: edited in place for toggles
    show_map: tuple[float, float] | None = None


def conversation_key(chat_id: int) -> str:
    return f"{KEY_PREFIX}{chat_id}"


MAX_ID = 2**63 - 1  # the database keeps ids in BIGINT columns; Telegram's use at most 52 bits


def bot_api_id(value: Any) -> int:
    """A chat, user or message id of an update; ValueError for what no BIGINT column holds (infinite, NaN, beyond
    64 bits), so that such an update is refused as malformed instead of failing where it is recorded."""
    try:
        number = int(value)
    except OverflowError:
        raise ValueError("not a Bot API id: infinite") from None
    if not -MAX_ID <= number <= MAX_ID:
        raise ValueError("not a Bot API id: beyond 64 bits")
    return number


# ----- inbound -----------------------------------------------------------------------------------------------
def read_update(update: Mapping[str, Any]) -> Incoming | None:
    """The update (Bot API JSON) as something to do, or None when the bot stays silent (groups, channels,
    bots, service messages). Only private chats converse.

    Read from the JSON rather than from python-telegram-bot's objects: building an Update, with every button
    of the message a press came from, cost more CPU than the rest of the turn (benchmarks/telegram.py)."""
    query = update.get("callback_query")
    if isinstance(query, Mapping):
        message = query.get("message")
        if not isinstance(message, Mapping) or not _private(message) or _is_bot(query.get("from")):
            return None
        chat_id = bot_api_id(message["chat"]["id"])
        data = str(query.get("data") or "")
        point = decode_map(data)
        if point is not None:
            return Incoming(chat_id, None, str(query["id"]), bot_api_id(message["message_id"]), show_map=point)
        token, value = decode_button(data)
        inbound = Inbound.button(conversation_key(chat_id), value, context=token)
        return Incoming(chat_id, inbound, str(query["id"]), bot_api_id(message["message_id"]))
    edited = update.get("edited_message")
    if isinstance(edited, Mapping):
        if not _from_a_person_in_private(edited):
            return None
        chat_id = bot_api_id(edited["chat"]["id"])
        return Incoming(chat_id, Inbound.unsupported(conversation_key(chat_id)))
    message = update.get("message")
    if not isinstance(message, Mapping) or not _from_a_person_in_private(message):
        return None
    chat_id = bot_api_id(message["chat"]["id"])
    key = conversation_key(chat_id)
    location, contact = message.get("location"), message.get("contact")
    if isinstance(message.get("text"), str):
        inbound = Inbound.typed(key, message["text"])
    elif isinstance(location, Mapping):
        inbound = Inbound.location(key, float(location["latitude"]), float(location["longitude"]))
    elif isinstance(contact, Mapping):
        inbound = Inbound.contact(key, str(contact.get("phone_number", "")))
    elif any(kind in message for kind in UNREADABLE):
        inbound = Inbound.unsupported(key)  # voice, photo, sticker, document, venue, poll…
    else:
        return None  # a service message (pinned, chat settings…): nothing the person said
    return Incoming(chat_id, inbound)


# What a person can send that the bot cannot read (answered kindly, then the question again).
UNREADABLE = (
    "animation",
    "audio",
    "document",
    "paid_media",
    "photo",
    "sticker",
    "story",
    "video",
    "video_note",
    "voice",
    "dice",
    "game",
    "poll",
    "venue",
    "invoice",
    "checklist",
)


def _private(message: Mapping[str, Any]) -> bool:
    chat = message.get("chat")
    return isinstance(chat, Mapping) and chat.get("type") == "private"


def _is_bot(user: object) -> bool:
    return isinstance(user, Mapping) and bool(user.get("is_bot"))


def _from_a_person_in_private(message: Mapping[str, Any]) -> bool:
    return _private(message) and not _is_bot(message.get("from"))


def encode_button(token: str, value: str) -> str:
    data = f"{FORMAT}|{token}|{value}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        # flows check limits coordinators' values; the engine's own are short. Reaching here is a bug.
        raise ValueError(f"button value too long for Telegram ({len(value.encode())} bytes): {value[:20]}…")
    return data


def decode_button(data: str) -> tuple[str, str]:
    """(question token, value); a press in an unknown format gets a token no question has."""
    version, _, rest = data.partition("|")
    token, _, value = rest.partition("|")
    if version != FORMAT or not token or not value or token == MAP:
        return OLD_BUTTON, data
    return token, value


def encode_map(latitude: float, longitude: float) -> str:
    return f"{FORMAT}|{MAP}|{latitude:.5f},{longitude:.5f}"


def decode_map(data: str) -> tuple[float, float] | None:
    prefix = f"{FORMAT}|{MAP}|"
    if not data.startswith(prefix):
        return None
    latitude, _, longitude = data.removeprefix(prefix).partition(",")
    try:
        point = float(latitude), float(longitude)
    except ValueError:
        return None
    return point if -90 <= point[0] <= 90 and -180 <= point[1] <= 180 else None


# ----- outbound ----------------------------------------------------------------------------------------------
def render_turn(turn: Turn, chat_id: int, labels: Labels, edit_message_id: int | None = None) -> list[Outgoing]:
    """The API calls showing a turn: one message per reply (longer texts split), buttons on the last part.

    Questions asking for a location or a phone number show a keyboard with a share button and the question's
    buttons as typed answers (Telegram cannot show both kinds of buttons on one message). Any other turn takes
    such a keyboard away on its first message without buttons.
    """
    token = question_token(turn.state)
    wants_keyboard = any(reply.request is not None for reply in turn.replies)
    calls: list[Outgoing] = []
    keyboard_removed = wants_keyboard
    for reply in turn.replies:
        markup = _markup(reply, token, labels)
        if markup is None and not keyboard_removed:
            markup = {"remove_keyboard": True}
            keyboard_removed = True
        if reply.edit and edit_message_id is not None and "inline_keyboard" in (markup or {}):
            params = {"chat_id": chat_id, "message_id": edit_message_id, "text": _html(reply.text)}
            calls.append(Outgoing(chat_id, "editMessageText", {**params, "parse_mode": "HTML", "reply_markup": markup}))
            continue
        parts = split_text(reply.text)
        for index, part in enumerate(parts):
            params = {"chat_id": chat_id, "text": _html(part, bold=_name_of(reply) if index == 0 else "")}
            params["parse_mode"] = "HTML"
            params["link_preview_options"] = {"is_disabled": True}
            if index == len(parts) - 1 and markup is not None:
                params["reply_markup"] = markup
            calls.append(Outgoing(chat_id, "sendMessage", params))
    return calls


def unbuttoned(chat_id: int, message_id: int) -> Outgoing:
    """The buttons of a message taken away (a notice's « Annuler ma demande », once pressed: used or out of date)."""
    params = {"chat_id": chat_id, "message_id": message_id, "reply_markup": {"inline_keyboard": []}}
    return Outgoing(chat_id, "editMessageReplyMarkup", params)


def render_text(chat_id: int, text: str) -> list[Outgoing]:
    """A plain message (no buttons), split when long."""
    return [
        Outgoing(chat_id, "sendMessage", {"chat_id": chat_id, "text": _html(part), "parse_mode": "HTML"})
        for part in split_text(text)
    ]


def render_map(chat_id: int, point: tuple[float, float]) -> Outgoing:
    return Outgoing(chat_id, "sendLocation", {"chat_id": chat_id, "latitude": point[0], "longitude": point[1]})


def _markup(reply: Reply, token: str, labels: Labels) -> dict[str, Any] | None:
    if reply.request is not None:
        share = (
            {"text": labels.share_location, "request_location": True}
            if reply.request == "location"
            else {"text": labels.share_contact, "request_contact": True}
        )
        rows = [[share], *[[{"text": button.label}] for button in reply.buttons]]
        return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}
    rows = [[_inline_button(button, token, reply.multi)] for button in reply.buttons]
    for offer in reply.offers:
        if offer.latitude is not None and offer.longitude is not None:
            rows.append([{"text": labels.show_map, "callback_data": encode_map(offer.latitude, offer.longitude)}])
    return {"inline_keyboard": rows} if rows else None


def _inline_button(button: Button, token: str, multi: bool) -> dict[str, str]:
    label = f"{SELECTED}{button.label}" if multi and button.selected else button.label
    return {"text": label, "callback_data": encode_button(token, button.value)}


def _name_of(reply: Reply) -> str:
    """An offer's name, shown in bold when its text begins with it."""
    return reply.offers[0].name if len(reply.offers) == 1 else ""


def _html(text: str, bold: str = "") -> str:
    """The text escaped for Telegram's HTML; `bold` in bold where the first line names it ("📍 TUBÀ, à 0,8 km")."""
    at = text.find(bold, 0, text.find("\n") if "\n" in text else len(text)) if bold else -1
    if at < 0:
        return html.escape(text, quote=False)
    before, after = text[:at], text[at + len(bold) :]
    return f"{html.escape(before, quote=False)}<b>{html.escape(bold, quote=False)}</b>{html.escape(after, quote=False)}"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` characters, cut between paragraphs, else lines, else words, else anywhere."""
    parts: list[str] = []
    rest = text.strip() or "…"
    while len(rest) > limit:
        cut = _cut(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return parts


def _cut(text: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, limit // 2, limit)
        if at > 0:
            return at
    return limit
