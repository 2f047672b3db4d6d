"""The web chat's JSON API and page, against the whole server (`bot.app.server.serve`, a SQLite file) on loopback:
conversations, stale buttons, refused requests, the cookie, notices, headers, and `python -m bot run` itself."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jinja2
import pytest
import pytest_asyncio
from yarl import URL

from bot.channels.web.chat import COOKIE, MAX_BODY, MAX_TEXT, read_inbound
from bot.channels.web.notices import WEB_CHANNEL, web_notice
from bot.channels.web.templates import environment
from bot.core.messages import Inbound, InboundKind
from bot.storage import Storage
from tests.support.browser import ROOT, RunningServer, free_port, running_server, web_settings
from tests.support.telegram_harness import whole_conversation

pytestmark = pytest.mark.asyncio(loop_scope="session")
JSON = {"Content-Type": "application/json"}
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


class WebPerson:
    """Someone using the web chat's API the way the page does (one cookie jar, tokens sent back)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.last: dict[str, Any] = {}

    async def start(self) -> dict[str, Any]:
        async with self.session.get(f"{self.base}/api/chat") as response:
            assert response.status == 200, await response.text()
            self.last = await response.json()
        return self.last

    async def post(self, body: object) -> dict[str, Any]:
        async with self.session.post(f"{self.base}/api/chat", json=body) as response:
            assert response.status == 200, await response.text()
            self.last = await response.json()
        return self.last

    async def say(self, line: str) -> dict[str, Any]:
        """A line of the YAML flow tests: `value:a,b` presses buttons, `contact:…` types the number, else typed."""
        if line.startswith("value:"):
            values = line.removeprefix("value:").split(",")
            if self.last.get("multi"):
                return await self.post({"values": values, "context": self.last["question"]})
            return await self.post({"value": values[0], "context": self.last["question"]})
        if line.startswith("/"):
            return await self.post({"command": line})
        if line.startswith("contact:"):
            return await self.post({"text": "06 12 34 56 78"})
        return await self.post({"text": line})

    def chat_id(self) -> int:
        cookie = self.session.cookie_jar.filter_cookies(URL(self.base))[COOKIE]
        return int(cookie.value)

    def text(self) -> str:
        return "\n".join(reply["text"] for reply in self.last["replies"])


@pytest_asyncio.fixture(loop_scope="session")
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe: the cookie jar keeps cookies of an IP address (127.0.0.1)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        yield client


@pytest.fixture
def person(session: aiohttp.ClientSession, web_server: RunningServer) -> WebPerson:
    return WebPerson(session, web_server.url)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shared_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    """One server for the checks that only send refused requests (a server start costs about a second)."""
    async with running_server(web_settings(tmp_path_factory.mktemp("web") / "web.db")) as server:
        yield server


def storage_of(server: RunningServer) -> Storage:
    assert isinstance(server.app.storage, Storage)
    return server.app.storage


# ----- the mapping, without a server ---------------------------------------------------------------------------
async def test_bodies_become_inbounds_with_their_question_token() -> None:
    """Each documented body becomes the Inbound the engine expects, buttons and sets keeping their question token
    (so a stale one is recognised); « Valider » with nothing ticked is the confirm button."""
    key = "web:1"
    assert read_inbound(key, {"text": "69003"}) == Inbound.typed(key, "69003")
    assert read_inbound(key, {"command": "/humain"}) == Inbound.typed(key, "/humain")
    assert read_inbound(key, {"value": "self", "context": "abc123"}) == Inbound.button(key, "self", "abc123")
    assert read_inbound(key, {"value": "self"}) == Inbound.button(key, "self")
    chosen = read_inbound(key, {"values": ["a", "b", "a"], "context": "abc123"})
    assert (chosen.kind, chosen.values, chosen.context) == (InboundKind.CHOICES, ("a", "b"), "abc123")
    assert read_inbound(key, {"values": [], "context": "t"}) == Inbound.button(key, "/valider", "t")
    position = read_inbound(key, {"location": {"latitude": 45.76, "longitude": 4}})
    assert position == Inbound.location(key, 45.76, 4.0)


async def test_shared_templates_escape_every_value() -> None:
    """The shared Jinja2 environment escapes values (autoescape on) and refuses unknown variables."""
    templates = environment()
    assert templates.from_string("<p>{{ name }}</p>").render(name="<script>") == "<p>&lt;script&gt;</p>"
    with pytest.raises(jinja2.UndefinedError):
        templates.from_string("{{ missing }}").render()


