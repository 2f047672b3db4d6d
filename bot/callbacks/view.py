"""A callback request in plain French for the mediators (the Telegram group post, the dashboard): the answers as
the person saw them on the buttons, the persona's title, the places suggested, the state and who holds it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.callbacks import when as words
from bot.callbacks.queues import QueueSet
from bot.callbacks.rules import OUTCOMES, STATUS_LABELS
from bot.core.clock import PARIS
from bot.core.live import Current
from bot.core.slots import SLOT_TITLES, UNKNOWN
from bot.core.text import national
from bot.language.model import Flow
from bot.language.personas import Personas
from bot.storage.records import CallbackRow

CONTACT_LABELS = {"person": "la personne elle-même", "relative": "le proche qui a écrit"}
# Who the relative who wrote is to the person (the callback's « Et vous êtes, pour votre proche »), as a mediator
# reads it.
RELATION_LABELS = {
    "child": "son enfant",
    "partner": "son conjoint ou sa conjointe",
    "family": "de sa famille",
    "friend": "un ami ou un voisin",
    "pro": "un professionnel qui l'aide",
}
CHANNEL_LABELS = {"telegram": "Telegram", "web": "chat web"}
COORDINATES = re.compile(r"^-?\d+(?:\.\d+)?,\s*-?\d+(?:\.\d+)?$")


@dataclass(frozen=True, slots=True)
class RequestView:
    id: str
    short_id: str  # the first characters, to name it in a conversation ("demande 3fa2")
    queue: str
    queue_label: str
    status: str
    status_label: str
    first_name: str  # "" when not known
    phone: str  # national format ("06 12 34 56 78"), "" once erased
    tel: str  # the number as a link ("tel:+33612345678"), "" once erased
    moment: str
    contact: str  # who to call, when a relative wrote
    asked_by_relative: bool
    relation: str  # who the relative who wrote is to the person (« son enfant »), "" when not said
    call: str  # who to call in one phrase: « Rose, la personne elle-même », « le proche qui a écrit (son enfant) »
    commune: str  # of the place the person gave, "" when not known (never coordinates)
    channel: str  # « Telegram », « chat web »
    persona: str  # the persona's title, "" when not classified
    answers: tuple[tuple[str, str], ...]  # (heading, answer in words)
    places: tuple[str, ...]
    created_at: datetime | None
    due_at: datetime | None
    holder: str  # the mediator holding it, "" when nobody does
    attempts: int
    outcome: str
    note: str
    holder_id: str = ""  # "telegram:<user id>", "web:<login>"
    agreed_at: datetime | None = None  # the call's time agreed with the person, while the request is taken
    agreed: str = ""  # the same in words, in the queue's time zone: "jeudi 10/12 à 14:00"
    agreed_reminded: bool = False  # the mediators were reminded of it (it has come)


class Described(Protocol):
    """What describing a request takes from the coordinators' files."""

    @property
    def flow(self) -> Flow: ...

    @property
    def personas(self) -> Personas: ...

    @property
    def queues(self) -> QueueSet: ...


