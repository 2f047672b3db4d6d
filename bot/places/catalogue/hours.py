"""Opening hours of a place: open now or not, and a short French sentence saying when it next opens.

The `horaires` field of the national standard uses the OpenStreetMap `opening_hours` syntax
(`Mo-Fr 09:00-12:00,14:00-18:30; Sa 08:30-12:00`). It is evaluated with `opening-hours-py` (module
`opening_hours`, a maintained Rust parser that knows French public holidays); the sentence saying when the
place next opens is written here from that evaluation. (`osm-opening-hours-humanized` was tried: it only
writes the whole week out, is a pre-release on an unmaintained grammar library and installs a global `_` on
import, so it is not used.)

Choices, and why:
- Malformed hours (a few real rows, e.g. `We 09:30-13:00-18:00`, `Sa 17:00`) give "unknown": `open_now` None and
  no sentence. Never an error: a place with broken hours is still worth showing.
- Public holidays: most producers never write `PH`, yet nearly all places of digital help (town halls, libraries,
  France services, social centres) are closed on public holidays. When the hours do not mention `PH`, `; PH off`
  is added before evaluation, so that nobody is sent to a closed door on 14 July or 1 May. A place open on
  public holidays says so (`PH 10:00-12:00`, `PH open`) and is then taken at its word.
- Times are local to the place: Europe/Paris, except overseas postcodes (971..988), which get their own time zone
  (a place in Nouméa must not be "open now" at 3 in the morning). Holidays are the national French ones
  everywhere (the library has no calendar for the overseas territories).
- "Now" is injectable everywhere (`now=`); a naive datetime is read as Paris time.
- Sentences are short and plain: "ouvert maintenant jusqu'à 18 h", "ouvert aujourd'hui de 14 h à 18 h",
  "ouvert demain de 9 h à 12 h", "ouvert lundi de 9 h 30 à 12 h", "ouvert le lundi 2 septembre de 9 h à 12 h".
  Nothing is said beyond `HORIZON_DAYS`: a place closed for a month shows no sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

from bot.core.clock import MONTHS_FR, PARIS, WEEKDAYS_FR

HORIZON_DAYS = 14  # next openings further than this are not announced
MAX_COMMENT = 60  # a producer's comment ("sur rendez-vous") is shown when at most this long


# Overseas postcodes (first three digits) and their time zones; everything else is Europe/Paris.
OVERSEAS_TIMEZONES = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "975": "America/Miquelon",
    "976": "Indian/Mayotte",
    "977": "America/St_Barthelemy",
    "978": "America/Marigot",
    "986": "Pacific/Wallis",
    "987": "Pacific/Tahiti",
    "988": "Pacific/Noumea",
}

_PH = re.compile(r"\bPH\b")


@dataclass(frozen=True, slots=True)
class OpeningStatus:
    open_now: bool | None  # None: hours unknown, malformed or undetermined
    next_opening: str  # French sentence; "" when nothing sure can be said


UNKNOWN = OpeningStatus(None, "")


def timezone_for(code_postal: str) -> ZoneInfo:
    """The place's time zone from its postcode: Europe/Paris but for the overseas territories."""
    key = OVERSEAS_TIMEZONES.get(code_postal.strip()[:3])
    return _zone(key) if key else PARIS


@lru_cache(maxsize=32)
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def now_paris() -> datetime:
    return datetime.now(PARIS)


@lru_cache(maxsize=8192)
def parse(horaires: str, tz: ZoneInfo = PARIS) -> opening_hours.OpeningHours | None:
    """The evaluated hours (with the public-holiday default), or None when empty or malformed. Cached."""
    text = horaires.strip().strip(";").strip()
    if not text:
        return None
    candidates = [text]
    if not _PH.search(text) and "||" not in text:
        candidates.insert(0, f"{text}; PH off")
    for candidate in candidates:
        try:
            return opening_hours.OpeningHours(
                candidate,
                timezone=tz,
                country="FR",
                auto_country=False,
                auto_timezone=False,
                max_interval_days=HORIZON_DAYS + 2,
            )
        except Exception:  # the parser raises its own SyntaxError-like errors; malformed hours are just unknown
            continue
    return None


def is_valid(horaires: str) -> bool:
    """True when the hours can be evaluated (what the importer may use to warn about a malformed row)."""
    return parse(horaires) is not None


def status(horaires: str, now: datetime | None = None, tz: ZoneInfo = PARIS) -> OpeningStatus:
    """Open now, and when it next opens, for hours in OpenStreetMap syntax. Never raises."""
    text = horaires.strip()
    if len(text) > 2 and text.count('"') == 2 and text[0] == text[-1] == '"':
        # Only a comment (`"sur rendez-vous"`): the library reads it as always open; say the comment, nothing more.
        return OpeningStatus(None, _comment(text[1:-1]).strip(" ()"))
    hours = parse(horaires, tz)
    if hours is None:
        return UNKNOWN
    moment = _local(now, tz)
    try:
        return _status(hours, moment)
    except Exception:  # a library surprise on one row must not break a whole search
        return UNKNOWN


