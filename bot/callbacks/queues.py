"""Mediator queues: who calls back whom. Each queue covers a territory; a callback request goes to the most
specific queue covering where the person is, else to the default queue.

Most specific first: the commune (INSEE code; a Paris, Lyon or Marseille arrondissement is also covered by
its city's code), then the postcode, then a circle `around` a point (smallest radius first, then nearest
centre), then the department, then the default queue. The commune is only trusted when it is known (a
postcode shared by several communes gives its main commune, not the person's), and the position only when
it is more than a department's centre.

The file, `CATALOGUE_DIR/queues.yaml`, is parsed by bot/callbacks/queuefile.py (`load_queues`); this module holds the
values and the routing only. Pure: no I/O, no aiohttp, no telegram.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal

from bot.callbacks import worktime
from bot.callbacks.worktime import NATIONAL, Calendar
from bot.places.geo import distance_km

if TYPE_CHECKING:
    from bot.places.offers import ResolvedLocation

DEFAULT_NAME = "default"
DEFAULT_LABEL = "l'équipe Passerelle"
DEFAULT_TARGET_MINUTES = 1440
DEFAULT_MAX_ATTEMPTS = 3
# Arrondissements (own INSEE codes) and the city whose code covers them.
_CITIES = (("75101", "75120", "75056"), ("69381", "69389", "69123"), ("13201", "13216", "13055"))
Colour = Literal["green", "orange", "red"]


def department_of_insee(code: str) -> str:
    """The department of an INSEE code: 2 characters, 3 overseas (97x), 2A/2B in Corsica; "" if malformed."""
    code = code.strip().upper()
    if len(code) != 5:
        return ""
    if code.startswith("97"):
        return code[:3]
    return code[:2] if code[:2].isdigit() or code[:2] in ("2A", "2B") else ""


def department_of_postcode(code: str) -> str:
    """The department of a postcode: 2 digits, 3 overseas (97x), Corsica 200xx-201xx 2A, 202xx-206xx 2B."""
    code = code.strip()
    if len(code) != 5 or not code.isdigit():
        return ""
    if code.startswith("97"):
        return code[:3]
    if code.startswith("20"):
        return "2A" if code < "20200" else "2B"
    return code[:2]


def city_of(code_insee: str) -> str:
    """The city of a Paris, Lyon or Marseille arrondissement ("69383" → "69123"); "" for any other code."""
    for first, last, city in _CITIES:
        if first <= code_insee <= last and len(code_insee) == 5:
            return city
    return ""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Some days of the week (0 = Monday), from `start` to `end` (minutes after midnight; `end` may be 1440)."""

    days: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When mediators work, in the queue's time zone (Europe/Paris unless told): a moment is working time when one
    range holds it and the day is no public holiday (bot/callbacks/worktime.py)."""

    ranges: tuple[TimeRange, ...]
    calendar: Calendar = NATIONAL

    def contains(self, moment: datetime) -> bool:
        local = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(self.calendar.zone)
        if self.calendar.closed(local.date()):
            return False
        minute = local.hour * 60 + local.minute
        return any(local.weekday() in r.days and r.start <= minute < r.end for r in self.ranges)

    def after(self, start: datetime, minutes: float) -> datetime:
        """`minutes` of working time after `start`."""
        return _after(self, start, minutes)

    def before(self, end: datetime, minutes: float) -> datetime:
        """`minutes` of working time before `end`."""
        return worktime.back(_spans(self.ranges), end, minutes, self.calendar)

    def works_on(self, day: date) -> bool:
        return not self.calendar.closed(day) and any(day.weekday() in r.days for r in self.ranges)


@functools.lru_cache(maxsize=4096)
def _after(hours: WorkingHours, start: datetime, minutes: float) -> datetime:
    # Pure, and asked again and again: a dashboard list of 100 waiting requests asks each one's due time two or three
    # times (the time shown, the colour) on every refresh.
    return worktime.add(_spans(hours.ranges), start, minutes, hours.calendar)


@functools.lru_cache(maxsize=256)
def _spans(ranges: tuple[TimeRange, ...]) -> worktime.OpenSpans:
    return worktime.OpenSpans([(r.days, r.start, r.end) for r in ranges])


OFFICE_HOURS = WorkingHours((TimeRange(frozenset(range(5)), 9 * 60, 17 * 60),))  # Monday-Friday 9:00-17:00


@dataclass(frozen=True, slots=True)
class Around:
    """A circle: `km` kilometres around a point."""

    latitude: float
    longitude: float
    km: float

    def distance_km(self, latitude: float, longitude: float) -> float:
        return distance_km(self.latitude, self.longitude, latitude, longitude)


@dataclass(frozen=True, slots=True)
class Queue:
    """A team of mediators and the territory it calls back. `label` is shown to the person ("Votre demande est
    transmise à {label}"); `mediators` are the Telegram user ids allowed to act on its requests (empty: anyone
    in its group)."""

    name: str
    label: str
    departments: frozenset[str] = frozenset()
    postcodes: frozenset[str] = frozenset()
    insee: frozenset[str] = frozenset()
    around: Around | None = None
    telegram_chat_id: int | None = None
    mediators: frozenset[int] = frozenset()
    hours: WorkingHours = OFFICE_HOURS
    target_minutes: int = DEFAULT_TARGET_MINUTES
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    line: int = 0

    def is_working_time(self, moment: datetime) -> bool:
        """Whether the team works at `moment` (an aware datetime; a naive one is read as UTC)."""
        return self.hours.contains(moment)

    def due_at(self, created_at: datetime) -> datetime:
        """When the first call should have happened: `target_minutes` of the queue's working time after the
        request (a request made at night counts from the morning's opening)."""
        return self.hours.after(created_at, self.target_minutes)

    def overdue(self, created_at: datetime, now: datetime) -> bool:
        return now >= self.due_at(created_at)

    def waiting_colour(self, created_at: datetime, now: datetime) -> Colour:
        """green: less than half the target working time spent; orange: more; red: overdue."""
        if now >= self.due_at(created_at):
            return "red"
        return "orange" if now >= self.hours.after(created_at, self.target_minutes / 2) else "green"

    def may_act(self, user_id: int) -> bool:
        """Whether this Telegram user may press the queue's buttons (claim, resolve)."""
        return not self.mediators or user_id in self.mediators


@dataclass(frozen=True, slots=True)
class QueueSet:
    """The default queue and the territorial ones (file order), indexed for routing."""

    default: Queue
    territorial: tuple[Queue, ...] = ()
    _by_name: dict[str, Queue] = field(init=False, repr=False, compare=False)
    _by_insee: dict[str, Queue] = field(init=False, repr=False, compare=False)
    _by_postcode: dict[str, Queue] = field(init=False, repr=False, compare=False)
    _by_department: dict[str, Queue] = field(init=False, repr=False, compare=False)
    _circles: tuple[Queue, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        queues = self.all
        object.__setattr__(self, "_by_name", {q.name: q for q in queues})
        # The loader refuses a code claimed twice; should it happen anyway, the first queue keeps it.
        object.__setattr__(self, "_by_insee", _index((c, q) for q in reversed(self.territorial) for c in q.insee))
        object.__setattr__(
            self, "_by_postcode", _index((c, q) for q in reversed(self.territorial) for c in q.postcodes)
        )
        object.__setattr__(
            self, "_by_department", _index((c, q) for q in reversed(self.territorial) for c in q.departments)
        )
        object.__setattr__(self, "_circles", tuple(q for q in self.territorial if q.around is not None))

    @classmethod
    def only_default(cls, chat_id: int | None = None) -> QueueSet:
        """A deployment without queues.yaml: one queue for everything, in the MEDIATOR_CHAT_ID group."""
        return cls(Queue(DEFAULT_NAME, DEFAULT_LABEL, telegram_chat_id=chat_id))

    @property
    def all(self) -> tuple[Queue, ...]:
        """Every queue, the default one first."""
        return (self.default, *self.territorial)

    def get(self, name: str) -> Queue | None:
        return self._by_name.get(name)

    def chat_id_for(self, queue: Queue) -> int | None:
        """The group told about the queue's requests: its own, else the default queue's."""
        return queue.telegram_chat_id if queue.telegram_chat_id is not None else self.default.telegram_chat_id

    def route(self, position: ResolvedLocation | None) -> Queue:
        """The most specific queue covering the position; the default queue when none does or it is unknown."""
        if position is None or position.precision == "none":
            return self.default
        insee, postcode = position.code_insee.strip().upper(), position.postcode.strip()
        if insee and position.precision in ("commune", "exact"):
            for code in (insee, city_of(insee)):
                if code in self._by_insee:
                    return self._by_insee[code]
        if postcode in self._by_postcode:
            return self._by_postcode[postcode]
        lat, lon = position.latitude, position.longitude
        if lat is not None and lon is not None and position.precision != "department":
            inside = []
            for order, queue in enumerate(self._circles):
                assert queue.around is not None
                km = queue.around.distance_km(lat, lon)
                if km <= queue.around.km:
                    inside.append((queue.around.km, km, order, queue))
            if inside:
                return min(inside, key=lambda found: found[:3])[3]
        department = department_of_insee(insee) or department_of_postcode(postcode)
        return self._by_department.get(department, self.default)


def _index(pairs: Iterable[tuple[str, Queue]]) -> dict[str, Queue]:
    return dict(pairs)
