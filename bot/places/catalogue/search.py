"""Persona-aware search: the nearest suitable places of digital help for a person, best first, each with why.

`PlaceIndex(places)` keeps the recommendable places (they list services and have a position) in a grid of cells
of `CELL_DEG` degrees; `search(lat, lon, persona, answers, limit, now)` returns `Offer`s in the order to show.

Which places are candidates
---------------------------
- Only recommendable places (services listed, position known): a place without services is not open to the public.
- Suitable: the place offers at least one service the persona prefers (`preferences.services` in
  flows/personas.yaml) or one the person's goals point to. Without a persona, every place is suitable. When no
  suitable place exists within the largest radius, every place with services is taken instead (a mediator
  there can still re-orient the person) rather than showing nothing.
- `free_only` leaves out places known to charge (`frais_a_charge` only "Payant"). Places that do not say
  (a third of the real rows) are kept: most are public services.

The neighbourhood, and widening it
----------------------------------
The neighbourhood is the first of `RADII_KM` (5, 10, 20, 50 km) holding at least `NEIGHBOURHOOD_MIN`
suitable places (two pages of three). Its places are ordered by score. If more are asked for, the next rings
(10-20 km, then 20-50 km...) follow, each ordered by score. The order is therefore one fixed list whatever the
`limit`: asking for 7 gives the 4 already shown plus 3 more (the dialogue pages through it). When no suitable
place lies within the first radius, every reason list says so ("à 18 km (rien à moins de 5 km)"). Nothing beyond
the last radius is ever proposed. A place published twice (same name, same spot within about 10 m) is shown once.

The score and the reasons are in `scoring.py`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime

from bot.core.messages import Offer
from bot.core.slots import SlotValue
from bot.language.personas import Persona
from bot.places.catalogue import hours
from bot.places.catalogue.model import Place
from bot.places.catalogue.scoring import RADII_KM, Context, Entry
from bot.places.display import clean_text, commune_case
from bot.places.offers import ResolvedLocation
from bot.places.regions import regions_of

# ----- tunables ---------------------------------------------------------------------------------------------
NEIGHBOURHOOD_MIN = 6
CELL_DEG = 0.05  # about 5.5 km north-south
KM_PER_DEG = 111.195  # mean Earth radius 6371.0 km


class PlaceIndex:
    """Recommendable places in a grid of `CELL_DEG` cells; searches score only the cells near the person."""

    def __init__(self, places: Iterable[Place]) -> None:
        self._cells: dict[tuple[int, int], list[Entry]] = {}
        self._size = 0
        for place in places:
            lat, lon = place.latitude, place.longitude
            if not place.recommendable or lat is None or lon is None:
                continue
            if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
                continue
            key = (math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG))
            self._cells.setdefault(key, []).append(Entry(place, lat, lon, self._size))
            self._size += 1

    def __len__(self) -> int:
        return self._size

    @property
    def places(self) -> Iterator[Place]:
        """Every indexed (recommendable) place."""
        for entries in self._cells.values():
            for entry in entries:
                yield entry.place

    def search(
        self,
        lat: float,
        lon: float,
        persona: Persona | None,
        answers: Mapping[str, SlotValue],
        limit: int,
        now: datetime | None = None,
    ) -> list[Offer]:
        """The places to show, best first (see the module docstring for the order and the score)."""
        if limit <= 0 or not (math.isfinite(lat) and math.isfinite(lon)):
            return []
        context = Context.build(persona, answers)
        ranked, nearest = self._rank(lat, lon, context, limit, strict=True)
        if not ranked:
            ranked, nearest = self._rank(lat, lon, context, limit, strict=False)
        if not ranked:
            return []
        widened = nearest > RADII_KM[0]
        moment = now if now is not None else hours.now_paris()
        return [self._offer(entry, distance, context, widened, moment) for _, distance, entry in ranked[:limit]]

    def _rank(self, lat: float, lon: float, context: Context, limit: int, strict: bool) -> tuple[_Ranked, float]:
        """Neighbourhood first (ordered by score), then further rings (each ordered by score), up to `limit`.

        Also the distance of the nearest suitable place (inf when none)."""
        within: list[tuple[float, Entry]] = []
        for radius in RADII_KM:
            within = self._scan(lat, lon, radius, 0.0, context, strict)
            if len(within) >= NEIGHBOURHOOD_MIN:
                break
        neighbourhood = radius
        nearest = min((d for d, _ in within), default=math.inf)
        ranked: _Ranked = []
        seen: set[tuple[str, float, float]] = set()
        _extend_unique(ranked, _ordered(within, context), seen, limit)
        inner = neighbourhood
        for radius in RADII_KM:
            if len(ranked) >= limit:
                break
            if radius <= neighbourhood:
                continue
            ring = self._scan(lat, lon, radius, inner, context, strict)
            nearest = min(nearest, min((d for d, _ in ring), default=math.inf))
            _extend_unique(ranked, _ordered(ring, context), seen, limit)
            inner = radius
        return ranked, nearest

    def _scan(
        self, lat: float, lon: float, radius_km: float, beyond_km: float, context: Context, strict: bool
    ) -> list[tuple[float, Entry]]:
        """Suitable places farther than `beyond_km` and within `radius_km`, with their distance (unordered)."""
        dlat = radius_km / KM_PER_DEG
        cos_lat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.0))), 1e-6)
        dlon = radius_km / (KM_PER_DEG * cos_lat)
        i0, i1 = math.floor((lat - dlat) / CELL_DEG), math.floor((lat + dlat) / CELL_DEG)
        j0, j1 = math.floor((lon - dlon) / CELL_DEG), math.floor((lon + dlon) / CELL_DEG)
        cells = self._cells
        outer2, inner2 = radius_km * radius_km, beyond_km * beyond_km
        required = context.suitable_services if strict else None
        free_only = context.free_only
        found: list[tuple[float, Entry]] = []
        for i in range(i0, i1 + 1):
            # east-west km per degree at the mid latitude between the person and this row of cells
            kx = KM_PER_DEG * math.cos(math.radians((lat + (i + 0.5) * CELL_DEG) * 0.5))
            for j in range(j0, j1 + 1):
                bucket = cells.get((i, j))
                if bucket is None:
                    continue
                for entry in bucket:
                    dy = (entry.lat - lat) * KM_PER_DEG
                    dx = (entry.lon - lon) * kx
                    d2 = dx * dx + dy * dy
                    if (
                        d2 <= outer2
                        and (d2 > inner2 or beyond_km == 0.0)
                        and (required is None or not required.isdisjoint(entry.services))
                        and not (free_only and entry.free is False)
                    ):
                        found.append((math.sqrt(d2), entry))
        return found

    def _offer(self, entry: Entry, distance: float, context: Context, widened: bool, now: datetime) -> Offer:
        place = entry.place
        opening = hours.status(place.horaires, now, hours.timezone_for(place.code_postal)) if place.horaires else None
        return Offer(
            id=place.id,
            name=clean_text(place.nom) or place.nom,
            distance_km=round(distance, 2),
            services=place.services,
            open_now=opening.open_now if opening else None,
            address=entry.address,
            phone=place.telephone,
            latitude=entry.lat,
            longitude=entry.lon,
            reasons=context.reasons(entry, distance, widened),
            next_opening=opening.next_opening if opening else "",
            free=True if entry.free is True else False if entry.free is False else None,
            help_with=context.help_with(entry),
            commune=commune_case(place.commune),
            approximate=place.position_precision != "exact",
            remote=entry.remote or entry.itinerant,
            hours=place.horaires,
            postcode=place.code_postal.strip(),
        )


_Ranked = list[tuple[float, float, Entry]]


def _extend_unique(ranked: _Ranked, batch: _Ranked, seen: set[tuple[str, float, float]], limit: int) -> None:
    """Append up to `limit` in all, leaving out a place already listed under the same name at the same spot."""
    for item in batch:
        if len(ranked) >= limit:
            return
        key = item[2].same_place
        if key not in seen:
            seen.add(key)
            ranked.append(item)


def _ordered(found: list[tuple[float, Entry]], context: Context) -> _Ranked:
    """Best first: score, then distance, then id and source; rounded so that float noise never decides (a
    millionth of a point, a metre)."""
    score = context.score
    keyed = [(-round(score(e, d), 6), round(d, 3), e.place.id, e.place.source, e.order, d, e) for d, e in found]
    keyed.sort()
    return [(-k[0], k[5], k[6]) for k in keyed]


class CatalogueSearch:
    """The dialogue's `OfferSearch` (bot/places/offers.py) over a PlaceIndex: a resolved location in, offers out.

    A location without a position (typed but not found in the geography) gets no offers. `clock` gives "now"
    (Paris time by default; tests inject a fixed moment).
    """

    def __init__(self, index: PlaceIndex, clock: Callable[[], datetime] = hours.now_paris) -> None:
        self.index = index
        self.clock = clock
        self._regions: tuple[str, ...] | None = None

    async def search(
        self, location: ResolvedLocation, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        if location.latitude is None or location.longitude is None:
            return []
        return self.index.search(location.latitude, location.longitude, persona, answers, limit, self.clock())

    def coverage(self) -> tuple[str, ...]:
        if self._regions is None:
            self._regions = regions_of((p.code_insee, p.code_postal) for p in self.index.places)
        return self._regions
