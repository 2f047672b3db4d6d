"""The terminal chat for people (`python -m bot chat`): text folded between words to the terminal's width, and
several-choice questions answered the same way whether one number or several are typed."""

from __future__ import annotations

import io
import re

import pytest

from bot.app.root import LoadedFlow
from bot.channels.terminal import MULTI_HINT, TerminalChat, wrap
from bot.core.messages import InboundKind
from bot.engine.engine import Engine
from bot.places.offers import NoCatalogue
from bot.storage.memory import MemoryStorage


def _engine(loaded: LoadedFlow) -> Engine:
    return Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue())


async def _run(loaded: LoadedFlow, lines: str, width: int) -> tuple[str, TerminalChat]:
    out = io.StringIO()
    chat = TerminalChat(_engine(loaded), io.StringIO(lines), out, key="terminal:test", width=width)
    await chat.run_human()
    return out.getvalue(), chat


def _words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


def test_wrap_breaks_between_words_only() -> None:
    """A long sentence is folded at spaces: every line fits, no word is cut, the words and line breaks are kept."""
    text = "Bonjour et bienvenue ! Je vais vous poser quelques questions simples.\nDeuxième ligne, courte."
    folded = wrap(text, 24)
    assert all(len(line) <= 24 for line in folded.splitlines())
    assert _words(folded) == _words(text)
    assert "courte." in folded.splitlines()[-1]
    assert "quelques questions" in folded.splitlines()  # a whole line of whole words, not "questi" / "ons"
    # a word longer than the line stays whole on a line of its own
    assert "anticonstitutionnellement" in wrap("très anticonstitutionnellement dit", 10).splitlines()


async def test_the_chat_wraps_every_line_at_word_boundaries(loaded: LoadedFlow) -> None:
    """At 40 columns, the welcome, the notice, the question and the numbered buttons never run past the width
    and never split a word (every word of the flow's texts is found whole)."""
    shown, chat = await _run(loaded, "", 40)
    assert chat.width == 40
    for line in shown.splitlines():
        assert len(line) <= 40, line
    welcome = loaded.flow.messages["privacy_notice"].pick(None)
    first_words = [w for w in _words(welcome) if "{" not in w and "}" not in w]
    shown_words = set(_words(shown))
    assert [w for w in first_words if w not in shown_words] == []
    assert "  1. Pour moi\n" in shown


async def test_button_labels_wrap_under_their_number(loaded: LoadedFlow) -> None:
    """A button label longer than the line continues under its text, not under its number."""
    shown, _ = await _run(loaded, "1\n", 30)
    lines = shown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  2. La vie de tous les jours"))
    assert lines[start + 1].startswith("     ")
    assert not lines[start + 1].startswith("      ")


@pytest.mark.parametrize("typed", ["3", "1 3"])
async def test_one_number_or_several_validate_a_several_choice_question(loaded: LoadedFlow, typed: str) -> None:
    """On the goals question (several choices) « 3 » alone answers and moves on, exactly as « 1 3 » does:
    the numbers typed are the whole answer, sent as a confirmed set (as `value:V1,V2` in the scripted mode)."""
    chat = TerminalChat(_engine(loaded), io.StringIO(), io.StringIO(), key="terminal:test", width=80)
    await chat.turn(chat.from_human("/start"))
    await chat.turn(chat.from_human("1"))
    assert chat.last is not None
    assert chat.last.multi
    assert chat.last.slot == "goals"
    labels = [b.label for b in chat.last.buttons]
    inbound = chat.from_human(typed)
    assert inbound.kind is InboundKind.CHOICES
    assert inbound.values == tuple(chat.last.buttons[int(n) - 1].value for n in typed.split())
    turn = await chat.turn(inbound)
    assert turn is not None
    assert turn.slot == "equipment", labels


async def test_several_choice_hint_and_command_number(loaded: LoadedFlow) -> None:
    """A several-choice question tells the terminal's way to answer (numbers, then Enter) instead of the buttons'
    « Valider »; the « Valider » number alone presses that button (nothing ticked: the hint is repeated)."""
    shown, chat = await _run(loaded, "1\n9\n", 200)
    assert MULTI_HINT in shown
    assert loaded.flow.messages["multi_hint"].pick(None) not in shown
    assert chat.last is not None
    assert chat.last.slot == "goals"
