"""Retention: personal data kept only as long as it serves (README « Données personnelles »).

What goes, and when:
- conversations (answers, dialogue context) not touched for RETENTION_CONVERSATIONS_DAYS (180): deleted;
- web-chat conversations saved only when the page first opened, a day later: deleted (nobody answered anything);
- callback requests, RETENTION_CALLBACKS_DAYS (90) after they were made: phone number, its digest, first name,
  notes (their history's too), answers, who to call and the link to the conversation erased; queue, profile, state,
  result and times stay, anonymous, for the activity reports. A request still open by then is cancelled first,
  with an "expired" event by the system;
- answers not understood kept for the coordinators (masked, unlinked from their conversation), after the
  conversations' period: deleted;
- handled Telegram updates after 7 days (kept that long to recognise Telegram's repeats), web notices never
  fetched after the conversation period, expired dashboard sessions, failed sign-ins past their counting window.

`python -m bot purge` applies it now; the running process (`bot/app/server.py`) every hour, one process at a time
(the run is claimed in `scheduled_runs`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.channels.web.notices import KEY_PREFIX as WEB_KEY_PREFIX
from bot.channels.web.notices import WEB_CHANNEL
from bot.config import Settings
from bot.core.clock import now
from bot.core.tasks import Job
from bot.dashboard.accounts import ABSOLUTE, IDLE, WINDOW
from bot.storage import Storage
from bot.storage import callback_queries as callback_sql
from bot.storage import mediator_queries as mediator_sql
from bot.storage import privacy_queries as sql
from bot.storage.crypto import load_keyring
from bot.storage.feedback_queries import delete_old_feedback

log = logging.getLogger(__name__)

EVERY = 3600.0  # seconds between two scheduled purges
JOB = "purge"
HANDLED_UPDATES_KEPT = timedelta(days=7)  # Telegram repeats an update for at most a day: a week is plenty
UNANSWERED_WEB_CHAT_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Retention:
    conversations: timedelta
    callbacks: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            timedelta(days=settings.retention_conversations_days), timedelta(days=settings.retention_callbacks_days)
        )


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """What one purge removed, by kind (the keys of `purge --json`)."""

    conversations: int = 0
    unanswered_web_chats: int = 0
    callbacks_erased: int = 0
    callbacks_expired: int = 0  # among the erased: still open, cancelled
    inbox: int = 0
    web_notices: int = 0
    dashboard_sessions: int = 0
    login_attempts: int = 0
    misunderstood: int = 0
    feedback: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


LABELS = {
    "conversations": "conversations idle past the retention period, deleted",
    "unanswered_web_chats": "web chats opened a day ago or more without an answer, deleted",
    "callbacks_erased": "callback requests past the retention period, personal fields erased",
    "callbacks_expired": "  of which still open, cancelled",
    "inbox": "handled Telegram updates older than 7 days, deleted",
    "web_notices": "web-chat notices never fetched, deleted",
    "dashboard_sessions": "expired dashboard sessions, deleted",
    "login_attempts": "failed sign-ins past their counting window, deleted",
    "misunderstood": "answers not understood (masked) past the conversations' period, deleted",
    "feedback": "answers to the last question (anonymous) past the conversations' period, deleted",
}


async def purge(
    storage: Storage, retention: Retention, at: datetime, *, every: float | None = None
) -> PurgeCounts | None:
    """Apply the retention periods as of `at`, in one transaction. `every`: a scheduled run, done only when no
    process did one in the last half of that many seconds (None otherwise); None: now, whatever was done before."""
    async with storage.callback_transaction() as tx:
        if every is not None and not await callback_sql.claim_run(tx, JOB, at, at - timedelta(seconds=every / 2)):
            return None
        erased, expired = await sql.expire_callbacks(tx, at - retention.callbacks, at)
        counts = PurgeCounts(
            conversations=await sql.delete_idle_conversations(tx, at - retention.conversations),
            unanswered_web_chats=await sql.delete_unanswered(tx, WEB_KEY_PREFIX, at - UNANSWERED_WEB_CHAT_KEPT),
            callbacks_erased=erased,
            callbacks_expired=expired,
            inbox=await sql.delete_handled_updates(tx, at - HANDLED_UPDATES_KEPT),
            web_notices=await sql.delete_unsent(tx, WEB_CHANNEL, at - retention.conversations),
            dashboard_sessions=await mediator_sql.delete_stale_sessions(tx.connection, at - IDLE, at - ABSOLUTE),
            login_attempts=await mediator_sql.delete_old_failures(tx.connection, at - WINDOW),
            misunderstood=await sql.delete_old_misunderstood(tx, at - retention.conversations),
            feedback=await delete_old_feedback(tx, (at - retention.conversations).date()),
        )
    if any(counts.as_dict().values()):
        log.info("purge: %s", ", ".join(f"{kind} {n}" for kind, n in counts.as_dict().items() if n))
    return counts


class PurgeJob(Job):
    """The purge of the running process, while `async with job:` lasts: at start, then every `every` seconds; a
    failed run is logged and the next one comes as planned (the process carries on)."""

    job_name = "purge"

    def __init__(self, storage: Storage, retention: Retention, *, every: float = EVERY) -> None:
        self.storage = storage
        self.retention = retention
        self.every = every

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await purge(self.storage, self.retention, now(), every=self.every)
            except Exception:
                log.exception("scheduled purge failed; trying again in %.0f s", self.every)
            with contextlib.suppress(TimeoutError):  # the interval passed without a stop
                await asyncio.wait_for(stop.wait(), self.every)


# ----- python -m bot purge ----------------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = sub.add_parser(
        "purge",
        help="apply the retention periods now (RETENTION_CONVERSATIONS_DAYS, RETENTION_CALLBACKS_DAYS)",
        description="Delete or erase now what is past its retention period: idle conversations, the personal "
        "fields of old callback requests (open ones are cancelled), answers not understood kept for the "
        "coordinators, handled updates, expired sessions. The "
        "running bot does the same every hour.",
    )
    command.add_argument("--json", action="store_true", help="the counts by kind, as one JSON object")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    storage = await Storage.open(settings.database_url, keyring=load_keyring(settings))
    try:
        counts = await purge(storage, Retention.from_settings(settings), now())
    finally:
        await storage.close()
    assert counts is not None  # not a scheduled run: always done
    if args.json:
        print(json.dumps(counts.as_dict()))
    else:
        for kind, count in counts.as_dict().items():
            print(f"{count:>6}  {LABELS[kind]}")
    return 0
