"""Flood control: sliding windows of accepted message-sending calls, per chat, per group and for the whole bot."""

from __future__ import annotations

import math
from collections import deque

from .models import Limits

# Calls that send or edit a message: the ones Telegram's flood limits are about.
LIMITED_METHODS = frozenset(
    {
        "sendMessage",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendSticker",
        "forwardMessage",
        "copyMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageLiveLocation",
    }
)


class RateLimiter:
    """Counts accepted calls in per-key deques of timestamps: O(1) amortised per call."""

    def __init__(self) -> None:
        self._chats: dict[int, deque[float]] = {}
        self._overall: deque[float] = deque()

    @staticmethod
    def _wait(stamps: deque[float], allowed: int, window: float, now: float) -> float:
        """Seconds until one more call fits in the window (0 when it fits now); drops expired stamps."""
        horizon = now - window
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        if len(stamps) < allowed:
            return 0.0
        return stamps[len(stamps) - allowed] + window - now

    def check(self, limits: Limits, chat_id: int | None, now: float) -> int:
        """0 and the call is counted when it is within limits; else the retry_after (seconds) to answer."""
        count, period = limits.overall
        wait = self._wait(self._overall, count, period * limits.tolerance, now)
        stamps: deque[float] | None = None
        if chat_id is not None:
            count, period = limits.per_chat if chat_id > 0 else limits.group
            stamps = self._chats.setdefault(chat_id, deque())
            wait = max(wait, self._wait(stamps, count, period * limits.tolerance, now))
        if wait > 0:
            return max(1, math.ceil(wait))
        self._overall.append(now)
        if stamps is not None:
            stamps.append(now)
        return 0
