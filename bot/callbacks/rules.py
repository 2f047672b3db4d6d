"""The lifecycle rules of a callback request, pure: its states and outcomes in words, who acts, what each action
does to a request (`plan`) or why it is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.callbacks import when as words
from bot.callbacks.queues import Queue
from bot.core.errors import BotError
from bot.storage.records import CallbackEvent, CallbackRow

STATUSES = ("new", "claimed", "done", "unreachable", "cancelled")
OPEN = frozenset({"new", "claimed"})
STATUS_LABELS = {
    "new": "En attente",
    "claimed": "Prise en charge",
    "done": "Appel fait",
    "unreachable": "Injoignable",
    "cancelled": "Annulée",
}
# How a call that reached the person ended (recorded with "Appel fait"), for the activity reports.
OUTCOMES = {
    "helped": "Aidé au téléphone",
    "oriented": "Orienté vers un lieu",
    "appointment": "Rendez-vous pris",
    "no_need": "Plus besoin d'aide",
    "other": "Autre",
}
DEFAULT_OUTCOME = "helped"
MAX_NOTE = 2000  # characters kept from a mediator's note


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a mediator (`telegram:<user id>`, `web:<login>`), the person, or the system."""

    id: str
    name: str
    via: str  # telegram, dashboard, web, system


PERSON_VIA = {"telegram": "telegram", "web": "web"}  # a conversation key's channel -> the event's `via`


def person(conversation_key: str) -> Actor:
    return Actor("person", "la personne", PERSON_VIA.get(conversation_key.partition(":")[0], "system"))


class Refused(BotError):
    """A mediator's action that does not apply (taken by someone else, closed…); `message` is French, for them."""

    MESSAGES = {  # noqa: RUF012 - a constant table
        "not_found": "Cette demande n'existe pas (ou plus).",
        "not_allowed": "Cette demande ne relève pas de vos files.",
        "taken": "Déjà prise en charge par {name}.",
        "not_holder": "Cette demande est suivie par {name} : c'est à cette personne d'agir.",
        "not_claimed": "Cette demande n'est pas encore prise en charge : appuyez d'abord sur « Je m'en occupe ».",
        "confirm_take_over": "Rien n'a changé : cochez la case pour confirmer que vous reprenez cette demande.",
        "closed": "Cette demande est close ({status}).",
        "bad_outcome": "Résultat d'appel inconnu.",
        "empty_note": "La note est vide.",
        "erased": "La personne a effacé ses données : rien ne peut plus être noté sur cette demande.",
        "no_time": "Indiquez la date et l'heure convenues avec la personne (par exemple 10/12/2026 et 14:00).",
        "past": "Ce moment est déjà passé : indiquez une date et une heure à venir.",
        "too_far": "C'est trop loin : un rappel se programme au plus {days} jours à l'avance.",
        "off_hours": "Le {moment} est en dehors des horaires de l'équipe ({hours}) : choisissez un moment où elle "
        "travaille.",
    }

    def __init__(self, code: str, **values: str) -> None:
        self.code = code
        self.message = self.MESSAGES[code].format(**values)
        super().__init__(self.message)


Action = Literal["claim", "take_over", "release", "done", "unreachable", "note", "schedule"]
ACTIONS: tuple[Action, ...] = ("claim", "take_over", "release", "done", "unreachable", "note", "schedule")


@dataclass(frozen=True, slots=True)
class Plan:
    """What an action does to a request: the new column values, the audit event, what to tell the person."""

    values: dict[str, Any]
    event: CallbackEvent
    tell: str | None = None  # message key for the person


