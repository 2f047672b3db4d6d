"""FakeTelegram: the HTTP server (aiohttp, loopback only), request dispatch, faults, latency and flood limits."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from aiohttp import web

from .decoding import decode_params
from .faults import FaultBook
from .limits import LIMITED_METHODS, RateLimiter
from .methods import HANDLERS, METHOD_NAMES
from .models import JSON, ApiError, Call, CallbackQueryRecord, ChatState, Delivery, Fault, FaultKind, Limits
from .updates import UpdateQueue
from .webhook import WebhookDispatcher

if TYPE_CHECKING:
    from .users import FakeGroup, FakeUser

HOST = "127.0.0.1"
INTERNAL_ERROR = "Internal Server Error"
BAD_GATEWAY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
_JSON_HEADERS = {"Content-Type": "application/json"}


def _response(status: int, body: JSON) -> web.Response:
    return web.Response(status=status, body=json.dumps(body, ensure_ascii=False).encode(), headers=_JSON_HEADERS)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


class FakeTelegram:
    """A fake Bot API server on 127.0.0.1 for PTB (or any HTTP client), with simulated users and faults."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        latency: float = 0.0,
        limits: Limits | None = None,
        *,
        bot_first_name: str = "Passerelle",
        bot_username: str = "passerelle_test_bot",
        webhook_timeout: float = 10.0,
        first_update_id: int = 100_000,
        html_strict: bool = True,
    ) -> None:
        self.token = token
        self.latency = latency
        self.limits = limits
        self.html_strict = html_strict  # refuse a bare "&" and <a> without href (stricter than Telegram)
        self.webhook_rewrite: Callable[[str], str] | None = None
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[Call] = []
        self.upgraded: dict[int, int] = {}  # group id -> the supergroup it became
        self.limit_violations: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.chats: dict[int, ChatState] = {}
        self.users: dict[int, FakeUser] = {}
        self.groups: dict[int, FakeGroup] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.menu_button: JSON = {"type": "default"}
        self.updates = UpdateQueue(first_update_id)
        self.webhook = WebhookDispatcher(self.updates, self.deliveries, webhook_timeout)
        self.faults = FaultBook()
        self._limiter = RateLimiter()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        """Listen on 127.0.0.1, on a free port."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already started")
        self._closing = asyncio.Event()
        self.updates.closed = False
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        """Answer the calls still waiting, stop webhook delivery, close the server."""
        self._closing.set()
        self.updates.closed = True
        self.updates.signal.notify()
        await self.webhook.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        """PTB's ``base_url``: PTB appends the token and the method name."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.base_url}/file/bot"

    # -- options -----------------------------------------------------------------------------------------------

    @property
    def duplicate_updates(self) -> bool:
        return self.updates.duplicates

    @duplicate_updates.setter
    def duplicate_updates(self, value: bool) -> None:
        self.updates.duplicates = value

    @property
    def webhook_timeout(self) -> float:
        return self.webhook.timeout

    @webhook_timeout.setter
    def webhook_timeout(self, value: float) -> None:
        self.webhook.timeout = value

    def inject(self, fault: Fault) -> None:
        """The next ``fault.count`` calls matching ``fault.method`` fail that way."""
        self.faults.add(fault)

    def upgrade_group(self, chat_id: int, supergroup_id: int) -> None:
        """The group became a supergroup (Telegram does it when a group grows or changes settings): calls for its
        old id are refused, naming the new one (`parameters.migrate_to_chat_id`)."""
        self.upgraded[chat_id] = supergroup_id

    def storm(self, kind: FaultKind, seconds: float, method: str | None = None, retry_after: int = 1) -> None:
        """Every matching call fails with ``kind`` for the next ``seconds``."""
        self.faults.add(Fault(method, kind, retry_after=retry_after, until=time.monotonic() + seconds))

    # -- inspection --------------------------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        """The calls of one method (case-insensitive), in arrival order."""
        wanted = METHOD_NAMES.get(method.lower(), method)
        return [call for call in self.calls if call.method == wanted]

    def unanswered_callback_queries(self) -> list[str]:
        return [query.id for query in self.callback_queries.values() if query.answered_at is None]

    @property
    def update_history(self) -> list[JSON]:
        """Every update the simulated users produced, in order."""
        return self.updates.history

    # -- simulated chats ---------------------------------------------------------------------------------------

    def user(
        self, chat_id: int, first_name: str = "Camille", last_name: str | None = None, username: str | None = None
    ) -> FakeUser:
        """A user with a private chat with the bot (the same object when asked again)."""
        from .users import FakeUser

        if chat_id in self.users:
            return self.users[chat_id]
        if chat_id <= 0:
            raise ValueError("a private chat's id is the user's id, a positive number")
        chat = ChatState(chat_id, "private", first_name=first_name, last_name=last_name, username=username)
        self.chats[chat_id] = chat
        user = self.users[chat_id] = FakeUser(self, chat)
        return user

    def group(self, chat_id: int, title: str = "Groupe") -> FakeGroup:
        """A supergroup the bot is a member of (the same object when asked again)."""
        from .users import FakeGroup

        if chat_id in self.groups:
            return self.groups[chat_id]
        if chat_id >= 0:
            raise ValueError("a group's chat id is negative")
        chat = self.chats[chat_id] = ChatState(chat_id, "supergroup", title=title)
        group = self.groups[chat_id] = FakeGroup(self, chat)
        return group

    def push_update(self, kind: str, body: JSON, chat_id: int | None) -> JSON:
        """Queue a new update (polling) or schedule its delivery (webhook); returns the Update object."""
        record = self.updates.create(kind, body, chat_id)
        self.webhook.enqueue(record)
        return record.payload

    # -- flood control -----------------------------------------------------------------------------------------

    def flood_check(self, call: Call, chat_id: int) -> None:
        """Count a message-sending call against the limits, or refuse it with a 429."""
        limits = self.limits
        if limits is None or call.method not in LIMITED_METHODS:
            return
        retry_after = self._limiter.check(limits, chat_id, time.monotonic())
        if retry_after:
            self.limit_violations.append(call)
            raise too_many_requests(retry_after)

    # -- HTTP --------------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        canonical = METHOD_NAMES.get(name.lower())
        decode_error: ApiError | None = None
        try:
            params = await decode_params(request)
        except ApiError as error:
            params, decode_error = {}, error
        chat_id = params.get("chat_id")
        call = Call(canonical or name, params, time.monotonic())
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            call.chat_id = chat_id
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if canonical is None:
                raise ApiError(404, "Not Found")
            if decode_error is not None:
                raise decode_error
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            fault = self.faults.take(canonical, time.monotonic()) if self.faults else None
            if fault is not None:
                response = await self._fault(request, call, fault)
                if response is not None:
                    return response
            if call.chat_id in self.upgraded:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self.upgraded[call.chat_id]},
                )
            result = await HANDLERS[canonical](self, params, call)
            call.status, call.result = 200, result
            return _response(200, {"ok": True, "result": result})
        except ApiError as error:
            call.status, call.description = error.status, error.description
            return _response(error.status, error.body())
        finally:
            chat = self.chats.get(call.chat_id) if call.chat_id is not None else None
            if chat is not None:
                chat.signal.notify()

    async def _fault(self, request: web.Request, call: Call, fault: Fault) -> web.StreamResponse | None:
        """Apply a fault: an error answer, no answer at all, or None to go on (after a "slow" delay)."""
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "429":
            raise too_many_requests(fault.retry_after)
        if fault.kind == "500":
            call.status, call.description = 500, INTERNAL_ERROR
            return _response(500, {"ok": False, "error_code": 500, "description": INTERNAL_ERROR})
        if fault.kind == "502":  # the proxy in front of the Bot API, as nginx answers it: HTML, not JSON
            call.status, call.description = 502, "Bad Gateway"
            return web.Response(status=502, text=BAD_GATEWAY_PAGE, content_type="text/html")
        if fault.kind == "timeout":
            # Never answer: wait for the server to stop (the client gives up long before).
            await self._closing.wait()
        call.status = 0
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # the connection is gone: nothing to send

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        return _response(404, {"ok": False, "error_code": 404, "description": "Not Found: file not found"})
