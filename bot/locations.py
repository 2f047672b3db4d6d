"""The dialogue's LocationResolver (bot/offers.py) over the offline geography (bot/geo.py)."""

from __future__ import annotations

from bot.engine.matching import parse_coordinates
from bot.geo import Ambiguous, Geo, Location
from bot.offers import LocationChoice, ResolvedLocation


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
        return ResolvedLocation(label, latitude, longitude, nearest.commune, nearest.postcode, nearest.code_insee,
                                "exact")

    def _with_department(self, location: Location) -> str:
        department = self.geo.department_of(location.code_insee)
        return f"{location.commune} ({department})" if department else location.commune

    @staticmethod
    def _resolved(location: Location, label: str) -> ResolvedLocation:
        return ResolvedLocation(label, location.lat, location.lon, location.commune, location.postcode,
                                location.code_insee, location.precision)
