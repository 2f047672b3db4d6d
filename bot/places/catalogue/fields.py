"""Checking and normalising single values of the standard: text, lists, phone numbers, dates, coordinates.

Each function returns the clean value (empty when unusable) and, when something was wrong, the sentence the
import report shows; the caller decides what the row does with it (see rows.py).
"""

from __future__ import annotations

import math
import re
from typing import Any

import phonenumbers

from bot.language.standard import DATE, EPOCH_DATES, PHONE, SUMMARY_MAX, normalise_text

Checked = tuple[str, str | None]  # (clean value, problem or None)

# Overseas postcodes (first three digits) → the region phonenumbers reads national numbers in.
_OVERSEAS_REGION = {
    "971": "GP",
    "972": "MQ",
    "973": "GF",
    "974": "RE",
    "975": "PM",
    "976": "YT",
    "977": "BL",
    "978": "MF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
}
_ALLOWED_CODES = frozenset({33, 590, 594, 262, 596, 269, 687, 689, 508, 681})  # the schema's telephone pattern
_EMAIL = re.compile(r"^[^@\s|;,]+@[^@\s|;,]+\.[^@\s|;,]+$")
_EMAIL_SPLIT = re.compile(r"[|;,\s]+")
_FRENCH_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def text(value: Any, *, multiline: bool = False) -> str:
    """A cell as clean text: JSON numbers and lists (joined with "|") are accepted, None is empty.
    `multiline` keeps the line breaks (a detailed presentation's paragraphs)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(item for item in (text(one) for one in value) if item)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if multiline:
        lines = (normalise_text(line) for line in str(value).replace("\r\n", "\n").split("\n"))
        return "\n".join(lines).strip("\n")
    return normalise_text(str(value))


def split_list(raw: str, expected: str) -> tuple[list[str], str | None]:
    """The items of a list cell separated by `expected` ("|" in v1, ";" in v0.1). The other separator is
    accepted too, with a note, since producers mix them up."""
    other = ";" if expected == "|" else "|"
    note = None
    if other in raw:
        note = f"items separated by {other!r} instead of {expected!r}: read anyway"
        raw = raw.replace(other, expected)
    return [item.strip() for item in raw.split(expected) if item.strip()], note


def phone_region(postcode: str) -> str:
    return _OVERSEAS_REGION.get(postcode[:3], "FR")


def phone(raw: str, postcode: str) -> Checked:
    """International form (+33…, +687…), read in the region of the postcode (overseas numbers are written
    nationally there too). Several numbers in the cell: the first valid one is kept."""
    region = phone_region(postcode)
    number: phonenumbers.PhoneNumber | None = None
    note = None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        found = [m.number for m in phonenumbers.PhoneNumberMatcher(raw, region)]
        valid = [n for n in found if phonenumbers.is_valid_number(n)]
        if not valid:
            return "", f"{raw!r} is not a valid phone number: dropped"
        number = valid[0]
        if len(found) > 1:
            note = f"{len(found)} numbers in {raw!r}: the first one is kept"
    if number.country_code not in _ALLOWED_CODES:
        return "", f"{raw!r} is not a French or overseas number (+{number.country_code}): dropped"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not PHONE.match(e164):
        return "", f"{raw!r} does not fit the standard's phone pattern: dropped"
    return e164, note


def emails(raw: str) -> tuple[list[str], list[str]]:
    """(addresses kept, problems). Any of | ; , or spaces separates them."""
    kept: list[str] = []
    problems: list[str] = []
    for item in _EMAIL_SPLIT.split(raw):
        if not item:
            continue
        if _EMAIL.match(item):
            if item not in kept:
                kept.append(item)
        else:
            problems.append(f"{item!r} is not an e-mail address: dropped")
    return kept, problems


def update_date(raw: str) -> Checked:
    """ISO date; "1970-01-01"-like placeholders mean unknown (kept silently). A datetime keeps its date;
    a French dd/mm/yyyy is read, with a note."""
    value = raw[:10] if len(raw) > 10 and raw[10] in "T " else raw
    note = None
    french = _FRENCH_DATE.match(value)
    if french:
        value = f"{french[3]}-{french[2]}-{french[1]}"
        note = f"{raw!r} read as {value} (the standard wants YYYY-MM-DD)"
    match = DATE.match(value)
    if not match or not (1 <= int(match[2]) <= 12 and 1 <= int(match[3]) <= 31):
        return "", f"{raw!r} is not a date (YYYY-MM-DD): update date unknown"
    if value in EPOCH_DATES:
        return "", None
    return value, note


def coordinate(raw: Any, name: str, limit: float) -> tuple[float | None, str | None]:
    """A WGS84 latitude (limit 90) or longitude (limit 180); a decimal comma is accepted."""
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, bool):
        return None, f"{raw!r} is not a {name}"
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        try:
            number = float(str(raw).strip().replace(",", "."))
        except ValueError:
            return None, f"{raw!r} is not a number"
    if not math.isfinite(number) or not -limit <= number <= limit:
        return None, f"{raw!r} is out of range for a {name} (-{limit:g} to {limit:g})"
    return number, None


def summary(raw: str, detail: str) -> tuple[str, str, str | None]:
    """(summary, detail, problem): a summary over 280 characters is cut at a word boundary with "…"; the
    full text becomes the detailed presentation when the row has none, so nothing is lost."""
    if len(raw) <= SUMMARY_MAX:
        return raw, detail, None
    cut = raw[: SUMMARY_MAX - 1]
    if " " in cut[SUMMARY_MAX // 2 :]:
        cut = cut[: cut.rindex(" ")]
    short = cut.rstrip(" ,;:.-") + "…"
    kept_in = "kept in presentation_detail" if not detail else "presentation_detail already set"
    problem = f"{len(raw)} characters, more than {SUMMARY_MAX}: truncated ({kept_in})"
    return short, detail or raw, problem
