"""`python -m bot keys generate|rotate`: the keys of DATA_KEY (bot/storage/crypto.py).

Replacing a key (README « Données personnelles »): put the new key first in DATA_KEY, followed by the old one;
restart every process (new data is encrypted with the new key, old data still opens); run `keys rotate` (every
stored value encrypted again with the new key, phone digests recomputed); then remove the old key from DATA_KEY
and restart.
"""

from __future__ import annotations

import argparse
import json

from bot.config import Settings
from bot.storage import Storage
from bot.storage import privacy_queries as sql
from bot.storage.crypto import load_keyring

BATCH = 200  # rows per transaction: the bot keeps writing between two batches


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="the encryption keys of personal data (DATA_KEY)")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    actions.add_parser(
        "generate",
        help="print a new key for DATA_KEY",
        description="Print a new random key (Fernet) to put in DATA_KEY. Keep it secret, and with the backups: "
        "without it the stored phone numbers cannot be read.",
    )
    rotate = actions.add_parser(
        "rotate",
        help="encrypt every stored personal value again with the first key of DATA_KEY",
        description="Encrypt every stored phone number, first name and note again with the first key of DATA_KEY "
        "(and recompute the phone digests), so the other keys can then be removed. Run it once every process "
        "runs with the new key first.",
    )
    rotate.add_argument("--json", action="store_true", help="the counts, as one JSON object")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """`keys rotate` (`keys generate` is answered by the command line before any setting is read)."""
    keyring = load_keyring(settings)
    storage = await Storage.open(settings.database_url, keyring=keyring)
    try:
        requests, notes = await rotate(storage)
    finally:
        await storage.close()
    if args.json:
        print(json.dumps({"callbacks": requests, "notes": notes, "keys": keyring.size}))
    else:
        print(f"{requests} callback request(s) and {notes} note(s) of their history encrypted with the first key")
        if keyring.size > 1:
            print("the other keys of DATA_KEY can now be removed (then restart)")
    return 0


async def rotate(storage: Storage, batch: int = BATCH) -> tuple[int, int]:
    """Every sealed value of `storage` encrypted again with its keyring's first key, in short transactions;
    returns (requests, notes) rewritten."""
    requests = notes = 0
    last_request: str | None = ""
    while last_request is not None:
        async with storage.callback_transaction() as tx:
            last_request, done = await sql.reseal_callbacks(tx, last_request, batch)
        requests += done
    last_note: int | None = 0
    while last_note is not None:
        async with storage.callback_transaction() as tx:
            last_note, done = await sql.reseal_event_notes(tx, last_note, batch)
        notes += done
    return requests, notes
