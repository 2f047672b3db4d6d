"""The end of the conversation: where the person is, and the places near them, a page at a time.

A Dialogue hands its location questions and its `show_offers` steps over to this collaborator; the places come
from the OfferSearch and the geography from the LocationResolver (bot/places/offers.py).
"""

from __future__ import annotations

import dataclasses
import string

from bot.core.messages import Inbound, InboundKind, Offer, Reply
from bot.core.slots import UNKNOWN
from bot.engine.bundle import FlowBundle
from bot.engine.conversation import Conversation
from bot.engine.inbound import is_empty
from bot.engine.outcomes import Ask, Choices, Classified, Locate, Missed, Offered, Outcome, Say, Send, Store
from bot.engine.view import View
from bot.language.model import Choice, Step, Wording
from bot.places.offers import LocationChoice, LocationResolver, OfferSearch, ResolvedLocation, nearest_first
from bot.understanding.matching import Candidate, build_candidates, match_one

OFFERS_PER_PAGE = 3
# Homonyms' buttons carry their position, not their label: a commune's name can be longer than the few bytes a
# Telegram button holds.
CHOICE_PREFIX = "@"


class PlacesDialogue:
    def __init__(self, bundle: FlowBundle, locations: LocationResolver, offers: OfferSearch) -> None:
        self.bundle = bundle
        self.locations = locations
        self.offers = offers

    async def answer(self, view: View, step: Step, inbound: Inbound) -> list[Outcome]:
        """A postcode, a commune or a shared position, resolved to a place on the map; homonyms are asked by
        department; "Je ne sais pas" and the question's own buttons work as anywhere."""
        candidates, order = self.bundle.candidates_for(step)
        pending = {c.label: c for c in view.conversation.location_choices}
        found: ResolvedLocation | LocationChoice | None = None
        if inbound.kind is InboundKind.BUTTON and inbound.values:
            value = inbound.values[0]
            if value in order:
                return [Store(step, value)]
            label = _pending_label(list(pending), value)
            if label is not None:
                found = pending[label]
        elif inbound.kind is InboundKind.TEXT:
            typed = match_one(inbound.text, candidates, order, step.allow_unknown) if order else None
            if typed is not None:
                return [Store(step, typed)]
            picked = match_one(inbound.text, _choice_candidates(list(pending)), list(pending), allow_unknown=False)
            found = pending[picked] if picked else self.locations.resolve(inbound.text)
        elif inbound.kind is InboundKind.LOCATION and inbound.latitude is not None and inbound.longitude is not None:
            found = self.locations.resolve_position(inbound.latitude, inbound.longitude)
        if isinstance(found, LocationChoice):
            choices = tuple({c.label: c for c in found.candidates}.values())
            options = [(f"{CHOICE_PREFIX}{i}", c.label) for i, c in enumerate(found.candidates)]
            return [
                Choices(choices),
                Say("location_ambiguous"),
                Ask(
                    step.text or view.flow.messages["location_ambiguous"],
                    (*options, (UNKNOWN, view.label("unknown_label"))),
                ),
            ]
        if found is None:
            invalid = step.invalid or view.flow.messages["invalid_location"]
            return [Missed("empty_input" if is_empty(inbound) else invalid)]
        return [Locate(found), Store(step, found.label)]

    def position(self, conversation: Conversation) -> ResolvedLocation | None:
        """Where to search: the place resolved when the person answered (or their answer, resolved now)."""
        if conversation.position is not None:
            return conversation.position
        location = conversation.answers.get("location")
        if not isinstance(location, str) or location == UNKNOWN:
            return None
        found = self.locations.resolve(location)
        return found if isinstance(found, ResolvedLocation) else None

    async def show_offers(self, view: View) -> list[Outcome]:
        """The next few places, each in its own short message; "see more" stays offered while more remain."""
        outcomes: list[Outcome] = []
        persona_id = view.conversation.persona.id if view.conversation.persona else None
        if not persona_id:
            classified = self.bundle.personas.classify(view.conversation.answers)
            outcomes.append(Classified(classified))
            view = view.seeing(dataclasses.replace(view.conversation, persona=classified))
            persona_id = classified.id
        persona = self.bundle.personas.personas.get(persona_id)
        cursor = view.conversation.offers
        page = cursor.page
        position = self.position(view.conversation)
        wanted = OFFERS_PER_PAGE * (page + 1) + 1  # one more than the page: whether more remain
        found = (
            [] if position is None else await self.offers.search(position, persona, view.conversation.answers, wanted)
        )
        # Suitability picks which places make this page; the page itself reads nearest first.
        shown = nearest_first((found or [])[OFFERS_PER_PAGE * page : OFFERS_PER_PAGE * (page + 1)])
        exhausted = found is None or len(found) <= OFFERS_PER_PAGE * (page + 1)
        outcomes.append(Offered(tuple(shown) if found is not None else (), exhausted))
        if found is None:
            return [*outcomes, Say("no_catalogue")]
        if not shown:
            return [*outcomes, Say("no_offers" if page == 0 else "no_more_offers")]
        outcomes.append(Say("offers_intro" if page == 0 else "offers_more_intro", {"count": len(shown)}))
        offer_line = view.flow.messages["offer_line"]
        for offer in shown:
            reply = Reply(self.render_lines(view, offer_line, **self.offer_values(view, offer)), offers=(offer,))
            outcomes.append(Send(reply))
        return outcomes

    def offer_values(self, view: View, offer: Offer) -> dict[str, object]:
        free = "" if offer.free is None else view.label("offer_free" if offer.free else "offer_paid")
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

    def render_lines(self, view: View, wording: Wording, **values: object) -> str:
        """Render a text line by line, leaving out a line whose variables all came out empty (a place with no
        phone shows no "☎" line)."""
        lines = []
        who = "relative" if view.conversation.answers.get("for_whom") == "relative" else None
        for line in wording.pick(who).splitlines():
            names = _placeholder_names(line)
            if names and not any(str(values.get(name, "")).strip() for name in names):
                continue
            lines.append(view.render(Wording({"self": line}, wording.line), **values))
        return "\n".join(line for line in lines if line.strip())

    def pointless(self, conversation: Conversation, choice: Choice) -> bool:
        """A menu choice leading back to the offers once there are no more to show is not offered."""
        target = self.bundle.flow.steps.get(choice.goto or "")
        return bool(target and target.action == "show_offers" and conversation.offers.exhausted)


def _pending_label(labels: list[str], value: str) -> str | None:
    """The homonym a button stands for ("@1"), or None."""
    index = value.removeprefix(CHOICE_PREFIX)
    if not value.startswith(CHOICE_PREFIX) or not index.isdigit() or int(index) >= len(labels):
        return None
    return labels[int(index)]


def _choice_candidates(labels: list[str]) -> list[Candidate]:
    """Homonyms offered as buttons, also picked by typing their department ("93") or their full label."""
    return build_candidates([(label, [label, label.rpartition("(")[2].rstrip(")")]) for label in labels])


def _placeholder_names(line: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(line) if name]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else ""


def _km(distance: float | None) -> str:
    return "" if distance is None else f"{distance:.1f}".replace(".", ",")
