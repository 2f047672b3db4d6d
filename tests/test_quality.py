"""The project's own quality bar, enforced by the test suite: ruff clean, mypy --strict clean on bot/, the wings'
import contracts kept (import-linter), and a package whose top level shows its architecture."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BOT = ROOT / "bot"
# The top level of bot/ holds the entry points and the settings; everything else lives in a wing.
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "cli.py", "config.py"}
WINGS = {
    "app", "callbacks", "channels", "core", "dashboard", "engine", "language", "places", "privacy", "storage",
    "tools", "understanding",
}
MAX_LINES = 420  # "no module above ~400 lines": a module past this has grown two jobs


def test_ruff_is_clean() -> None:
    """`ruff check` reports nothing on the code and the tests."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "bot", "tests", "benchmarks"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    """`mypy --strict` (configured in pyproject.toml) finds no error in bot/."""
    result = subprocess.run([sys.executable, "-m", "mypy", "bot"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_are_kept() -> None:
    """`lint-imports` (contracts in pyproject.toml): the wings are layered, no cycle, the core stays plain."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_top_level_of_bot_holds_only_entry_points_settings_and_wings() -> None:
    """bot/ shows the architecture: __main__.py, cli.py, config.py and one folder per wing, nothing loose."""
    modules = {p.name for p in BOT.glob("*.py")}
    folders = {p.name for p in BOT.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules == TOP_LEVEL_MODULES
    assert folders == WINGS


def test_every_wing_module_stays_short() -> None:
    """No module of bot/ grows past about 400 lines (migrations excepted: they are history, not design)."""
    long = {
        str(path.relative_to(ROOT)): lines
        for path in BOT.rglob("*.py")
        if "migrations" not in path.parts and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_core_imports_nothing_of_the_bot_but_itself() -> None:
    """bot.core is the bottom of every layer: its modules import only the standard library, phonenumbers and
    bot.core (checked on the source, type-only imports included)."""
    allowed_roots = set(sys.stdlib_module_names) | {"phonenumbers", "bot"}
    for path in (BOT / "core").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            )
            for name in names:
                assert name.split(".")[0] in allowed_roots, f"{path.name} imports {name}"
                if name.startswith("bot."):
                    assert name.startswith("bot.core"), f"{path.name} imports {name}"
