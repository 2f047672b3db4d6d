"""The project's own quality bar, enforced by the test suite: ruff clean, mypy --strict clean on bot/."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_is_clean() -> None:
    """`ruff check` reports nothing on the code and the tests."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "bot", "tests", "benchmarks"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    """`mypy --strict` (configured in pyproject.toml) finds no error in bot/."""
    result = subprocess.run([sys.executable, "-m", "mypy", "bot"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
