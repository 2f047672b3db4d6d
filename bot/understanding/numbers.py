"""Numbers in answers: an age in digits or words, a year or date of birth (« née en 47 »), a range (« entre 70 et
80 »), « bientôt 80 », an hour (« vers 10h »), or a button's position (« 2 »)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.clock import now
from bot.core.text import normalise
from bot.understanding.analysis import Reading
from bot.understanding.question import NOTHING, Context, Option, Understood

HOURS = 24  # ranges up to this are hours of the day; beyond, ages
BETWEEN = re.compile(r"\bentre (\d{2,3}) et (\d{2,3})\b")
BIRTH = re.compile(r"\bne(?:e)?s? (?:en|le) (?:\d{1,2}(?: \w+)? )?(\d{2}|\d{4})\b")
BOUND = re.compile(r"\b(moins|plus) de (\d{2,3})\b")
NOT_BEFORE = re.compile(r"\bpas (?:avant|apres) \d")  # « pas avant 10h »: from then on, whichever moment that is
ALMOST = re.compile(
    r"\b(?:bientot|presque|aurai|aura|vais avoir|va avoir|va sur ses|vais sur mes|pas loin de|pas encore"
    r"|pas tout a fait) (\d{2,3})\b"
)


def by_number(
    reading: Reading, options: Sequence[Option], context: Context | None, *, position_too: bool
) -> Understood | None:
    """An age or count in a button's range (« 83 », « quatre-vingt-trois ans », « née en 1941 »); or, for a text
    that is only a small number, the button at that position."""
    ranged = [(i, o.numbers) for i, o in enumerate(options) if o.numbers]
    year = (context.year if context and context.year else None) or now().year
    if ranged and not NOT_BEFORE.search(reading.plain):
        said = ages(reading, year, position_too)
        picked = {index for number in said for index, (low, high) in ranged if low <= number <= high}
        if len(picked) == 1 and all(any(low <= n <= high for _, (low, high) in ranged) for n in said):
            index = picked.pop()  # « 75 ou 76 »: both in one range
            return Understood((options[index].value,), 1.0, tuple(str(n) for n in said))
        if said and all(n > max(high for _, (_, high) in ranged) for n in said):
            return NOTHING  # « le soir après 19h », « 130 ans »: later or older than any button holds
        if len(picked) > 1 and max(high for _, (_, high) in ranged) > HOURS:
            return NOTHING  # « elle a 68 ou 72, je ne sais plus »: two age bands; the buttons ask which
    if position_too and len(reading.numbers) == 1 and reading.plain.isdigit():
        position = reading.numbers[0] - 1
        if 0 <= position < len(options) and not any(o.numbers and o.numbers[0] <= position + 1 for o in options):
            return Understood((options[position].value,), 1.0, (reading.plain,))
    return None


def ages(reading: Reading, year: int, any_number: bool) -> list[int]:
    """The ages a text gives: numbers (with « ans », or any when the age is asked), years of birth."""
    plain = normalise(reading.text)
    birth = BIRTH.search(plain)
    if birth is not None:
        born = int(birth.group(1))
        born += 1900 if born < 100 else 0  # « née en 47 »
        return [year - born] if 0 <= year - born <= 120 else []
    between = BETWEEN.search(plain)
    if between is not None:
        return [int(between.group(1)), int(between.group(2)) - 1]  # « entre 70 et 80 »: in the seventies
    bound = BOUND.search(plain)
    if bound is not None:  # « moins de 60 » is 59 at most, « plus de 80 » 81 at least
        return [int(bound.group(2)) + (-1 if bound.group(1) == "moins" else 1)]
    almost = ALMOST.search(plain)
    if almost is not None:
        return [int(almost.group(1)) - 1]  # « bientôt 80 »: 79 today
    ages = [year - y for y in reading.years if 0 <= year - y <= 120]
    if any_number or any(t.key in ("an", "ans", "age") for t in reading.terms):
        ages += list(reading.numbers)
    return ages
