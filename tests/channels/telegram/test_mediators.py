"""The mediators' Telegram group, end to end with the fake Bot API server: a request posted once, claimed and
resolved from its buttons (the message edited in place), the person told and able to cancel, presses from
elsewhere refused, the group's flood limit respected, notifications retried, reminders."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.callbacks import when as words
from bot.callbacks.jobs import CallbackJobs
from bot.callbacks.rules import Actor
from bot.channels.telegram.group import NOTICE_METHOD, POST_METHOD
from bot.channels.telegram.limits import RateLimits
from bot.config import Settings
from bot.core.errors import StorageError
from bot.storage.crypto import Keyring
from bot.storage.records import CallbackRow
from bot.storage.tables import callbacks
from tests.support.dashboard import working_moment
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_telegram.models import Fault, Limits
from tests.support.fake_telegram.users import FakeGroup
from tests.support.telegram_harness import Person, RunningBot, bot_settings, running_bot, whole_conversation

GROUP = -1001234567890
MEDIATOR = 501
CLAIM, DONE, UNREACHABLE, RELEASE = "🙋 Je m'en occupe", "✅ Appel fait", "📵 Injoignable", "↩️ Libérer"


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def mediator_settings(server: FakeTelegram, tmp_path: Path, database_url: str | None = None) -> Settings:
    settings = bot_settings(server, tmp_path / "bot.db")
    settings = dataclasses.replace(settings, mediator_chat_id=GROUP)
    if database_url is None:
        return settings
    # PostgreSQL needs DATA_KEY (processes share one key); SQLite makes a key file of its own.
    data_key = Keyring.new_key() if database_url.startswith("postgresql") else None
    return dataclasses.replace(settings, database_url=database_url, data_key=data_key)


def post_of(group: FakeGroup, short_id: str) -> str:
    found = [m for m in group.messages if m.from_bot and m.text and f"Demande de rappel {short_id}" in m.text]
    assert len(found) == 1, group.summary()  # posted once, edited in place afterwards
    return found[0].text or ""


async def ask_callback(server: FakeTelegram, chat_id: int = 42, first_name: str = "Jeanne") -> None:
    user = server.user(chat_id, first_name=first_name)
    await Person(user).play(whole_conversation("timide", first_name))  # the name given for the call
    # The turn's two messages (the request noted, then the last question) may arrive a moment apart: wait for both.
    await user.wait_for(lambda u: "vous a été utile" in ((u.last and u.last.text) or ""))
    assert any("C'est noté" in (m.text or "") for m in user.messages), user.summary()


async def wait_post(group: FakeGroup, short_id: str, text: str = "", within: float = 10.0) -> None:
    """Until the request's own message is in the group and shows `text` (other messages, such as a summary
    or a reminder, may come in between)."""

    def shown(g: FakeGroup) -> bool:
        found = [m for m in g.messages if m.from_bot and f"Demande de rappel {short_id}" in (m.text or "")]
        return bool(found) and text in (found[0].text or "")

    await group.wait_for(shown, within)


async def the_request(bot: RunningBot) -> str:
    assert bot.app.desk is not None
    [row] = await bot.app.desk.listing(None)
    return row.id


async def test_a_request_is_posted_claimed_told_and_resolved_from_the_group(
    server: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    """Done-when, Telegram side (SQLite and PostgreSQL): posted once in the group, claimed there, the person told,
    resolved; the message shows each state in place."""
    group = server.group(GROUP, "Médiateurs")
    async with running_bot(server, mediator_settings(server, tmp_path, database_url)) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        text = post_of(group, callback_id[:4])
        assert "En attente" in text
        assert "Jeanne" in text
        assert "06 12 34 56 78" in text
        assert "le matin" in text
        assert group.buttons(post_id(group, callback_id[:4])) == [CLAIM]
        person = server.user(42)
        assert not any("va vous appeler" in (m.text or "") for m in person.messages)  # not before a claim

        await group.press(MEDIATOR, CLAIM)
        await wait_post(group, callback_id[:4], "Prise en charge")
        assert f"par User {MEDIATOR}" in post_of(group, callback_id[:4])
        assert group.buttons(post_id(group, callback_id[:4])) == [DONE, UNREACHABLE, RELEASE]
        await person.wait_for(lambda u: "va vous appeler" in ((u.last and u.last.text) or ""))
        told = person.last
        assert told is not None
        assert "Lyon" in (told.text or "")  # 69003: the Lyon queue (its group: the default one's)
        assert person.buttons() == ["Annuler ma demande"]
        answers = [c.params.get("text") for c in server.calls_of("answerCallbackQuery")]
        assert "C'est noté : vous vous en occupez." in answers

        await group.press(MEDIATOR, DONE)
        await wait_post(group, callback_id[:4], "Appel fait")
        assert group.buttons(post_id(group, callback_id[:4])) == []
        assert bot.app.desk is not None
        row = await bot.app.desk.get(callback_id)
        assert row is not None
        assert (row.status, row.claimed_by, row.outcome) == ("done", f"telegram:{MEDIATOR}", "helped")
        assert [e.action for e in await bot.app.desk.history(callback_id)] == ["created", "claimed", "done"]
        assert {e.via for e in await bot.app.desk.history(callback_id)} == {"telegram"}
    assert not server.limit_violations


async def test_only_listed_mediators_and_the_queue_group_may_act(server: FakeTelegram, tmp_path: Path) -> None:
    """A queue naming its mediators refuses others' presses (alert, nothing changes); a press carried from
    another group is refused too."""
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    (catalogue / "queues.yaml").write_text(
        f'default:\n  label: "l\'équipe test"\n  telegram_chat_id: {GROUP}\n  mediators: [{MEDIATOR}]\n',
        encoding="utf-8",
    )
    settings = dataclasses.replace(bot_settings(server, tmp_path / "bot.db"), catalogue_dir=catalogue)
    group = server.group(GROUP)
    async with running_bot(server, settings) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        await group.press(999, CLAIM)
        await server_answered(server, "ne relève pas de vos files")
        assert bot.app.desk is not None
        row = await bot.app.desk.get(callback_id)
        assert row is not None
        assert row.status == "new"
        # The same press, as if made in another group where a copy of the message was forwarded.
        await bot.channel.receiving.receive([press_update(-100999, MEDIATOR, f"2|c|{callback_id}", update_id=1)])
        await server_answered(server, "ne relève pas de vos files", times=2)
        row = await bot.app.desk.get(callback_id)
        assert row is not None
        assert row.status == "new"
        await group.press(MEDIATOR, CLAIM)
        await wait_post(group, callback_id[:4], "Prise en charge")


async def test_the_person_cancels_and_the_group_sees_it(server: FakeTelegram, tmp_path: Path) -> None:
    """« Annuler ma demande » in the person's chat cancels the request; the group message says so, no buttons."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        await group.press(MEDIATOR, CLAIM)
        person = server.user(42)
        await person.wait_for(lambda u: "Annuler ma demande" in u.buttons())
        await person.press("Annuler ma demande")
        await person.wait_for(lambda u: any("C'est annulé" in (m.text or "") for m in u.messages))
        await wait_post(group, callback_id[:4], "Annulée")
        assert group.buttons(post_id(group, callback_id[:4])) == []
        assert bot.app.desk is not None
        row = await bot.app.desk.get(callback_id)
        assert row is not None
        assert row.status == "cancelled"


