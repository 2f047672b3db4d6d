"""The end of the conversation: where the person is, and the places near them, a page at a time.

A Dialogue hands its location questions and its `show_offers` steps over to this collaborator; the places come
from the OfferSearch and the geography from the LocationResolver (bot/places/offers.py).
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

from bot.core.messages import Inbound, InboundKind, Offer, Reply
from bot.core.slots import UNKNOWN
from bot.engine.inbound import is_empty
from bot.language.model import Choice, Step, Wording
from bot.places.offers import LocationChoice, ResolvedLocation, nearest_first
from bot.understanding.matching import Candidate, build_candidates, match_one

if TYPE_CHECKING:
    from bot.engine.dialogue import Dialogue

OFFERS_PER_PAGE = 3
# Homonyms' buttons carry their position, not their label: a commune's name can be longer than the few bytes a
# Telegram button holds.
CHOICE_PREFIX = "@"


class PlacesDialogue:
    def __init__(self, dialogue: Dialogue) -> None:
        self.d = dialogue

    async def answer(self, step: Step, inbound: Inbound) -> None:
        """A postcode, a commune or a shared position, resolved to a place on the map; homonyms are asked by
        department; "Je ne sais pas" and the question's own buttons work as anywhere."""
        candidates, order = self.d.candidates_for(step)
        pending: dict[str, Any] = self.d.data.get("location_choices", {})
        found: ResolvedLocation | LocationChoice | None = None
        if inbound.kind is InboundKind.BUTTON and inbound.values:
            value = inbound.values[0]
            if value in order:
                await self.d.store_answer(step, value)
                return
            label = _pending_label(pending, value)
            if label is not None:
                found = ResolvedLocation.from_json(pending[label])
        elif inbound.kind is InboundKind.TEXT:
            typed = match_one(inbound.text, candidates, order, step.allow_unknown) if order else None
            if typed is not None:
                await self.d.store_answer(step, typed)
                return
            picked = match_one(inbound.text, _choice_candidates(pending), list(pending), allow_unknown=False)
            found = ResolvedLocation.from_json(pending[picked]) if picked else self.d.locations.resolve(inbound.text)
        elif inbound.kind is InboundKind.LOCATION and inbound.latitude is not None and inbound.longitude is not None:
            found = self.d.locations.resolve_position(inbound.latitude, inbound.longitude)
        if isinstance(found, LocationChoice):
            self.d.data["location_choices"] = {c.label: c.to_json() for c in found.candidates}
            self.d.say("location_ambiguous")
            self.d.question(
                step.text or self.d.flow.messages["location_ambiguous"],
                [(f"{CHOICE_PREFIX}{i}", c.label) for i, c in enumerate(found.candidates)]
                + [(UNKNOWN, self.d.label("unknown_label"))],
            )
            return
        if found is None:
            self.d.missed(
                "empty_input" if is_empty(inbound) else step.invalid or self.d.flow.messages["invalid_location"]
            )
            return
        self.d.data.pop("location_choices", None)
        self.d.data["position"] = found.to_json()
        await self.d.store_answer(step, found.label)

    def position(self) -> ResolvedLocation | None:
        """Where to search: the place resolved when the person answered (or their answer, resolved now)."""
        stored = self.d.data.get("position")
        if stored:
            return ResolvedLocation.from_json(stored)
        location = self.d.answers.get("location")
        if not isinstance(location, str) or location == UNKNOWN:
            return None
        found = self.d.locations.resolve(location)
        return found if isinstance(found, ResolvedLocation) else None

    async def show_offers(self) -> None:
        """The next few places, each in its own short message; "see more" stays offered while more remain."""
        persona_id = (self.d.data.get("persona") or {}).get("id") or self.d.classify(show=False).id
        persona = self.d.personas.personas.get(persona_id)
        page = int(self.d.data.get("offers_page", 0))
        position = self.position()
        found = (
            []
            if position is None
            else await self.d.offers_search.search(position, persona, self.d.answers, OFFERS_PER_PAGE * (page + 1) + 1)
        )
        # Suitability picks which places make this page; the page itself reads nearest first.
        shown = nearest_first((found or [])[OFFERS_PER_PAGE * page : OFFERS_PER_PAGE * (page + 1)])
        self.d.data["offers_exhausted"] = found is None or len(found) <= OFFERS_PER_PAGE * (page + 1)
        if found is None:
            self.d.say("no_catalogue")
            return
        if not shown:
            self.d.say("no_offers" if page == 0 else "no_more_offers")
            return
        self.d.say("offers_intro" if page == 0 else "offers_more_intro", count=len(shown))
        for offer in shown:
            self.d.replies.append(
                Reply(
                    self.render_lines(self.d.flow.messages["offer_line"], **self.offer_values(offer)), offers=(offer,)
                )
            )
        self.d.shown_offers = tuple(shown)
        self.d.data["offers_page"] = page + 1
        self.d.data["offers"] = [*self.d.data.get("offers", []), *(o.id for o in shown)]

    def offer_values(self, offer: Offer) -> dict[str, object]:
        free = "" if offer.free is None else self.d.label("offer_free" if offer.free else "offer_paid")
        # Why this place: its reasons, but the distance, which the first line of the message already gives.
        why = [r for r in offer.reasons if not r.startswith("à ") or "rien" in r]
        return {
            "name": offer.name,
            "distance": _km(offer.distance_km),
            "address": offer.address,
            "phone": offer.phone,
            "help": ", ".join((offer.help_with or offer.services)[:2]),
            "why": _sentence(" · ".join(why)),
            "opening": offer.next_opening,
            "free": free,
            "services": ", ".join(offer.services),
        }

    def render_lines(self, wording: Wording, **values: object) -> str:
        """Render a text line by line, leaving out a line whose variables all came out empty (a place with no
        phone shows no "☎" line)."""
        lines = []
        who = "relative" if self.d.answers.get("for_whom") == "relative" else None
        for line in wording.pick(who).splitlines():
            names = _placeholder_names(line)
            if names and not any(str(values.get(name, "")).strip() for name in names):
                continue
            lines.append(self.d.render(Wording({"self": line}, wording.line), **values))
        return "\n".join(line for line in lines if line.strip())

    def pointless(self, choice: Choice) -> bool:
        """A menu choice leading back to the offers once there are no more to show is not offered."""
        target = self.d.flow.steps.get(choice.goto or "")
        return bool(target and target.action == "show_offers" and self.d.data.get("offers_exhausted"))


def _pending_label(pending: dict[str, Any], value: str) -> str | None:
    """The homonym a button stands for ("@1"), or None."""
    labels = list(pending)
    index = value.removeprefix(CHOICE_PREFIX)
    if not value.startswith(CHOICE_PREFIX) or not index.isdigit() or int(index) >= len(labels):
        return None
    return labels[int(index)]


def _choice_candidates(pending: dict[str, Any]) -> list[Candidate]:
    """Homonyms offered as buttons, also picked by typing their department ("93") or their full label."""
    return build_candidates([(label, [label, label.rpartition("(")[2].rstrip(")")]) for label in pending])


def _placeholder_names(line: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(line) if name]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else ""


def _km(distance: float | None) -> str:
    return "" if distance is None else f"{distance:.1f}".replace(".", ",")
