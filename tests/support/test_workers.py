"""How the suite is shared out among parallel workers (tests/support/workers.py), checked on a small suite of its
own run by pytest-xdist in another process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT

SUITE = {
    "pytest.ini": """
        [pytest]
        markers = slow: long
    """,
    "conftest.py": """
        from tests.support.workers import pytest_collection_modifyitems, pytest_xdist_auto_num_workers  # noqa: F401
    """,
    "test_shared.py": """
        import os
        import pytest

        def record(what):
            with open(os.environ["RECORD"], "a") as log:
                log.write(f"{os.environ['PYTEST_XDIST_WORKER']} {what}\\n")

        @pytest.fixture(scope="module")
        def costly():
            record("set-up")

        @pytest.mark.parametrize("n", range(6))
        def test_uses_the_module_set_up(costly, n):
            record(f"shared-{n}")
    """,
    "test_alone.py": """
        import pytest
        from test_shared import record

        @pytest.mark.parametrize("n", range(6))
        def test_quick(n):
            record(f"quick-{n}")

        @pytest.mark.slow
        def test_long():
            record("slow")
    """,
}


def test_a_module_set_up_is_done_once_and_slow_tests_start_first(tmp_path: Path) -> None:
    """With two workers: the tests sharing a module-scoped fixture all run on one worker, which sets it up once;
    the test marked slow, last in its file, is the first test its worker runs."""
    for name, text in SUITE.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    record = tmp_path / "record.txt"
    environment = {**os.environ, "RECORD": str(record), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
         "--no-loadscope-reorder"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    runs = [line.split(" ", 1) for line in record.read_text().splitlines()]
    assert [what for _, what in runs if what == "set-up"] == ["set-up"]
    assert len({worker for worker, what in runs if what.startswith(("set-up", "shared-"))}) == 1
    slow_worker = next(worker for worker, what in runs if what == "slow")
    assert next(what for worker, what in runs if worker == slow_worker) == "slow"
    assert len({worker for worker, _ in runs}) == 2  # both workers had work

