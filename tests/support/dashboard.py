"""Helpers for tests driving the mediators' dashboard (/mediateurs/) on a running server (tests/support/browser.py's
`running_server`, the `web_server` fixture): accounts, a signed-in HTTP client that fills in CSRF tokens,
callback requests created the way the engine records them.

    await add_mediator(server, "marie", ["lyon"], name="Marie D.")
    async with DashboardClient(server) as marie:
        await marie.sign_in("marie")
        row = await create_request(server, queue="lyon")
        response = await marie.act(row.id, "prendre")
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import aiohttp

from bot.callbacks.queues import Queue
from bot.dashboard.accounts import Accounts
from bot.storage import NewCallback, Storage
from bot.storage.records import CallbackRow
from tests.support.browser import RunningServer

PASSWORD = "un mot de passe assez long"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def accounts(server: RunningServer) -> Accounts:
    assert isinstance(server.app.storage, Storage)
    return Accounts(server.app.storage)


async def add_mediator(
    server: RunningServer, login: str, queues: Sequence[str], *, password: str = PASSWORD, name: str | None = None
) -> None:
    """An account, as `python -m bot mediators add` makes it (same code, without the process)."""
    await accounts(server).save(login, password, list(queues), name)


async def create_request(
    server: RunningServer,
    *,
    queue: str = "lyon",
    phone: str = "+33612345678",
    first_name: str | None = "Jeanne",
    persona: str | None = "timide",
    key: str = "test:dashboard",
    commune: str | None = "Lyon",
    **more: Any,
) -> CallbackRow:
    """A callback request as the engine records it at the end of a conversation: the row and its `created`
    event (through the desk, as the engine's callback hook does), committed."""
    desk = server.app.desk
    storage = server.app.storage
    assert desk is not None
    assert isinstance(storage, Storage)
    fields: dict[str, Any] = {
        "answers": {"for_whom": "self", "age_band": "70_79", "equipment": ["smartphone"], "location": "69003"},
        "moment": "morning",
        "contact": "person",
        "code_insee": "69123" if commune == "Lyon" else None,
        "channel": key.partition(":")[0] if key.startswith(("web:", "telegram:")) else "web",
        **more,  # any other field of NewCallback: relation, channel…
    }
    new = NewCallback(
        conversation_key=key,
        queue=queue,
        persona=persona,
        phone=phone,
        consent_at=datetime.now(UTC),
        consent_text="v1",
        first_name=first_name,
        commune=commune,
        **fields,
    )
    async with storage.callback_transaction() as tx:
        row = await tx.create_callback(new)
        after = await desk.turn_changes(tx, [row], [])
    after()
    return row


def working_moment(queue: Queue, days_ahead: int = 1) -> datetime:
    """A whole minute of the queue's working time at least `days_ahead` days from the real clock, in the queue's
    time zone: a time a mediator may agree with a person on a running server (its desk reads the real clock),
    which the server's own reminder rounds (real time) never reach during a test."""
    start = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return queue.hours.after(start, 0).astimezone(queue.hours.calendar.zone)  # openings fall on whole minutes


class DashboardClient:
    """A browser without JavaScript: an aiohttp session keeping cookies (on 127.0.0.1 too), which reads the CSRF
    token of the last page it saw and sends it with the forms it posts."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.session = aiohttp.ClientSession(
            base_url=server.url, cookie_jar=aiohttp.CookieJar(unsafe=True), raise_for_status=False
        )
        self.csrf = ""

    async def __aenter__(self) -> DashboardClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.session.close()

    async def page(self, path: str, **options: Any) -> tuple[aiohttp.ClientResponse, str]:
        """GET a page: the response and its text (HTML entities decoded: « d'agir », not « d&#39;agir »); the
        page's CSRF token is kept for the next post."""
        async with self.session.get(path, **options) as response:
            return response, self._read(await response.text())

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **options: Any
    ) -> tuple[aiohttp.ClientResponse, str]:
        """POST a form (with the last CSRF token seen unless `csrf` is False); follows the redirect by default."""
        form = {**({"csrf": self.csrf} if csrf else {}), **(data or {})}
        async with self.session.post(path, data=form, **options) as response:
            return response, self._read(await response.text())

    def _read(self, text: str) -> str:
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return html.unescape(text)

    async def sign_in(self, login: str, password: str = PASSWORD) -> tuple[aiohttp.ClientResponse, str]:
        """The sign-in form, filled and sent; ends on the list of requests when it worked."""
        await self.page("/mediateurs/connexion")
        return await self.post("/mediateurs/connexion", {"identifiant": login, "mot_de_passe": password})

    async def act(self, callback_id: str, action: str, **fields: str) -> tuple[aiohttp.ClientResponse, str]:
        """One of the request page's forms (prendre, liberer, appel-fait, injoignable, rappeler, note), from that
        page."""
        await self.page(f"/mediateurs/demandes/{callback_id}")
        return await self.post(f"/mediateurs/demandes/{callback_id}/{action}", fields)

    def cookie(self, name: str) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None
