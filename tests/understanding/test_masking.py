"""Masking personal data out of answers kept for the coordinators: phone numbers (French and international, in
every common format), long numbers, e-mail addresses and names go; postcodes, ages and the words of the answer
stay; the result is at most 300 characters."""

from __future__ import annotations

import re
import time

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from bot.understanding.masking import MAX_LENGTH, mask_personal

EXAMPLES = [
    # phone numbers
    ("appelez moi au 06 12 34 56 78 svp", "appelez moi au •• •• •• •• •• svp"),
    ("mon numero 0612345678", "mon numero ••••••••••"),
    ("06.12.34.56.78", "••.••.••.••.••"),
    ("06-12-34-56-78", "••-••-••-••-••"),
    ("+33 (0)6 12 34 56 78", "+•• (•)• •• •• •• ••"),
    ("0033 6 12 34 56 78", "•••• • •• •• •• ••"),
    ("+1 (201) 555-0123", "+• (•••) •••-••••"),
    ("tél : 06 12 34 56 78 ou 04.78.12.34.56", "tél : •• •• •• •• •• ou ••.••.••.••.••"),
    ("06\u200b12\u200b34\u200b56\u200b78", "••••••••••"),  # zero-width spaces are no hiding place
    ("07400 123456", "••••• ••••••"),
    # long numbers
    ("secu 1 41 03 69 123 456 78", "secu • •• •• •• ••• ••• ••"),
    ("carte 4970 1012 3456 7890", "carte •••• •••• •••• ••••"),
    ("née le 12/03/1941", "née le ••/••/1941"),
    # e-mail addresses
    ("écrivez à Jean.Dupont75@gmail.com merci", "écrivez à [e-mail] merci"),
    ("jean point dupont arobase gmail point com", "[e-mail]"),
    # names
    ("je m'appelle Marie Dupont et j'ai 83 ans", "je m'appelle [prénom] et j'ai 83 ans"),
    ("Je m’appelle marie, j'ai 83 ans", "Je m’appelle [prénom], j'ai 83 ans"),
    ("jmappel kevin j'ai 70 ans", "jmappel [prénom] j'ai 70 ans"),
    ("ma mère s'appelle Aminata N'Diaye", "ma mère s'appelle [prénom]"),
    ("moi c'est Jeanne", "moi c'est [prénom]"),
    ("c'est Paul Martin à l'appareil", "c'est [prénom] à l'appareil"),
    ("mon prénom c'est Odette", "mon prénom c'est [prénom]"),
    ("mon nom est Durand", "mon nom est [nom]"),
    ("je suis Madame Le Goff", "je suis Madame [nom]"),
    # kept as written
    ("j'habite 69003, elle a 83 ans", "j'habite 69003, elle a 83 ans"),
    ("69003 83 ans", "69003 83 ans"),
    ("69 003", "69 003"),
    ("01000 83 ans", "01000 83 ans"),
    ("née en 1941", "née en 1941"),
    ("moi c'est pas mon truc", "moi c'est pas mon truc"),
    ("ma fille m'appelle tous les jours", "ma fille m'appelle tous les jours"),
    ("elle peut m'appeler le soir", "elle peut m'appeler le soir"),
    ("2 ou 3 fois par semaine, 1500 euros", "2 ou 3 fois par semaine, 1500 euros"),
    ("  elle   veut\npas  ", "elle veut pas"),
]


@pytest.mark.parametrize(("typed", "kept"), EXAMPLES, ids=[typed for typed, _ in EXAMPLES])
def test_mask_personal_hides_what_identifies_and_keeps_the_rest(typed: str, kept: str) -> None:
    """Each typed answer is masked exactly as shown: numbers digit by digit, e-mails and names by a placeholder,
    postcodes, ages and ordinary words untouched."""
    assert mask_personal(typed) == kept


def test_the_result_is_cut_to_300_characters_after_masking() -> None:
    """A long answer comes back at most 300 characters long, ending with « … »; a phone number straddling the cut
    shows no digit (masking comes first), and a number beyond an input of any length costs nothing."""
    typed = "a" * 290 + " 06 12 34 56 78 " + "b" * 100
    masked = mask_personal(typed)
    assert len(masked) == MAX_LENGTH
    assert masked.endswith("…")
    assert masked[291:299] == "•• •• ••"
    assert not re.search(r"\d", mask_personal("x " * 3000 + "06 12 34 56 78" + " y" * 3000))


