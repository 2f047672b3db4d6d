"""Settings come only from a mapping; a wrong value stops start-up with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_API_URL, Settings
from bot.core.errors import ConfigError

A_KEY = "A" * 43 + "="  # a well-formed Fernet key (32 zero bytes): DATA_KEY is checked at start-up


def test_defaults_need_no_variable_at_all() -> None:
    """With an empty environment: SQLite file in the working directory, bundled folders, no Telegram."""
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///passerelle.db"
    assert (settings.flows_dir, settings.catalogue_dir) == (Path("flows"), Path("catalogue"))
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.telegram_token is None
    assert settings.telegram_api_url == DEFAULT_API_URL
    assert settings.webhook_url is None


def test_every_contract_variable_is_read() -> None:
    """Each configuration name of the CONTRACT lands in its setting."""
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_API_URL": "http://127.0.0.1:9999/bot",
            "DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/db",
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": "s3cret_-",
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "FLOWS_DIR": "/srv/flows",
            "CATALOGUE_DIR": "data",
            "MEDIATOR_CHAT_ID": "-100123",
            "DATA_KEY": A_KEY,
        },
        cwd=Path("/srv/app"),
    )
    assert settings.telegram_token == "123:abc"
    assert settings.telegram_api_url == "http://127.0.0.1:9999/bot"
    assert settings.database_url == "postgresql+asyncpg://u@127.0.0.1/db"
    assert (settings.webhook_url, settings.webhook_secret) == ("https://bot.example.org/hook", "s3cret_-")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert (settings.flows_dir, settings.catalogue_dir) == (Path("/srv/flows"), Path("/srv/app/data"))
    assert (settings.mediator_chat_id, settings.data_key) == (-100123, A_KEY)


def test_secrets_stay_out_of_repr() -> None:
    """The token, the webhook secret and the data key never show in a repr (and so in a log line)."""
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:very-secret",
            "WEBHOOK_URL": "https://x.org/h",
            "WEBHOOK_SECRET": "hush",
            "DATA_KEY": A_KEY,
        }
    )
    text = repr(settings)
    assert "very-secret" not in text
    assert "hush" not in text
    assert A_KEY not in text


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"WEBHOOK_URL": "http://insecure.org/h", "WEBHOOK_SECRET": "s"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://x.org/h"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": "https://x.org/h", "WEBHOOK_SECRET": "with space"}, "WEBHOOK_SECRET"),
        ({"MEDIATOR_CHAT_ID": "group"}, "MEDIATOR_CHAT_ID"),
        ({"DATABASE_URL": "passerelle.db"}, "DATABASE_URL"),
        ({"DATA_KEY": "keykey"}, "DATA_KEY"),
        ({"DATA_KEY": f"{A_KEY},{A_KEY[:-2]}"}, "DATA_KEY"),
    ],
)
def test_a_wrong_setting_names_itself(environ: dict[str, str], named: str) -> None:
    """A wrong or missing value fails with ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(environ)
