"""How a place's published fields read to a person: tidy names and addresses, French phone numbers, distances.

Open data comes as typed by hundreds of producers: « La MIETE ( Maison … ) », « 11 Petite rue du Roulet ) »,
« VILLEURBANNE », « +33953226107 ». These functions only tidy what is shown; the stored data stays as published.
"""

from __future__ import annotations

import re

import phonenumbers

_SPACES = re.compile(r"\s+")
_AFTER_OPEN = re.compile(r"\(\s+")
_BEFORE_CLOSE = re.compile(r"\s+\)")
_BEFORE_PUNCT = re.compile(r"\s+([,.])")
# Words kept in lower case inside a commune's name (« Saint-Didier-au-Mont-d'Or », « Bourg-lès-Valence »).
_SMALL_WORDS = frozenset(
    {"de", "du", "des", "la", "le", "les", "l", "d", "en", "sur", "sous", "lès", "lez", "et", "au", "aux"}
)
_COMMUNE_PARTS = re.compile(r"([\s\-']+)")


def clean_text(text: str) -> str:
    """Spaces collapsed, none just inside brackets, brackets left unclosed or unopened dropped, no stray
    punctuation at either end: « La MIETE ( Maison … ) » → « La MIETE (Maison …) », « rue du Roulet ) » →
    « rue du Roulet »."""
    kept: list[str] = []
    opened: list[int] = []
    for char in text:
        if char == "(":
            opened.append(len(kept))
        elif char == ")":
            if not opened:
                continue
            opened.pop()
        kept.append(char)
    for index in reversed(opened):  # an opening bracket never closed
        del kept[index]
    tidy = _SPACES.sub(" ", "".join(kept))
    tidy = _BEFORE_PUNCT.sub(r"\1", _BEFORE_CLOSE.sub(")", _AFTER_OPEN.sub("(", tidy)))
    tidy = tidy.replace("()", "")
    return _SPACES.sub(" ", tidy).strip(" ,;-")


def commune_case(name: str) -> str:
    """A commune's name in normal case when it came all in capitals (« VILLEURBANNE » → « Villeurbanne »,
    « SAINT-GENIS-LES-OLLIERES » → « Saint-Genis-les-Ollieres »); a name already in mixed case is kept."""
    name = clean_text(name)
    if not name or name != name.upper():
        return name
    parts = _COMMUNE_PARTS.split(name.lower())
    out: list[str] = []
    for index, part in enumerate(parts):
        # separators, and small words after the first, stay as they are
        if index % 2 == 1 or not part or (index > 0 and part in _SMALL_WORDS):
            out.append(part)
        else:
            out.append(part[:1].upper() + part[1:])
    return "".join(out)


def address_line(street: str, complement: str, postcode: str, commune: str) -> str:
    """« 11 Petite rue du Roulet, 69100 Villeurbanne »: each part tidied, empty parts left out."""
    street_part = ", ".join(p for p in (clean_text(street), clean_text(complement)) if p)
    town = " ".join(p for p in (postcode.strip(), commune_case(commune)) if p)
    return ", ".join(p for p in (street_part, town) if p)


def phone_display(number: str) -> str:
    """A stored number (E.164) as people near the place write it: « 04 78 95 00 00 » in mainland France,
    « 0262 12 34 56 » in La Réunion, « 25.12.34 » in New Caledonia (the places shown are near the person); a
    number that cannot be read is shown as stored."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_valid_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def km(value: float) -> str:
    """« 1,2 km », « 3 km », « 18 km »."""
    if value >= 10:
        return f"{round(value):d} km"
    return f"{value:.1f} km".replace(".", ",").replace(",0 km", " km")


def distance_words(distance_km: float) -> str:
    """« à 600 m », « à 1,2 km », « à moins de 100 m »."""
    if distance_km < 0.1:
        return "à moins de 100 m"
    if distance_km < 0.95:  # 0.97 km would round to "1000 m": say "1 km" instead
        return f"à {round(distance_km * 10) * 100:d} m"
    return f"à {km(distance_km)}"
