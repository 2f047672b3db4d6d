"""A fake Telegram Bot API server on loopback, for tests that drive the real python-telegram-bot over HTTP.

It answers like the real API (result shapes, validation and error descriptions, getUpdates and webhook semantics),
simulates users pressing buttons and sending messages, and injects faults, latency and flood limits::

    async with FakeTelegram() as server:
        user = server.user(chat_id=1001, first_name="Jeanne")
        bot = telegram.Bot(server.token, base_url=server.api_url, base_file_url=server.file_url)
        async with bot:
            await user.send("/start")                       # an update for getUpdates (or the webhook)
            ...                                             # run the bot's handlers
            replies = await user.next_reply()               # what the bot answered, once it is quiet
            await user.press("Oui")                         # a callback_query on the latest keyboard
        server.inject(Fault("sendMessage", "429", retry_after=2))  # faults: 429, 500, slow, drop, timeout
        assert server.calls_of("sendMessage")[-1].status == 429

See server.FakeTelegram, users.FakeUser and models (Call, Fault, Limits) for the details.
"""

from __future__ import annotations

from .models import ApiError, Call, Delivery, Fault, Limits, StoredMessage
from .server import FakeTelegram
from .users import FakeGroup, FakeUser

__all__ = ["ApiError", "Call", "Delivery", "FakeGroup", "FakeTelegram", "FakeUser", "Fault", "Limits", "StoredMessage"]
