"""Faults survived: the Telegram Bot API unusable for a whole minute (429 with retry_after, 500, 502 from its proxy,
calls never answered past the bot's read timeout, connections dropped), with Telegram's flood limits enforced by
the fake server, while people go on writing and ask for callbacks that go to the mediators' group. Nothing is
lost, nothing is sent twice, every chat gets its replies in order, the limits hold, and the backlog drains within
a bounded time once the API answers again."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from pathlib import Path

import pytest

from bot.channels.telegram.channel import TELEGRAM_LIMITS
from bot.storage import Storage
from tests.support.fake_telegram import FakeTelegram, FakeUser, Limits
from tests.support.telegram_harness import Person, bot_settings, running_bot

GROUP = -1_001_888_000  # the mediators' group (MEDIATOR_CHAT_ID)
STORM = 60.0  # seconds of faults
SEGMENT = 3.0  # each fault kind holds for this long, then another takes over
KINDS = ("429", "500", "502", "timeout", "drop")
DRAIN_BOUND = 70.0  # seconds after the storm: the longest retry wait (30 s), then a chat's backlog at 1 message/s
PEOPLE = 6
# Typed answers (no button: during the storm the buttons never arrive), then a callback request from mid-way.
SCRIPT = ["pour moi", "la famille", "un smartphone", "/humain", "oui", "06 12 34 56 78", "le matin", "passer"]


def schedule_storm(server: FakeTelegram, rng: random.Random) -> list[tuple[str, int]]:
    """Back-to-back storms on every method for STORM seconds: each kind once first (calls are frequent then),
    then kinds at random. A storm matches until its end, the earliest unexpired one first: no gap between them."""
    count = round(STORM / SEGMENT)
    kinds = [*rng.sample(KINDS, len(KINDS)), *(rng.choice(KINDS) for _ in range(count - len(KINDS)))]
    plan = [(kind, rng.randint(1, 5)) for kind in kinds]
    for index, (kind, retry_after) in enumerate(plan):
        server.storm(kind, SEGMENT * (index + 1), retry_after=retry_after)  # type: ignore[arg-type]  # one of KINDS
    return plan


def texts(user: FakeUser) -> list[str]:
    return [m.text or "" for m in user.messages]


async def type_during_the_storm(user: FakeUser, start: float, spacing: float, rng: random.Random) -> None:
    """The person writes each answer without waiting for the bot (its answers cannot come). Their chat's first
    reply is tried at once, in the storm's segment of that moment: people starting one segment apart meet each
    kind of fault, whatever the retry waits do later."""
    await asyncio.sleep(start)
    for line in SCRIPT:
        await user.send(line)
        await asyncio.sleep(spacing * rng.uniform(0.7, 1.3))


@pytest.mark.slow
async def test_a_minute_of_api_faults_loses_nothing_and_the_backlog_drains(tmp_path: Path) -> None:
    """Webhook mode, the bot's real limits against the server's. After /start, the API fails every call for 60 s
    (429 with retry_after 1–5 s, 500, 502 with an HTML page, no answer at all for longer than the read timeout,
    connection dropped), kind after kind; meanwhile six people type their answers and ask for a callback. Then:
    every fault kind was met; each person's chat ends up with exactly the messages, in the order, that a person
    typing the same answers in calm weather gets (none missing, none twice); each callback request is posted in
    the mediators' group exactly once; no limit was exceeded; all of it within DRAIN_BOUND s of the storm's end."""
    rng = random.Random(6)
    async with FakeTelegram(limits=Limits()) as server:
        group = server.group(GROUP, "Médiateurs")
        settings = dataclasses.replace(bot_settings(server, tmp_path / "bot.db", webhook=True), mediator_chat_id=GROUP)
        async with running_bot(server, settings, limits=TELEGRAM_LIMITS) as bot:
            people = [Person(server.user(9001 + i, "Jeanne"), timeout=30) for i in range(PEOPLE)]
            await asyncio.gather(*(person.play(["/start"]) for person in people))
            before = [len(texts(p.user)) for p in people]

            plan = schedule_storm(server, rng)
            storm_end = time.monotonic() + STORM
            spacing = (STORM - 5 - len(KINDS) * SEGMENT) / len(SCRIPT)
            starts = [min(i, len(KINDS)) * SEGMENT + 0.5 for i in range(PEOPLE)]
            await asyncio.gather(
                *(type_during_the_storm(p.user, t, spacing, rng) for p, t in zip(people, starts, strict=True))
            )
            await asyncio.sleep(max(0.0, storm_end - time.monotonic()))
            assert [len(texts(p.user)) for p in people] == before  # nothing got through during the storm

            # Calm weather: the same answers, each after the bot's reply (it drains the others' backlog meanwhile).
            control = Person(server.user(9100, "Jeanne"), timeout=60)
            await control.play(["/start", *SCRIPT])
            expected = texts(control.user)
            deadline = storm_end + DRAIN_BOUND
            for person in people:
                await person.user.wait_for(lambda u: len(texts(u)) >= len(expected), deadline - time.monotonic())
            storage = bot.app.storage
            assert isinstance(storage, Storage)
            requests = [r for i in range(PEOPLE) for r in await storage.callbacks_for(f"telegram:{9001 + i}")]
            for request in requests:
                await group.wait_for(
                    lambda g, short=request.id[:4]: any(short in (m.text or "") for m in g.messages),
                    deadline - time.monotonic(),
                )
            drained_after = time.monotonic() - storm_end
            await asyncio.sleep(1.5)  # anything sent twice would show by now
            print(f"storm plan {plan}; backlog drained {drained_after:.1f} s after the storm")

    fired = {fault.kind for _, fault in server.faults.fired}
    assert fired == set(KINDS), fired
    assert server.limit_violations == [], [(c.method, c.chat_id) for c in server.limit_violations]
    for person in people:
        assert texts(person.user) == expected, person.user.summary(30)
    assert len(requests) == PEOPLE  # one each
    for request in requests:
        posts = [m for m in group.messages if request.id[:4] in (m.text or "")]
        assert len(posts) == 1, group.summary(20)
