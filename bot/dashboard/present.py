"""What the dashboard's pages show, in French words: waiting times, their colour named in text (never colour
alone), the audit trail's actions. Pure: no aiohttp."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.callbacks.queues import Colour, Queue
from bot.callbacks.rules import OPEN, STATUS_LABELS
from bot.callbacks.view import RequestView
from bot.core.clock import PARIS
from bot.storage.records import CallbackEvent, CallbackRow

# The list's state filter: its values in the URL, and what they show.
STATE_FILTERS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "ouvertes": ("À traiter", tuple(sorted(OPEN))),  # waiting or taken: not closed yet
    **{status: (label, (status,)) for status, label in STATUS_LABELS.items()},
    "toutes": ("Toutes", None),
}
DEFAULT_STATE = "ouvertes"
COLOUR_WORDS: dict[Colour, str] = {"green": "dans les délais", "orange": "bientôt en retard", "red": "en retard"}
ACTION_LABELS = {
    "created": "Demande reçue",
    "claimed": "Prise en charge",
    "taken_over": "Reprise par un autre médiateur",
    "released": "Libérée",
    "done": "Appel fait",
    "unreachable": "Injoignable",
    "retry": "Remise en attente",
    "cancelled": "Annulée",
    "expired": "Annulée : délai de conservation dépassé",
    "note": "Note ajoutée",
    "reminded": "Rappel envoyé aux médiateurs",
    "scheduled": "Rappel programmé",
}
VIA_LABELS = {
    "telegram": "Telegram",
    "dashboard": "tableau de bord",
    "web": "chat web",
    "system": "automatique",
}


def duration(minutes: float) -> str:
    """12 -> "12 min", 185 -> "3 h 05", 3000 -> "2 j 2 h"."""
    total = max(0, int(minutes))
    if total < 60:
        return f"{total} min"
    hours, rest = divmod(total, 60)
    if hours < 24:
        return f"{hours} h {rest:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h" if hours else f"{days} j"


def full_time(moment: datetime | None) -> str:
    """ "23/11/2026 à 10:42" in Paris time."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if moment else ""


@dataclass(frozen=True, slots=True)
class Waiting:
    """How long an open request has waited, against its queue's target."""

    text: str  # "3 h 05"
    colour: Colour
    words: str  # "en retard"


def waiting(row: CallbackRow, queue: Queue, at: datetime) -> Waiting | None:
    """None for a closed request (nobody waits any more) or one without a creation time."""
    if row.status not in OPEN or row.created_at is None:
        return None
    colour = queue.waiting_colour(row.created_at, at)
    return Waiting(duration((at - row.created_at).total_seconds() / 60), colour, COLOUR_WORDS[colour])


@dataclass(frozen=True, slots=True)
class Agreed:
    """The call's time agreed with the person: "jeudi 10/12 à 14:00", and whether it has come (the clock passed
    it, or the mediators were reminded of it)."""

    text: str
    due: bool


def agreed(view: RequestView, at: datetime) -> Agreed | None:
    if view.agreed_at is None:
        return None
    return Agreed(view.agreed, view.agreed_reminded or at >= view.agreed_at)


@dataclass(frozen=True, slots=True)
class ListItem:
    view: RequestView
    created: str
    waiting: Waiting | None
    agreed: Agreed | None = None


@dataclass(frozen=True, slots=True)
class HistoryLine:
    when: str
    what: str
    who: str
    via: str
    note: str


def history_lines(events: list[CallbackEvent]) -> list[HistoryLine]:
    return [
        HistoryLine(
            full_time(e.at),
            e.note if e.action == "scheduled" and e.note else _action(e),  # « Rappel programmé le jeudi 10/12 … »
            e.actor_name or ("la personne" if e.actor == "person" else e.actor),
            VIA_LABELS.get(e.via, e.via),
            "" if e.action == "scheduled" else e.note or "",
        )
        for e in events
    ]


def _action(event: CallbackEvent) -> str:
    if event.action == "unreachable":
        return "Injoignable : à rappeler plus tard" if event.to_status == "new" else "Injoignable : demande close"
    return ACTION_LABELS.get(event.action, event.action)
