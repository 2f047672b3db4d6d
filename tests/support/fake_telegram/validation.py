"""What the real Bot API checks before accepting a call, with its error descriptions where they are known."""

from __future__ import annotations

import re
from typing import Any

from .html import HtmlError, parse_html, strip_text
from .models import JSON, ApiError, bad_request, utf16_len

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
REPLY_BUTTON_REQUESTS = ("request_contact", "request_location", "request_poll", "request_users", "request_chat")
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def required(params: JSON, name: str, detail: str | None = None) -> Any:
    """A mandatory parameter, or the API's "<name> is empty" error."""
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(detail or f"{name} is empty")
    return value


def formatted_text(params: JSON, *, html_strict: bool = True) -> tuple[str, str | None, list[JSON]]:
    """``text`` parsed with ``parse_mode``: (plain text, raw HTML or None, entities), checked like sendMessage."""
    raw = params.get("text")
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raw = str(raw)
    parse_mode = params.get("parse_mode")
    html: str | None = None
    entities: list[JSON] = []
    if parse_mode in (None, ""):
        text = raw
        explicit = params.get("entities")
        if isinstance(explicit, list):
            entities = [entity for entity in explicit if isinstance(entity, dict)]
    elif str(parse_mode).lower() == "html":
        html = raw
        try:
            text, entities = parse_html(raw, strict=html_strict)
        except HtmlError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    elif str(parse_mode).lower() in ("markdown", "markdownv2"):
        text = raw  # not parsed by the fake: the text is kept as sent
    else:
        raise bad_request("unsupported parse_mode")
    text, entities = strip_text(text, entities)
    if not text:
        raise bad_request("message text is empty")
    if utf16_len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    return text, html, entities


def _inline_button(button: Any) -> JSON:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if text is None:
        raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
    if not isinstance(text, str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not text.strip():
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be non-empty')
    actions = [name for name in INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            f"can't parse inline keyboard button: exactly one of the optional fields must be used, got {actions}"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise bad_request('can\'t parse inline keyboard button: Field "callback_data" must be of type String')
        if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url or any(char.isspace() for char in url):
            raise bad_request("BUTTON_URL_INVALID")
    return button


def _reply_button(button: Any, private: bool) -> JSON:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict):
        raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    if not text.strip():
        raise bad_request('can\'t parse keyboard button: Field "text" must be non-empty')
    for flag in ("request_contact", "request_location"):
        if flag in button and not isinstance(button[flag], bool):
            raise bad_request(f'can\'t parse keyboard button: Field "{flag}" must be of type Boolean')
    if not private and button.get("request_contact"):
        raise bad_request("phone number can be requested in private chats only")
    if not private and button.get("request_location"):
        raise bad_request("location can be requested in private chats only")
    return button


def _rows(markup: JSON, field: str, kind: str) -> list[Any]:
    rows = markup[field]
    if not isinstance(rows, list):
        raise bad_request(f'field "{field}" of the {kind} must be an Array')
    if not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{field}" of the {kind} must be an Array of Arrays')
    return rows


def reply_markup(markup: Any, *, private: bool, inline_only: bool = False) -> JSON | None:
    """A checked reply_markup, with reply keyboard buttons normalised to objects; None when absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = _rows(markup, "inline_keyboard", "InlineKeyboardMarkup")
        return {"inline_keyboard": [[_inline_button(button) for button in row] for row in rows]}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = _rows(markup, "keyboard", "ReplyKeyboardMarkup")
        return {**markup, "keyboard": [[_reply_button(button, private) for button in row] for row in rows]}
    if "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise bad_request('field "remove_keyboard" of the ReplyKeyboardRemove must be true')
        return markup
    if "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad_request('field "force_reply" of the ForceReply must be true')
        return markup
    raise bad_request(
        "can't parse reply keyboard markup JSON object: expected one of the fields "
        '"inline_keyboard", "keyboard", "remove_keyboard" or "force_reply"'
    )


def _coordinate(params: JSON, name: str, bound: float) -> float:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"{name} is empty" if value in (None, "") else f"invalid {name} specified")
    if not -bound <= value <= bound:
        raise bad_request(f"invalid {name} specified")
    return float(value)


def location(params: JSON) -> JSON:
    """``{"latitude", "longitude"}`` from the params; latitude in [-90, 90], longitude in [-180, 180]."""
    return {
        "latitude": _coordinate(params, "latitude", 90.0),
        "longitude": _coordinate(params, "longitude", 180.0),
    }


def venue(params: JSON) -> JSON:
    """The Venue object of a sendVenue call."""
    place = location(params)
    title = params.get("title")
    if not isinstance(title, str) or not title.strip():
        raise bad_request("venue title is empty" if not title else "invalid venue title specified")
    address = params.get("address")
    if not isinstance(address, str) or not address.strip():
        raise bad_request("venue address is empty" if not address else "invalid venue address specified")
    result: JSON = {"location": place, "title": title, "address": address}
    for name in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
        if params.get(name):
            result[name] = params[name]
    return result


def chat_action(params: JSON) -> str:
    action = params.get("action")
    if not action:
        raise bad_request("action is empty")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return str(action)


def commands(params: JSON) -> list[JSON]:
    value = params.get("commands")
    if not isinstance(value, list):
        raise bad_request("can't parse commands JSON object" if value is not None else "commands is empty")
    if len(value) > 100:
        raise bad_request("too many commands specified")
    checked: list[JSON] = []
    for command in value:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand: BotCommand must be an Object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND.fullmatch(name.lower()):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        checked.append({"command": name.lower(), "description": description})
    return checked


def allowed_updates(value: Any) -> list[str] | None:
    """The allowed_updates list; None when absent (keep the previous setting), [] meaning "the default"."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise bad_request("can't parse allowed updates JSON object")
    return list(value)


def secret_token(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _SECRET.fullmatch(value):
        raise bad_request("secret token contains unallowed characters")
    return value


def max_connections(value: Any) -> int:
    if value in (None, ""):
        return 40
    if not isinstance(value, int) or not 1 <= value <= 100:
        raise bad_request("invalid max_connections specified")
    return value


def int_in_range(params: JSON, name: str, default: int, low: int, high: int) -> int:
    """An optional integer parameter, clamped into [low, high] like getUpdates' limit."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Bad Request: invalid {name} specified")
    return min(max(value, low), high)
