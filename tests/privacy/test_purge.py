"""Retention: what is past its period is deleted or erased (answers not understood too), exactly that, with explicit
timestamps;
anonymous statistics stay; `python -m bot purge --json`; the purge of the running process, once per period across
processes, surviving its failures."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update

from bot.config import Settings
from bot.privacy.purge import PurgeCounts, PurgeJob, Retention, purge
from bot.storage import NewCallback, Storage
from bot.storage.crypto import Keyring, load_keyring
from bot.storage.tables import (
    callback_events,
    callbacks,
    conversations,
    dashboard_sessions,
    inbox,
    login_attempts,
    misunderstood,
    outbox,
)
from tests.support.browser import ROOT, running_server, web_settings

AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # "now" for the purge: every row is dated against it
RETENTION = Retention(conversations=timedelta(days=180), callbacks=timedelta(days=90))
DAY = timedelta(days=1)


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    opened = await Storage.open(database_url, keyring=Keyring.from_text(Keyring.new_key()))
    yield opened
    await opened.close()


async def conversation(storage: Storage, key: str, created: datetime, updated: datetime) -> None:
    async with storage.callback_transaction() as tx:
        await tx.connection.execute(
            insert(conversations).values(
                key=key,
                flow="orientation",
                flow_version="v1",
                state="envies",
                data={"answers": {"for_whom": "self"}},
                version=1,
                created_at=created,
                updated_at=updated,
            )
        )


async def request(storage: Storage, key: str, created: datetime, status: str = "new", note: str | None = None) -> str:
    """A callback request made at `created` (with a note in the request and in its history when given)."""
    async with storage.transaction() as tx:
        row = await tx.create_callback(
            NewCallback(
                key,
                "default",
                "timide",
                {"for_whom": "self"},
                "+33612345678",
                "morning",
                "person",
                created,
                "v1",
                "Germaine",
            )
        )
    values: dict[str, object] = {"created_at": created, "updated_at": created, "status": status}
    if status == "done":
        values |= {"outcome": "helped", "resolved_at": created + DAY}
    async with storage.callback_transaction() as tx:
        await tx.connection.execute(update(callbacks).where(callbacks.c.id == row.id).values(**values))
        if note is not None:
            await tx.connection.execute(
                update(callbacks).where(callbacks.c.id == row.id).values(note=tx.keyring.seal(note))
            )
            await tx.connection.execute(
                insert(callback_events).values(
                    callback_id=row.id,
                    at=created,
                    action="note",
                    from_status=status,
                    to_status=status,
                    actor="web:marie",
                    actor_name="Marie",
                    via="dashboard",
                    note=tx.keyring.seal(note),
                )
            )
    return row.id


async def not_understood(storage: Storage, text: str, created: datetime) -> None:
    """An answer not understood, kept for the coordinators since `created`."""
    async with storage.callback_transaction() as tx:
        await tx.connection.execute(
            insert(misunderstood).values(
                flow="orientation", flow_version="v1", question="attitude", text=text, kind="refused"
            ),
            {"created_at": created},
        )


async def rows(storage: Storage, statement: object) -> list[tuple[object, ...]]:
    async with storage.callback_transaction() as tx:
        return [tuple(r) for r in await tx.connection.execute(statement)]  # type: ignore[call-overload]


async def test_purge_removes_exactly_what_is_past_its_period_and_keeps_the_statistics(storage: Storage) -> None:
    """Idle conversations past 180 days, answers not understood past 180 days, web chats never answered after a
    day, callback personal fields past 90
    days (an open request cancelled with an "expired" event), handled updates past 7 days, stale web notices,
    expired sessions and old failed sign-ins go; everything younger stays, and so do the requests' anonymous
    fields (queue, profile, state, result, times)."""
    await conversation(storage, "telegram:old", AT - 200 * DAY, AT - 181 * DAY)
    await conversation(storage, "telegram:recent", AT - 200 * DAY, AT - 179 * DAY)
    await conversation(storage, "web:left", AT - 2 * DAY, AT - 2 * DAY)  # opened, never answered
    await conversation(storage, "web:answered", AT - 2 * DAY, AT - 2 * DAY + timedelta(minutes=1))
    await conversation(storage, "web:today", AT - timedelta(hours=2), AT - timedelta(hours=2))
    await conversation(storage, "telegram:started", AT - 2 * DAY, AT - 2 * DAY)  # only the web chat's first visits
    await not_understood(storage, "trop vieux", AT - 181 * DAY)
    await not_understood(storage, "encore là", AT - 179 * DAY)
    done = await request(storage, "telegram:a", AT - 91 * DAY, "done", note="Rappeler chez sa fille")
    still_open = await request(storage, "telegram:b", AT - 91 * DAY, "claimed")
    young = await request(storage, "telegram:c", AT - 89 * DAY, "new", note="Le matin")
    async with storage.callback_transaction() as tx:
        await tx.connection.execute(
            insert(inbox),
            [
                {
                    "channel": "telegram:1",
                    "update_id": 1,
                    "chat_id": 5,
                    "payload": None,
                    "received_at": AT - 8 * DAY,
                    "done_at": AT - 8 * DAY,
                },
                {
                    "channel": "telegram:1",
                    "update_id": 2,
                    "chat_id": 5,
                    "payload": None,
                    "received_at": AT - 6 * DAY,
                    "done_at": AT - 6 * DAY,
                },
                {
                    "channel": "telegram:1",
                    "update_id": 3,
                    "chat_id": 5,
                    "payload": {"x": 1},
                    "received_at": AT - 30 * DAY,
                    "done_at": None,
                },  # never handled: kept, whatever its age
            ],
        )
        await tx.connection.execute(
            insert(outbox),
            [
                {
                    "channel": "web",
                    "chat_id": 7,
                    "method": "notice",
                    "params": {"text": "a"},
                    "created_at": AT - 181 * DAY,
                },
                {"channel": "web", "chat_id": 7, "method": "notice", "params": {"text": "b"}, "created_at": AT - DAY},
                {
                    "channel": "telegram:1",
                    "chat_id": 7,
                    "method": "sendMessage",
                    "params": {"text": "c"},
                    "created_at": AT - 181 * DAY,
                },  # the Telegram outbox is sent, not purged
            ],
        )
        await tx.connection.execute(
            insert(dashboard_sessions),
            [
                {
                    "token_hash": "idle",
                    "login": "marie",
                    "csrf_token": "x",
                    "created_at": AT - timedelta(hours=1),
                    "last_seen_at": AT - timedelta(minutes=31),
                },
                {
                    "token_hash": "old",
                    "login": "marie",
                    "csrf_token": "x",
                    "created_at": AT - timedelta(hours=13),
                    "last_seen_at": AT - timedelta(minutes=1),
                },
                {
                    "token_hash": "live",
                    "login": "marie",
                    "csrf_token": "x",
                    "created_at": AT - timedelta(hours=1),
                    "last_seen_at": AT - timedelta(minutes=1),
                },
            ],
        )
        await tx.connection.execute(
            insert(login_attempts),
            [{"key": "k", "at": AT - timedelta(minutes=16)}, {"key": "k", "at": AT - timedelta(minutes=1)}],
        )

    counts = await purge(storage, RETENTION, AT)

    assert counts == PurgeCounts(
        conversations=1,
        unanswered_web_chats=1,
        callbacks_erased=2,
        callbacks_expired=1,
        inbox=1,
        web_notices=1,
        dashboard_sessions=2,
        login_attempts=1,
        misunderstood=1,
    )
    assert [r[0] for r in await rows(storage, select(misunderstood.c.text))] == ["encore là"]
    assert sorted(r[0] for r in await rows(storage, select(conversations.c.key))) == [  # type: ignore[type-var]
        "telegram:recent",
        "telegram:started",
        "web:answered",
        "web:today",
    ]
    personal = select(
        callbacks.c.id,
        callbacks.c.conversation_key,
        callbacks.c.phone,
        callbacks.c.phone_digest,
        callbacks.c.first_name,
        callbacks.c.note,
        callbacks.c.answers,
        callbacks.c.contact,
    ).order_by(callbacks.c.id)
    by_id = {r[0]: r[1:] for r in await rows(storage, personal)}
    assert by_id[done] == by_id[still_open] == (None,) * 7
    assert all(v is not None for v in by_id[young])
    kept = await storage.get_callback(young)
    assert kept is not None
    assert (kept.phone, kept.first_name, kept.note) == ("+33612345678", "Germaine", "Le matin")
    stats = select(
        callbacks.c.id,
        callbacks.c.queue,
        callbacks.c.persona,
        callbacks.c.status,
        callbacks.c.outcome,
        callbacks.c.moment,
        callbacks.c.created_at,
        callbacks.c.resolved_at,
    )
    by_id = {r[0]: r[1:] for r in await rows(storage, stats)}
    assert by_id[done] == ("default", "timide", "done", "helped", "morning", AT - 91 * DAY, AT - 90 * DAY)
    assert by_id[still_open] == ("default", "timide", "cancelled", None, "morning", AT - 91 * DAY, AT)
    history = select(
        callback_events.c.callback_id,
        callback_events.c.action,
        callback_events.c.actor,
        callback_events.c.via,
        callback_events.c.to_status,
        callback_events.c.note,
    ).order_by(callback_events.c.id)
    events = await rows(storage, history)
    assert (done, "note", "web:marie", "dashboard", "done", None) in events  # the event stays, its note goes
    assert (still_open, "expired", "system", "system", "cancelled", None) in events
    assert [e[5] is not None for e in events if e[0] == young] == [True]
    assert [r[0] for r in await rows(storage, select(inbox.c.update_id).order_by(inbox.c.update_id))] == [2, 3]
    assert [r[0] for r in await rows(storage, select(outbox.c.params).order_by(outbox.c.id))] == [
        {"text": "b"},
        {"text": "c"},
    ]
    assert [r[0] for r in await rows(storage, select(dashboard_sessions.c.token_hash))] == ["live"]
    assert len(await rows(storage, select(login_attempts.c.id))) == 1

    assert await purge(storage, RETENTION, AT) == PurgeCounts()  # nothing left to do: nothing counted twice


async def test_an_erased_request_is_found_no_more_and_takes_no_note(storage: Storage) -> None:
    """After the purge the request has no phone digest (the search misses it) and refuses notes, which would bring
    personal data back."""
    from bot.callbacks.desk import CallbackDesk
    from bot.callbacks.queues import Queue, QueueSet
    from bot.callbacks.rules import Actor, Refused

    old = await request(storage, "telegram:a", AT - 100 * DAY, "done")
    await purge(storage, RETENTION, AT)
    desk = CallbackDesk(storage, QueueSet(Queue("default", "l'équipe")), lambda _key: "")
    assert await desk.find_by_phone(["default"], "+33612345678") == []
    with pytest.raises(Refused) as refused:
        await desk.add_note(old, Actor("web:marie", "Marie", "dashboard"), "Rappelée")
    assert refused.value.code == "erased"


async def test_a_scheduled_purge_runs_once_per_period_across_processes(database_url: str, storage: Storage) -> None:
    """Two processes on one database: the scheduled run is claimed by one; the other skips it until half the period
    has passed (`purge --json`, by hand, always runs)."""
    other = await Storage.open(database_url, keyring=storage.keyring)
    try:
        await conversation(storage, "telegram:old", AT - 200 * DAY, AT - 200 * DAY)
        assert await purge(storage, RETENTION, AT, every=3600) == PurgeCounts(conversations=1)
        assert await purge(other, RETENTION, AT + timedelta(minutes=10), every=3600) is None
        assert await purge(other, RETENTION, AT + timedelta(minutes=31), every=3600) == PurgeCounts()
        assert await purge(storage, RETENTION, AT + timedelta(minutes=32)) == PurgeCounts()
    finally:
        await other.close()


async def test_the_purge_job_survives_a_failed_run_and_carries_on(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The running process's purge: a failed run is logged (without stopping anything) and the next one, an
    interval later, does the work."""
    storage = await Storage.open(sqlite_url, keyring=Keyring.from_text(Keyring.new_key()))
    stop = asyncio.Event()
    try:
        old = datetime.now(UTC) - 200 * DAY
        await conversation(storage, "telegram:old", old, old)
        async with storage.callback_transaction() as tx:
            await tx.connection.execute(text("ALTER TABLE inbox RENAME TO inbox_away"))
        with caplog.at_level(logging.ERROR, logger="bot.privacy.purge"):
            job = asyncio.create_task(PurgeJob(storage, RETENTION, every=0.05).run(stop))
            for _ in range(200):
                if caplog.records:
                    break
                await asyncio.sleep(0.02)
            assert "scheduled purge failed" in caplog.records[0].getMessage()
            async with storage.callback_transaction() as tx:
                await tx.connection.execute(text("ALTER TABLE inbox_away RENAME TO inbox"))
            for _ in range(200):
                if await storage.load_conversation("telegram:old") is None:
                    break
                await asyncio.sleep(0.02)
            assert await storage.load_conversation("telegram:old") is None
            assert not job.done()
        stop.set()
        await asyncio.wait_for(job, 5)
    finally:
        stop.set()
        await storage.close()


