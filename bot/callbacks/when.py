"""Moments of a callback request in French words, in its queue's time zone: the time agreed with the person
(« jeudi 10 décembre à 14 h » for them, « jeudi 10/12 à 14:00 » for the mediators), the queue's working hours
(« du lundi au vendredi de 9 h à 17 h ») and when the next try will come after an unanswered call (« demain
matin »). Pure: no I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.callbacks.queues import Queue, TimeRange, WorkingHours
from bot.core.clock import MONTHS_FR, WEEKDAYS_FR

MAX_AHEAD = timedelta(days=60)  # how far ahead a mediator may agree a call
RETRY_GAP_MINUTES = 120  # working time before a new try after an unanswered call, at the earliest
NOON = 12
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CLOCK = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def zone_of(queue: Queue) -> ZoneInfo:
    return queue.hours.calendar.zone


def short(moment: datetime, zone: ZoneInfo) -> str:
    """ "jeudi 10/12 à 14:00": for the mediators (dashboard, group, audit trail)."""
    local = moment.astimezone(zone)
    return f"{WEEKDAYS_FR[local.weekday()]} {local:%d/%m} à {local:%H:%M}"


def said(moment: datetime, zone: ZoneInfo) -> str:
    """ "jeudi 10 décembre à 14 h" (« à 14 h 30 »): for the person."""
    local = moment.astimezone(zone)
    return f"{_day(local)} à {_clock(local.hour * 60 + local.minute)}"


def parse_local(day: str, clock: str) -> datetime | None:
    """A wall-clock moment (naive) from a date ("2026-12-10", as an <input type=date> sends it) and a time
    ("14:00", "14:00:00"); None when either is not one."""
    day, clock = day.strip(), clock.strip()
    if not (DAY.fullmatch(day) and CLOCK.fullmatch(clock)):
        return None
    try:
        return datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:  # 31 February, 25:00
        return None


def localize(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """A wall-clock moment read in `zone`; None when it does not exist there (skipped by the spring change of
    hour) or lies at the calendar's very end."""
    try:
        local = wall.replace(tzinfo=zone)
        back = local.astimezone(UTC).astimezone(zone)
    except OverflowError:
        return None
    return local if back.replace(tzinfo=None) == wall else None


def hours_words(hours: WorkingHours) -> str:
    """ "du lundi au vendredi de 9 h à 17 h" ; ranges on other days joined by « ; »."""
    by_days: dict[frozenset[int], list[TimeRange]] = {}
    for span in hours.ranges:
        by_days.setdefault(span.days, []).append(span)
    parts = []
    for days, spans in by_days.items():
        times = " et ".join(f"de {_clock(s.start)} à {_clock(s.end)}" for s in sorted(spans, key=lambda s: s.start))
        parts.append(f"{_days(days)} {times}")
    return " ; ".join(parts) + ", hors jours fériés"


def next_try(queue: Queue, at: datetime, moment: str | None) -> datetime:
    """When a new call may come after an unanswered one at `at`: some working time later, in the part of the day
    the person chose (`morning`, `afternoon`; anything else: any time)."""
    zone = zone_of(queue)
    first = candidate = queue.hours.after(at, RETRY_GAP_MINUTES)
    for _ in range(14):  # a queue open only in the other half of the day: its first working time, then
        local = candidate.astimezone(zone)
        if moment == "morning" and local.hour >= NOON:
            start = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        elif moment == "afternoon" and local.hour < NOON:
            start = datetime.combine(local.date(), time(NOON), tzinfo=zone)
        else:
            return candidate
        candidate = queue.hours.after(start, 0)
    return first


def next_try_words(queue: Queue, at: datetime, moment: str | None) -> str:
    """ "demain matin", "lundi après-midi", "cet après-midi"…: when the next try comes, said from `at`."""
    zone = zone_of(queue)
    local_at, local = at.astimezone(zone), next_try(queue, at, moment).astimezone(zone)
    part = "matin" if local.hour < NOON else "après-midi"
    days = (local.date() - local_at.date()).days
    if days <= 0:
        if part == "matin":
            return "dans la matinée"
        return "cet après-midi" if local_at.hour < NOON else "plus tard dans la journée"
    if days == 1:
        return f"demain {part}"
    if days < 7:
        return f"{WEEKDAYS_FR[local.weekday()]} {part}"
    return f"le {_day(local)}"


def _day(local: datetime) -> str:
    number = "1er" if local.day == 1 else str(local.day)
    return f"{WEEKDAYS_FR[local.weekday()]} {number} {MONTHS_FR[local.month - 1]}"


def _clock(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def _days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) == 1:
        return f"le {WEEKDAYS_FR[ordered[0]]}"
    if len(ordered) >= 3 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"du {WEEKDAYS_FR[ordered[0]]} au {WEEKDAYS_FR[ordered[-1]]}"
    names = [WEEKDAYS_FR[d] for d in ordered]
    return "le " + ", ".join(names[:-1]) + " et " + names[-1]