async def test_the_person_is_told_when_the_call_is_done_and_nothing_stale_follows(
    server: FakeTelegram, tmp_path: Path
) -> None:
    """« Appel fait » pressed in the group: the person is told the call took place, after « va vous appeler » and in
    that order, with no button left to cancel: the earlier news' « Annuler ma demande » goes by itself; nothing
    else comes after it, and /annuler then truly has nothing to cancel."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        person = server.user(42)
        await group.press(MEDIATOR, CLAIM)
        await person.wait_for(lambda u: "va vous appeler" in ((u.last and u.last.text) or ""))
        await wait_post(group, callback_id[:4], "Prise en charge")
        await group.press(MEDIATOR, DONE)
        await person.wait_for(lambda u: "L'appel a eu lieu" in ((u.last and u.last.text) or ""))
        await wait_post(group, callback_id[:4], "Appel fait")
        said = [m.text or "" for m in person.messages if m.from_bot]
        told = said[[i for i, t in enumerate(said) if "va vous appeler" in t][-1] :]
        assert len(told) == 2, person.summary()  # taken, then done: nothing stale after
        assert "L'appel a eu lieu" in told[1]
        assert person.buttons() == []
        await person.send("/annuler")
        await person.wait_for(lambda u: "pas de demande de rappel en cours" in ((u.last and u.last.text) or ""))
        taken = next(m for m in person.messages if m.from_bot and "va vous appeler" in (m.text or ""))
        await person.wait_for(lambda u: u.buttons(taken.message_id) == [])  # taken away when the call was done
        assert [r.status for r in await bot.app.storage.callbacks_for("telegram:42")] == ["done"]


@pytest.mark.slow
async def test_a_busy_group_stays_within_its_limit_and_loses_nothing(tmp_path: Path) -> None:
    """Twelve requests at once, a group allowed 5 messages per 3 s and failing sends: every request is posted
    once, none lost, no flood-limit violation."""
    # The bot paces by when it sends, the server counts by when calls arrive: on a loaded machine a call held up
    # in transit lands closer to the next one. A margin (as an operator would keep) keeps the count honest.
    limits = RateLimits(per_chat=(20, 1.0), overall=(1000, 1.0), group=(5, 4.0))
    async with FakeTelegram(limits=Limits(per_chat=(20, 1.0), overall=(1000, 1.0), group=(5, 3.0))) as server:
        group = server.group(GROUP)
        async with running_bot(server, mediator_settings(server, tmp_path), limits=limits) as bot:
            server.inject(Fault("sendMessage", "500", count=3))
            names = [f"Personne {letter}" for letter in "ABCDEFGHIJKL"]  # the names given for the calls
            asked = (ask_callback(server, chat_id=100 + n, first_name=name) for n, name in enumerate(names))
            await asyncio.gather(*asked)
            assert bot.app.desk is not None
            ids = [row.id for row in await bot.app.desk.listing(None)]
            assert len(ids) == 12
            for callback_id in ids:  # each posted (a summary or reminder may come in between)
                await wait_post(group, callback_id[:4], within=30)
                post_of(group, callback_id[:4])
        assert not server.limit_violations


@pytest.mark.slow
async def test_presses_faster_than_the_group_limit_cost_one_edit(tmp_path: Path) -> None:
    """Changes that pile up while the group's window is full are shown by one edit (the latest state)."""
    limits = RateLimits(per_chat=(20, 1.0), overall=(1000, 1.0), group=(2, 2.0))
    async with FakeTelegram(limits=Limits(per_chat=(20, 1.0), overall=(1000, 1.0), group=(2, 2.0))) as server:
        group = server.group(GROUP)
        async with running_bot(server, mediator_settings(server, tmp_path), limits=limits) as bot:
            await ask_callback(server)
            callback_id = await the_request(bot)
            await wait_post(group, callback_id[:4])
            assert bot.app.desk is not None
            desk = bot.app.desk
            from bot.callbacks.rules import Actor

            actor = Actor("web:marie", "Marie", "dashboard")
            for _ in range(3):  # six changes in a moment
                await desk.claim(callback_id, actor)
                await desk.release(callback_id, actor)
            await desk.claim(callback_id, actor)
            await wait_post(group, callback_id[:4], "par Marie", within=15)
            await asyncio.sleep(2.5)
            edits = [c for c in server.calls_of("editMessageText") if c.chat_id == GROUP]
            assert 1 <= len(edits) <= 3
            assert not await bot.app.storage.pending_outgoing(bot.channel.channel)
        assert not server.limit_violations


