"""Telegram's sending limits, kept on our side: about 1 message/s per chat (small bursts allowed), 30 per
second for the whole bot, 20 per minute into one group. Sliding windows: never more than N calls in any
period T, which is exactly what Telegram (and the test server) count. A 429's `retry_after` pauses everything.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimits:
    per_chat: tuple[int, float] = (3, 3.0)  # a question's 2–3 messages go at once; 1/s on average
    overall: tuple[int, float] = (30, 1.0)
    group: tuple[int, float] = (20, 60.0)


class Window:
    """At most `limit` events in any `period` seconds."""

    __slots__ = ("limit", "period", "times")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event is allowed (0: now)."""
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        return 0.0 if len(self.times) < self.limit else self.times[0] + self.period - now

    def take(self, now: float) -> None:
        self.times.append(now)


class Limiter:
    """`await limiter.acquire(chat_id)` before each message sent or edited. `limits=None` (capacity
    measurements, several bots): no windows, only 429 pauses."""

    def __init__(self, limits: RateLimits | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._overall = Window(*limits.overall) if limits else None
        self._chats: dict[int, Window] = {}
        # Waiters for the overall window queue here, first come first served, instead of all waking at once.
        self._gate = asyncio.Lock()
        self._paused_until = 0.0
        self._last = -1e9  # when the latest message went (overall)
        self._acquired = 0

    def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nothing is sent before then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, chat_id: int) -> None:
        if self.limits is None or self._overall is None:
            await self._wait_pause()
            return
        window = self._chats.get(chat_id)
        if window is None:
            limit, period = self.limits.group if chat_id < 0 else self.limits.per_chat
            window = self._chats[chat_id] = Window(limit, period)
        # Only this chat's sender uses its window (a chat's messages go one at a time), so once it allows a
        # message it still does after the wait for the overall window.
        await self._sleep_while(lambda: window.wait(self._clock()))
        async with self._gate:
            await self._wait_pause()
            overall = self._overall
            # Evenly spaced as well: a burst of 30 at once reaches Telegram spread by the network, and could
            # overlap the next second's burst there.
            spacing = overall.period / overall.limit
            await self._sleep_while(lambda: max(overall.wait(self._clock()), self._last + spacing - self._clock()))
            now = self._last = self._clock()
            self._overall.take(now)
            window.take(now)
            # While this waited for the gate, the window may have been forgotten as idle (_forget_idle): keep
            # the one that records this message, else the chat's next message would start from an empty one.
            self._chats[chat_id] = window
        self._acquired += 1
        if self._acquired % 1000 == 0:
            self._forget_idle(self._clock())

    async def _wait_pause(self) -> None:
        await self._sleep_while(lambda: self._paused_until - self._clock())

    @staticmethod
    async def _sleep_while(delay_of: Callable[[], float]) -> None:
        """Sleep as long as `delay_of` asks (it is asked again after each sleep: the limit may have moved)."""
        delay = delay_of()
        while delay > 0:
            await asyncio.sleep(delay)
            delay = delay_of()

    def _forget_idle(self, now: float) -> None:
        idle = [chat for chat, w in self._chats.items() if not w.times or w.times[-1] <= now - w.period]
        for chat in idle:
            del self._chats[chat]
