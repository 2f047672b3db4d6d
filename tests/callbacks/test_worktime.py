"""Working time (issue « mediators at work », point 3): a queue's target counts only its open hours, its working days
and no public holiday, in its own time zone; across nights, week-ends, lunch breaks, Christmas, Easter Monday,
a change of summer time and an overseas queue with its own holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.callbacks.queuefile import load_queues
from bot.callbacks.queues import OFFICE_HOURS, Queue, TimeRange, WorkingHours
from bot.callbacks.worktime import Calendar, holiday_area
from bot.core.clock import PARIS
from bot.core.errors import FlowError

MARTINIQUE = ZoneInfo("America/Martinique")
WEEKDAYS = frozenset(range(5))
SPLIT_DAY = WorkingHours((TimeRange(WEEKDAYS, 9 * 60, 12 * 60 + 30), TimeRange(WEEKDAYS, 13 * 60 + 30, 18 * 60)))


def paris(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS)  # type: ignore[misc]


def queue(hours: WorkingHours = OFFICE_HOURS, target: int = 240) -> Queue:
    return Queue("test", "l'équipe test", hours=hours, target_minutes=target)


@pytest.mark.parametrize(
    ("made", "due"),
    [
        (paris(2026, 12, 4, 2, 46), paris(2026, 12, 4, 13, 0)),  # at night: from the opening, not from 02:46
        (paris(2026, 12, 4, 10, 0), paris(2026, 12, 4, 14, 0)),  # within the day
        (paris(2026, 12, 4, 16, 0), paris(2026, 12, 7, 12, 0)),  # Friday afternoon: Monday, the week-end skipped
        (paris(2026, 12, 5, 11, 0), paris(2026, 12, 7, 13, 0)),  # on a Saturday: Monday's opening + 4 h
        (paris(2026, 12, 24, 16, 0), paris(2026, 12, 28, 12, 0)),  # Christmas (Friday) closed
        (paris(2026, 4, 3, 16, 0), paris(2026, 4, 7, 12, 0)),  # Easter Monday closed
        (paris(2026, 3, 27, 16, 0), paris(2026, 3, 30, 12, 0)),  # summer time began on Sunday: still 12:00 local
    ],
)
def test_the_target_counts_working_hours_only(made: datetime, due: datetime) -> None:
    assert queue().due_at(made) == due.astimezone(UTC)


def test_a_lunch_break_is_not_counted() -> None:
    assert queue(SPLIT_DAY, 120).due_at(paris(2026, 12, 3, 11, 30)) == paris(2026, 12, 3, 14, 30).astimezone(UTC)


def test_a_public_holiday_is_no_working_time() -> None:
    assert OFFICE_HOURS.contains(paris(2026, 12, 24, 10, 0))
    assert not OFFICE_HOURS.contains(paris(2026, 12, 25, 10, 0))  # a Friday, but Christmas
    assert not OFFICE_HOURS.works_on(paris(2026, 5, 14).date())  # Ascension Thursday


def test_an_overseas_queue_keeps_its_own_clock_and_holidays() -> None:
    """Martinique: its time zone, and 22 May (abolition of slavery there) closed as well as the national days."""
    assert holiday_area(frozenset({"972"})) == "972"
    assert holiday_area(frozenset({"69"})) is None
    assert holiday_area(frozenset({"972", "971"})) is None
    hours = WorkingHours(OFFICE_HOURS.ranges, Calendar(MARTINIQUE, "972"))
    made = datetime(2026, 5, 21, 16, 0, tzinfo=MARTINIQUE)  # Thursday; Friday 22 May and Monday 25 (Pentecost) closed
    assert queue(hours).due_at(made) == datetime(2026, 5, 26, 12, 0, tzinfo=MARTINIQUE).astimezone(UTC)
    assert queue().due_at(paris(2026, 5, 21, 16, 0)) == paris(2026, 5, 22, 12, 0).astimezone(UTC)  # open in Paris


@pytest.mark.parametrize("hours", [OFFICE_HOURS, SPLIT_DAY])
def test_before_is_the_inverse_of_after(hours: WorkingHours) -> None:
    """`before(t, m)` is when a request must have been made to be due at `t`: `after` brings it back to `t`."""
    start = paris(2026, 3, 23, 9, 0)
    for step in range(0, 14 * 24 * 60, 97):  # two weeks, every 97 minutes (bounded)
        moment = start + timedelta(minutes=step)
        if not (hours.contains(moment) and hours.contains(moment - timedelta(minutes=1))):
            continue  # at an opening, Friday's closing is the same instant of working time: either may come back
        for minutes in (30, 240, 1440):
            assert hours.after(hours.before(moment, minutes), minutes) == moment.astimezone(UTC), (moment, minutes)


def test_waiting_colours_follow_working_time() -> None:
    """Made on Friday at 16:00 with a 4-hour target: still green on Saturday, orange on Monday at 10:00 (3 of 4 hours
    spent), red from 12:00."""
    q = queue()
    made = paris(2026, 12, 4, 16, 0)
    assert q.waiting_colour(made, paris(2026, 12, 5, 18, 0)) == "green"
    assert q.waiting_colour(made, paris(2026, 12, 7, 10, 0)) == "orange"
    assert q.waiting_colour(made, paris(2026, 12, 7, 12, 0)) == "red"
    assert not q.overdue(made, paris(2026, 12, 6, 23, 0))


def test_a_queue_file_names_its_time_zone(tmp_path: Path) -> None:
    """`timezone:` sets the queue's clock; an overseas department's queue keeps its holidays; an unknown zone is
    refused with its line and an example."""
    path = tmp_path / "queues.yaml"
    path.write_text(
        'default:\n  label: "l\'équipe"\n  hours: {days: [lundi-vendredi], from: "09:00", to: "17:00"}\n'
        'queues:\n  - name: martinique\n    label: "l\'équipe de Martinique"\n'
        '    territory: {departments: ["972"]}\n    timezone: "America/Martinique"\n',
        encoding="utf-8",
    )
    martinique = load_queues(path, default_chat_id=None).get("martinique")
    assert martinique is not None
    assert martinique.hours.calendar == Calendar(MARTINIQUE, "972")
    path.write_text(path.read_text(encoding="utf-8").replace("America/Martinique", "Mars/Olympus"), encoding="utf-8")
    with pytest.raises(FlowError) as raised:
        load_queues(path, default_chat_id=None)
    [problem] = raised.value.problems
    assert problem.line == 8
    assert "fuseau horaire inconnu 'Mars/Olympus'" in problem.message
    assert "America/Martinique" in problem.message


def test_due_times_asked_again_stay_each_queues_own() -> None:
    """Due times are remembered (a dashboard list asks them on every refresh): asked again, in turn, for queues whose
    hours, calendar or target differ, each gets its own answer, as the first time."""
    made = paris(2026, 5, 21, 16, 0)
    martinique = WorkingHours(OFFICE_HOURS.ranges, Calendar(MARTINIQUE, "972"))
    expected = {
        (OFFICE_HOURS, 240): paris(2026, 5, 22, 12, 0),
        (SPLIT_DAY, 240): paris(2026, 5, 22, 11, 0),  # 2 hours on Thursday, 2 on Friday morning
        (OFFICE_HOURS, 60): paris(2026, 5, 21, 17, 0),
        (martinique, 240): datetime(2026, 5, 21, 14, 0, tzinfo=MARTINIQUE),  # 16:00 in Paris is 10:00 there
    }
    for _ in range(2):
        for (hours, target), due in expected.items():
            assert queue(hours, target).due_at(made) == due.astimezone(UTC), (hours, target)