# ----- conversations ------------------------------------------------------------------------------------------
async def test_whole_conversation_to_a_recorded_callback(person: WebPerson, web_server: RunningServer) -> None:
    """A whole conversation through the JSON API (buttons, several-choice sets, a typed postcode, a typed phone
    number) ends with the callback request recorded in the database for this web chat's conversation."""
    first = await person.start()
    assert first["state"] == "pour_qui"
    assert [b["value"] for b in first["replies"][-1]["buttons"]] == ["self", "relative"]
    offers_seen: list[dict[str, Any]] = []
    for line in whole_conversation("timide")[1:]:
        turn = await person.say(line)
        offers_seen += [offer for reply in turn["replies"] for offer in reply["offers"]]
        if line == "value:easy":
            assert turn["replies"][-1]["request"] == "location"
        if line == "value:yes" and turn["state"].endswith(".phone"):
            assert turn["replies"][-1]["request"] == "contact"
    assert person.last["callback"] is not None
    assert "une personne vous appellera" in person.text()
    assert offers_seen, "69003 has places in the shipped catalogue"
    offer = offers_seen[0]
    assert offer["name"]
    assert offer["address"]
    assert offer["distance_km"] is not None
    assert offer["map_url"].startswith("https://www.openstreetmap.org/?mlat=")
    callbacks = await storage_of(web_server).callbacks_for(f"web:{person.chat_id()}")
    assert [(c.id, c.phone, c.moment, c.persona) for c in callbacks] == [
        (person.last["callback"]["id"], "+33612345678", "morning", "timide")
    ]


async def test_stale_button_is_recognised(person: WebPerson) -> None:
    """A button of an earlier question (its question token) is answered kindly and the current question is asked
    again, instead of being read as an answer to it."""
    first = await person.start()
    second = await person.post({"value": "self", "context": first["question"]})
    assert second["question"] != first["question"]
    again = await person.post({"value": "relative", "context": first["question"]})
    assert "Ce bouton répondait à une question précédente" in again["replies"][0]["text"]
    assert again["state"] == second["state"]
    assert again["replies"][-1]["buttons"] == second["replies"][-1]["buttons"]


async def test_reload_shows_the_current_question_again(person: WebPerson, tmp_path: Path) -> None:
    """GET /api/chat shows the current question again without answering it (nothing changes: asking twice gives
    the same); after a restart of the server, the same question, read from the database."""
    first = await person.start()
    asked = await person.post({"value": "self", "context": first["question"]})
    again = await person.start()
    assert (again["state"], again["question"]) == (asked["state"], asked["question"])
    assert again["replies"] == asked["replies"][-1:]  # the question itself, not what led to it
    assert await person.start() == again
    settings = web_settings(tmp_path / "web.db")
    async with running_server(settings) as restarted:
        person.base = restarted.url  # cookies are per host, not per port: the same person comes back
        shown = await person.start()
        assert shown == again
        answered = await person.post({"values": ["family_contact"], "context": shown["question"]})
        assert answered["state"] != shown["state"]  # the reloaded question's buttons are today's, not stale


async def test_every_command_and_a_shared_position(person: WebPerson) -> None:
    """The commands of the always-visible buttons work (/stop ends, /start begins again), and a position shared by
    the browser answers the place question."""
    await person.start()
    for line in ["value:self", "value:family_contact", "value:smartphone", "value:rarely", "value:yes",
                 "value:indifferent", "value:interest", "value:70_79", "value:easy"]:  # fmt: skip
        await person.say(line)
    assert person.last["replies"][-1]["request"] == "location"
    shown = await person.post({"location": {"latitude": 45.7597, "longitude": 4.8422}})
    assert any(reply["offers"] for reply in shown["replies"])
    stopped = await person.post({"command": "/stop"})
    assert stopped["done"] is True
    again = await person.post({"command": "/start"})
    assert again["state"] == "pour_qui"
    assert again["done"] is False


# ----- refused requests ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"text": 3}',
        b'{"text": "a", "value": "b"}',
        b'{"value": ""}',
        b'{"values": "a"}',
        b'{"values": [1]}',
        b'{"location": {"latitude": 91, "longitude": 2}}',
        b'{"location": {"latitude": true, "longitude": 2}}',
        b'{"location": {"latitude": NaN, "longitude": 2}}',
        b'{"command": "/supprimer_tout"}',
        b'{"unknown": 1}',
        b'{"value": "self", "context": 7}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
async def test_invalid_bodies_are_refused_with_400(
    session: aiohttp.ClientSession, shared_server: RunningServer, body: bytes
) -> None:
    """Bodies that are not JSON, or not one of the documented shapes, get 400 with a JSON error (never a 500)."""
    async with session.post(f"{shared_server.url}/api/chat", data=body, headers=JSON) as response:
        assert response.status == 400
        error = await response.json()
    assert error["error"] in ("bad_json", "bad_request")
    assert error["message"]


