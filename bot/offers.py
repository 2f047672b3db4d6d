"""The seam between the dialogue and the offer catalogue (the catalogue itself lives in its own module)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.messages import Offer
from bot.personas import Persona
from bot.slots import SlotValue


class OfferSearch(Protocol):
    async def search(
        self, location: str, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        """Nearest suitable offers, best first; None when no catalogue is loaded at all."""
        ...


class NoCatalogue:
    """Used when no catalogue is loaded: the dialogue says so plainly and proposes a callback."""

    async def search(
        self, location: str, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        return None
