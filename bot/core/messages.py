"""Channel-neutral value types exchanged between channels and the engine."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal


class InboundKind(Enum):
    TEXT = "text"  # typed text, commands included ("/start")
    BUTTON = "button"  # one button pressed (a toggle on a several-choice question)
    CHOICES = "choices"  # a whole set of values for a several-choice question, confirmed
    LOCATION = "location"  # a shared position
    CONTACT = "contact"  # a shared phone number
    UNSUPPORTED = "unsupported"  # something the bot cannot read (voice, photo, sticker, an edited message…)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing the person did: typed, pressed, shared."""

    key: str  # the conversation key, e.g. "telegram:12345" or "terminal:ab12"
    kind: InboundKind
    text: str = ""
    values: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    # For a button: the question_token() of the state the button was shown in, when the channel knows it.
    # A press on an older question's button is then recognised, instead of being read as today's answer.
    context: str | None = None

    @classmethod
    def typed(cls, key: str, text: str) -> Inbound:
        return cls(key, InboundKind.TEXT, text=text)

    @classmethod
    def button(cls, key: str, value: str, context: str | None = None) -> Inbound:
        return cls(key, InboundKind.BUTTON, values=(value,), context=context)

    @classmethod
    def choices(cls, key: str, values: tuple[str, ...]) -> Inbound:
        return cls(key, InboundKind.CHOICES, values=values)

    @classmethod
    def location(cls, key: str, latitude: float, longitude: float) -> Inbound:
        return cls(key, InboundKind.LOCATION, latitude=latitude, longitude=longitude)

    @classmethod
    def contact(cls, key: str, phone: str) -> Inbound:
        return cls(key, InboundKind.CONTACT, text=phone)

    @classmethod
    def unsupported(cls, key: str) -> Inbound:
        return cls(key, InboundKind.UNSUPPORTED)


def question_token(state: str) -> str:
    """A short, opaque name for the question a conversation stands on, for buttons to carry (6 characters)."""
    return hashlib.blake2s(state.encode(), digest_size=3).hexdigest()


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    value: str
    selected: bool = False  # several-choice questions: currently ticked


@dataclass(frozen=True, slots=True)
class Offer:
    """A place offering help, as shown to the person."""

    id: str
    name: str
    distance_km: float | None
    services: tuple[str, ...]
    open_now: bool | None = None
    address: str = ""
    phone: str = ""
    latitude: float | None = None
    longitude: float | None = None
    reasons: tuple[str, ...] = ()  # why this place was chosen, in plain French ("ateliers en petit groupe")
    next_opening: str = ""  # "ouvert demain de 9 h à 12 h"; "" when the hours are unknown or malformed
    free: bool | None = None  # True free, False paid, None unknown
    help_with: tuple[str, ...] = ()  # what it helps with, in plain French for the person
    commune: str = ""  # its commune as people write it (« Villeurbanne »)
    approximate: bool = False  # placed at its commune's centre (published without a position): no distance said
    remote: bool = False  # helps without a trip: at a distance (phone, video) or an itinerant service
    hours: str = ""  # its opening hours as published (OpenStreetMap syntax), for a page listing the whole week
    postcode: str = ""


@dataclass(frozen=True, slots=True)
class PersonaResult:
    id: str
    confidence: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CallbackRef:
    id: str
    queue: str
    status: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot. A question's reply carries its buttons."""

    text: str
    buttons: tuple[Button, ...] = ()
    multi: bool = False
    # Ask the channel for a special input where it has one (Telegram's share buttons).
    request: Literal["location", "contact"] | None = None
    # True when this reply updates the previous question in place (toggles on a several-choice question).
    edit: bool = False
    offers: tuple[Offer, ...] = ()
    # The places gathered in one message (« Garder la liste »): the label of a link to their printable list, for a
    # channel with pages (the web chat); "" for any other reply.
    list_link: str = ""


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything the bot says in answer to one inbound, plus where the conversation now stands."""

    replies: tuple[Reply, ...]
    state: str
    slot: str | None
    multi: bool
    persona: PersonaResult | None = None
    offers: tuple[Offer, ...] = ()
    callback: CallbackRef | None = None
    done: bool = False
    buttons: tuple[Button, ...] = field(default=())
    forgotten: bool = False  # the person's data was erased in this turn (a page clears what it still shows)
