"""The lifecycle rules of a callback request as one table (bot/callbacks/rules.py `plan`): every state, every action,
by its holder or by someone else, gives the documented change or refusal; « Rappeler le … à … » (schedule) checks
its moment against the clock and the queue's working time; leaving `claimed` forgets the agreed time. Pure: no
database. The French words of moments (bot/callbacks/when.py) too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from bot.callbacks import when as words
from bot.callbacks.queues import Queue, TimeRange, WorkingHours
from bot.callbacks.rules import ACTIONS, STATUSES, Action, Actor, Refused, plan
from bot.callbacks.worktime import Calendar
from bot.storage.records import CallbackRow

HOLDER = Actor("web:marie", "Marie D.", "dashboard")
OTHER = Actor("telegram:77", "Paul", "telegram")
QUEUE = Queue("default", "l'équipe Passerelle", max_attempts=3)  # office hours: Monday-Friday 9:00-17:00, Paris
PARIS = ZoneInfo("Europe/Paris")
AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris
THURSDAY_2PM = datetime(2026, 12, 10, 14, 0, tzinfo=PARIS)


def request(status: str, held_by: Actor | None, **changes: object) -> CallbackRow:
    row = CallbackRow(
        "abcd1234",
        "telegram:42",
        status,
        "default",
        "timide",
        {"for_whom": "self"},
        "+33612345678",
        "morning",
        "person",
        claimed_by=held_by.id if held_by else None,
        claimed_name=held_by.name if held_by else None,
        attempts=1,
    )
    return replace(row, **changes)  # type: ignore[arg-type]


# (state, does the actor hold it?) -> action -> what happens: a refusal's code, None (nothing to do), or
# (new status, message key told to the person, the audit event's action).
SITUATIONS = {
    ("new", False): {
        "claim": ("claimed", "callback_claimed", "claimed"),
        "take_over": "not_claimed",
        "release": "not_claimed",
        "done": "not_claimed",
        "unreachable": "not_claimed",
        "note": ("new", None, "note"),
        "schedule": "not_claimed",
    },
    ("claimed", True): {
        "claim": None,
        "take_over": None,
        "release": ("new", None, "released"),
        "done": ("done", "callback_call_done", "done"),
        "unreachable": ("new", "callback_retry", "unreachable"),
        "note": ("claimed", None, "note"),
        "schedule": ("claimed", "callback_scheduled", "scheduled"),
    },
    ("claimed", False): {
        "claim": "taken",
        "take_over": ("claimed", None, "taken_over"),
        "release": "not_holder",
        "done": "not_holder",
        "unreachable": "not_holder",
        "note": ("claimed", None, "note"),
        "schedule": "not_holder",
    },
    **{
        (closed, holder): {
            "claim": "closed",
            "take_over": "closed",
            "release": "closed",
            "done": "closed",
            "unreachable": "closed",
            "note": (closed, None, "note"),
            "schedule": "closed",
        }
        for closed in ("done", "unreachable", "cancelled")
        for holder in (True, False)
    },
}


def test_the_table_covers_every_state_action_and_holder() -> None:
    """Every (state, holder or not, action) has its row: a new state or action cannot slip in untested."""
    situations = {("new", False)} | {(s, h) for s in STATUSES if s != "new" for h in (True, False)}
    assert set(SITUATIONS) == situations
    for situation, actions in SITUATIONS.items():
        assert tuple(actions) == ACTIONS, situation


@pytest.mark.parametrize(
    ("status", "holder", "action"),
    [(s, h, a) for (s, h), actions in SITUATIONS.items() for a in actions],
)
def test_every_transition(status: str, holder: bool, action: Action) -> None:
    """The row's state, held by the actor or by someone else (nobody for a new one), and one action: the table's
    change (status, the person told, the audit event from → to), its refusal, or nothing."""
    row = request(status, (HOLDER if holder else OTHER) if status != "new" else None)
    expected = SITUATIONS[(status, holder)][action]
    when = THURSDAY_2PM if action == "schedule" else None
    if isinstance(expected, str):
        with pytest.raises(Refused) as refused:
            plan(row, action, HOLDER, QUEUE, AT, outcome=None, note="une note", when=when)
        assert refused.value.code == expected
        assert refused.value.message  # French, for the mediator
        return
    decided = plan(row, action, HOLDER, QUEUE, AT, outcome=None, note="une note", when=when)
    if expected is None:
        assert decided is None
        return
    to_status, tell, event = expected
    assert decided is not None
    assert decided.values.get("status", status) == to_status
    assert decided.tell == tell
    assert (decided.event.action, decided.event.from_status, decided.event.to_status) == (event, status, to_status)
    assert (decided.event.actor, decided.event.via) == (HOLDER.id, "dashboard")
    leaves_claimed = status == "claimed" and to_status != "claimed"
    assert ("scheduled_at" in decided.values) == (leaves_claimed or action == "schedule")
    if leaves_claimed:
        assert decided.values["scheduled_at"] is None  # release, done, unreachable forget the agreed time


def test_the_last_unanswered_call_closes_the_request() -> None:
    """« Injoignable » on the queue's last allowed try: closed as unreachable, the person told we gave up."""
    row = request("claimed", HOLDER, attempts=QUEUE.max_attempts - 1, scheduled_at=THURSDAY_2PM)
    decided = plan(row, "unreachable", HOLDER, QUEUE, AT, outcome=None, note=None)
    assert decided is not None
    assert (decided.values["status"], decided.values["scheduled_at"], decided.tell) == (
        "unreachable",
        None,
        "callback_gave_up",
    )


