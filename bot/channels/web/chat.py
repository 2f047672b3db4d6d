"""The web chat: one page at `/` and a small JSON API beside it, on the aiohttp server, through the same Engine.

    POST /api/chat           one of {"text": "…", "context": …}, {"value": "v", "context": "<question token>"},
                             {"values": ["a", "b"], "context": …} (a several-choice question confirmed),
                             {"location": {"latitude": 45.76, "longitude": 4.85}}, {"command": "/start"};
                             answers the turn (`turn_json`); the first one sets the cookie
    GET  /api/chat           the conversation as it stands: its current question again, else the first turn
                             (/start), which for someone new is shown without storing anything or setting a
                             cookie (nothing is kept before the person acts; answering it begins the conversation)
    GET  /api/chat/notices   {"notices": [{"text", "buttons"}]}: what the bot has for the person outside a turn

The person is an unguessable random id in an HttpOnly, SameSite=Lax cookie (conversation key `web:<id>`).
Requests another site makes are refused (Origin, Sec-Fetch-Site), POSTs must be JSON (a plain HTML form
cannot send that), bodies are small. Every error is a JSON answer, never an HTML page.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from aiohttp import web

from bot.channels.web.http import cross_site, is_https, static_url
from bot.channels.web.notices import KEY_PREFIX, MAX_CHAT_ID, NOTICE, WEB_CHANNEL, web_chat_id
from bot.channels.web.templates import environment
from bot.core.commands import COMMANDS, CONFIRM, FORGET, HUMAN, MY_DATA, START, STOP
from bot.core.errors import StorageError, failure_frames
from bot.core.messages import Inbound, InboundKind, Offer, Reply, Turn, question_token
from bot.core.slots import UNKNOWN
from bot.engine.engine import Engine
from bot.storage.protocol import ChannelStore

log = logging.getLogger(__name__)
COOKIE = "passerelle_chat"
COOKIE_MAX_AGE = 30 * 24 * 3600  # long enough to read the answer to a callback request days later
MAX_BODY = 16 * 1024
MAX_TEXT = 1000  # characters a person may type in one message
MAX_VALUE = 128  # characters of a button value or a question token
MAX_VALUES = 32
ERRORS = {
    "cross_site": (403, "Cette demande ne vient pas de la page de Passerelle."),
    "unsupported_media_type": (415, "La demande doit être envoyée en JSON."),
    "too_large": (413, "Votre message est trop long pour être envoyé."),
    "bad_json": (400, "Votre message n'a pas pu être lu. Réessayez, s'il vous plaît."),
    "bad_request": (400, "Votre message n'a pas pu être lu. Réessayez, s'il vous plaît."),
    "too_long": (400, f"Votre message est un peu long : {MAX_TEXT} caractères au plus, s'il vous plaît."),
}
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


class RequestError(Exception):
    """A request the API refuses: `code` is a key of ERRORS."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# ----- request → Inbound -------------------------------------------------------------------------------------
def read_inbound(key: str, data: object) -> Inbound:
    """The person's action in a POST body, checked; RequestError("bad_request" | "too_long") otherwise."""
    if not isinstance(data, dict):
        raise RequestError("bad_request")
    fields = set(data)
    if fields in ({"text"}, {"text", "context"}):
        # The question the page showed: an answer to a first question shown without being stored then counts.
        return replace(Inbound.typed(key, _text(data["text"])), context=_context(data.get("context")))
    if fields == {"command"}:
        command = data["command"]
        if command not in COMMANDS:
            raise RequestError("bad_request")
        return Inbound.typed(key, command)
    if fields == {"location"}:
        latitude, longitude = _position(data["location"])
        return Inbound.location(key, latitude, longitude)
    context = _context(data.get("context"))
    if fields in ({"value"}, {"value", "context"}):
        return Inbound.button(key, _value(data["value"]), context)
    if fields in ({"values"}, {"values", "context"}):
        values = data["values"]
        if not isinstance(values, list) or len(values) > MAX_VALUES:
            raise RequestError("bad_request")
        chosen = tuple(dict.fromkeys(_value(v) for v in values))
        if not chosen:  # « Valider » with nothing ticked: the engine says how several-choice questions work
            return Inbound.button(key, CONFIRM, context)
        return Inbound(key, InboundKind.CHOICES, values=chosen, context=context)
    raise RequestError("bad_request")


def _text(text: object) -> str:
    if not isinstance(text, str):
        raise RequestError("bad_request")
    if len(text) > MAX_TEXT:
        raise RequestError("too_long")
    return text


