"""Answers typed as numbers ("83", "j'ai 83 ans") picked through a choice's `numbers: [min, max]`."""

from __future__ import annotations

import pytest

from bot.core.errors import FlowError
from bot.engine.engine import Engine
from bot.language.flows import parse_flow
from bot.language.yamlload import load_yaml
from tests.conftest import Chat

NO_DEVICE_TO_AGE = ["bonjour", "value:self", "value:family_contact", "value:none", "value:curious", "value:money"]


@pytest.mark.parametrize(
    ("typed", "band"),
    [
        ("83", "80_plus"),
        ("j'ai 83 ans", "80_plus"),
        ("67 ans", "60_69"),
        ("70", "70_79"),
        ("45", "under_60"),
        ("2", "60_69"),
        ("80 ans ou plus", "80_plus"),
    ],
)
async def test_a_typed_age_picks_its_band(memory_engine: Engine, typed: str, band: str) -> None:
    """An age typed as a number picks the band whose `numbers` hold it; a small number still picks a button
    by its position ("2" is the second button); the label typed in full still works."""
    chat = Chat(memory_engine)
    turn = (await chat.script(NO_DEVICE_TO_AGE))[-1]
    assert turn.slot == "age_band"
    await chat.send(typed)
    record = await memory_engine.storage.load_conversation(chat.key)
    assert record is not None
    assert record.data["answers"]["age_band"] == band


@pytest.mark.parametrize("typed", ["entre 50 et 90", "200", "8,5"])
async def test_an_unclear_number_is_asked_again(memory_engine: Engine, typed: str) -> None:
    """Two numbers, a number no band holds, or a decimal: the question is asked again, nothing is stored."""
    chat = Chat(memory_engine)
    await chat.script(NO_DEVICE_TO_AGE)
    turn = await chat.send(typed)
    assert turn.slot == "age_band"
    record = await memory_engine.storage.load_conversation(chat.key)
    assert record is not None
    assert "age_band" not in record.data["answers"]


FLOW = """\
flow: t
start: age
human: rappel
steps:
  age:
    ask: age_band
    text: "Quel âge ?"
    choices:
      - {value: 60_69, label: "60-69", numbers: [60, 70]}
      - {value: 70_79, label: "70-79", numbers: [70, 79]}
      - {value: 80_plus, label: "80+", numbers: [90, 80]}
    next: rappel
  rappel:
    action: request_callback
    end: true
"""


def test_overlapping_or_malformed_number_ranges_are_refused() -> None:
    """`flows check` refuses ranges that overlap (70 in two bands) and a range written backwards."""
    with pytest.raises(FlowError) as error:
        parse_flow(load_yaml(FLOW, "t.yaml"), "t.yaml", FLOW)
    messages = [(p.line, p.message) for p in error.value.problems]
    assert (
        8,
        "étape `age` : les intervalles `numbers` de `60_69` et de `70_79` se chevauchent ; un nombre ne doit mener "
        "qu'à un bouton",
    ) in messages
    assert (
        11,
        "étape `age` : `numbers` s'écrit `[minimum, maximum]`, deux nombres entiers, le plus petit d'abord",
    ) in messages
