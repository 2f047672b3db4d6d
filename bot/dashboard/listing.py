"""The list of requests (`GET /mediateurs/`): its filters read from the URL, one page of what they pick, and
the small state an open list polls (`GET /mediateurs/etat.json`) to know when to refresh itself. Pure but for
the desk's queries; no aiohttp.

Filters (all in the URL, so a filtered list can be bookmarked and works without JavaScript):
    file=Q         one of my queues (default: all of mine)
    etat=S         mes (held by me, open) | ouvertes (default) | new | claimed | done | unreachable | cancelled | toutes
    commune=C      requests from that commune
    du=, au=       made on those days (YYYY-MM-DD, Paris days, both included)
    page=N         100 per page, oldest first; the last page when N is beyond it
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from bot.callbacks.desk import CallbackDesk
from bot.callbacks.rules import OPEN
from bot.core.clock import PARIS
from bot.dashboard.present import DEFAULT_STATE, STATE_FILTERS
from bot.storage.records import CallbackRow, Listed

PAGE_SIZE = 100
MAX_PAGE_DIGITS = 6
MINE = "mes"  # the state filter « Mes demandes »: open and held by the signed-in mediator
STATES: dict[str, str] = {MINE: "Mes demandes", **{value: label for value, (label, _) in STATE_FILTERS.items()}}
MAX_COMMUNE = 128


@dataclass(frozen=True, slots=True)
class Filters:
    """What the list's URL asks for, checked: anything unknown falls back to the default, never an error."""

    queue: str  # "" for all of mine
    state: str
    commune: str
    since: date | None
    until: date | None
    page: int

    def query(self, page: int | None = None) -> str:
        """The URL's query for these filters (another page: `page`), without the defaults."""
        fields = {
            "file": self.queue,
            "etat": "" if self.state == DEFAULT_STATE else self.state,
            "commune": self.commune,
            "du": self.since.isoformat() if self.since else "",
            "au": self.until.isoformat() if self.until else "",
            "page": str(page or self.page) if (page or self.page) > 1 else "",
        }
        return urlencode({name: value for name, value in fields.items() if value})

    @property
    def narrowed(self) -> bool:
        """More than the default list: a commune or days chosen (the page says so, with a way back)."""
        return bool(self.commune or self.since or self.until)


def read_filters(query: Mapping[str, str], queues: tuple[str, ...]) -> Filters:
    chosen = query.get("file", "")
    state = query.get("etat", DEFAULT_STATE)
    number = query.get("page", "")
    # ASCII digits only ("²" is a digit to str.isdigit), and few of them: an offset the database can take.
    page = int(number) if number.isascii() and number.isdigit() and len(number) <= MAX_PAGE_DIGITS else 1
    since, until = _day(query.get("du", "")), _day(query.get("au", ""))
    if since and until and until < since:
        since, until = until, since
    return Filters(
        queue=chosen if chosen in queues else "",
        state=state if state in STATES else DEFAULT_STATE,
        commune=" ".join(query.get("commune", "").split())[:MAX_COMMUNE],
        since=since,
        until=until,
        page=max(page, 1),
    )


def listed(filters: Filters, queues: tuple[str, ...], mediator: str) -> Listed:
    """The query for these filters, within the mediator's queues."""
    mine = filters.state == MINE
    statuses = tuple(sorted(OPEN)) if mine else STATE_FILTERS[filters.state][1]
    return Listed(
        queues=(filters.queue,) if filters.queue else queues,
        statuses=statuses,
        holder=mediator if mine else None,
        commune=filters.commune or None,
        since=_start(filters.since) if filters.since else None,
        until=_start(filters.until + timedelta(days=1)) if filters.until else None,
    )


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[CallbackRow]
    total: int  # requests the filters pick, on every page
    number: int  # this page's, from 1 (the last one when asked beyond it)
    pages: int  # how many pages (at least 1)

    @property
    def first_index(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.rows else 0


async def one_page(desk: CallbackDesk, asked: Listed, number: int) -> Page:
    rows, total = await desk.page(asked, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if number > pages:  # an old link, or a typed number beyond the end: the last page
        number = pages
        rows, total = await desk.page(asked, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    return Page(rows, total, number, pages)


async def live_state(desk: CallbackDesk, queues: tuple[str, ...]) -> dict[str, object]:
    """What an open list polls: a version that changes whenever a request of these queues is made or changes,
    and how many wait for someone (the page's title shows it)."""
    count, latest = await desk.last_change(queues)
    waiting = sum(n for (_queue, status), n in (await desk.counts(queues)).items() if status == "new")
    return {"version": f"{count}-{latest.isoformat() if latest else ''}", "waiting": waiting}


def _day(text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if date(2000, 1, 1) <= day <= date(2999, 12, 30) else None


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), PARIS)
