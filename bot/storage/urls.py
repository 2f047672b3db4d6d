"""Database URLs as operators write them, the connection pool for a server, and why opening failed in words that
never show the password."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

_PASSWORD_IN_URL = re.compile(r"(://[^/:@\s]*:)[^@\s]*@")


def engine_url(url: str) -> URL:
    """The URL given to SQLAlchemy. A plain postgres:// or postgresql:// URL (as hosting platforms hand them
    out) means asyncpg, the PostgreSQL driver the bot ships with."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def server_options(url: URL) -> dict[str, Any]:
    """The connection pool for a database server (PostgreSQL): turns run concurrently, each holding a
    connection for one short transaction."""
    options: dict[str, Any] = {
        "pool_size": 10,
        "max_overflow": 10,
        "pool_timeout": 30,
        "pool_pre_ping": True,  # a connection closed while idle (server restart, proxy timeout) is replaced
        "pool_recycle": 1800,
    }
    if url.drivername.partition("+")[2] == "asyncpg" and "timeout" not in url.query:
        options["connect_args"] = {"timeout": 10}  # seconds to connect, instead of asyncpg's 60
    return options


def failure_reason(exc: BaseException, url: URL | None = None) -> str:
    """Why opening failed, for the operator: the driver's own words, never the password."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        reason = str(exc.orig)
    else:
        reason = f"{exc.__class__.__name__}: {exc}"
    reason = _PASSWORD_IN_URL.sub(r"\1***@", reason.split("\n(Background on this error")[0].strip())
    if url is not None and url.password:
        reason = reason.replace(str(url.password), "***")
    return reason