def _value(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
        raise RequestError("bad_request")
    return value


def _context(context: object) -> str | None:
    if context is None:
        return None
    return _value(context)


def _position(location: object) -> tuple[float, float]:
    if not isinstance(location, dict) or set(location) - {"latitude", "longitude", "accuracy"}:
        raise RequestError("bad_request")
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if not (_finite(latitude) and _finite(longitude)):
        raise RequestError("bad_request")
    point = float(latitude), float(longitude)  # type: ignore[arg-type]  # _finite checked both
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        raise RequestError("bad_request")
    return point


def _finite(number: object) -> bool:
    return isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number)


# ----- Turn → JSON -------------------------------------------------------------------------------------------
def map_url(latitude: float, longitude: float) -> str:
    """A plain link to the place on OpenStreetMap (the page loads nothing from there)."""
    lat, lon = f"{latitude:.5f}", f"{longitude:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def offer_json(offer: Offer) -> dict[str, Any]:
    latitude, longitude = offer.latitude, offer.longitude
    return {
        "id": offer.id,
        "name": offer.name,
        "address": offer.address,
        "distance_km": offer.distance_km,
        "phone": offer.phone,
        "next_opening": offer.next_opening,
        "open_now": offer.open_now,
        "free": offer.free,
        "services": list(offer.services),
        "help_with": list(offer.help_with),
        "map_url": map_url(latitude, longitude) if latitude is not None and longitude is not None else None,
    }


def reply_json(reply: Reply, notice: str | None = None) -> dict[str, Any]:
    """`notice`: the privacy notice as this page words it; found in the reply, it goes apart (`notice`), which the
    page shows folded under « Ce que nous gardons » so that the first question fits a phone's screen."""
    text, apart = reply.text, None
    if notice and notice in text:
        text, apart = text.replace(notice, "").strip(), notice
    return {
        "text": text,
        "notice": apart,
        "buttons": [{"label": b.label, "value": b.value, "selected": b.selected} for b in reply.buttons],
        "multi": reply.multi,
        "request": reply.request,
        "edit": reply.edit,
        "offers": [offer_json(o) for o in reply.offers],
        # « Garder la liste »: a link to the printable list of the places shown (bot/channels/web/printable.py)
        "list_link": {"url": "/liste", "label": reply.list_link} if reply.list_link else None,
    }


def turn_json(turn: Turn, notice: str | None = None) -> dict[str, Any]:
    """The turn as the page shows it. `question` is the token to send back as `context` with a button's value;
    `forgotten`: the person's data was just erased (the page clears what it shows).
    The persona is not shown to the person (people are never labelled)."""
    callback = turn.callback
    return {
        "replies": [reply_json(r, notice) for r in turn.replies],
        "state": turn.state,
        "question": question_token(turn.state),
        "slot": turn.slot,
        "multi": turn.multi,
        "done": turn.done,
        "forgotten": turn.forgotten,
        "callback": {"id": callback.id, "queue": callback.queue, "status": callback.status} if callback else None,
    }


