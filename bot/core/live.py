"""What the running bot serves now, when a reload may replace it: one holder, swapped whole.

The coordinators' files (the flow with its personas, the mediators' queues) are loaded together and replaced
together. Everything that reads them keeps the holder, or a part of it, and reads `current` at each use: between two
turns a reload swaps the whole set at once, and nobody keeps a copy that could go stale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
U = TypeVar("U")
T_co = TypeVar("T_co", covariant=True)


class Current(Protocol[T_co]):
    """Read anew at each use: the value in force now."""

    @property
    def current(self) -> T_co: ...


class Live(Generic[T]):
    """The one holder: `swap` replaces the value whole; `part` gives a reader only what it needs. One that nobody
    swaps is a fixed value (a test, a one-off command)."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    @property
    def current(self) -> T:
        return self._value

    def swap(self, value: T) -> None:
        self._value = value

    def part(self, pick: Callable[[T], U]) -> Current[U]:
        return _Part(self, pick)


class _Part(Generic[T, U]):
    __slots__ = ("_live", "_pick")

    def __init__(self, live: Live[T], pick: Callable[[T], U]) -> None:
        self._live = live
        self._pick = pick

    @property
    def current(self) -> U:
        return self._pick(self._live.current)