async def test_a_reminder_lists_late_requests_in_the_group(server: FakeTelegram, tmp_path: Path) -> None:
    """A request waiting past its target time is reminded in the group, during working hours."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        assert bot.app.desk is not None
        # A Monday far from the real clock: the running bot's own reminder round (real time) never takes its slot.
        monday_10h = datetime(2030, 11, 25, 9, 0, tzinfo=UTC)  # made 10 days before: 6 working days, late
        async with bot.app.desk.storage.callback_transaction() as tx:
            await tx.connection.execute(
                update(callbacks)
                .where(callbacks.c.id == callback_id)
                .values(created_at=monday_10h - timedelta(days=10))
            )
        await CallbackJobs(bot.app.desk).run_once(monday_10h)
        await group.wait_for(lambda g: any("attendent un appel" in (m.text or "") for m in g.messages if m.from_bot))
        assert not {POST_METHOD, NOTICE_METHOD} & {c.method for c in server.calls}  # never sent as such


async def server_answered(server: FakeTelegram, text: str, times: int = 1) -> None:
    for _ in range(100):
        found = [c for c in server.calls_of("answerCallbackQuery") if text in str(c.params.get("text"))]
        if len(found) >= times:
            assert all(c.params.get("show_alert") for c in found)
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answerCallbackQuery saying {text!r}")


def press_update(chat_id: int, user_id: int, data: str, update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Intrus"},
            "chat_instance": "x",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": chat_id, "type": "supergroup", "title": "Ailleurs"},
                "text": "copie",
            },
        },
    }


async def test_done_when_telegram_request_reaches_group_and_dashboard_claimed_from_either(
    server: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    """Done-when (SQLite and PostgreSQL): two callbacks asked on Telegram appear in the group and on the
    dashboard; one is claimed and resolved on the dashboard, the other in the group; each person is told."""
    from tests.support.browser import RunningServer
    from tests.support.dashboard import DashboardClient, add_mediator

    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path, database_url)) as bot:
        web = RunningServer(bot.app, bot.settings)
        await add_mediator(web, "marie", ["lyon"], name="Marie D.")
        await ask_callback(server, chat_id=42, first_name="Jeanne")
        await ask_callback(server, chat_id=43, first_name="Louis")
        assert bot.app.desk is not None
        rows = {row.first_name: row for row in await bot.app.desk.listing(None)}
        jeanne, louis = rows["Jeanne"], rows["Louis"]
        await wait_post(group, jeanne.id[:4])
        await wait_post(group, louis.id[:4])
        async with DashboardClient(web) as marie:
            _, listing = await marie.sign_in("marie")
            assert "Jeanne" in listing
            assert "Louis" in listing
            # Jeanne's request, from the dashboard.
            await marie.act(jeanne.id, "prendre")
            await wait_post(group, jeanne.id[:4], "par Marie D.")
            person = server.user(42)
            await person.wait_for(lambda u: any("va vous appeler" in (m.text or "") for m in u.messages))
            await marie.act(jeanne.id, "appel-fait", resultat="appointment", note="RDV pris jeudi")
            await group.wait_for(lambda g: "Rendez-vous pris" in post_of(g, jeanne.id[:4]))
            # Louis's request, from the group; the dashboard shows who holds it, then that it is done.
            await group.press(MEDIATOR, CLAIM, message_id=post_id(group, louis.id[:4]))
            await server.user(43).wait_for(lambda u: any("va vous appeler" in (m.text or "") for m in u.messages))
            _, page = await marie.page(f"/mediateurs/demandes/{louis.id}")
            assert f"User {MEDIATOR}" in page
            await group.press(MEDIATOR, DONE, message_id=post_id(group, louis.id[:4]))
            await group.wait_for(lambda g: "Appel fait" in post_of(g, louis.id[:4]))
        done = {row.first_name: row for row in await bot.app.desk.listing(None, ["done"])}
        assert done["Jeanne"].outcome == "appointment"
        assert done["Jeanne"].claimed_by == "web:marie"
        assert done["Louis"].claimed_by == f"telegram:{MEDIATOR}"
        history = await bot.app.desk.history(jeanne.id)
        assert [(e.action, e.via) for e in history] == [
            ("created", "telegram"),
            ("claimed", "dashboard"),
            ("done", "dashboard"),
        ]
    assert not server.limit_violations


def post_id(group: FakeGroup, short_id: str) -> int:
    [found] = [m for m in group.messages if m.from_bot and f"Demande de rappel {short_id}" in (m.text or "")]
    return found.message_id


async def test_a_press_replayed_after_a_crash_is_not_applied_twice(server: FakeTelegram, tmp_path: Path) -> None:
    """A crash right after « Injoignable » was applied, before anything else: after the restart the press is not
    handled again (one failed call counted, not two; the person told once)."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        await group.press(MEDIATOR, CLAIM)
        await wait_post(group, callback_id[:4], "Prise en charge")
        await bot.channel.updates.join(5)
        channel = bot.channel

        async def crash(*_args: object) -> None:
            raise RuntimeError("the process died here")

        channel.handling._finish = crash  # type: ignore[method-assign]
        await group.press(MEDIATOR, UNREACHABLE)
        await wait_post(group, callback_id[:4], "à rappeler")
        await channel.updates.join(5)
        del channel.handling._finish  # the next start: what the inbox still holds is handled again
        for received in await bot.app.storage.pending_updates(channel.channel):
            channel.updates.put(received.chat_id, (received, None))
        await channel.updates.join(5)
        assert bot.app.desk is not None
        row = await bot.app.desk.get(callback_id)
        assert row is not None
        assert (row.status, row.attempts) == ("new", 1)
        assert [e.action for e in await bot.app.desk.history(callback_id)] == ["created", "claimed", "unreachable"]