async def test_the_running_server_purges_on_its_own(tmp_path: Path) -> None:
    """`serve` (python -m bot run) applies the retention periods by itself: an idle conversation of a year ago is
    gone shortly after the start, without any command."""
    settings = web_settings(tmp_path / "web.db")
    storage = await Storage.open(settings.database_url, keyring=load_keyring(settings))
    try:
        year_ago = datetime.now(UTC) - 365 * DAY
        await conversation(storage, "telegram:old", year_ago, year_ago)
    finally:
        await storage.close()
    async with running_server(settings) as server:
        for _ in range(250):
            if await server.app.storage.load_conversation("telegram:old") is None:
                break
            await asyncio.sleep(0.02)
        assert await server.app.storage.load_conversation("telegram:old") is None


def test_purge_command_prints_the_counts_as_json(tmp_path: Path) -> None:
    """`python -m bot purge --json` (a process of its own, on a SQLite file, reusing its key file): one JSON object
    of counts by kind, exit 0; `purge --help` explains it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"
    env = {**os.environ, "DATABASE_URL": url, "RETENTION_CONVERSATIONS_DAYS": "30"}
    env.pop("DATA_KEY", None)

    async def prepare() -> None:
        storage = await Storage.open(url, keyring=load_keyring(Settings.from_env(env)))
        try:
            long_ago = datetime.now(UTC) - 31 * DAY
            await conversation(storage, "telegram:old", long_ago, long_ago)
            await conversation(storage, "telegram:new", long_ago, datetime.now(UTC))
            await request(storage, "telegram:a", datetime.now(UTC) - 91 * DAY, "new")
            await not_understood(storage, "bof", long_ago)
            await not_understood(storage, "bof", datetime.now(UTC))
        finally:
            await storage.close()

    asyncio.run(prepare())
    command = [sys.executable, "-m", "bot", "purge", "--json"]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "conversations": 1,
        "unanswered_web_chats": 0,
        "callbacks_erased": 1,
        "callbacks_expired": 1,
        "inbox": 0,
        "web_notices": 0,
        "dashboard_sessions": 0,
        "login_attempts": 0,
        "misunderstood": 1,
        "feedback": 0,
    }
    assert "kept in" in result.stderr  # the key file made above, reused (with the warning)
    helped = subprocess.run(
        [sys.executable, "-m", "bot", "purge", "--help"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helped.returncode == 0
    assert "retention" in helped.stdout


def test_keys_commands_generate_a_key_and_rotate_the_stored_data(tmp_path: Path) -> None:
    """`keys generate` prints a usable key; `keys rotate --json` with "new,old" re-encrypts the stored request,
    after which DATA_KEY=new alone reads it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    generated = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "generate"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    new, old = generated.stdout.strip(), Keyring.new_key()
    Keyring.from_text(new)  # a valid key

    async def store() -> str:
        storage = await Storage.open(url, keyring=Keyring.from_text(old))
        try:
            return await request(storage, "telegram:a", datetime.now(UTC), note="Le matin")
        finally:
            await storage.close()

    callback_id = asyncio.run(store())
    rotated = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "rotate", "--json"],
        env={**env, "DATA_KEY": f"{new},{old}"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout) == {"callbacks": 1, "notes": 1, "keys": 2}

    async def read() -> tuple[str | None, str | None]:
        storage = await Storage.open(url, keyring=Keyring.from_text(new))
        try:
            row = await storage.get_callback(callback_id)
            assert row is not None
            return row.phone, row.note
        finally:
            await storage.close()

    assert asyncio.run(read()) == ("+33612345678", "Le matin")
