"""Settings: built once from a mapping (the environment in production, a dict in tests).

This is the only place that reads configuration. A missing or wrong setting fails at start-up with its
name and what is expected; secrets stay out of repr and logs.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bot.core.errors import ConfigError

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_DB_FILE = "passerelle.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def data_keys(text: str, source: str = "DATA_KEY") -> tuple[bytes, ...]:
    """The Fernet keys of DATA_KEY (comma-separated; the first encrypts, all decrypt). Raises ConfigError naming
    `source` and how to make a key."""
    keys = []
    for number, part in enumerate((p.strip() for p in text.split(",")), 1):
        try:
            valid = len(base64.b64decode(part, altchars=b"-_", validate=True)) == 32
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            raise ConfigError(
                f"{source} must be one or more Fernet keys separated by commas (44 characters of URL-safe base64 "
                f"each, made by `python -m bot keys generate`); key {number} is not one"
            )
        keys.append(part.encode("ascii"))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    flows_dir: Path
    catalogue_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = DEFAULT_API_URL
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    mediator_chat_id: int | None = None
    data_key: str | None = field(default=None, repr=False)
    # Retention (README "Données personnelles"): conversations idle this long are deleted; callback requests'
    # personal fields (phone, first name, notes, answers) are erased this long after the request.
    retention_conversations_days: int = 180
    retention_callbacks_days: int = 90
    # Telegram allows a bot about 30 messages a second in all: several processes sharing one bot divide it.
    telegram_messages_per_second: int = 30
    dashboard_refresh_seconds: int = 10  # an open dashboard list asks this often whether something changed
    log_level: str | None = None  # LOG_LEVEL: the bot's own log; unset: INFO for `run`, WARNING for the other commands

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        base = cwd or Path()  # relative to the working directory, and shown that way in messages

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port_text = get("PORT") or "8080"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"PORT must be a TCP port number between 1 and 65535, not {port_text!r}")
        webhook_url = get("WEBHOOK_URL")
        if webhook_url is not None and urlparse(webhook_url).scheme != "https":
            raise ConfigError("WEBHOOK_URL must be an https:// address that Telegram can reach")
        webhook_secret = get("WEBHOOK_SECRET")
        if webhook_url is not None and webhook_secret is None:
            raise ConfigError("WEBHOOK_SECRET is required with WEBHOOK_URL (1-256 characters: A-Z, a-z, 0-9, _ -)")
        if webhook_secret is not None and not (
            len(webhook_secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in webhook_secret)
        ):
            raise ConfigError("WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and -, up to 256 characters")
        chat_id_text = get("MEDIATOR_CHAT_ID")
        try:
            chat_id = int(chat_id_text) if chat_id_text is not None else None
        except ValueError:
            raise ConfigError(
                f"MEDIATOR_CHAT_ID must be a Telegram chat id (an integer), not {chat_id_text!r}"
            ) from None
        rate_text = get("TELEGRAM_MESSAGES_PER_SECOND") or "30"
        if not rate_text.isdigit() or not 1 <= int(rate_text) <= 1000:
            raise ConfigError(
                "TELEGRAM_MESSAGES_PER_SECOND must be a whole number of messages per second (1 to 1000; Telegram "
                f"allows about 30 per bot in all, to share between its processes), not {rate_text!r}"
            )
        retention: dict[str, int] = {}
        for name, default in (("RETENTION_CONVERSATIONS_DAYS", 180), ("RETENTION_CALLBACKS_DAYS", 90)):
            text = get(name) or str(default)
            if not text.isdigit() or not 1 <= int(text) <= 3650:
                raise ConfigError(f"{name} must be a number of days between 1 and 3650, not {text!r}")
            retention[name] = int(text)
        refresh_text = get("DASHBOARD_REFRESH_SECONDS") or "10"
        if not refresh_text.isdigit() or not 1 <= int(refresh_text) <= 3600:
            raise ConfigError(
                "DASHBOARD_REFRESH_SECONDS must be a whole number of seconds between 1 and 3600 (how often an open "
                f"list of requests on the dashboard checks for news), not {refresh_text!r}"
            )
        data_key = get("DATA_KEY")
        if data_key is not None:
            data_keys(data_key)
        log_level = (get("LOG_LEVEL") or "").upper() or None
        if log_level is not None and log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {get('LOG_LEVEL')!r}")
        database_url = get("DATABASE_URL") or f"sqlite+aiosqlite:///{base / DEFAULT_DB_FILE}"
        if "://" not in database_url:
            raise ConfigError("DATABASE_URL must be a SQLAlchemy async URL, e.g. sqlite+aiosqlite:///passerelle.db")
        return cls(
            database_url=database_url,
            flows_dir=base / (get("FLOWS_DIR") or "flows"),
            catalogue_dir=base / (get("CATALOGUE_DIR") or "catalogue"),
            host=get("HOST") or "127.0.0.1",
            port=int(port_text),
            telegram_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_api_url=get("TELEGRAM_API_URL") or DEFAULT_API_URL,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            mediator_chat_id=chat_id,
            data_key=data_key,
            retention_conversations_days=retention["RETENTION_CONVERSATIONS_DAYS"],
            retention_callbacks_days=retention["RETENTION_CALLBACKS_DAYS"],
            telegram_messages_per_second=int(rate_text),
            dashboard_refresh_seconds=int(refresh_text),
            log_level=log_level,
        )
