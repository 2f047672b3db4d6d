"""python-telegram-bot's HTTP requests made with aiohttp (already our web server) instead of httpx.

PTB lets the HTTP client be replaced (`ApplicationBuilder.request`). Under load its default, httpx, spent
about 6 ms of CPU per update in connection-pool bookkeeping, 70 % of the bot's time (benchmarks/telegram.py);
aiohttp's client does the same requests for a fraction of that.
"""

from __future__ import annotations

import json
import warnings
from datetime import timedelta

import aiohttp
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

Timeout = float | None
JSON_HEADERS = {"Content-Type": "application/json"}


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asks to wait after a 429 (PTB gives seconds or a timedelta, depending on its version)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        connection_limit: int = 128,
        *,
        read_timeout: Timeout = 5.0,
        write_timeout: Timeout = 5.0,
        connect_timeout: Timeout = 5.0,
        pool_timeout: Timeout = 30.0,
    ) -> None:
        self._limit = connection_limit
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = _chosen(read_timeout, self._read)
        write = _chosen(write_timeout, self._write)
        # aiohttp's `connect` covers waiting for a free connection of the pool and opening it.
        connect = _sum(_chosen(pool_timeout, self._pool), _chosen(connect_timeout, self._connect))
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=_sum(read, write))
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None and request_data.contains_files:
            body = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                body.add_field(name, value)
            for name, (filename, content, mimetype) in request_data.multipart_data.items():
                body.add_field(name, content, filename=filename, content_type=mimetype)
        elif request_data is not None:
            # One JSON body (the Bot API takes it), cheaper than form-encoding each JSON-encoded value.
            body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers = JSON_HEADERS
        try:
            async with self._session.request(method, url, data=body, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # The URL holds the token: never let it into a message that may be logged.
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {str(exc).replace(url, '<Bot API>')}") from exc


def _chosen(value: object, default: Timeout) -> Timeout:
    if isinstance(value, int | float):
        return float(value)
    return None if value is None else default


def _sum(first: Timeout, second: Timeout) -> Timeout:
    return None if first is None or second is None else first + second