def plan(
    row: CallbackRow,
    action: Action,
    actor: Actor,
    queue: Queue,
    at: datetime,
    *,
    outcome: str | None,
    note: str | None,
    when: datetime | None = None,
) -> Plan | None:
    """The lifecycle rules (pure). None: nothing to do (the holder claiming again). Raises Refused.

    new --claim--> claimed (anyone); claimed --release--> new, --done--> done, --unreachable--> new (another try)
    or unreachable (the queue's last one), --schedule--> claimed with the time agreed with the person: all by
    its holder only; claimed --take_over--> claimed by another mediator (who confirmed it: the holder is away),
    the agreed time kept. Leaving `claimed` forgets the agreed time. Closed requests (done, unreachable, cancelled)
    take notes only; a note needs no claim."""
    holder = row.claimed_name or "une autre personne"
    if action == "note":
        if not note:
            raise Refused("empty_note")
        if row.conversation_key is None:  # erased by /oublier: a note would bring personal data back, for good
            raise Refused("erased")
        return Plan({"note": note, "updated_at": at}, _event(row, "note", row.status, actor, at, note))
    if row.status not in OPEN:
        raise Refused("closed", status=STATUS_LABELS[row.status].lower())
    mine = row.claimed_by == actor.id
    if action == "claim":
        if row.status == "claimed":
            if mine:
                return None
            raise Refused("taken", name=holder)
        values = {"status": "claimed", "claimed_by": actor.id, "claimed_name": actor.name, "claimed_at": at}
        return Plan(
            {**values, "updated_at": at}, _event(row, "claimed", "claimed", actor, at, note), "callback_claimed"
        )
    if action == "take_over":
        if row.status != "claimed":
            raise Refused("not_claimed")
        if mine:
            return None
        values = {"claimed_by": actor.id, "claimed_name": actor.name, "claimed_at": at, "updated_at": at}
        return Plan(values, _event(row, "taken_over", "claimed", actor, at, f"Reprise à {holder}"))
    if row.status == "claimed" and not mine:
        raise Refused("not_holder", name=holder)
    if row.status != "claimed":  # « Appel fait », « Injoignable », « Libérer »: only once someone has it in hand
        raise Refused("not_claimed")
    if action == "schedule":
        return _schedule(row, actor, queue, at, when)
    if action == "release":
        values = {"status": "new", "claimed_by": None, "claimed_name": None, "claimed_at": None, "updated_at": at}
        return Plan(values | {"scheduled_at": None}, _event(row, "released", "new", actor, at, note))
    if action == "done":
        outcome = outcome or DEFAULT_OUTCOME
        if outcome not in OUTCOMES:
            raise Refused("bad_outcome")
        values = {"status": "done", "outcome": outcome, "resolved_at": at, "updated_at": at, "scheduled_at": None}
        if note:
            values["note"] = note
        return Plan(values, _event(row, "done", "done", actor, at, note, outcome), "callback_call_done")
    # unreachable: try again later (anyone), until the queue's limit
    attempts = row.attempts + 1
    final = attempts >= queue.max_attempts
    values = {"attempts": attempts, "updated_at": at, "scheduled_at": None}
    if note:
        values["note"] = note
    if final:
        values |= {"status": "unreachable", "outcome": "unreachable", "resolved_at": at}
    else:
        values |= {"status": "new", "claimed_by": None, "claimed_name": None, "claimed_at": None}
    event = _event(row, "unreachable", "unreachable" if final else "new", actor, at, note)
    return Plan(values, event, "callback_gave_up" if final else "callback_retry")


def _schedule(row: CallbackRow, actor: Actor, queue: Queue, at: datetime, when: datetime | None) -> Plan:
    """« Rappeler le … à … »: a moment to come (within MAX_AHEAD), in the queue's working time; it replaces an
    earlier one. A naive `when` is a wall-clock time in the queue's time zone."""
    zone = words.zone_of(queue)
    if when is not None and when.tzinfo is None:
        when = words.localize(when, zone)
    if when is None:
        raise Refused("no_time")
    if when <= at:
        raise Refused("past")
    if when > at + words.MAX_AHEAD:
        raise Refused("too_far", days=str(words.MAX_AHEAD.days))
    if not queue.is_working_time(when):
        raise Refused("off_hours", moment=words.short(when, zone), hours=words.hours_words(queue.hours))
    text = f"Rappel programmé le {words.short(when, zone)}"
    event = CallbackEvent(row.id, at, "scheduled", row.status, row.status, actor.id, actor.name, actor.via, text)
    return Plan({"scheduled_at": when, "updated_at": at}, event, "callback_scheduled")


def _event(
    row: CallbackRow, action: str, to: str, actor: Actor, at: datetime, note: str | None, outcome: str | None = None
) -> CallbackEvent:
    text = f"{OUTCOMES[outcome]}. {note}" if outcome and note else (OUTCOMES[outcome] if outcome else note)
    return CallbackEvent(row.id, at, action, row.status, to, actor.id, actor.name, actor.via, text)
