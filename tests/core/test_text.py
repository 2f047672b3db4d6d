"""Phone numbers shown back to people and mediators: `national` writes them as phonenumbers would."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from bot.core.text import national


def by_phonenumbers(phone: str) -> str:
    number = phonenumbers.parse(phone, "FR")
    fmt = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(number, fmt.NATIONAL if number.country_code == 33 else fmt.INTERNATIONAL)


def test_every_french_number_is_written_as_phonenumbers_writes_it() -> None:
    """The quick path for French numbers gives phonenumbers' national format, for every 3-digit prefix (08 numbers,
    read « 0 800 12 34 56 », included), valid numbers or not."""
    rng = random.Random(15)
    for prefix in range(100, 1000):
        for _ in range(5):
            phone = f"+33{prefix}{rng.randrange(10**6):06d}"
            assert national(phone) == by_phonenumbers(phone), phone


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+33612345678", "06 12 34 56 78"),
        ("+33800123456", "0 800 12 34 56"),
        ("+262692123456", "+262 692 12 34 56"),  # La Réunion: its own country code
        ("+32470123456", "+32 470 12 34 56"),
        ("+3361234567", "61234567"),  # a digit short: not grouped in pairs
        ("", ""),
        (None, ""),
    ],
)
def test_numbers_from_elsewhere_and_odd_ones_are_written_as_before(phone: str | None, shown: str) -> None:
    """Overseas, foreign, short and missing numbers take phonenumbers' path, unchanged."""
    assert national(phone) == shown
    if phone:
        assert shown == by_phonenumbers(phone)
