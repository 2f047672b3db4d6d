"""Working time: a queue's delay counts only its open hours, on its working days, outside public holidays, in
its own time zone. A request made at 02:46 on a Friday to a queue open 09:00–17:00 with a four-hour target is due
at 13:00 that Friday; one made at 16:00 is due at 12:00 on Monday (or Tuesday, when Monday is Easter Monday).

Pure: the French public holidays come from the `holidays` package (national days, plus those of an overseas
department or of Alsace-Moselle when the queue names one), the time zones from the standard library."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from holidays.countries.france import France

from bot.core.clock import PARIS

MAX_DAYS = 3 * 366  # a schedule with no working minute in three years is refused rather than searched forever
SUBDIVISIONS = frozenset(France.subdivisions)


@dataclass(frozen=True, slots=True)
class Calendar:
    """Where the hours are read: the time zone, and the holidays' area (None: the national ones only)."""

    zone: ZoneInfo = PARIS
    area: str | None = None

    def closed(self, day: date) -> bool:
        return day in _holidays(self.area, day.year)


NATIONAL = Calendar()


@functools.lru_cache(maxsize=64)
def _holidays(area: str | None, year: int) -> frozenset[date]:
    return frozenset(France(subdiv=area, years=year).keys())  # type: ignore[no-untyped-call]


def holiday_area(departments: frozenset[str]) -> str | None:
    """The holidays' area of a queue's departments: an overseas department (« 972 ») or Moselle (« 57 ») when
    the queue covers only that one; otherwise the national holidays only."""
    areas = {d for d in departments if d in SUBDIVISIONS}
    return areas.pop() if len(areas) == 1 and len(departments) == 1 else None


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(zone)


def _seconds(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def add(spans: OpenSpans, start: datetime, minutes: float, calendar: Calendar = NATIONAL) -> datetime:
    """The moment `minutes` of working time after `start` (in UTC)."""
    local = _local(start, calendar.zone)
    left = minutes * 60
    day, since = local.date(), _seconds(local)
    for _ in range(MAX_DAYS):
        if not calendar.closed(day):
            for opens, closes in spans(day.weekday()):
                begin = max(opens * 60, since)
                if begin >= closes * 60:
                    continue
                if left <= closes * 60 - begin:
                    midnight = datetime(day.year, day.month, day.day, tzinfo=calendar.zone)
                    return (midnight + timedelta(seconds=begin + left)).astimezone(UTC)
                left -= closes * 60 - begin
        day, since = day + timedelta(days=1), 0.0
    raise ValueError("no working time within three years: check the queue's hours")


def back(spans: OpenSpans, end_at: datetime, minutes: float, calendar: Calendar = NATIONAL) -> datetime:
    """The moment `minutes` of working time before `end_at` (in UTC): a request made then is due at `end_at`."""
    local = _local(end_at, calendar.zone)
    left = minutes * 60
    day, until = local.date(), _seconds(local)
    for _ in range(MAX_DAYS):
        if not calendar.closed(day):
            for begin, end in reversed(spans(day.weekday())):
                stop = min(end * 60, until)
                if stop <= begin * 60:
                    continue
                if left <= stop - begin * 60:
                    midnight = datetime(day.year, day.month, day.day, tzinfo=calendar.zone)
                    return (midnight + timedelta(seconds=stop - left)).astimezone(UTC)
                left -= stop - begin * 60
        day, until = day - timedelta(days=1), 86400.0
    raise ValueError("no working time within three years: check the queue's hours")


class OpenSpans:
    """A week's open hours as sorted, merged (start, end) minute spans per weekday."""

    def __init__(self, ranges: list[tuple[frozenset[int], int, int]]) -> None:
        self.days: dict[int, list[tuple[int, int]]] = {}
        for weekday in range(7):
            spans = sorted((start, end) for days, start, end in ranges if weekday in days and start < end)
            merged: list[tuple[int, int]] = []
            for start, end in spans:
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            self.days[weekday] = merged

    def __call__(self, weekday: int) -> list[tuple[int, int]]:
        return self.days[weekday]
