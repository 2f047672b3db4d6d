"""The dialogue's LocationResolver (bot/places/offers.py) over the offline geography (bot/places/geo.py)."""

from __future__ import annotations

from bot.core.text import parse_coordinates
from bot.places.geo import Ambiguous, Geo, Location
from bot.places.offers import LocationChoice, ResolvedLocation


class GeoLocations:
    def __init__(self, geo: Geo) -> None:
        self.geo = geo

    def resolve(self, text: str) -> ResolvedLocation | LocationChoice | None:
        found = self.geo.locate(text[:200])
        if isinstance(found, Ambiguous):
            return LocationChoice(tuple(self._resolved(c, self._with_department(c)) for c in found.candidates))
        if found.precision == "none" or found.lat is None:
            return None
        # The slot keeps what the person meant: a postcode as typed, else the commune's proper name.
        typed_postcode = found.postcode and found.postcode in text.replace(" ", "")
        return self._resolved(found, found.postcode if typed_postcode else found.commune or found.postcode)

    def resolve_position(self, latitude: float, longitude: float) -> ResolvedLocation | None:
        label = parse_coordinates(latitude, longitude)
        if label is None:
            return None
        nearest = self.geo.nearest_commune(latitude, longitude)
        return ResolvedLocation(
            label, latitude, longitude, nearest.commune, nearest.postcode, nearest.code_insee, "exact"
        )

    def place(self, postcode: str, commune: str, code_insee: str) -> tuple[float, float, str] | None:
        """The importer's placer: a position for a place published without coordinates, from its INSEE code,
        else its commune within its postcode, else its postcode; None when nothing matches."""
        known = self.geo.by_code.get(code_insee) if code_insee else None
        if known is not None:
            found = known.location(commune or code_insee, postcode or None)
            if found.lat is not None and found.lon is not None:
                return found.lat, found.lon, found.precision
        for query in (f"{commune} {postcode}".strip(), postcode, commune):
            if not query:
                continue
            located = self.geo.locate(query)
            if isinstance(located, Ambiguous):  # homonyms: the one in the place's department, if any
                same = [c for c in located.candidates if postcode and c.code_insee[:2] == postcode[:2]]
                located = same[0] if len(same) == 1 else Location(query, None, None, "", "", "", "none")
            if located.lat is not None and located.lon is not None and located.precision != "none":
                return located.lat, located.lon, located.precision
        return None

    def _with_department(self, location: Location) -> str:
        department = self.geo.department_of(location.code_insee)
        return f"{location.commune} ({department})" if department else location.commune

    @staticmethod
    def _resolved(location: Location, label: str) -> ResolvedLocation:
        return ResolvedLocation(
            label,
            location.lat,
            location.lon,
            location.commune,
            location.postcode,
            location.code_insee,
            location.precision,
        )