async def test_a_group_post_waits_for_the_database_instead_of_being_dropped(
    server: FakeTelegram, tmp_path: Path
) -> None:
    """The database fails while a request's group message is being prepared: the message is tried again and
    appears (not left unsent until the next restart)."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        desk = bot.app.desk
        assert desk is not None
        failures = [StorageError("database error: OperationalError")]
        read = desk.get

        async def get_failing_once(callback_id: str) -> CallbackRow | None:
            if failures:
                raise failures.pop()
            return await read(callback_id)

        desk.get = get_failing_once  # type: ignore[method-assign]
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        assert not failures
        del desk.get
        post_of(group, callback_id[:4])


async def test_a_post_whose_message_id_cannot_be_saved_at_once_is_still_edited_later(
    server: FakeTelegram, tmp_path: Path
) -> None:
    """The database fails just after the group message was sent: its id is saved once the database is back, so
    the next change edits that message instead of posting the request a second time."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        desk = bot.app.desk
        assert desk is not None
        failures = [StorageError("database error: OperationalError")]
        record = desk.set_post

        async def set_post_failing_once(callback_id: str, chat_id: int, message_id: int) -> None:
            if failures:
                raise failures.pop()
            await record(callback_id, chat_id, message_id)

        desk.set_post = set_post_failing_once  # type: ignore[method-assign]
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        for _ in range(100):
            row = await desk.get(callback_id)
            if row is not None and row.post_message_id is not None:
                break
            await asyncio.sleep(0.05)
        assert not failures
        await group.press(MEDIATOR, CLAIM)
        await wait_post(group, callback_id[:4], "Prise en charge")
        assert "Prise en charge" in post_of(group, callback_id[:4])  # the same message, edited
        del desk.set_post


