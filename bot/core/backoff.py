"""How long to wait before trying again: one rule for every retry loop of the bot.

    delays = iter(Backoff(0.5, 10.0))      # 0.5, 1, 2, 4, 8, 10, 10, …
    while True:
        try:
            ...
        except StorageError:
            await asyncio.sleep(next(delays))

A loop that succeeds starts again from the first delay by taking a fresh iterator; one that counts its attempts
asks `delay(n)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays growing by `factor` from `first` up to `cap` seconds."""

    first: float
    cap: float
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not (0 < self.first <= self.cap and self.factor >= 1):
            raise ValueError(f"not a backoff: {self!r}")

    def delay(self, failures: int) -> float:
        """The wait after `failures` failures in a row, less one (0: after the first failure)."""
        # Past the cap the power is never computed: a long outage would overflow it.
        if failures < 64 and (grown := self.first * self.factor**failures) < self.cap:
            return grown
        return self.cap

    def __iter__(self) -> Iterator[float]:
        """The waits after one failure, two, three… without end."""
        failures = 0
        while True:
            yield self.delay(failures)
            failures += 1
