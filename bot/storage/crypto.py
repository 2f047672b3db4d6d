"""Personal data at rest: the phone numbers, first names and mediators' notes of callback requests are stored
encrypted (Fernet: AES-128-CBC + HMAC-SHA256), and phone numbers are findable only through a keyed digest.

`DATA_KEY` holds one or more Fernet keys separated by commas: the first encrypts, every one decrypts, so a key is
replaced without downtime (README « Données personnelles »: new key first, restart, `python -m bot keys rotate`,
then drop the old one). Unset, a SQLite database gets a key generated into a file beside it (`passerelle.key`
beside `passerelle.db`, mode 0600) with a warning; PostgreSQL refuses to start, since every process of a
deployment must hold the same key.

The keyring is built once at start-up (`load_keyring`) and handed to `Storage.open`; storage seals values when it
writes them and opens them when it reads, so the rest of the bot sees plain text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings, data_keys
from bot.core.errors import ConfigError, StorageError

log = logging.getLogger(__name__)

TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80 and the high bytes of its timestamp)
KEY_FILE_SUFFIX = ".key"
_DIGEST_INFO = b"passerelle phone digest v1"  # HKDF context: the digest key is never the encryption key itself


class UnreadableData(StorageError):
    """A stored value that this keyring cannot open: encrypted with a key DATA_KEY no longer lists, or (with no
    key at all) encrypted when the process has none."""


class Keyring:
    """The keys of DATA_KEY. An empty keyring (`Keyring.none()`) stores values as given: only for tests and tools
    that never write personal data; every entry point that does (`run`, `purge`, `keys`) builds a real one."""

    __slots__ = ("_digest_keys", "_fernet")

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys]) if keys else None
        self._digest_keys = tuple(_digest_key(k) for k in keys)

    @classmethod
    def from_text(cls, text: str, source: str = "DATA_KEY") -> Keyring:
        """Raises ConfigError naming `source` when a part is not a Fernet key."""
        return cls(data_keys(text, source))

    @classmethod
    def none(cls) -> Keyring:
        return cls(())

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode("ascii")

    @property
    def encrypts(self) -> bool:
        return self._fernet is not None

    @property
    def size(self) -> int:
        return len(self._digest_keys)

    def __repr__(self) -> str:  # never the keys
        return f"Keyring({self.size} key{'s' if self.size != 1 else ''})"

    def seal(self, text: str | None) -> str | None:
        """The value as stored: encrypted with the first key (None stays None)."""
        if text is None or self._fernet is None:
            return text
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        """The value as written (None stays None). Raises UnreadableData when no key of the ring opens it."""
        if stored is None:
            return None
        if self._fernet is None:
            if stored.startswith(TOKEN_PREFIX):
                raise UnreadableData("personal data is encrypted in the database, and this process has no DATA_KEY")
            return stored
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise UnreadableData(
                "personal data in the database cannot be decrypted with the keys of DATA_KEY: a key still in use was "
                "removed (keep it after the new one until `python -m bot keys rotate` has run)"
            ) from None

    def reseal(self, stored: str | None) -> str | None:
        """The value encrypted again with the first key (rotation)."""
        return self.seal(self.open(stored))

    def seal_conversation(self, data: dict[str, Any]) -> dict[str, Any]:
        """A conversation's data as stored: the phone number typed for a callback request not yet complete (kept
        between the phone question and the next ones) encrypted like the request's own."""
        draft = data.get("callback_draft")
        if self._fernet is None or not isinstance(draft, dict) or not isinstance(draft.get("phone"), str):
            return data
        return {**data, "callback_draft": {**draft, "phone": self.seal(draft["phone"])}}

    def open_conversation(self, data: dict[str, Any]) -> dict[str, Any]:
        """A conversation's data as stored, its draft phone number decrypted. One no key opens any more (a key
        dropped while a request was half-way) is left out: the person is asked for it again, nothing breaks."""
        draft = data.get("callback_draft")
        if not isinstance(draft, dict):
            return data
        phone = draft.get("phone")
        if not isinstance(phone, str) or not phone.startswith(TOKEN_PREFIX):
            return data
        try:
            return {**data, "callback_draft": {**draft, "phone": self.open(phone)}}
        except UnreadableData:
            log.warning("a callback request's draft phone number no longer decrypts (key dropped): it is asked again")
            return {**data, "callback_draft": {k: v for k, v in draft.items() if k != "phone"}}

    def phone_digest(self, phone: str | None) -> str | None:
        """The keyed digest stored beside a phone number (E.164), to find it without decrypting every row; None
        without a key."""
        if phone is None or not self._digest_keys:
            return None
        return _hmac(self._digest_keys[0], phone)

    def phone_digests(self, phone: str) -> list[str]:
        """The digests of `phone` under every key: while a rotation is under way, rows carry either."""
        return [_hmac(key, phone) for key in self._digest_keys]


def _digest_key(fernet_key: bytes) -> bytes:
    raw = base64.urlsafe_b64decode(fernet_key)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DIGEST_INFO).derive(raw)


def _hmac(key: bytes, phone: str) -> str:
    return hmac.new(key, phone.encode("utf-8"), hashlib.sha256).hexdigest()


def load_keyring(settings: Settings) -> Keyring:
    """The keyring of this deployment: DATA_KEY; else, on a SQLite file, the key file beside it (generated the first
    time), with a warning; an in-memory SQLite database gets a key of its own (nothing outlives the process).
    Raises ConfigError on PostgreSQL without DATA_KEY, or when the key file cannot be used."""
    if settings.data_key is not None:
        return Keyring.from_text(settings.data_key)
    try:
        url = make_url(settings.database_url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not usable: {exc}") from None
    if url.get_backend_name() != "sqlite":
        raise ConfigError(
            "DATA_KEY is required with a database server (DATABASE_URL is not SQLite): every process must encrypt "
            "personal data with the same key. Make one with `python -m bot keys generate` and set DATA_KEY to it "
            "in the environment of every process"
        )
    if not url.database or url.database == ":memory:":
        return Keyring([Keyring.new_key().encode("ascii")])
    path = key_file_for(Path(url.database))
    created = _create_key_file(path)
    log.warning(
        "DATA_KEY is not set: personal data is encrypted with the key %s %s; production should set DATA_KEY "
        "(README « Données personnelles »); keep a copy of that file apart from the database's backups",
        "generated into" if created else "kept in",
        path,
    )
    return _read_key_file(path)


def key_file_for(database: Path) -> Path:
    """passerelle.db -> passerelle.key, in the same folder."""
    return database.with_suffix(KEY_FILE_SUFFIX) if database.suffix else database.with_name(database.name + ".key")


def _create_key_file(path: Path) -> bool:
    """Write a new key to `path`, readable by this user only, unless it exists; True when written. Two processes
    starting together end up with the same key: the file appears complete or not at all (hard link of a
    finished temporary file), and the loser reads the winner's."""
    if path.exists():
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".key-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(Keyring.new_key() + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.link(temporary, path)
        finally:
            os.unlink(temporary)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(
            f"DATA_KEY is not set and the key file {path} cannot be written ({exc.strerror}): set DATA_KEY "
            "(`python -m bot keys generate` makes a key)"
        ) from None
    return True


def _read_key_file(path: Path) -> Keyring:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise ConfigError(f"DATA_KEY is not set and the key file {path} cannot be read ({reason})") from None
    return Keyring.from_text(text, f"the key file {path} (used because DATA_KEY is not set)")
