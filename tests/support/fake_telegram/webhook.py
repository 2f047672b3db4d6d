"""Webhook delivery: each update POSTed as JSON, in order per chat, chats concurrently, retried until a 2xx."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

import aiohttp

from .models import JSON, Delivery
from .updates import UpdateQueue, UpdateRecord

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BACKOFF_START = 0.05
BACKOFF_CAP = 1.0


@dataclass
class WebhookConfig:
    url: str  # as given to setWebhook
    target: str  # where the fake really posts (after webhook_rewrite)
    secret_token: str | None
    max_connections: int = 40


class WebhookDispatcher:
    """One worker task per chat with undelivered updates; a semaphore caps the requests in flight."""

    def __init__(self, queue: UpdateQueue, deliveries: list[Delivery], timeout: float = 10.0) -> None:
        self.queue = queue
        self.deliveries = deliveries
        self.timeout = timeout
        self.config: WebhookConfig | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.in_flight = 0
        self.max_in_flight = 0  # the most concurrent requests seen, for tests of max_connections
        self._session: aiohttp.ClientSession | None = None
        self._semaphore = asyncio.Semaphore(40)
        self._chains: dict[int | None, deque[UpdateRecord]] = {}
        self._workers: dict[int | None, asyncio.Task[None]] = {}

    @property
    def active(self) -> bool:
        return self.config is not None

    def info(self) -> JSON:
        """The WebhookInfo object."""
        config = self.config
        info: JSON = {
            "url": config.url if config else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue.pending),
        }
        if config:
            info["max_connections"] = config.max_connections
            info["ip_address"] = "127.0.0.1"
            if self.queue.allowed:
                info["allowed_updates"] = list(self.queue.allowed)
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    async def configure(self, config: WebhookConfig | None, *, drop_pending: bool) -> None:
        """Set (or, with None, delete) the webhook; pending updates are delivered to the new one."""
        self.config = None  # nothing new is scheduled while the old workers stop
        await self._stop_workers()
        if drop_pending:
            self.queue.clear()
        self.config = config
        self.queue.webhook_active = config is not None
        self.queue.signal.notify()  # a long poll in progress now gets its conflict
        if config is None:
            return
        self.last_error_date = self.last_error_message = None
        self._semaphore = asyncio.Semaphore(config.max_connections)
        for record in list(self.queue.pending.values()):
            self.enqueue(record)

    def enqueue(self, record: UpdateRecord) -> None:
        """Schedule a new update for delivery (no-op without a webhook)."""
        if self.config is None:
            return
        if not self.queue.allows(record.kind):
            self.queue.forget(record.update_id)
            return
        chain = self._chains.get(record.chat_id)
        if chain is None:
            chain = self._chains[record.chat_id] = deque()
        chain.append(record)
        if record.chat_id not in self._workers:
            task = asyncio.get_running_loop().create_task(self._work(record.chat_id, chain))
            self._workers[record.chat_id] = task

    async def _work(self, chat_id: int | None, chain: deque[UpdateRecord]) -> None:
        try:
            while chain:
                record = chain[0]
                await self._deliver(record)
                self.queue.forget(record.update_id)
                if self.queue.duplicates and not record.duplicated:
                    record.duplicated = True
                    await self._deliver(record)
                chain.popleft()
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]
                if not chain:
                    self._chains.pop(chat_id, None)

    async def _deliver(self, record: UpdateRecord) -> None:
        """POST until the webhook answers 2xx, with a short exponential backoff between attempts."""
        backoff = BACKOFF_START
        while True:
            async with self._semaphore:
                started = time.monotonic()
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    status, error = await self._post(record)
                finally:
                    self.in_flight -= 1
            self.deliveries.append(Delivery(record.update_id, status, started, record.chat_id, error))
            if error is None:
                return
            self.last_error_date = int(time.time())
            self.last_error_message = error
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_CAP)

    async def _post(self, record: UpdateRecord) -> tuple[int | None, str | None]:
        config = self.config
        assert config is not None
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
        try:
            async with self._session.post(
                config.target,
                json=record.payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
        except TimeoutError:
            return None, "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return None, "Connection refused"
        except aiohttp.ClientError as error:
            return None, f"Connection error: {error.__class__.__name__}"
        if 200 <= response.status < 300:
            return response.status, None
        return response.status, f"Wrong response from the webhook: {response.status} {response.reason}"

    async def _stop_workers(self) -> None:
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        self._chains.clear()

    async def close(self) -> None:
        """Stop delivering and release the HTTP session."""
        self.config = None
        await self._stop_workers()
        self.queue.webhook_active = False
        if self._session is not None:
            await self._session.close()
            self._session = None
