"""The dashboard benchmark's own logic (benchmarks/dashboard.py): its percentiles, and the team it builds."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from benchmarks.dashboard import QUEUES, mediator_queues, national, percentile, seed_rows


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0), (1.0, 100.0), (0.001, 1.0)],
)
def test_percentiles_are_nearest_rank(q: float, expected: float) -> None:
    """Of 1..100 shuffled, the q-quantile is the value ranked ceil(q x 100): p99 is 99, not an interpolation."""
    values = [float(v) for v in range(1, 101)]
    random.Random(1).shuffle(values)
    assert percentile(values, q) == expected


def test_a_percentile_of_few_values_is_one_of_them() -> None:
    """With fewer than 100 values, p99 is the largest; with one value, every percentile is it; none: NaN."""
    assert percentile([3.0, 1.0, 2.0], 0.99) == 3.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([7.0], 0.5) == percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.99))


def test_twenty_mediators_share_every_queue() -> None:
    """Each queue gets 5 or 6 of the 20 mediators (contention on each one), every mediator one or two queues."""
    team = mediator_queues(20)
    assert len(team) == 20
    per_queue = Counter(queue for queues in team.values() for queue in queues)
    assert set(per_queue) == set(QUEUES)
    assert all(5 <= n <= 6 for n in per_queue.values()), per_queue
    assert all(1 <= len(queues) <= 2 for queues in team.values())


def test_seeded_requests_look_like_a_working_service() -> None:
    """About a quarter open, the rest closed; holders only on taken or closed-after-a-call requests; numbers typed
    as a mediator would type them."""
    rows = seed_rows(2000, mediator_queues(20), random.Random(3))
    statuses = Counter(r["status"] for r in rows)
    open_share = (statuses["new"] + statuses["claimed"]) / len(rows)
    assert 0.2 < open_share < 0.3, statuses
    assert all((r["claimed_by"] is None) == (r["status"] in ("new", "cancelled")) for r in rows)
    assert all(r["created_at"] <= r["updated_at"] for r in rows)
    assert national("+33612345678") == "06 12 34 56 78"
