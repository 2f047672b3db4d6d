"""The Bot API methods the fake implements: checks like the real API, then the effect on the fake's state."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import validation as check
from .models import JSON, ApiError, Call, ChatState, MessageKind, StoredMessage, bad_request
from .webhook import WebhookConfig

if TYPE_CHECKING:
    from .server import FakeTelegram

Handler = Callable[["FakeTelegram", JSON, Call], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}
METHOD_NAMES: dict[str, str] = {}  # lower-case name -> canonical name (method names are case-insensitive)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a current "
    "content and reply markup of the message"
)
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        METHOD_NAMES[name.lower()] = name
        return handler

    return register


def known_chat(server: FakeTelegram, params: JSON) -> ChatState:
    chat_id = check.required(params, "chat_id")
    chat = server.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is None:
        raise bad_request("chat not found")
    if chat.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat


def inline_or_none(markup: JSON | None) -> JSON | None:
    """The markup to attach to the message: only an inline keyboard with at least one button."""
    if markup and any(markup.get("inline_keyboard") or []):
        return markup
    return None


def _reply_to(chat: ChatState, params: JSON) -> StoredMessage | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id, lenient = reply.get("message_id"), bool(reply.get("allow_sending_without_reply"))
    else:
        message_id, lenient = params.get("reply_to_message_id"), bool(params.get("allow_sending_without_reply"))
    if message_id is None:
        return None
    replied = chat.by_id.get(message_id) if isinstance(message_id, int) else None
    if replied is None and not lenient:
        raise bad_request("message to be replied not found")
    return replied


def store_bot_message(
    server: FakeTelegram,
    chat: ChatState,
    params: JSON,
    kind: MessageKind,
    markup: JSON | None,
    fields: JSON,
    html: str | None = None,
) -> JSON:
    """Add a message sent by the bot to the chat; its Message object is the call's result."""
    replied = _reply_to(chat, params)
    message = StoredMessage(chat.new_message_id(), chat.id, True, kind, int(time.time()))
    message.text, message.html = fields.get("text"), html
    message.entities = fields.get("entities", [])
    message.sent_markup = markup
    message.reply_markup = inline_or_none(markup)
    payload: JSON = {"message_id": message.message_id, "from": server.bot_user, "chat": chat.as_dict()}
    payload["date"] = message.date
    if replied is not None:
        payload["reply_to_message"] = dict(replied.payload)
    payload.update(fields)
    if message.reply_markup:
        payload["reply_markup"] = message.reply_markup
    message.payload = payload
    if markup and "keyboard" in markup:
        chat.reply_keyboard = markup
    elif markup and "remove_keyboard" in markup:
        chat.reply_keyboard = None
    chat.add(message)
    chat.bot_activity(message.message_id)
    return payload


def message_to_edit(chat: ChatState, params: JSON) -> StoredMessage:
    if params.get("inline_message_id"):
        raise bad_request("message to edit not found")  # inline messages are not simulated
    message_id = check.required(params, "message_id", "message identifier is not specified")
    message = chat.by_id.get(message_id) if isinstance(message_id, int) else None
    if message is None:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def apply_edit(chat: ChatState, message: StoredMessage, markup: JSON | None, text: JSON | None) -> JSON:
    message.history.append(message.text)
    message.edits += 1
    message.edit_date = int(time.time())
    payload = dict(message.payload)
    payload["edit_date"] = message.edit_date
    if text is not None:
        message.text, message.html, message.entities = text["text"], text["html"], text["entities"]
        payload["text"] = message.text
        payload.pop("entities", None)
        if message.entities:
            payload["entities"] = message.entities
    message.reply_markup = message.sent_markup = markup
    payload.pop("reply_markup", None)
    if markup:
        payload["reply_markup"] = markup
    message.payload = payload
    chat.bot_activity(message.message_id)
    return payload