def week(horaires: str, now: datetime | None = None, tz: ZoneInfo = PARIS) -> tuple[str, ...]:
    """The opening hours of the seven days from today, Monday first, a line a day it opens: « lundi : 9 h à 12 h,
    14 h à 17 h ». Empty when unknown or malformed; never raises (a printed list keeps them for days)."""
    hours = parse(horaires, tz)
    if hours is None:
        return ()
    today = _local(now, tz).date()
    lines: dict[int, str] = {}
    try:
        for offset in range(7):
            day = today + timedelta(days=offset)
            start = datetime(day.year, day.month, day.day, tzinfo=tz)
            spans = _spans(hours, start, start + timedelta(days=1))
            if spans:
                lines[day.weekday()] = f"{WEEKDAYS_FR[day.weekday()]} : " + ", ".join(spans)
    except Exception:  # a library surprise on one row must not break a page
        return ()
    return tuple(lines[weekday] for weekday in sorted(lines))


def _spans(hours: opening_hours.OpeningHours, start: datetime, end: datetime) -> list[str]:
    """« 9 h à 12 h » for each opening between `start` and `end` (one day)."""
    spans: list[str] = []
    moment = start
    opened = start if hours.state(start)[0] == opening_hours.State.OPEN else None
    for _ in range(48):
        change = hours.next_change(moment)
        if change is None or change <= moment or change > end:
            break
        is_open = hours.state(change)[0] == opening_hours.State.OPEN
        if is_open and opened is None:
            opened = change
        elif not is_open and opened is not None:
            spans.append(f"{_time(opened)} à {_time(change)}")
            opened = None
        moment = change
    if opened is not None:
        spans.append(f"{_time(opened)} à minuit" if opened != start else "toute la journée")
    return spans


def _local(now: datetime | None, tz: ZoneInfo) -> datetime:
    if now is None:
        return datetime.now(tz)
    if now.tzinfo is None:
        now = now.replace(tzinfo=PARIS)
    return now.astimezone(tz)


def _status(hours: opening_hours.OpeningHours, now: datetime) -> OpeningStatus:
    horizon = now + timedelta(days=HORIZON_DAYS)
    state, comment = hours.state(now)
    if state == opening_hours.State.UNKNOWN:
        return UNKNOWN
    if state == opening_hours.State.OPEN:
        end = _end_of_opening(hours, now, horizon)
        if end is None or end - now > timedelta(hours=24):
            return OpeningStatus(True, f"ouvert maintenant{_comment(comment)}")
        return OpeningStatus(True, f"ouvert maintenant jusqu'à {_until(now, end)}{_comment(comment)}")
    start = _next_opening(hours, now, horizon)
    if start is None:
        return OpeningStatus(False, "")
    opening_comment = hours.state(start)[1]
    end = _end_of_opening(hours, start, horizon + timedelta(days=1))
    day = _day_words(now.date(), start.date())
    if end is not None and (end.date() == start.date() or end == _midnight_after(start)):
        return OpeningStatus(False, f"ouvert {day} de {_time(start)} à {_time(end)}{_comment(opening_comment)}")
    return OpeningStatus(False, f"ouvert {day} à partir de {_time(start)}{_comment(opening_comment)}")


def _next_opening(hours: opening_hours.OpeningHours, now: datetime, horizon: datetime) -> datetime | None:
    moment = now
    for _ in range(64):
        change = hours.next_change(moment)
        if change is None or change > horizon or change <= moment:
            return None
        if hours.state(change)[0] == opening_hours.State.OPEN:
            return change
        moment = change
    return None


def _end_of_opening(hours: opening_hours.OpeningHours, start: datetime, horizon: datetime) -> datetime | None:
    """First moment after `start` when the place is no longer open (comments changing do not count)."""
    moment = start
    for _ in range(64):
        change = hours.next_change(moment)
        if change is None or change > horizon or change <= moment:
            return None
        if hours.state(change)[0] != opening_hours.State.OPEN:
            return change
        moment = change
    return None


def _midnight_after(moment: datetime) -> datetime:
    following = moment.date() + timedelta(days=1)
    return datetime(following.year, following.month, following.day, tzinfo=moment.tzinfo)


def _until(now: datetime, end: datetime) -> str:
    if end.date() == now.date() or end == _midnight_after(now):
        return _time(end)
    return f"{_day_words(now.date(), end.date())} {_time(end)}"


def _day_words(today: date, day: date) -> str:
    delta = (day - today).days
    if delta == 0:
        return "aujourd'hui"
    if delta == 1:
        return "demain"
    if 1 < delta < 7:
        return WEEKDAYS_FR[day.weekday()]
    return f"le {WEEKDAYS_FR[day.weekday()]} {day.day}{'er' if day.day == 1 else ''} {MONTHS_FR[day.month - 1]}"


def _time(moment: datetime) -> str:
    """French clock time as people write it: "9 h", "9 h 30", "minuit"."""
    if moment.hour == 0 and moment.minute == 0:
        return "minuit"
    if moment.minute == 0:
        return f"{moment.hour} h"
    return f"{moment.hour} h {moment.minute:02d}"


def _comment(comment: str) -> str:
    text = " ".join(comment.split())
    if not text or len(text) > MAX_COMMENT:
        return ""
    return f" ({text})"


def _clock(hour: int, minute: int) -> str:
    if hour in (0, 24) and minute == 0:
        return "minuit"
    return f"{hour} h" if minute == 0 else f"{hour} h {minute:02d}"
