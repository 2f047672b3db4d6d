"""Opening hours: open now, the next opening in French, holidays, malformed real rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.core.clock import PARIS
from bot.places.catalogue import hours
from bot.places.catalogue.hours import OpeningStatus, status, timezone_for
from tests.conftest import SHARED

WEEK = "Mo-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00"
DATA = SHARED / "data"

# Real malformed strings from the ANCT files in ../shared/data (Source : ANCT / La MedNum, Licence Ouverte 2.0).
MALFORMED_REAL = [
    "Mo,Tu 09:30-13:00,14:00-18:00; We 09:30-13:00-18:00; Th 09:30-12:00,16:00-18:00; Fr 09:30-13:00,14:00-17:00",
    "Mo-Fr 09:00-19:00; Sa 17:00",
    "Mo-Th 09:00-12:00,13:00-18:00; Fr 09:00-13:00,13:00-18:00; Sa 10:00",
    "Tu-Fr 09:00-12:00,14:00-17:00; Mo 14-17;9-12,14-17",
    "Tu-Fr 10:00-19:00; Th 14-18:10-19; Sa 10:00-18:14,18:10-19:00",
    "Tu-Th 08:45-13:45; Mo 08:45-12:00-13:45; Fr 08:45-13:45-17:00",
    "We,Th 12:00-14:00-17:00; Mo 09:00-12:00,14:00-17:00; Tu 09:00-12:00; Fr 12:00",
]


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (paris(2025, 7, 11, 10, 0), OpeningStatus(True, "ouvert maintenant jusqu'à 12 h")),  # Friday morning
        (paris(2025, 7, 11, 12, 30), OpeningStatus(False, "ouvert aujourd'hui de 14 h à 18 h")),  # lunch break
        (paris(2025, 7, 11, 19, 0), OpeningStatus(False, "ouvert demain de 9 h à 12 h")),  # Friday evening
        (paris(2025, 7, 11, 8, 59), OpeningStatus(False, "ouvert aujourd'hui de 9 h à 12 h")),
        (paris(2025, 7, 11, 17, 59), OpeningStatus(True, "ouvert maintenant jusqu'à 18 h")),
    ],
)
def test_weekday(now: datetime, expected: OpeningStatus) -> None:
    """On a working day: open until the next closing, or the next opening today or tomorrow."""
    assert status(WEEK, now) == expected


def test_weekend() -> None:
    """Saturday afternoon and Sunday point to Monday (named, or "demain" on Sunday)."""
    assert status(WEEK, paris(2025, 7, 5, 10, 0)) == OpeningStatus(True, "ouvert maintenant jusqu'à 12 h")
    assert status(WEEK, paris(2025, 7, 5, 15, 0)) == OpeningStatus(False, "ouvert lundi de 9 h à 12 h")
    assert status(WEEK, paris(2025, 7, 6, 15, 0)) == OpeningStatus(False, "ouvert demain de 9 h à 12 h")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 14 July 2025, Bastille Day: closed, open again on Tuesday
        (paris(2025, 7, 14, 10, 0), OpeningStatus(False, "ouvert demain de 9 h à 12 h")),
        # Sunday 13 July: Monday is a holiday, so Tuesday
        (paris(2025, 7, 13, 10, 0), OpeningStatus(False, "ouvert mardi de 9 h à 12 h")),
        # Thursday 1 May 2025, Labour Day
        (paris(2025, 5, 1, 10, 0), OpeningStatus(False, "ouvert demain de 9 h à 12 h")),
        # Wednesday 30 April evening: Thursday is 1 May, so Friday
        (paris(2025, 4, 30, 19, 0), OpeningStatus(False, "ouvert vendredi de 9 h à 12 h")),
    ],
)
def test_public_holidays_are_closed_by_default(now: datetime, expected: OpeningStatus) -> None:
    """Hours that do not mention PH are read as closed on French public holidays (14 July, 1 May)."""
    assert status(WEEK, now) == expected


def test_hours_naming_public_holidays_are_taken_at_their_word() -> None:
    """A place saying it opens on public holidays is open on 14 July, at the hours it gives."""
    assert status("Mo-Fr 09:00-12:00; PH 10:00-11:00", paris(2025, 7, 14, 9, 0)) == OpeningStatus(
        False, "ouvert aujourd'hui de 10 h à 11 h"
    )
    assert status("Mo-Fr 09:00-12:00; PH open", paris(2025, 7, 14, 10, 0)).open_now is True


@pytest.mark.parametrize("malformed", MALFORMED_REAL)
def test_malformed_real_hours_show_nothing(malformed: str) -> None:
    """Real malformed strings give no status and no sentence, never an error."""
    assert status(malformed, paris(2025, 7, 11, 10, 0)) == OpeningStatus(None, "")
    assert not hours.is_valid(malformed)


def test_malformed_examples_are_real() -> None:
    """The malformed strings above are taken from the shared real files, and every real row evaluates quietly."""
    if not DATA.is_dir():
        pytest.skip("../shared/data is not beside the repository")
    real = {
        row["horaires"]
        for path in sorted(DATA.glob("anct_*.json"))
        for row in json.loads(path.read_text(encoding="utf-8"))
        if row.get("horaires")
    }
    assert set(MALFORMED_REAL) <= real
    invalid = {h for h in real if not hours.is_valid(h)}
    assert invalid == set(MALFORMED_REAL)
    for text in real:
        status(text, paris(2025, 7, 14, 10, 0))  # never raises


@pytest.mark.parametrize("empty", ["", "   ", ";"])
def test_empty_hours_are_unknown(empty: str) -> None:
    """No hours: nothing said."""
    assert status(empty, paris(2025, 7, 11, 10, 0)) == OpeningStatus(None, "")


def test_now_in_another_zone_or_naive() -> None:
    """An aware `now` in UTC is converted to Paris time; a naive one is read as Paris time."""
    assert status(WEEK, datetime(2025, 7, 11, 8, 30, tzinfo=UTC)).open_now is True  # 10:30 in Paris
    assert status(WEEK, datetime(2025, 7, 11, 6, 30, tzinfo=UTC)).open_now is False  # 8:30 in Paris
    assert status(WEEK, datetime(2025, 7, 11, 10, 30)).open_now is True


def test_overseas_places_use_their_own_time() -> None:
    """10:00 in Paris is 19:00 in Nouméa: a place there is closed and opens on its Saturday morning."""
    noumea = timezone_for("98800")
    assert str(noumea) == "Pacific/Noumea"
    assert str(timezone_for("16100")) == "Europe/Paris"
    assert status(WEEK, paris(2025, 7, 11, 10, 0), noumea) == OpeningStatus(False, "ouvert demain de 9 h à 12 h")


def test_minutes_midnight_and_later_days() -> None:
    """Times read "9 h 30" and "minuit"; an opening a week or more away names the date; beyond two weeks, nothing."""
    assert status("Mo-Fr 09:30-12:15", paris(2025, 7, 11, 8, 0)) == OpeningStatus(
        False, "ouvert aujourd'hui de 9 h 30 à 12 h 15"
    )
    assert status("Mo-Fr 18:00-24:00", paris(2025, 7, 11, 20, 0)) == OpeningStatus(
        True, "ouvert maintenant jusqu'à minuit"
    )
    assert status("Mo 09:00-12:00", paris(2025, 7, 14, 13, 0)) == OpeningStatus(
        False, "ouvert le lundi 21 juillet de 9 h à 12 h"
    )
    assert status("Sep 01 09:00-12:00", paris(2025, 8, 25, 13, 0)).next_opening == (
        "ouvert le lundi 1er septembre de 9 h à 12 h"
    )
    assert status("Dec 09:00-12:00", paris(2025, 7, 11, 10, 0)) == OpeningStatus(False, "")


def test_always_open_and_comments() -> None:
    """24/7 is open with no closing to announce; a comment-only field is shown as it is, status unknown."""
    assert status("24/7", paris(2025, 7, 11, 10, 0)) == OpeningStatus(True, "ouvert maintenant")
    assert status('"sur rendez-vous"', paris(2025, 7, 11, 10, 0)) == OpeningStatus(None, "sur rendez-vous")
    assert status('Mo-Fr 09:00-12:00 "sur rendez-vous"', paris(2025, 7, 11, 10, 0)) == OpeningStatus(
        True, "ouvert maintenant jusqu'à 12 h (sur rendez-vous)"
    )


def test_now_defaults_to_the_clock() -> None:
    """Without `now`, the current Paris time is used (24/7 is open whenever the test runs, but on a holiday)."""
    result = status("24/7")
    assert result.open_now in (True, False)
    assert hours.now_paris().tzinfo is PARIS


def test_week_lists_each_opening_day_monday_first() -> None:
    """The printable list's hours: one line a day it opens in the coming seven days, Monday first, with every
    span of the day; a closed day is left out; malformed or empty hours give nothing."""
    tuesday = datetime(2025, 3, 11, 10, 30, tzinfo=PARIS)
    assert hours.week("Mo-Fr 09:00-12:00,14:00-18:30; Sa 08:30-12:00", tuesday) == (
        "lundi : 9 h à 12 h, 14 h à 18 h 30",
        "mardi : 9 h à 12 h, 14 h à 18 h 30",
        "mercredi : 9 h à 12 h, 14 h à 18 h 30",
        "jeudi : 9 h à 12 h, 14 h à 18 h 30",
        "vendredi : 9 h à 12 h, 14 h à 18 h 30",
        "samedi : 8 h 30 à 12 h",
    )
    assert hours.week("Th,Fr 14:00-17:00; Tu 17:00-21:00", tuesday) == (
        "mardi : 17 h à 21 h",
        "jeudi : 14 h à 17 h",
        "vendredi : 14 h à 17 h",
    )
    assert hours.week("24/7", tuesday)[0] == "lundi : toute la journée"
    assert hours.week("n'importe quoi ::", tuesday) == ()
    assert hours.week("", tuesday) == ()