@method("getMe")
async def get_me(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    return server.bot_user


@method("close")
async def close(server: FakeTelegram, params: JSON, call: Call) -> bool:
    return True


@method("logOut")
async def log_out(server: FakeTelegram, params: JSON, call: Call) -> bool:
    return True


@method("getUpdates")
async def get_updates(server: FakeTelegram, params: JSON, call: Call) -> list[JSON]:
    return await server.updates.get_updates(params)


@method("setWebhook")
async def set_webhook(server: FakeTelegram, params: JSON, call: Call) -> bool:
    url = params.get("url") or ""
    drop = bool(params.get("drop_pending_updates"))
    if not url:
        await server.webhook.configure(None, drop_pending=drop)
        return True
    if not isinstance(url, str):
        raise bad_request("bad webhook: invalid URL")
    parts = urlsplit(url)
    if server.webhook_rewrite is None and parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if parts.scheme == "https" and (parts.port or 443) not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    secret = check.secret_token(params.get("secret_token"))
    connections = check.max_connections(params.get("max_connections"))
    allowed = check.allowed_updates(params.get("allowed_updates"))
    target = server.webhook_rewrite(url) if server.webhook_rewrite else url
    if allowed is not None:
        server.updates.allowed = allowed
    await server.webhook.configure(WebhookConfig(url, target, secret, connections), drop_pending=drop)
    return True


@method("deleteWebhook")
async def delete_webhook(server: FakeTelegram, params: JSON, call: Call) -> bool:
    await server.webhook.configure(None, drop_pending=bool(params.get("drop_pending_updates")))
    return True


@method("getWebhookInfo")
async def get_webhook_info(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    return server.webhook.info()


@method("sendMessage")
async def send_message(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    chat = known_chat(server, params)
    text, html, entities = check.formatted_text(params, html_strict=server.html_strict)
    markup = check.reply_markup(params.get("reply_markup"), private=chat.type == "private")
    server.flood_check(call, chat.id)
    fields: JSON = {"text": text}
    if entities:
        fields["entities"] = entities
    return store_bot_message(server, chat, params, "text", markup, fields, html)


@method("sendLocation")
async def send_location(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    chat = known_chat(server, params)
    place = check.location(params)
    markup = check.reply_markup(params.get("reply_markup"), private=chat.type == "private")
    server.flood_check(call, chat.id)
    return store_bot_message(server, chat, params, "location", markup, {"location": place})


@method("sendVenue")
async def send_venue(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    chat = known_chat(server, params)
    venue = check.venue(params)
    markup = check.reply_markup(params.get("reply_markup"), private=chat.type == "private")
    server.flood_check(call, chat.id)
    fields = {"venue": venue, "location": venue["location"]}
    return store_bot_message(server, chat, params, "venue", markup, fields)


@method("editMessageText")
async def edit_message_text(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    chat = known_chat(server, params)
    message = message_to_edit(chat, params)
    if message.kind != "text":
        raise bad_request("there is no text in the message to edit")
    text, html, entities = check.formatted_text(params, html_strict=server.html_strict)
    markup = check.reply_markup(params.get("reply_markup"), private=chat.type == "private", inline_only=True)
    markup = inline_or_none(markup)
    if text == message.text and entities == message.entities and markup == message.reply_markup:
        raise bad_request(NOT_MODIFIED)
    server.flood_check(call, chat.id)
    return apply_edit(chat, message, markup, {"text": text, "html": html, "entities": entities})


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    chat = known_chat(server, params)
    message = message_to_edit(chat, params)
    markup = check.reply_markup(params.get("reply_markup"), private=chat.type == "private", inline_only=True)
    markup = inline_or_none(markup)
    if markup == message.reply_markup:
        raise bad_request(NOT_MODIFIED)
    server.flood_check(call, chat.id)
    return apply_edit(chat, message, markup, None)


@method("deleteMessage")
async def delete_message(server: FakeTelegram, params: JSON, call: Call) -> bool:
    chat = known_chat(server, params)
    message_id = check.required(params, "message_id", "message identifier is not specified")
    message = chat.by_id.pop(message_id, None) if isinstance(message_id, int) else None
    if message is None:
        raise bad_request("message to delete not found")
    chat.messages.remove(message)
    chat.bot_activity(message.message_id)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(server: FakeTelegram, params: JSON, call: Call) -> bool:
    query = server.callback_queries.get(str(params.get("callback_query_id")))
    if query is None or query.answered_at is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    call.chat_id = query.chat_id
    query.answered_at = time.monotonic()
    query.answer = params
    return True


@method("sendChatAction")
async def send_chat_action(server: FakeTelegram, params: JSON, call: Call) -> bool:
    chat = known_chat(server, params)
    chat.actions.append(check.chat_action(params))
    return True


def _commands_key(params: JSON) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


@method("setMyCommands")
async def set_my_commands(server: FakeTelegram, params: JSON, call: Call) -> bool:
    server.commands[_commands_key(params)] = check.commands(params)
    return True


@method("getMyCommands")
async def get_my_commands(server: FakeTelegram, params: JSON, call: Call) -> list[JSON]:
    return server.commands.get(_commands_key(params), [])


@method("deleteMyCommands")
async def delete_my_commands(server: FakeTelegram, params: JSON, call: Call) -> bool:
    server.commands.pop(_commands_key(params), None)
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(server: FakeTelegram, params: JSON, call: Call) -> bool:
    button = params.get("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
        raise bad_request("can't parse menu button JSON object")
    if params.get("chat_id") is None:
        server.menu_button = button
    else:
        known_chat(server, params).menu_button = button
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(server: FakeTelegram, params: JSON, call: Call) -> JSON:
    if params.get("chat_id") is None:
        return server.menu_button
    return known_chat(server, params).menu_button or server.menu_button
