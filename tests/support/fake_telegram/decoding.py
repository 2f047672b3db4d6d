"""Decoding of Bot API request parameters, whatever the transport: query string, url-encoded form, multipart, JSON.

PTB sends url-encoded forms (multipart when uploading files) whose values are strings: objects and lists are
JSON-encoded, numbers and booleans are their JSON spelling ("42", "45.76", "true"). JSON bodies carry typed values.
Everything is decoded into one plain dict with Python values.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from .models import JSON, ApiError, bad_request

OBJECT_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "scope",
        "menu_button",
        "media",
        "results",
    }
)
INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "max_connections",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "user_id",
        "from_chat_id",
        "live_period",
        "heading",
        "proximity_alert_radius",
    }
)
NUMBER_PARAMS = frozenset({"latitude", "longitude", "horizontal_accuracy", "timeout"})
# Free text: never turned into a bool or a number even when it reads "true" or "42".
TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "title",
        "address",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "parse_mode",
        "action",
        "language_code",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
        "phone_number",
        "first_name",
        "last_name",
        "emoji",
    }
)
# How the real API names a parameter it could not parse as JSON.
_JSON_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
    "reply_parameters": "can't parse reply parameters JSON object",
    "commands": "can't parse commands JSON object",
    "allowed_updates": "can't parse allowed updates JSON object",
}


def _number(name: str, raw: str, *, integer: bool) -> int | float | str:
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    if integer:
        if name == "chat_id":
            return raw  # "@channelusername" is a legal chat_id; it is then simply an unknown chat
        raise bad_request(f"invalid {name} specified") from None
    try:
        return float(text)
    except ValueError:
        raise bad_request(f"invalid {name} specified") from None


def coerce(name: str, value: Any) -> Any:
    """One parameter's value as the API understands it (``value`` may already be typed, from a JSON body)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    if name in OBJECT_PARAMS:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(_JSON_ERRORS.get(name, f"can't parse {name} JSON object")) from None
    if name in INT_PARAMS:
        return _number(name, value, integer=True) if isinstance(value, str) else value
    if name in NUMBER_PARAMS:
        return _number(name, value, integer=False) if isinstance(value, str) else value
    if isinstance(value, str) and name not in TEXT_PARAMS and value in ("true", "false"):
        return value == "true"
    return value


def _coerce_all(items: MultiMapping[Any] | JSON) -> JSON:
    params: JSON = {}
    for name, value in items.items():
        if isinstance(value, web.FileField):
            content = value.file.read()
            params[name] = {"file_name": value.filename, "content_type": value.content_type, "size": len(content)}
        else:
            params[name] = coerce(name, value)
    return params


async def decode_params(request: web.Request) -> JSON:
    """All parameters of a request: query string first, then the body (which wins on duplicates)."""
    params = _coerce_all(request.query) if request.query_string else {}
    if not request.body_exists:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON object expected in the request body")
        params.update(_coerce_all(body))
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        params.update(_coerce_all(await request.post()))
    return params