async def test_a_dashboard_action_while_telegram_stops_is_kept_for_the_next_start(
    server: FakeTelegram, tmp_path: Path
) -> None:
    """The Telegram channel has stopped sending (shutting down) while the dashboard still works: a claim made then
    succeeds, and its messages (the person told, the group post) wait in the outbox for the next start."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        await bot.channel.outbox.close()
        before = await bot.app.storage.pending_outgoing(bot.channel.channel)
        assert bot.app.desk is not None
        claimed = await bot.app.desk.claim(callback_id, Actor("web:marie", "Marie", "dashboard"))
        assert claimed.status == "claimed"
        after = await bot.app.storage.pending_outgoing(bot.channel.channel)
        assert sorted(row.method for row in after[len(before) :]) == sorted([NOTICE_METHOD, POST_METHOD])


async def test_a_group_that_became_a_supergroup_is_named_in_the_log_and_blocks_nothing(
    server: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram moved the group to a new id: the post cannot go, the log says which id to configure, the row
    leaves the outbox, and the person's conversation carries on."""
    server.group(GROUP)
    server.upgrade_group(GROUP, -1009999)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        await ask_callback(server)
        for _ in range(200):
            if "became the supergroup -1009999" in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert f"Telegram group {GROUP} became the supergroup -1009999" in caplog.text
        assert "catalogue/queues.yaml" in caplog.text
        await bot.channel.outbox.drain(5)
        assert not await bot.app.storage.pending_outgoing(bot.channel.channel)
        person = Person(server.user(42))
        await person.say("/aide", expect_question=False)


