"""Faults survived: the PostgreSQL server really goes away (`pg_ctl stop -m immediate`) while the bot runs, then
comes back. Nothing acknowledged is lost: webhook updates are refused with 503 (Telegram delivers them again),
polling does not move its offset past what it could not record; the process recovers by itself (no restart),
every update is handled exactly once, and the web chat answers a kind error meanwhile, then answers again.

These tests run on a PostgreSQL cluster of their own (the session's shared one must never be stopped)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from tests.support.fake_telegram import FakeTelegram, FakeUser, Fault
from tests.support.postgres import PostgresCluster, PostgresUnavailable, raw_sql, start_cluster
from tests.support.telegram_harness import Person, bot_settings, is_question, running_bot

CHANNEL = "telegram:123456"  # the fake server's default token "123456:…"


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[PostgresCluster]:
    """A throw-away cluster for this module only: its tests stop and start the server. Commits are synchronous
    here (the shared clusters trade that for speed): an immediate stop must lose nothing committed."""
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL for the tests: {exc}", pytrace=False)
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write("synchronous_commit = on\n")
    cluster._run("pg_ctl", "reload", "-D", str(cluster.data))
    yield cluster
    cluster.stop()


def halt(cluster: PostgresCluster) -> None:
    """The server dies at once (as on a crash or a lost machine): every connection is cut."""
    cluster._run("pg_ctl", "stop", "-D", str(cluster.data), "-m", "immediate", "-w")


def resume(cluster: PostgresCluster) -> None:
    """The server starts again on the same port and files (after crash recovery)."""
    cluster._run("pg_ctl", "start", "-D", str(cluster.data), "-l", str(cluster.log), "-w", "-t", "30")


@pytest.fixture
async def database(own_cluster: PostgresCluster) -> AsyncIterator[str]:
    name = await own_cluster.new_database()
    yield own_cluster.url(name)
    if not (own_cluster.data / "postmaster.pid").exists():  # a test failed while the server was stopped
        resume(own_cluster)
    await own_cluster.drop_database(name)


DATA_KEY = "ZmF1bHRzLXN1cnZpdmVkLXRlc3Qta2V5LTMyLWJ5dGU="  # a Fernet key: PostgreSQL needs one (privacy)


def settings_on(server: FakeTelegram, url: str, tmp_path: Path, *, webhook: bool) -> Settings:
    settings = bot_settings(server, tmp_path / "unused.db", webhook=webhook)
    return dataclasses.replace(settings, database_url=url, data_key=DATA_KEY)


async def inbox_rows(url: str) -> dict[int, tuple[int, bool]]:
    """update_id -> (how many rows, handled) as really stored."""
    rows = await raw_sql(
        url,
        f"SELECT update_id, count(*), bool_and(done_at IS NOT NULL) FROM inbox WHERE channel = '{CHANNEL}' "
        "GROUP BY update_id",
    )
    return {int(r[0]): (int(r[1]), bool(r[2])) for r in rows}


async def stored_answers(url: str, chat_id: int) -> tuple[str, dict[str, Any]]:
    rows = await raw_sql(url, f"SELECT state, data FROM conversations WHERE key = 'telegram:{chat_id}'")
    assert rows, f"no conversation for {chat_id}"
    state, data = rows[0]
    parsed = json.loads(data) if isinstance(data, str) else data
    return str(state), dict(parsed["answers"])


async def eventually(condition: Callable[[], bool], within: float = 15.0) -> None:
    """Wait until `condition()` holds (checked every 0.1 s); give up quietly after `within` s (the asserts say)."""
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


def last_text(user: FakeUser) -> str:
    return (user.last.text or "") if user.last is not None else ""


def bot_texts(person: Person) -> list[str]:
    return [m.text or "" for m in person.user.messages]


async def web_post(http: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{base}/api/chat", json=body) as response:
        return response.status, await response.json()


async def test_webhook_updates_are_refused_while_the_database_is_down_then_handled_once(
    own_cluster: PostgresCluster, database: str, tmp_path: Path
) -> None:
    """Webhook mode on PostgreSQL; the server is stopped (immediate) in the middle of conversations. Meanwhile
    Telegram's POSTs get 503 (so it delivers them again, as the fake does) and nothing is answered; the web chat
    answers its kind technical error (JSON, 503), not a stack. The server starts again: without any restart of
    the bot, each refused update is handled exactly once (one inbox row, handled; one answer; the conversation
    where those answers lead), the people go on, and the web chat answers again."""
    async with FakeTelegram() as server:
        settings = settings_on(server, database, tmp_path, webhook=True)
        base = f"http://127.0.0.1:{settings.port}"
        jar = aiohttp.CookieJar(unsafe=True)  # keep the web chat's cookie on 127.0.0.1
        async with running_bot(server, settings), aiohttp.ClientSession(cookie_jar=jar) as http:
            odile, paul = Person(server.user(7101, "Odile"), timeout=30), Person(server.user(7102, "Paul"), timeout=30)
            await odile.play(["/start"])
            status, first = await web_post(http, base, {"command": "/start"})
            assert status == 200, first
            question = first["question"]
            await asyncio.sleep(0.7)  # the fake marks updates delivered only after their POST: let them settle
            delivered_before = len(server.deliveries)

            halt(own_cluster)
            odile_before, paul_before = odile.user.chat.activity, paul.user.chat.activity
            await odile.press_value("self")
            await paul.user.send("/start")
            await paul.user.send("pour moi")
            status, refused = await web_post(http, base, {"value": "self", "context": question})
            assert status == 503, refused
            assert refused["error"] == "technical_error"
            assert refused["replies"][0]["text"].startswith("Désolé, un petit souci technique")
            # Telegram keeps trying: several refusals for each update, none acknowledged.
            await eventually(
                lambda: (
                    len({d.update_id for d in server.deliveries[delivered_before:] if d.status == 503}) >= 2
                    and len(server.deliveries) >= delivered_before + 6
                )
            )
            during = server.deliveries[delivered_before:]
            assert during
            assert all(d.status == 503 for d in during), [(d.update_id, d.status, d.error) for d in during]
            assert odile.user.chat.activity == odile_before
            assert paul.user.chat.activity == paul_before

            resume(own_cluster)
            await odile.user.wait_for(lambda u: "Pour commencer" in last_text(u) and is_question(u), 30)
            await paul.user.wait_for(lambda u: "Pour commencer" in last_text(u) and is_question(u), 30)
            await odile.play(["value:family_contact"])  # and they go on
            status, again = await web_post(http, base, {"value": "self", "context": question})
            assert status == 200, again
            assert "Pour commencer" in again["replies"][-1]["text"]

    rows = await inbox_rows(database)
    for update in server.update_history:
        assert rows.get(update["update_id"]) == (1, True), (update["update_id"], rows)
    for update_id in {d.update_id for d in server.deliveries if d.status == 503}:
        statuses = [d.status for d in server.deliveries if d.update_id == update_id]
        assert statuses[-1] == 200
        assert statuses.count(200) == 1, statuses  # acknowledged once, at the end
    for person in (odile, paul):  # one answer per update: no question asked twice
        texts = bot_texts(person)
        assert len(texts) == len(set(texts)), texts
    assert (await stored_answers(database, 7101))[1] == {"for_whom": "self", "goals": ["family_contact"]}
    state, answers = await stored_answers(database, 7102)
    assert (state, answers) == ("envies", {"for_whom": "self"})


@pytest.mark.slow
async def test_polling_pauses_while_the_database_is_down_then_resumes_without_loss(
    own_cluster: PostgresCluster, database: str, tmp_path: Path
) -> None:
    """Polling mode on PostgreSQL; the server is stopped while a person types three answers. getUpdates goes on
    being called but its offset never moves past an update that could not be recorded (Telegram keeps them);
    once the server is back the poller, which was never restarted, records and handles each exactly once, in
    order."""
    async with FakeTelegram() as server:
        settings = settings_on(server, database, tmp_path, webhook=False)
        async with running_bot(server, settings):
            rose = Person(server.user(7201, "Rose"), timeout=40)
            await rose.play(["/start"])
            before = rose.user.chat.activity
            polls_before = len(server.calls_of("getUpdates"))

            halt(own_cluster)
            sent = [await rose.user.send(text) for text in ("pour moi", "la famille", "un smartphone")]
            first_new = sent[0]["update_id"]
            await eventually(lambda: len(server.calls_of("getUpdates")) >= polls_before + 2)
            during = server.calls_of("getUpdates")[polls_before:]
            assert len(during) >= 2  # the poller is alive and tries again
            assert all((c.params.get("offset") or 0) <= first_new for c in during), [c.params for c in during]
            assert rose.user.chat.activity == before

            resume(own_cluster)
            await rose.user.wait_for(lambda u: "Vous servez-vous" in last_text(u) and is_question(u), 40)
            await rose.play(["value:daily"])

    rows = await inbox_rows(database)
    assert all(rows.get(u["update_id"]) == (1, True) for u in sent), rows
    state, answers = await stored_answers(database, 7201)
    assert state == "aisance"
    assert answers == {
        "for_whom": "self",
        "goals": ["family_contact"],
        "equipment": ["smartphone"],
        "usage_frequency": "daily",
    }
    texts = bot_texts(rose)
    assert len(texts) == len(set(texts)), texts


@pytest.mark.slow
async def test_replies_sent_while_the_database_was_down_are_struck_off_once_it_is_back(
    own_cluster: PostgresCluster, database: str, tmp_path: Path
) -> None:
    """A reply is on its way to Telegram (a slow call) when the database goes away; it is sent, but its outbox row
    cannot be deleted then. Once the database is back the row is deleted within a few seconds, even though the
    chat stays quiet: so a later crash cannot send it a second time."""
    async with FakeTelegram() as server:
        settings = settings_on(server, database, tmp_path, webhook=True)
        async with running_bot(server, settings):
            lucie = Person(server.user(7301, "Lucie"), timeout=30)
            await lucie.play(["/start"])
            sends = len(server.calls_of("sendMessage"))
            server.inject(Fault("sendMessage", "slow", count=1, delay=1.5))
            await lucie.press_value("self")
            await eventually(lambda: len(server.calls_of("sendMessage")) > sends)  # turn committed, reply in flight
            halt(own_cluster)
            await lucie.user.wait_for(lambda u: "Pour commencer" in last_text(u) and is_question(u), 15)
            await asyncio.sleep(0.5)  # the deletion was tried, and failed
            resume(own_cluster)
            await asyncio.sleep(4.0)  # the chat stays quiet
            left = await raw_sql(database, f"SELECT count(*) FROM outbox WHERE channel = '{CHANNEL}'")
    assert left == [(0,)]
