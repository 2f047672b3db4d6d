"""Reading typed French against a question: `understand` for the question asked, `spot` for every question a
message answers at once."""

from __future__ import annotations

from collections.abc import Sequence

from bot.understanding.matching import build_candidates, match_many, match_one
from bot.understanding.question import NOTHING, Context, Question, Understood


def understand(text: str, question: Question, context: Context | None = None) -> Understood:
    """The value(s) the text gives to the question, with how sure the reading is."""
    candidates = build_candidates([(o.value, (*o.names, *o.examples)) for o in question.options])
    order = question.values
    if question.multi:
        values = match_many(text, candidates, order, allow_unknown=False)
        return Understood(tuple(values), 1.0) if values else NOTHING
    value = match_one(text, candidates, order, allow_unknown=False)
    return Understood((value,), 1.0) if value is not None else NOTHING


def spot(text: str, questions: Sequence[Question], context: Context | None = None) -> dict[str, Understood]:
    """Per slot, the answers a message clearly gives besides the one asked (only sure readings)."""
    return {}