class Describer:
    def __init__(
        self, files: Current[Described], texts: Callable[[str], str], place_name: Callable[[str], str | None]
    ) -> None:
        """`files`: the files in force, read at each description (a reload may replace them)."""
        self.files = files
        self.texts = texts
        self.place_name = place_name
        self._labelled: Flow | None = None  # the flow the answers' labels below were read from
        self._labels: dict[str, dict[str, str]] = {}
        self._order: list[str] = []

    @property
    def flow(self) -> Flow:
        return self.files.current.flow

    @property
    def personas(self) -> Personas:
        return self.files.current.personas

    @property
    def queues(self) -> QueueSet:
        return self.files.current.queues

    def _read_labels(self) -> None:
        """The buttons' words for each slot's values, and the slots in the flow's order, read again after a reload."""
        flow = self.flow
        if flow is self._labelled:
            return
        labels: dict[str, dict[str, str]] = {}
        order: list[str] = []
        for step in flow.steps.values():
            if step.slot and step.slot not in labels:
                order.append(step.slot)
                labels[step.slot] = {c.value: c.label.pick(None) for c in step.choices}
        self._labels, self._order, self._labelled = labels, order, flow

    def choice_labels(self, slot: str) -> dict[str, str]:
        """The words on the buttons of a slot's question, by value, in the flow in force ({}: a slot not asked)."""
        self._read_labels()
        return dict(self._labels.get(slot, {}))

    def view(self, row: CallbackRow) -> RequestView:
        queue = self.queues.get(row.queue) or self.queues.default
        answers = dict(row.answers or {})
        offers = answers.pop("offers", [])
        persona = self.personas.personas.get(row.persona) if row.persona else None
        moment = self.texts(f"moment_{row.moment}") if row.moment else ""
        relative = answers.get("for_whom") == "relative"
        relation = RELATION_LABELS.get(row.relation or "", "")
        if row.commune or COORDINATES.match(str(answers.get("location", ""))):
            answers["location"] = row.commune or "position partagée"  # never the raw coordinates
        agreed = row.scheduled_at if row.status == "claimed" else None
        return RequestView(
            id=row.id,
            short_id=row.id[:4],
            queue=queue.name,
            queue_label=queue.label,
            status=row.status,
            status_label=STATUS_LABELS.get(row.status, row.status),
            first_name=row.first_name or "",
            phone=national(row.phone),
            tel=f"tel:{row.phone}" if row.phone else "",
            moment=moment,
            contact=CONTACT_LABELS.get(row.contact or "", ""),
            asked_by_relative=relative,
            relation=relation,
            call=who_to_call(row.first_name or "", row.contact, relative, relation),
            commune=row.commune or "",
            channel=CHANNEL_LABELS.get(row.channel or (row.conversation_key or "").partition(":")[0], ""),
            persona=persona.title if persona else "",
            answers=tuple(self._answers(answers)),
            places=tuple(name for name in (self.place_name(str(i)) for i in offers or []) if name),
            created_at=row.created_at,
            due_at=queue.due_at(row.created_at) if row.created_at else None,
            holder=row.claimed_name or "",
            attempts=row.attempts,
            outcome=OUTCOMES.get(row.outcome or "", ""),
            note=row.note or "",
            holder_id=row.claimed_by or "",
            agreed_at=agreed,
            agreed=words.short(agreed, words.zone_of(queue)) if agreed else "",
            agreed_reminded=bool(agreed and row.reminded_at and row.reminded_at >= agreed),
        )

    def _answers(self, answers: dict[str, object]) -> list[tuple[str, str]]:
        self._read_labels()
        slots = [s for s in self._order if s in answers] + sorted(set(answers) - set(self._order))
        found = []
        for slot in slots:
            value = answers[slot]
            values = value if isinstance(value, list) else [value]
            labels = self._labels.get(slot, {})
            words = [labels.get(str(v), str(v)) for v in values if v != UNKNOWN]
            if words:
                found.append((SLOT_TITLES.get(slot, slot), ", ".join(words)))
        return found


def local_time(moment: datetime | None) -> str:
    """ "23/11 à 10:42" in Paris time."""
    return moment.astimezone(PARIS).strftime("%d/%m à %H:%M") if moment else ""


def who_to_call(name: str, contact: str | None, relative: bool, relation: str) -> str:
    """« Rose, la personne elle-même », « Claire, le proche qui a écrit (son enfant) », « la personne elle-même,
    à la demande d'un proche (son enfant) »: whom the mediator calls, in one phrase."""
    if contact == "relative":
        who = "le proche qui a écrit" + (f" ({relation})" if relation else "")
    else:
        who = "la personne elle-même"
        if relative:
            who += ", à la demande d'un proche" + (f" ({relation})" if relation else "")
    return f"{name}, {who}" if name else who
