"""How the suite is shared out among pytest-xdist's worker processes (`-n auto --dist loadgroup` in pyproject.toml).

- How many workers: twice the cores this process may use, at most eight. About half of the suite's time is spent
  waiting (bot processes started and stopped, fake servers answering late on purpose, leases running out), so a
  two-core machine is busiest with four workers; past eight, the longest test alone sets the pace.
  `PYTEST_XDIST_AUTO_NUM_WORKERS` overrides it; `-n 0` runs everything in this process (for `--pdb`).
- Which tests share a worker: those using Chromium (one browser per worker that needs it: about a second of start
  and a few hundred megabytes each), and the tests of a module or class that sets something up once for all of
  them (a module-scoped fixture: a server, a bot), so that it is still set up once. Every other test goes
  wherever a worker is free; each worker has its own temporary folders and, when it needs one, its own
  PostgreSQL server (tests/support/postgres.py).
- In which order: the tests marked `slow` first, then the groups, then the rest, so that the longest ones do not
  start last, when the other workers have nothing left to do.
"""

from __future__ import annotations

import os

import pytest

WORKERS_PER_CORE = 2
MOST_WORKERS = 8

# Session fixtures too costly to start on every worker: the tests using them form one group.
ONE_WORKER_FIXTURES = ("chromium",)


def worker_count() -> int:
    """The number of workers `-n auto` starts."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(2, min(MOST_WORKERS, WORKERS_PER_CORE * cores))


def group_of(item: pytest.Item) -> str | None:
    """The name of the group of tests that must run on the same worker as `item`, if any."""
    for name in ONE_WORKER_FIXTURES:
        if name in item.fixturenames:
            return name
    info = getattr(item, "_fixtureinfo", None)  # the fixtures that `item` really uses, overrides resolved
    for name, definitions in info.name2fixturedefs.items() if info is not None else ():
        if name.startswith("_") or not definitions:
            continue  # pytest-asyncio's event loop runners: nothing costly to share
        if definitions[-1].scope in ("module", "class"):
            return item.path.stem  # short: pytest-xdist appends it to the test's id in reports
        if definitions[-1].scope == "package":
            return definitions[-1].baseid or "package"
    return None


def is_slow(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


def share_out(items: list[pytest.Item]) -> None:
    """Mark each group with `xdist_group`, then order the tests: slow ones first (and the groups holding one), then
    the other groups, then the rest; the order is otherwise kept, so a module's tests stay together."""
    groups = {id(item): group_of(item) for item in items}
    slow_groups = {groups[id(item)] for item in items if is_slow(item) and groups[id(item)] is not None}
    for item in items:
        if (group := groups[id(item)]) is not None:
            item.add_marker(pytest.mark.xdist_group(group))

    def rank(item: pytest.Item) -> int:
        group = groups[id(item)]
        if is_slow(item) or group in slow_groups:
            return 0
        return 1 if group is not None else 2

    items.sort(key=rank)


# ----- the hooks (imported by tests/conftest.py) ------------------------------------------------------------------
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return worker_count()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the `xdist_group` marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a worker of pytest-xdist: its collection is what the scheduler shares out
        share_out(items)