def notice_json(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A notice row's params as the page shows them; None when the row is not in the documented shape."""
    text = params.get("text")
    buttons = params.get("buttons") or []
    if not isinstance(text, str) or not isinstance(buttons, list):
        return None
    return {
        "text": text,
        "buttons": [
            {"label": b["label"], "value": b["value"]}
            for b in buttons
            if isinstance(b, dict) and isinstance(b.get("label"), str) and isinstance(b.get("value"), str)
        ],
    }


def current_notices(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The notices to show, in order, from the params of the rows waiting: of those on one `topic`, the newest only
    (where the callback request stands now; « a person will call you » with « Annuler ma demande » is stale once
    the call is done)."""
    newest = {row.get("topic"): at for at, row in enumerate(rows) if isinstance(row.get("topic"), str)}
    kept = [row for at, row in enumerate(rows) if not isinstance(row.get("topic"), str) or newest[row["topic"]] == at]
    return [notice for notice in (notice_json(row) for row in kept) if notice is not None]


def _json_response(data: Mapping[str, Any], status: int = 200) -> web.Response:
    response = web.json_response(data, status=status, dumps=_dumps)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(code: str) -> web.Response:
    status, message = ERRORS[code]
    return _json_response({"error": code, "message": message}, status)


def _log_failure(exc: BaseException) -> None:
    """Where it failed, without the exception's message: it may quote what the person wrote."""
    log.error("web chat: unexpected %s\n%s", exc.__class__.__name__, failure_frames(exc))


# ----- the channel -------------------------------------------------------------------------------------------
class WebChat:
    def __init__(self, engine: Engine, storage: ChannelStore) -> None:
        self.engine = engine
        self.storage = storage
        self.templates = environment()

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        # No HEAD on the API: a GET there may start a conversation or hand notices over.
        app.router.add_get("/api/chat", self.current, allow_head=False)
        app.router.add_post("/api/chat", self.post)
        app.router.add_get("/api/chat/notices", self.notices, allow_head=False)

    async def page(self, _request: web.Request) -> web.Response:
        html = self.templates.get_template("chat.html").render(
            css=static_url("chat.css"),
            js=static_url("chat.js"),
            icon=static_url("icon.svg"),
            commands={
                "human": HUMAN,
                "my_data": MY_DATA,
                "forget": FORGET,
                "start": START,
                "stop": STOP,
                "confirm": CONFIRM,
            },
            unknown=UNKNOWN,
        )
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def post(self, request: web.Request) -> web.Response:
        try:
            if cross_site(request):
                raise RequestError("cross_site")
            if request.content_type != "application/json":
                raise RequestError("unsupported_media_type")
            body = await _read_body(request)
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                raise RequestError("bad_json") from None
            chat_id, new = self._identity(request)
            inbound = read_inbound(f"{KEY_PREFIX}{chat_id}", data)
        except RequestError as exc:
            return _error(exc.code)
        return await self._turn(request, chat_id, new, inbound)

    async def current(self, request: web.Request) -> web.Response:
        """What the page showed last (its current question); for someone new, or whose conversation was erased, the
        first turn, neither stored nor with a cookie: nothing is kept before the person acts."""
        if cross_site(request):
            return _error("cross_site")
        chat_id, new = self._identity(request)
        key = f"{KEY_PREFIX}{chat_id}"
        try:
            # Its current question, read from the database (so any process shows the same), changing nothing.
            turn = None if new else await self.engine.current_turn(key)
            if turn is None and not new:  # ended: said so, never started again unasked
                turn = await self.engine.ended_turn(key)
            if turn is None and (new or await self.storage.read_conversation(key) is None):
                turn = await self.engine.welcome(key)
        except StorageError as exc:  # the database is away for a while: a kind answer, the page may try again
            log.warning("web chat: %s", exc)
            return self._technical_error(503)
        except Exception as exc:  # the edge: a kind answer for the person, the place for the log
            _log_failure(exc)
            return self._technical_error()
        if turn is not None:
            return _json_response(turn_json(turn, self._notice()))
        # Standing on no question: the conversation begins again.
        return await self._turn(request, chat_id, new, Inbound.typed(key, START))

    async def notices(self, request: web.Request) -> web.Response:
        """The person's notices in order, deleted once read (a page that misses the answer gets them again)."""
        if cross_site(request):
            return _error("cross_site")
        chat_id = _cookie_id(request)
        if chat_id is None:
            return _json_response({"notices": []})
        try:
            rows = [r for r in await self.storage.pending_outgoing_for(WEB_CHANNEL, chat_id) if r.method == NOTICE]
            if rows:
                await self.storage.delete_outgoing([r.id for r in rows])
        except Exception as exc:  # the edge: a kind answer, the place in the log
            _log_failure(exc)
            return _json_response({"notices": [], "error": "technical_error"}, 503)
        return _json_response({"notices": current_notices([r.params for r in rows])})

    async def _turn(self, request: web.Request, chat_id: int, new: bool, inbound: Inbound) -> web.Response:
        try:
            turn = await self.engine.handle(inbound)
        except StorageError as exc:  # the database is away for a while: a kind answer, the page may try again
            log.warning("web chat: %s", exc)
            response = self._technical_error(503)
        except Exception as exc:  # the edge: a kind answer for the person, the place for the log
            _log_failure(exc)
            response = self._technical_error()
        else:
            response = _json_response(turn_json(turn, self._notice()))
        if new:
            response.set_cookie(
                COOKIE,
                str(chat_id),
                max_age=COOKIE_MAX_AGE,
                path="/",
                httponly=True,
                samesite="Lax",
                secure=is_https(request),
            )
        return response

    def _notice(self) -> str:
        """The privacy notice as the page's conversations say it (shown apart by the page)."""
        return self.engine.text("privacy_notice", WEB_CHANNEL)

    def _technical_error(self, status: int = 500) -> web.Response:
        text = self.engine.text("technical_error")
        reply = reply_json(Reply(text))
        return _json_response({"error": "technical_error", "message": text, "replies": [reply]}, status)

    def _identity(self, request: web.Request) -> tuple[int, bool]:
        """(chat id, new): the cookie's id, else a new random one (63 bits, a positive BIGINT)."""
        chat_id = _cookie_id(request)
        if chat_id is not None:
            return chat_id, False
        return secrets.randbelow(MAX_CHAT_ID) + 1, True


def _cookie_id(request: web.Request) -> int | None:
    return web_chat_id(KEY_PREFIX + request.cookies.get(COOKIE, ""))


async def _read_body(request: web.Request) -> bytes:
    """The body, MAX_BODY bytes at most (RequestError("too_large") beyond), declared length or not."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RequestError("too_large")
    body = bytearray()
    while len(body) <= MAX_BODY:
        chunk = await request.content.read(MAX_BODY + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    raise RequestError("too_large")