def test_schedule_records_the_time_tells_the_person_and_audits_it_in_words() -> None:
    """A wall-clock time in the queue's zone is stored as that moment; the trail says « Rappel programmé le jeudi
    10/12 à 14:00 »; an aware time is taken as is; a new time replaces the old one."""
    row = request("claimed", HOLDER)
    decided = plan(row, "schedule", HOLDER, QUEUE, AT, outcome=None, note=None, when=datetime(2026, 12, 10, 14, 0))
    assert decided is not None
    assert decided.values["scheduled_at"] == datetime(2026, 12, 10, 13, 0, tzinfo=UTC)
    assert decided.event.note == "Rappel programmé le jeudi 10/12 à 14:00"
    assert decided.tell == "callback_scheduled"
    again = plan(
        replace(row, scheduled_at=THURSDAY_2PM),
        "schedule",
        HOLDER,
        QUEUE,
        AT,
        outcome=None,
        note=None,
        when=datetime(2026, 12, 11, 8, 30, tzinfo=UTC),
    )
    assert again is not None
    assert again.values["scheduled_at"] == datetime(2026, 12, 11, 8, 30, tzinfo=UTC)
    assert again.event.note == "Rappel programmé le vendredi 11/12 à 09:30"


@pytest.mark.parametrize(
    ("when", "code", "said"),
    [
        (None, "no_time", "date et l'heure"),
        (datetime(2026, 3, 29, 2, 30), "no_time", "date et l'heure"),  # skipped by the change of hour
        (AT, "past", "déjà passé"),
        (AT - timedelta(days=1), "past", "déjà passé"),
        (AT + timedelta(days=61), "too_far", "au plus 60 jours"),
        (datetime(2026, 12, 10, 18, 0), "off_hours", "jeudi 10/12 à 18:00 est en dehors des horaires"),
        (datetime(2026, 12, 12, 10, 0), "off_hours", "du lundi au vendredi de 9 h à 17 h, hors jours fériés"),
        (datetime(2026, 12, 25, 10, 0), "off_hours", "vendredi 25/12 à 10:00"),  # Christmas: a public holiday
    ],
)
def test_schedule_refuses_a_moment_that_cannot_be(when: datetime | None, code: str, said: str) -> None:
    """No time, a past one, one more than 60 days ahead, or one outside the queue's working time (evening,
    Saturday, a public holiday): refused in French, with the team's hours as the hint; nothing changes."""
    with pytest.raises(Refused) as refused:
        plan(request("claimed", HOLDER), "schedule", HOLDER, QUEUE, AT, outcome=None, note=None, when=when)
    assert refused.value.code == code
    assert said in refused.value.message


def test_words_for_moments_and_hours() -> None:
    """The agreed time for the person and for the mediators, the team's hours, dates typed in the form."""
    assert words.said(THURSDAY_2PM, PARIS) == "jeudi 10 décembre à 14 h"
    assert words.said(datetime(2027, 1, 1, 8, 30, tzinfo=UTC), PARIS) == "vendredi 1er janvier à 9 h 30"
    assert words.short(THURSDAY_2PM.astimezone(UTC), PARIS) == "jeudi 10/12 à 14:00"
    split = WorkingHours(
        (
            TimeRange(frozenset({0, 1, 3}), 9 * 60, 12 * 60),
            TimeRange(frozenset({0, 1, 3}), 13 * 60 + 30, 17 * 60),
            TimeRange(frozenset({5}), 10 * 60, 12 * 60),
        )
    )
    assert words.hours_words(split) == (
        "le lundi, mardi et jeudi de 9 h à 12 h et de 13 h 30 à 17 h ; le samedi de 10 h à 12 h, hors jours fériés"
    )
    assert words.parse_local("2026-12-10", "14:00") == datetime(2026, 12, 10, 14, 0)
    assert words.parse_local(" 2026-12-10 ", "14:00:30") == datetime(2026, 12, 10, 14, 0, 30)
    for day, clock in (("2026-02-31", "14:00"), ("10/12/2026", "14:00"), ("2026-12-10", "25:00"), ("", "")):
        assert words.parse_local(day, clock) is None, (day, clock)
    assert words.parse_local("２０２６-12-10", "14:00") is None  # digits other than ASCII ones
    assert words.localize(datetime(9999, 12, 31, 23, 59), ZoneInfo("America/Martinique")) is None  # beyond year 9999


