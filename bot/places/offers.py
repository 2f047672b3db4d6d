"""The seams between the dialogue and what it consults: the offer catalogue and the geography.

The dialogue only knows these protocols; the catalogue and geography modules implement them, and the
composition root (bot/app/root.py) hands the implementations over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from bot.core.messages import Offer
from bot.core.slots import SlotValue
from bot.core.text import parse_coordinates, parse_location
from bot.language.personas import Persona


@dataclass(frozen=True, slots=True)
class ResolvedLocation:
    """Where the person is. `label` is what the location slot keeps: a postcode, a commune, or "lat,lon"."""

    label: str
    latitude: float | None = None
    longitude: float | None = None
    commune: str = ""
    postcode: str = ""
    code_insee: str = ""
    precision: str = "none"  # commune, postcode, department, none (CONTRACT: geo locate)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResolvedLocation:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


@dataclass(frozen=True, slots=True)
class LocationChoice:
    """Several communes answer to what was typed (homonyms): the person picks one, by department."""

    candidates: tuple[ResolvedLocation, ...]  # labels such as "Saint-Denis (93)"


class LocationResolver(Protocol):
    def resolve(self, text: str) -> ResolvedLocation | LocationChoice | None:
        """A typed postcode or commune name; None when nothing matches."""
        ...

    def resolve_position(self, latitude: float, longitude: float) -> ResolvedLocation | None:
        """A shared position, with the commune it falls in when known; None when out of range."""
        ...


class NoGeography:
    """Used when no geography table is loaded: postcodes and commune names are taken as typed, unplaced."""

    def resolve(self, text: str) -> ResolvedLocation | LocationChoice | None:
        label = parse_location(text)
        return ResolvedLocation(label) if label else None

    def resolve_position(self, latitude: float, longitude: float) -> ResolvedLocation | None:
        label = parse_coordinates(latitude, longitude)
        return ResolvedLocation(label, latitude, longitude, precision="exact") if label else None


def nearest_first(offers: list[Offer], no_trip_first: bool = False) -> list[Offer]:
    """Offers as shown to a person: nearest first (the search already chose which ones); with `no_trip_first`
    (getting about is difficult), those helping without a trip (at a distance, itinerant) before the others."""
    return sorted(offers, key=lambda o: (no_trip_first and not o.remote, o.distance_km is None, o.distance_km or 0.0))


class OfferSearch(Protocol):
    async def search(
        self, location: ResolvedLocation, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        """Nearest suitable offers, best first; None when no catalogue is loaded at all."""
        ...

    def coverage(self) -> tuple[str, ...]:
        """The regions the loaded places lie in (« Auvergne-Rhône-Alpes »), most represented first."""
        ...


class NoCatalogue:
    """Used when no catalogue is loaded: the dialogue says so plainly and proposes a callback."""

    async def search(
        self, location: ResolvedLocation, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        return None

    def coverage(self) -> tuple[str, ...]:
        return ()
