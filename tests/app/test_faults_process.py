"""Faults survived: `python -m bot run` in webhook mode killed with -9 while several people finish a callback request
at once, then started again on the same database and port. Every update it acknowledged is handled exactly once,
every callback request it acknowledged exists exactly once, and the mediators' group gets each request."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.support.fake_telegram import FakeTelegram
from tests.support.postgres import raw_sql
from tests.support.telegram_harness import ROOT, SECRET, WEBHOOK_BASE, WEBHOOK_PATH, Person, free_port

GROUP = -1_001_777_000  # the mediators' group (MEDIATOR_CHAT_ID: the default queue's)
NAMES = ["Alice", "Bernard", "Colette", "Denise", "Émile", "Fernand", "Gisèle", "Henri"]
# Then « Passer » (how to call them: optional) ends the request.
BEFORE_THE_END = ["/start", "/humain", "value:yes", "contact:+33612345678", "value:morning"]


@asynccontextmanager
async def bot_process(
    server: FakeTelegram, database: Path, port: int, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot in a child process, in webhook mode on `port`; ready once it has registered its webhook."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_URL": server.api_url,
        "WEBHOOK_URL": WEBHOOK_BASE + WEBHOOK_PATH,
        "WEBHOOK_SECRET": SECRET,
        "MEDIATOR_CHAT_ID": str(GROUP),
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "FLOWS_DIR": str(ROOT / "flows"),
        "CATALOGUE_DIR": str(ROOT / "catalogue"),
        "PYTHONUNBUFFERED": "1",
    }
    server.webhook_rewrite = lambda url: url.replace(WEBHOOK_BASE, f"http://127.0.0.1:{port}")
    registered = len(server.calls_of("setWebhook"))
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=database.parent, env=env, stderr=err
        )
    try:
        for _ in range(600):
            if len(server.calls_of("setWebhook")) > registered:
                break
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode}; see {log}")
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the bot did not set its webhook; see {log}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.slow
async def test_kill_9_in_webhook_mode_while_callbacks_are_requested(tmp_path: Path) -> None:
    """Eight people press « Passer », the last step of a callback request, at the same moment; the bot is killed
    (-9) as soon as the first request reaches the mediators' group. Started again on the same database and port,
    with Telegram redelivering what was not acknowledged: every update answered 200 is recorded once and handled,
    each person has exactly one callback request (no more, none lost), each gets the confirmation, and the group
    has each request's message (at least once)."""
    database, log, port = tmp_path / "bot.db", tmp_path / "bot.log", free_port()
    async with FakeTelegram() as server:
        group = server.group(GROUP, "Médiateurs")
        people = [Person(server.user(8001 + i, name), timeout=40) for i, name in enumerate(NAMES)]
        async with bot_process(server, database, port, log) as process:
            await asyncio.gather(*(person.play(BEFORE_THE_END) for person in people))
            for person in people:  # the burst: every last press at once
                await person.press_value("skip")
            await group.wait_for(lambda g: bool(g.messages), 30)
            process.send_signal(signal.SIGKILL)
            await process.wait()
        posted_before_restart = len(group.messages)
        url = f"sqlite:///{database}"
        [(pending,)] = await raw_sql(url, "SELECT count(*) FROM inbox WHERE done_at IS NULL")
        [(unsent,)] = await raw_sql(url, "SELECT count(*) FROM outbox")
        assert pending + unsent > 0  # it died with work in hand
        async with bot_process(server, database, port, log) as process:
            for person in people:
                await person.user.wait_for(lambda u: any("C'est noté" in (m.text or "") for m in u.messages), 40)
            callbacks = await raw_sql(url, "SELECT conversation_key, id FROM callbacks ORDER BY conversation_key")
            for callback_id in (row[1] for row in callbacks):
                await group.wait_for(lambda g, c=callback_id: any(c[:4] in (m.text or "") for m in g.messages), 40)
            await asyncio.sleep(1.0)  # time for anything sent twice to show
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0

    acknowledged = {d.update_id for d in server.deliveries if d.status == 200}
    assert {u["update_id"] for u in server.update_history} <= acknowledged  # Telegram got every update through
    inbox = await raw_sql(url, "SELECT update_id, done_at IS NOT NULL FROM inbox")
    recorded = [row[0] for row in inbox]
    assert len(recorded) == len(set(recorded))
    assert acknowledged <= set(recorded)
    assert all(done for _, done in inbox), [u for u, done in inbox if not done]
    keys = [row[0] for row in callbacks]
    assert sorted(keys) == sorted(f"telegram:{8001 + i}" for i in range(len(NAMES))), keys  # one each, exactly
    posts = {c[1]: sum(c[1][:4] in (m.text or "") for m in group.messages) for c in callbacks}
    assert all(count >= 1 for count in posts.values()), posts
    twice = {c: n for c, n in posts.items() if n > 1}
    print(f"at the kill: {posted_before_restart} group message(s), {pending} update(s) unhandled, {unsent} unsent")
    print(f"requests posted twice in the group: {twice}")
    for person in people:
        confirmations = [m for m in person.user.messages if "C'est noté" in (m.text or "")]
        assert 1 <= len(confirmations) <= 2, person.user.summary()  # at least once (twice if sent as it died)
