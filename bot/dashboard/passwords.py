"""Mediators' passwords: scrypt (memory-hard, in the standard library), stored as a self-describing string
`scrypt$n$r$p$salt$hash` (salt and hash in URL-safe base64) so the cost can be raised later without breaking
the stored ones. Hashing takes ~50 ms of CPU: callers in the event loop use the `a…` versions (a thread)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # 16 MiB of memory per hash
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 12
MAX_LENGTH = 1024  # a password is a phrase, not a file: bounds the work one sign-in can ask for
MAX_N = 2**20  # refuses stored parameters that would make verifying a denial of service
MAX_MEMORY = 256 * 1024 * 1024


class PasswordError(ValueError):
    """A password refused when an account is created (too short, too long)."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"the password must be at most {MAX_LENGTH} characters long")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=length)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P, HASH_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`, compared in constant time. A malformed or empty `stored` (a disabled
    account) never matches, after the same work as a real check."""
    try:
        scheme, n_text, r_text, p_text, salt_text, hash_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _unb64(salt_text), _unb64(hash_text)
        if scheme != SCHEME or not (1 < n <= MAX_N and 0 < r <= 32 and 0 < p <= 16) or not expected:
            raise ValueError(scheme)
    except ValueError:
        dummy_password()
        return False
    if len(password) > MAX_LENGTH:
        dummy_password()
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def dummy_password() -> None:
    """The work of one check, for a sign-in with an unknown login: its answer takes as long as a wrong password's."""
    _scrypt("", b"\0" * SALT_BYTES, N, R, P, HASH_BYTES)


async def ahash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def averify_password(password: str, stored: str) -> bool:
    return await asyncio.to_thread(verify_password, password, stored)


async def adummy_password() -> None:
    await asyncio.to_thread(dummy_password)
