"""What a sub-dialogue decides: small values the dialogue applies, in order, in one place.

A sub-dialogue (the callback request, the places, privacy) reads a snapshot of the turn and returns a list of
these; it never changes the conversation nor speaks itself. Applied in the order given, they do exactly what the
sub-dialogue would have done by hand: a flow move (`Enter`, `Next`, `Store`, `Reprompt`) comes last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.core.messages import Offer, PersonaResult, Reply
from bot.core.slots import SlotValue
from bot.engine.conversation import CallbackDraft, Consent, Guess, Interruption, Notice
from bot.language.model import Choice, Step, Wording
from bot.places.offers import ResolvedLocation
from bot.storage import NewCallback

Shared = Literal["location", "contact"] | None  # what a question's keyboard asks the person to share


# ----- what is said ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Say:
    """A text of the flow (a message key or a wording), rendered for this person."""

    message: str | Wording
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Send:
    """A reply the sub-dialogue composed itself (a place, what is stored about the person)."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class Ask:
    """A question of the sub-dialogue's own, with its buttons (value, label) and what the keyboard may share."""

    text: Wording
    options: tuple[tuple[str, str], ...]
    request: Shared = None


@dataclass(frozen=True, slots=True)
class Missed:
    """Not understood: a kind rephrasing and the question again (a human offered after a few misses)."""

    message: str | Wording = "not_understood"


@dataclass(frozen=True, slots=True)
class Prompt:
    """The current question again, with nothing before it (`edit`: in place of the message showing it)."""

    edit: bool = False


# ----- where the conversation goes ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Move:
    """Stand on `state` (a flow step or a sub-state) without saying anything."""

    state: str


@dataclass(frozen=True, slots=True)
class Enter:
    """Go through the flow from `step` until something is asked."""

    step: str


@dataclass(frozen=True, slots=True)
class Next:
    """Go on after `step`: where the menu `choice` leads, else by the step's `next` rules."""

    step: Step
    choice: Choice | None = None


@dataclass(frozen=True, slots=True)
class Store:
    """`value` answers `step`: kept in its slot, then on to the next step. `volunteered`: answers the same
    message gave to later questions (kept too, said back in one sentence, and those questions skipped)."""

    step: Step
    value: SlotValue
    volunteered: Mapping[str, SlotValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reprompt:
    """Back to the question the conversation stands on (the first one if it stands on none)."""


@dataclass(frozen=True, slots=True)
class Restart:
    """From the first step again, forgetting the answers (not what the person was told and agreed to)."""

    announce: bool


@dataclass(frozen=True, slots=True)
class Interrupt:
    """An interruption begins (talk to a human, forget me): on top of the conversation's stack."""

    frame: Interruption


@dataclass(frozen=True, slots=True)
class Resume:
    """The latest interruption of this kind is over; the outcomes after it say where the conversation goes."""

    kind: type[Interruption]


# ----- what the conversation keeps ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Toggled:
    """The buttons ticked so far on a several-choice question."""

    pending: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Guessed:
    """A typed answer read with doubt, waiting for « oui » (None: the doubt is settled)."""

    guess: Guess | None


@dataclass(frozen=True, slots=True)
class Unclear:
    """A typed answer not understood, or a guess the person refused: kept for the coordinators, masked and
    without any link to the conversation."""

    question: str  # the step id, or a sub-dialogue's phase (`rappel.who`)
    text: str  # already masked (bot.understanding.masking): it is stored as given
    kind: Literal["not_understood", "refused"]


@dataclass(frozen=True, slots=True)
class Rated:
    """The last question answered (« Est-ce que cette conversation vous a été utile ? »): a rating, or the optional
    word after it (already masked), kept for the coordinators with nothing that identifies the person."""

    rating: str | None
    word: str | None


@dataclass(frozen=True, slots=True)
class Draft:
    """The callback request being asked for, as it stands (None: dropped, nothing kept)."""

    draft: CallbackDraft | None


@dataclass(frozen=True, slots=True)
class RecordCallback:
    """The callback request is complete: staged with the turn's writes, its consent kept for /mesdonnees."""

    request: NewCallback
    consent: Consent


@dataclass(frozen=True, slots=True)
class Accept:
    """The person goes on after reading the privacy notice: their acceptance is recorded (once)."""


@dataclass(frozen=True, slots=True)
class Informed:
    """The privacy notice joins this turn's replies (which become `replies`), as shown now."""

    replies: tuple[Reply, ...]
    notice: Notice


@dataclass(frozen=True, slots=True)
class CancelCallbacks:
    """Cancel the person's open callback requests, in the turn's transaction."""


@dataclass(frozen=True, slots=True)
class Forget:
    """Erase the conversation and the personal fields of its callback requests, in the turn's transaction."""


@dataclass(frozen=True, slots=True)
class Choices:
    """Homonyms offered for the place typed, to pick one by department."""

    locations: tuple[ResolvedLocation, ...]


@dataclass(frozen=True, slots=True)
class Locate:
    """Where the person is, resolved; any homonyms offered are done with."""

    location: ResolvedLocation


@dataclass(frozen=True, slots=True)
class Classified:
    """The persona the answers point to."""

    persona: PersonaResult


@dataclass(frozen=True, slots=True)
class Offered:
    """A page of places was looked for: those shown (possibly none), and whether more remain."""

    shown: tuple[Offer, ...]
    exhausted: bool


Outcome = (
    Rated
    | Say
    | Send
    | Ask
    | Missed
    | Prompt
    | Move
    | Enter
    | Next
    | Store
    | Reprompt
    | Restart
    | Toggled
    | Guessed
    | Unclear
    | Interrupt
    | Resume
    | Draft
    | RecordCallback
    | Accept
    | Informed
    | CancelCallbacks
    | Forget
    | Choices
    | Locate
    | Classified
    | Offered
)