async def test_too_long_text_and_too_large_body(session: aiohttp.ClientSession, web_server: RunningServer) -> None:
    """A message over 1000 characters gets 400 "too_long"; a body over 16 KB gets 413, whether its length is
    declared or it comes in chunks."""
    url = f"{web_server.url}/api/chat"
    async with session.post(url, json={"text": "a" * MAX_TEXT}) as response:
        assert response.status == 200
    async with session.post(url, json={"text": "a" * (MAX_TEXT + 1)}) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "too_long"
    big = json.dumps({"text": "a" * MAX_BODY}).encode()
    async with session.post(url, data=big, headers=JSON) as response:
        assert response.status == 413
        assert (await response.json())["error"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 1024
        yield b'{"text": "bonjour"}'

    async with session.post(url, data=chunks(), headers=JSON) as response:
        assert response.status == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_wrong_content_type_is_refused_with_415(
    session: aiohttp.ClientSession, shared_server: RunningServer, content_type: str
) -> None:
    """A POST that is not application/json (what a plain HTML form of another site sends) gets 415."""
    headers = {"Content-Type": content_type}
    async with session.post(f"{shared_server.url}/api/chat", data=b'{"text": "oui"}', headers=headers) as response:
        assert response.status == 415
        assert (await response.json())["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_site_requests_are_refused(
    session: aiohttp.ClientSession, shared_server: RunningServer, headers: dict[str, str]
) -> None:
    """Requests another site makes (its Origin, or Sec-Fetch-Site) get 403 on every API endpoint, and start no
    conversation; the page's own requests pass, even with the `Origin: null` some browsers send under
    no-referrer."""
    url = f"{shared_server.url}/api/chat"
    async with session.post(url, json={"command": "/start"}, headers=headers) as response:
        assert response.status == 403
        assert (await response.json())["error"] == "cross_site"
        assert COOKIE not in response.cookies
    for path in ("/api/chat", "/api/chat/notices"):
        async with session.get(f"{shared_server.url}{path}", headers=headers) as response:
            assert response.status == 403
    for own in ({"Origin": shared_server.url}, {"Origin": "null", "Sec-Fetch-Site": "same-origin"}, {}):
        async with session.post(url, json={"command": "/start"}, headers=own) as response:
            assert response.status == 200, own


async def test_cookie_is_random_httponly_lax_and_secure_behind_https(web_server: RunningServer) -> None:
    """The conversation id, given at the person's first action, is a random positive 63-bit number in an HttpOnly,
    SameSite=Lax cookie for the whole site, Secure when the browser came over https (X-Forwarded-Proto from the TLS
    proxy); no id is in a URL."""
    ids = set()
    async with aiohttp.ClientSession() as client:
        for forwarded in ("http", "https"):
            url, headers = f"{web_server.url}/api/chat", {"X-Forwarded-Proto": forwarded}
            async with client.post(url, json={"command": "/start"}, headers=headers) as response:
                assert response.status == 200
                morsel = response.cookies[COOKIE]
                body = await response.text()
            assert morsel["httponly"] is True
            assert morsel["samesite"] == "Lax"
            assert morsel["path"] == "/"
            assert bool(morsel["secure"]) is (forwarded == "https")
            chat_id = int(morsel.value)
            assert 0 < chat_id < 2**63
            assert morsel.value not in body
            ids.add(chat_id)
    assert len(ids) == 2
    assert all(chat_id.bit_length() > 40 for chat_id in ids)


# ----- notices ------------------------------------------------------------------------------------------------
async def test_notices_are_delivered_once_in_order_then_deleted(person: WebPerson, web_server: RunningServer) -> None:
    """Outbox rows of channel "web", method "notice", for this conversation's id come back in order once, with
    their buttons, and are deleted; another conversation's notices stay for it."""
    storage = storage_of(web_server)
    await person.post({"command": "/start"})
    key, other = f"web:{person.chat_id()}", "web:12345"
    rows = [
        web_notice(key, "Une personne a pris votre demande de rappel."),
        web_notice(other, "Pas pour vous."),
        web_notice(key, "Voulez-vous recommencer ?", [("Oui", "/start")]),
    ]
    await storage.queue_outgoing(WEB_CHANNEL, [row for row in rows if row is not None])
    url = f"{web_server.url}/api/chat/notices"
    async with person.session.get(url) as response:
        assert response.status == 200
        notices = (await response.json())["notices"]
    assert notices == [
        {"text": "Une personne a pris votre demande de rappel.", "buttons": []},
        {"text": "Voulez-vous recommencer ?", "buttons": [{"label": "Oui", "value": "/start"}]},
    ]
    async with person.session.get(url) as response:
        assert (await response.json())["notices"] == []
    left = await storage.pending_outgoing(WEB_CHANNEL)
    assert [(row.chat_id, row.params["text"]) for row in left] == [(12345, "Pas pour vous.")]
    async with aiohttp.ClientSession() as stranger, stranger.get(url) as response:
        assert (await response.json())["notices"] == []
    assert web_notice("telegram:42", "non") is None


async def test_of_the_notices_on_one_topic_only_the_newest_is_shown(
    person: WebPerson, web_server: RunningServer
) -> None:
    """Notices about the callback request waiting together (taken, then the call done): only the newest is shown,
    where the request stands now, with the others in order; the stale ones are deleted all the same."""
    storage = storage_of(web_server)
    await person.post({"command": "/start"})
    key = f"web:{person.chat_id()}"
    rows = [
        web_notice(
            key, "Bonne nouvelle : une personne va vous appeler.", [("Annuler ma demande", "/annuler")], "callback"
        ),
        web_notice(key, "Un mot sans sujet."),
        web_notice(key, "L'appel a eu lieu.", topic="callback"),
    ]
    await storage.queue_outgoing(WEB_CHANNEL, [row for row in rows if row is not None])
    async with person.session.get(f"{web_server.url}/api/chat/notices") as response:
        notices = (await response.json())["notices"]
    assert notices == [{"text": "Un mot sans sujet.", "buttons": []}, {"text": "L'appel a eu lieu.", "buttons": []}]
    assert await storage.pending_outgoing(WEB_CHANNEL) == []


# ----- headers, the page, errors ------------------------------------------------------------------------------
async def test_security_headers_on_every_web_response(
    session: aiohttp.ClientSession, web_server: RunningServer
) -> None:
    """The page, the API (answers and errors), static files and unknown paths all carry the CSP (self only, no
    framing), nosniff and no-referrer; the page is French and loads only its own script and style."""
    base = web_server.url
    async with session.get(f"{base}/") as response:
        page = await response.text()
        assert response.status == 200
        checked = [response.headers]
    async with session.get(f"{base}/api/chat") as response:
        checked.append(response.headers)
        assert response.headers["Cache-Control"] == "no-store"
    async with session.post(f"{base}/api/chat", data=b"x", headers=JSON) as response:
        checked.append(response.headers)
    for path in ("/static/chat.js", "/static/chat.css", "/nowhere", "/healthz"):
        async with session.get(f"{base}{path}") as response:
            checked.append(response.headers)
    for headers in checked:
        assert all(name in headers for name in SECURITY_HEADERS)
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
    assert '<html lang="fr">' in page
    assert "<script>" not in page
    assert " style=" not in page
    assert "onclick" not in page.lower()
    assert 'aria-live="polite"' in page
    assert "senior" not in page.lower()


async def test_unexpected_failure_answers_the_technical_error_without_logging_the_message(
    person: WebPerson, web_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """When the turn fails unexpectedly (here the database went away), the person gets a JSON answer with the
    flow's technical_error text, and the log names the failure without what the person wrote."""
    await person.start()
    await storage_of(web_server).close()
    secret = "Je m'appelle Germaine Dupont"
    with caplog.at_level(logging.ERROR, logger="bot.channels.web.chat"):
        async with person.session.post(f"{web_server.url}/api/chat", json={"text": secret}) as response:
            assert response.status == 500
            answer = await response.json()
    assert answer["error"] == "technical_error"
    assert answer["replies"][0]["text"] == web_server.app.engine.text("technical_error")
    assert any("web chat: unexpected" in record.getMessage() for record in caplog.records)
    assert secret not in caplog.text
    assert "Germaine" not in caplog.text


# ----- `python -m bot run` ------------------------------------------------------------------------------------
async def test_run_without_a_token_serves_the_web_chat(tmp_path: Path) -> None:
    """`python -m bot run` with no token, from a folder laid out like a fresh checkout, serves the web chat (and the
    dashboard's sign-in) on HOST:PORT (and says where in its log), keeps passerelle.db in that folder, and stops
    with 0 on SIGTERM."""
    for name in ("flows", "catalogue"):
        (tmp_path / name).symlink_to(ROOT / name)
    port = free_port()
    dropped = ("TELEGRAM_", "WEBHOOK_", "DATABASE_URL", "FLOWS_DIR", "CATALOGUE_DIR", "HOST", "PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)} | {"PORT": str(port)}
    log = tmp_path / "run.log"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stdout=err, stderr=err
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if f"web chat on {url}/" in log.read_text():
                break
            assert process.returncode is None, log.read_text()
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no 'web chat on {url}/' in the log:\n{log.read_text()}")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            async with client.get(f"{url}/") as response:
                assert response.status == 200
                assert "Passerelle" in await response.text()
            async with client.get(f"{url}/api/chat") as response:
                assert response.status == 200
                turn = await response.json()
            async with client.get(f"{url}/mediateurs/") as response:  # the dashboard, on the same server
                assert response.status == 200
                assert "Identifiant" in await response.text()
        assert turn["state"] == "pour_qui"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0, log.read_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert (tmp_path / "passerelle.db").is_file()
    assert "Traceback" not in log.read_text()