@pytest.mark.parametrize(
    ("local_at", "moment", "said"),
    [
        (datetime(2026, 12, 8, 10, 0), "any", "cet après-midi"),  # Tuesday 10:00 + 2 working hours: 12:00
        (datetime(2026, 12, 8, 10, 0), "morning", "demain matin"),
        (datetime(2026, 12, 8, 9, 0), "morning", "dans la matinée"),
        (datetime(2026, 12, 8, 13, 0), "any", "plus tard dans la journée"),
        (datetime(2026, 12, 8, 16, 0), "afternoon", "demain après-midi"),
        (datetime(2026, 12, 8, 16, 0), None, "demain matin"),
        (datetime(2026, 12, 11, 16, 0), "any", "lundi matin"),  # a Friday: the weekend is no working time
        (datetime(2026, 12, 24, 16, 0), "any", "lundi matin"),  # Christmas Eve, then Christmas: Monday the 28th
        (datetime(2026, 12, 11, 16, 0), "afternoon", "lundi après-midi"),
    ],
)
def test_the_next_try_is_said_from_the_queue_s_working_time(local_at: datetime, moment: str | None, said: str) -> None:
    """After an unanswered call the person hears when the next try comes: some working time later, in the part of
    the day they chose, in words relative to now (« demain matin », « lundi »), never « bientôt »."""
    assert words.next_try_words(QUEUE, local_at.replace(tzinfo=PARIS), moment) == said


def test_the_next_try_far_away_names_the_day_and_respects_the_queue_s_zone() -> None:
    """A team working one day a week is tried again on that day, named with its date once a week away or more;
    a queue in Martinique counts in its own time."""
    wednesdays = Queue("w", "W", hours=WorkingHours((TimeRange(frozenset({2}), 9 * 60, 10 * 60),)))
    wednesday = datetime(2026, 12, 9, 9, 0, tzinfo=PARIS)  # an hour today, the next one a week later
    assert words.next_try_words(wednesdays, wednesday, "any") == "le mercredi 16 décembre"
    martinique = ZoneInfo("America/Martinique")
    antilles = Queue("972", "M", hours=replace(QUEUE.hours, calendar=Calendar(martinique, "972")))
    assert words.next_try_words(antilles, datetime(2026, 12, 8, 8, 0, tzinfo=martinique), "any") == "dans la matinée"
    with pytest.raises(Refused) as refused:  # 18:00 typed is 18:00 in Martinique (not in Paris): closed
        plan(
            request("claimed", HOLDER), "schedule", HOLDER, antilles, AT, outcome=None, note=None,
            when=datetime(2026, 12, 10, 18, 0),
        )  # fmt: skip
    assert refused.value.code == "off_hours"
    decided = plan(
        request("claimed", HOLDER), "schedule", HOLDER, antilles, AT, outcome=None, note=None,
        when=datetime(2026, 12, 10, 9, 0),
    )  # fmt: skip
    assert decided is not None
    assert decided.values["scheduled_at"] == datetime(2026, 12, 10, 13, 0, tzinfo=UTC)
    assert decided.event.note == "Rappel programmé le jeudi 10/12 à 09:00"


def test_actions_are_the_literal_s_values() -> None:
    """ACTIONS, which the table is checked against, is exactly the `Action` type's values."""
    assert get_args(Action) == ACTIONS


def test_a_colleague_takes_over_a_request_and_the_trail_says_from_whom() -> None:
    """« Reprendre la demande » (confirmed on the dashboard): the taker holds it from now, the agreed time stays,
    the person is not told again (someone was already to call), and the trail says « Reprise à Paul »."""
    row = request("claimed", OTHER, scheduled_at=THURSDAY_2PM)
    decided = plan(row, "take_over", HOLDER, QUEUE, AT, outcome=None, note=None)
    assert decided is not None
    assert (decided.values["claimed_by"], decided.values["claimed_name"]) == (HOLDER.id, HOLDER.name)
    assert "scheduled_at" not in decided.values
    assert decided.tell is None
    assert (decided.event.action, decided.event.note) == ("taken_over", "Reprise à Paul")