async def test_an_agreed_time_is_shown_told_and_reminded_in_the_group_once(
    server: FakeTelegram, tmp_path: Path
) -> None:
    """« Rappeler le … à … » (from the dashboard) on a request taken in the group: the person is told the date in
    words, the group message shows the agreed time; when it comes the jobs post one reminder naming the holder (a
    mention: Telegram notifies them), not again in later rounds."""
    group = server.group(GROUP)
    async with running_bot(server, mediator_settings(server, tmp_path)) as bot:
        await ask_callback(server)
        callback_id = await the_request(bot)
        await wait_post(group, callback_id[:4])
        await group.press(MEDIATOR, CLAIM)
        await wait_post(group, callback_id[:4], "Prise en charge")
        desk = bot.app.desk
        assert desk is not None
        row = await desk.get(callback_id)
        assert row is not None
        queue = desk.queue_of(row)
        zone = queue.hours.calendar.zone
        agreed = working_moment(queue)  # ahead of the running bot's own rounds (real time)
        holder = Actor(f"telegram:{MEDIATOR}", f"User {MEDIATOR}", "telegram")
        await desk.schedule(callback_id, holder, agreed.replace(tzinfo=None))
        person = server.user(42)
        await person.wait_for(lambda u: "comme convenu" in ((u.last and u.last.text) or ""))
        assert f"vous appellera le {words.said(agreed, zone)}" in (person.last.text or "")  # type: ignore[union-attr]
        assert person.buttons() == ["Annuler ma demande"]
        await wait_post(group, callback_id[:4], f"Rappel convenu avec la personne : le {words.short(agreed, zone)}")

        jobs = CallbackJobs(desk)
        await jobs.run_once(agreed.astimezone(UTC))
        await group.wait_for(lambda g: any("maintenant" in (m.text or "") for m in g.messages if m.from_bot))
        [reminder] = [m for m in group.messages if m.from_bot and "Rappel : appeler" in (m.text or "")]
        assert f"Rappel : appeler Jeanne (demande {callback_id[:4]}) maintenant" in (reminder.text or "")
        assert "convenu avec la personne" in (reminder.text or "")
        assert f"tg://user?id={MEDIATOR}" in [e.get("url") for e in reminder.entities]
        for later in (1, 5):
            await jobs.run_once(agreed.astimezone(UTC) + timedelta(minutes=later))
        await asyncio.sleep(0.5)
        assert len([m for m in group.messages if m.from_bot and "Rappel : appeler" in (m.text or "")]) == 1
