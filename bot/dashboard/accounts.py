"""Mediators' accounts and signed-in sessions: the rules (timeouts, sign-in limits), over
bot/storage/mediator_queries.py. No aiohttp here: the command line uses it too.

- A session is a random token in a cookie; the database keeps its SHA-256 only. It ends after `IDLE` without
  a request, `ABSOLUTE` after sign-in whatever happens, or at sign-out.
- Failed sign-ins are counted per login and per address over `WINDOW`; past the limit, sign-in waits, whatever
  the password (the check is not even made). Unknown login and wrong password get the same answer, after the
  same work.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.core.clock import now
from bot.dashboard.passwords import adummy_password, ahash_password, averify_password, check_new_password
from bot.storage import Storage
from bot.storage import mediator_queries as sql
from bot.storage.mediator_queries import MediatorRow

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often (one write per minute, not per page)
WINDOW = timedelta(minutes=15)
MAX_LOGIN_FAILURES = 5  # per login, within WINDOW
# Per address: higher, because the mediators of one place (a library, a town hall) often share one address.
MAX_ADDRESS_FAILURES = 20
LOGIN_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
MAX_NAME = 128


class AccountError(ValueError):
    """A login, name or password refused; the message says what is expected."""


def normalise_login(text: str) -> str:
    """Logins are compared in lower case (phones capitalise the first letter)."""
    login = text.strip().lower()
    if not LOGIN_PATTERN.fullmatch(login):
        raise AccountError(
            f"invalid login {text!r}: 2 to 64 characters among a-z, 0-9, '.', '_', '@' and '-', "
            "starting with a letter or a digit"
        )
    return login


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Mediator:
    """The signed-in mediator of a request, with their session."""

    login: str
    name: str
    queues: tuple[str, ...]
    csrf_token: str
    token_hash: str
    flash: dict[str, str] | None = None

    @property
    def actor_id(self) -> str:
        return f"web:{self.login}"


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str  # for the cookie; never stored
    mediator: Mediator


@dataclass(frozen=True, slots=True)
class Denied:
    reason: Literal["wrong", "limited"]


Saved = Literal["created", "updated", "enabled"]


class Accounts:
    def __init__(self, storage: Storage, *, clock: Callable[[], datetime] = now) -> None:
        self.storage = storage
        self.clock = clock

    # ----- accounts (the command line) ----------------------------------------------------------------------
    async def save(self, login: str, password: str, queues: Sequence[str], name: str | None = None) -> Saved:
        """Create the account, or update an existing one's password, queues (and name when given); a removed
        account is enabled again. Its open sessions end when the password changes."""
        login = normalise_login(login)
        check_new_password(password)
        name = " ".join((name or "").split())[:MAX_NAME]
        if not queues:
            raise AccountError("at least one queue is needed (--queue NAME)")
        password_hash = await ahash_password(password)
        at = self.clock()
        async with self.storage.callback_transaction() as tx:
            found = await sql.get_mediator(tx.connection, login)
            if found is None:
                await sql.insert_mediator(tx.connection, login, name or login, password_hash, queues, at)
                return "created"
            values = {"password_hash": password_hash, "queues": list(queues), "updated_at": at, "disabled_at": None}
            if name:
                values["name"] = name
            await sql.update_mediator(tx.connection, login, values)
            await sql.delete_sessions_of(tx.connection, login)
            return "updated" if found.disabled_at is None else "enabled"

    async def all(self) -> list[MediatorRow]:
        async with self.storage.callback_transaction() as tx:
            return await sql.list_mediators(tx.connection)

    async def get(self, login: str) -> MediatorRow | None:
        async with self.storage.callback_transaction() as tx:
            return await sql.get_mediator(tx.connection, login.strip().lower())

    async def remove(self, login: str) -> bool:
        """Disable the account: no password, no session. False when there is no such active account."""
        login = login.strip().lower()
        at = self.clock()
        async with self.storage.callback_transaction() as tx:
            found = await sql.get_mediator(tx.connection, login)
            if found is None or found.disabled_at is not None:
                return False
            await sql.update_mediator(tx.connection, login, {"password_hash": "", "disabled_at": at, "updated_at": at})
            await sql.delete_sessions_of(tx.connection, login)
            return True

    # ----- signing in and out -------------------------------------------------------------------------------
    async def sign_in(self, login_text: str, password: str, address: str) -> SignedIn | Denied:
        login = login_text.strip().lower()
        keys = {"login": _digest(f"login:{login}"), "address": _digest(f"ip:{address}")}
        at = self.clock()
        async with self.storage.callback_transaction() as tx:
            await sql.lock_failures(tx.connection)
            failures = await sql.count_failures(tx.connection, keys.values(), at - WINDOW)
            found = await sql.get_mediator(tx.connection, login) if LOGIN_PATTERN.fullmatch(login) else None
            limited = (
                failures.get(keys["login"], 0) >= MAX_LOGIN_FAILURES
                or failures.get(keys["address"], 0) >= MAX_ADDRESS_FAILURES
            )
            # Counted as a failure before the check, in the transaction that counted: guesses sent together
            # (each waiting for its hash) see each other, and cannot all pass the limit. Undone on success.
            attempt = [] if limited else await sql.add_failures(tx.connection, keys.values(), at)
        if limited:
            return Denied("limited")
        # Checked outside any transaction: SQLite's writers would wait for the hash otherwise.
        if found is None or not found.active:
            await adummy_password()
            ok = False
        else:
            ok = await averify_password(password, found.password_hash)
        at = self.clock()
        async with self.storage.callback_transaction() as tx:
            if not ok or found is None:
                await sql.delete_old_failures(tx.connection, at - WINDOW)
                return Denied("wrong")
            await sql.delete_failures(tx.connection, attempt)
            await sql.clear_failures(tx.connection, [keys["login"]])
            await sql.delete_stale_sessions(tx.connection, at - IDLE, at - ABSOLUTE)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            await sql.insert_session(tx.connection, _digest(token), login, csrf, at)
        return SignedIn(token, Mediator(login, found.name, found.queues, csrf, _digest(token)))

    async def session(self, token: str, *, take_flash: bool = False) -> Mediator | Literal["expired"] | None:
        """The mediator signed in with `token`; "expired" when the session timed out (it is deleted); None when
        there is no such session (or the account was removed). `take_flash`: the flash message is returned and
        cleared (a page shows it once)."""
        token_hash = _digest(token)
        at = self.clock()
        async with self.storage.callback_transaction() as tx:
            found = await sql.get_session(tx.connection, token_hash)
            if found is None:
                return None
            if found.last_seen_at <= at - IDLE or found.created_at <= at - ABSOLUTE:
                await sql.delete_session(tx.connection, token_hash)
                return "expired"
            mediator = await sql.get_mediator(tx.connection, found.login)
            if mediator is None or not mediator.active:
                await sql.delete_session(tx.connection, token_hash)
                return None
            values: dict[str, object] = {}
            if at - found.last_seen_at >= TOUCH_EVERY:
                values["last_seen_at"] = at
            flash = found.flash if take_flash else None
            if flash is not None:
                values["flash"] = None
            if values:
                await sql.update_session(tx.connection, token_hash, values)
        return Mediator(mediator.login, mediator.name, mediator.queues, found.csrf_token, token_hash, flash)

    async def flash(self, mediator: Mediator, kind: Literal["ok", "error"], text: str) -> None:
        """A message for the next page of the session (after a redirect)."""
        async with self.storage.callback_transaction() as tx:
            await sql.update_session(tx.connection, mediator.token_hash, {"flash": {"kind": kind, "text": text}})

    async def sign_out(self, token: str) -> None:
        async with self.storage.callback_transaction() as tx:
            await sql.delete_session(tx.connection, _digest(token))
