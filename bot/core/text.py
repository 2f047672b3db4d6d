"""Text as people type it: normalised for comparison, and typed postcodes, places, coordinates and phone numbers
validated (phone numbers in E.164, shown back in the national format)."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_NON_WORD = re.compile(r"[^a-z0-9]+")
# Overseas regions tried after metropolitan France, so 0696… (Martinique) or 0262… (La Réunion) are valid.
_PHONE_REGIONS = ("FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF")
# A French number outside 08 (those read « 0 800 12 34 56 »), grouped as phonenumbers groups it.
_FRENCH_IN_PAIRS = re.compile(r"\+33([1-79])(\d{2})(\d{2})(\d{2})(\d{2})")
MAX_INPUT = 500  # longer input is cut before matching: nobody answers a button with a page of text
# Letters that no Unicode decomposition splits: « sœur » is « soeur » typed on another keyboard.
LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: "Ouais !" -> "ouais"."""
    decomposed = unicodedata.normalize("NFKD", text[:MAX_INPUT].casefold().translate(LIGATURES))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", plain).strip()


def normalise_keep_separators(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text[:MAX_INPUT].casefold().translate(LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_POSTCODE = re.compile(r"^(\d{2})\s?(\d{3})$")
_POSTCODE_IN_TEXT = re.compile(r"(?<!\d)(\d{2})\s?(\d{3})(?!\d)")
_COMMUNE = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’\-.])*$")


def parse_postcode(text: str) -> str | None:
    """A French postcode (5 digits, department part 01-98), spaces tolerated: "69 001" -> "69001"."""
    match = _POSTCODE.match(text.strip())
    if match is None:
        return None
    code = match.group(1) + match.group(2)
    return code if "01" <= code[:2] <= "98" else None


def parse_location(text: str) -> str | None:
    """A postcode, or a commune name as people type it ("St Étienne", "Lyon 3e" keeps its postcode if any)."""
    cleaned = " ".join(text.split())
    code = parse_postcode(cleaned)
    if code:
        return code
    inside = _POSTCODE_IN_TEXT.search(cleaned)
    if inside:
        return parse_postcode(inside.group(0))
    if 2 <= len(cleaned) <= 60 and _COMMUNE.match(cleaned) and sum(ch.isalpha() for ch in cleaned) >= 2:
        return cleaned
    return None


def parse_coordinates(latitude: float | None, longitude: float | None) -> str | None:
    if latitude is None or longitude is None:
        return None
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    return f"{latitude:.5f},{longitude:.5f}"


def parse_phone(text: str) -> str | None:
    """A valid French (metropolitan or overseas) or international number, in E.164 form."""
    cleaned = text.strip()[:40]
    digits = "".join(ch for ch in cleaned if ch.isdigit())
    if len(digits) < 6:
        return None
    if cleaned.startswith("0") and not digits.startswith("00") and len(digits) != 10:
        # French national format (metropolitan and overseas departments alike) is always 10 digits; without
        # this, a mobile number missing digits ("0612345") passed as a valid Saint-Pierre-et-Miquelon one.
        return None
    for region in _PHONE_REGIONS:
        try:
            number = phonenumbers.parse(cleaned, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if cleaned.startswith("+") or cleaned.startswith("00"):
            return None  # an international number is either valid as written or not at all
    return None


def parse_free_text(text: str) -> str | None:
    cleaned = " ".join(text.split())
    return cleaned[:200] if cleaned and any(ch.isalnum() for ch in cleaned) else None


def national(phone: str | None) -> str:
    """ "+33612345678" -> "06 12 34 56 78" (international format for numbers from abroad)."""
    if not phone:
        return ""
    # Nearly every number: written here in a few microseconds, where phonenumbers takes about 100 (a dashboard
    # page of 100 requests spent most of its time there).
    if (pairs := _FRENCH_IN_PAIRS.fullmatch(phone)) is not None:
        return "0" + " ".join(pairs.groups())
    try:
        number = phonenumbers.parse(phone, "FR")
    except phonenumbers.NumberParseException:
        return phone
    fmt = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(number, fmt.NATIONAL if number.country_code == 33 else fmt.INTERNATIONAL)


# « je m'appelle Marie », « c'est Jean », « appelez-moi Madame Martin », « elle s'appelle Rose »: the name after.
_NAME_LEAD = re.compile(
    r"^(?:(?:bonjour|oui|alors|eh bien)[ ,!]+)?(?:je m['’ ]?appelle|moi,? c['’]est|c['’]est|appelez[- ]moi|"
    r"vous pouvez m['’ ]?appeler|mon pr[ée]nom,? c['’]est|mon pr[ée]nom est|(?:il|elle) s['’ ]?appelle|"
    r"son pr[ée]nom,? c['’]est|son pr[ée]nom est)\s+",
    re.IGNORECASE,
)
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’\-.])*$")
MAX_NAME = 40  # characters: a first name, or « Madame Martin »; more is a sentence, not a name
MAX_NAME_WORDS = 4


def parse_name(text: str) -> str | None:
    """How someone wants to be called on the phone, from what they typed: « je m'appelle marie » -> "Marie",
    « Madame Martin » as written. None for what is not a name (digits, a sentence, nothing)."""
    cleaned = " ".join(text.split()).strip(" .,!;")
    cleaned = _NAME_LEAD.sub("", cleaned).strip(" .,!;")
    if not cleaned or len(cleaned) > MAX_NAME or len(cleaned.split()) > MAX_NAME_WORDS:
        return None
    if not _NAME.match(cleaned) or sum(ch.isalpha() for ch in cleaned) < 2:
        return None
    if cleaned == cleaned.lower():  # « marie » -> « Marie », « jean-pierre » -> « Jean-Pierre »
        cleaned = re.sub(r"(^|[ \-'’])(\w)", lambda m: m.group(1) + m.group(2).upper(), cleaned)
    return cleaned