# ----- properties: no example number of phonenumbers survives ----------------------------------------------------
def _example_numbers() -> list[phonenumbers.PhoneNumber]:
    types = [t for t in vars(PhoneNumberType).values() if isinstance(t, int)]
    french = [phonenumbers.example_number_for_type("FR", t) for t in types]
    abroad = [
        phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
        for region in ("BE", "CH", "GB", "US", "DE", "MA", "DZ", "TN", "PT", "ES", "IT", "RE", "GP")
    ]
    return [n for n in french + abroad if n is not None]


NUMBERS = _example_numbers()


def _written(number: phonenumbers.PhoneNumber, style: str) -> str:
    """A number as people type it: the styles phonenumbers formats, and the others seen on phones."""
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    country, rest = international.split(" ", 1)
    return {
        "national": national,
        "international": international,
        "e164": phonenumbers.format_number(number, PhoneNumberFormat.E164),
        "rfc3966": phonenumbers.format_number(number, PhoneNumberFormat.RFC3966),
        "block": re.sub(r"\D", "", national),
        "dotted": re.sub(r"[\s\-()]+", ".", national.strip("(")),
        "dashed": re.sub(r"[\s.()]+", "-", national.strip("(")),
        "slashed": national.replace(" ", "/"),
        "double_zero": "00" + international[1:],
        "trunk_in_brackets": f"{country} (0){rest}",
        "country_in_brackets": f"({country}) {rest}",
        "international_dotted": international.replace(" ", "."),
    }[style]


STYLES = [
    "national",
    "international",
    "e164",
    "rfc3966",
    "block",
    "dotted",
    "dashed",
    "slashed",
    "double_zero",
    "trunk_in_brackets",
    "country_in_brackets",
    "international_dotted",
]
# Around the number: anything but digits (which would be the person's own data, or join the number).
AROUND = st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=40)


@settings(max_examples=400, deadline=None)
@given(number=st.sampled_from(NUMBERS), style=st.sampled_from(STYLES), before=AROUND, after=AROUND)
def test_no_example_phone_number_survives_in_any_common_format(
    number: phonenumbers.PhoneNumber, style: str, before: str, after: str
) -> None:
    """phonenumbers' example numbers for France (every type) and for the countries people call from, written in
    every common way, amid any text: not one digit is left."""
    masked = mask_personal(before + _written(number, style) + after)
    assert not re.search(r"\d", masked), masked


@settings(max_examples=300, deadline=None)
@given(
    number=st.sampled_from(NUMBERS),
    style=st.sampled_from(STYLES),
    postcode=st.sampled_from(["69003", "75015", "13001", "01000", "97400"]),
    age=st.integers(min_value=18, max_value=104),
    between=st.sampled_from([" ", ", ", " - ", " et ", " / "]),
)
def test_postcodes_and_ages_stay_beside_a_masked_number(
    number: phonenumbers.PhoneNumber, style: str, postcode: str, age: int, between: str
) -> None:
    """Next to a phone number the postcode and the age a coordinator needs are kept, the number's digits are not."""
    typed = f"tel {_written(number, style)}{between}{postcode}{between}{age} ans"
    masked = mask_personal(typed)
    assert f"{postcode}{between}{age} ans" in masked, masked
    assert re.sub(r"\D", "", masked) == f"{postcode}{age}"


@pytest.mark.parametrize(
    "typed",
    ["a" * 5000, "1" * 5000, "a." * 2500, "1-" * 2500, "a point " * 700, "a1" * 2500, "je m'appelle " * 400],
    ids=["letters", "digits", "dots", "dashes", "spelled", "mixed", "triggers"],
)
def test_masking_a_long_hostile_answer_takes_no_time(typed: str) -> None:
    """Answers of thousands of characters built to make the patterns backtrack are masked in well under a second
    (each pattern reads the text about once: a quadratic one took seconds on these)."""
    started = time.perf_counter()
    mask_personal(typed)
    assert time.perf_counter() - started < 0.25
