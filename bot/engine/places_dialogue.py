"""The end of the conversation: where the person is, and the places near them, a page at a time.

A Dialogue hands its location questions and its `show_offers` steps over to this collaborator; the places come
from the OfferSearch and the geography from the LocationResolver (bot/places/offers.py).
"""

from __future__ import annotations

import dataclasses
import string

from bot.core.messages import Inbound, InboundKind, Offer, Reply
from bot.core.slots import UNKNOWN
from bot.core.text import normalise
from bot.engine.bundle import FlowBundle
from bot.engine.conversation import Conversation
from bot.engine.inbound import is_empty
from bot.engine.outcomes import Ask, Choices, Classified, Locate, Missed, Offered, Outcome, Say, Send, Store
from bot.engine.view import View
from bot.language.model import Choice, Step, Wording
from bot.language.personas import Persona
from bot.places.display import distance_words, phone_display
from bot.places.offers import LocationChoice, LocationResolver, OfferSearch, ResolvedLocation, nearest_first
from bot.places.regions import region_of
from bot.understanding.matching import Candidate, build_candidates, match_one

OFFERS_PER_PAGE = 3
POOL = 9  # places taken from the search at a time, shown nearest first (three pages)
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

    async def act(self, action: str, view: View) -> list[Outcome]:
        """The flow's `show_offers` and `keep_list` steps."""
        return await (self.keep_list(view) if action == "keep_list" else self.show_offers(view))

    def relocate(self, view: View, step: Step, inbound: Inbound) -> list[Outcome]:
        """At the results' menu, a town, a postcode or a shared position the menu did not understand searches
        there again, keeping every other answer, as its button leading to a location question would (« Chercher
        ailleurs »). Only a postcode or a commune's exact name is taken (typos stay for the menu to say it did
        not understand); [] otherwise."""
        target = next(
            (t for c in step.choices if (t := self.bundle.flow.steps.get(c.goto or "")) and t.input == "location"),
            None,
        )
        found: ResolvedLocation | LocationChoice | None = None
        if target is None:
            return []
        if inbound.kind is InboundKind.LOCATION and inbound.latitude is not None and inbound.longitude is not None:
            found = self.locations.resolve_position(inbound.latitude, inbound.longitude)
        elif inbound.kind is InboundKind.TEXT:
            found = self.locations.resolve(inbound.text)
            typed = normalise(inbound.text)
            if isinstance(found, ResolvedLocation) and not (
                (found.postcode and found.postcode in inbound.text.replace(" ", ""))
                or (found.commune and normalise(found.commune) == typed)
            ):
                found = None
        if not isinstance(found, ResolvedLocation):
            return []
        return [Locate(found), Store(target, found.label)]

    async def keep_list(self, view: View) -> list[Outcome]:
        """The places shown so far, gathered in one message to keep, forward to a relative or print (a channel
        with pages links the printable list: `Reply.list_link`)."""
        kept = await self.kept(view)
        if not kept:
            return [Say("kept_list_empty")]
        line = view.flow.messages["kept_list_line"]
        blocks = [self.render_lines(view, line, **self.offer_values(view, offer)) for offer in kept]
        text = "\n\n".join([view.render(view.flow.messages["kept_list_intro"]), *blocks])
        return [Send(Reply(text, list_link=view.render(view.flow.messages["kept_list_page"])))]

    async def kept(self, view: View) -> list[Offer]:
        """The places shown so far in this conversation, in the order shown (looked up again: nothing of them is
        stored but their ids)."""
        pages = view.conversation.offers.page
        if not pages:
            return []
        view, persona, _ = self._with_persona(view)
        return ((await self.listed(view, persona, pages)) or [])[: OFFERS_PER_PAGE * pages]

    async def show_offers(self, view: View) -> list[Outcome]:
        """The next few places, each in its own short message; "see more" stays offered while more remain."""
        outcomes: list[Outcome] = []
        view, persona, classified = self._with_persona(view)
        if classified is not None:
            outcomes.append(classified)
        page = view.conversation.offers.page
        found = await self.listed(view, persona, page + 1)
        shown = (found or [])[OFFERS_PER_PAGE * page : OFFERS_PER_PAGE * (page + 1)]
        exhausted = found is None or len(found) <= OFFERS_PER_PAGE * (page + 1)
        outcomes.append(Offered(tuple(shown) if found is not None else (), exhausted))
        if found is None:
            return [*outcomes, Say("no_catalogue")]
        if not shown:
            return [*outcomes, self._nothing(view) if page == 0 else Say("no_more_offers")]
        intro = "offers_intro" if page == 0 else "offers_more_intro"
        outcomes.append(Say(intro if len(shown) > 1 else f"{intro}_one", {"count": len(shown)}))
        if page == 0 and _difficult(view.conversation):
            outcomes.append(Say("offers_no_trip_first" if shown[0].remote else "offers_nearest_first"))
        offer_line = view.flow.messages["offer_line"]
        for offer in shown:
            reply = Reply(self.render_lines(view, offer_line, **self.offer_values(view, offer)), offers=(offer,))
            outcomes.append(Send(reply))
        return outcomes

    async def listed(self, view: View, persona: Persona | None, pages: int) -> list[Offer] | None:
        """The places in the order pages show them, enough for `pages` pages and one more (whether more remain).

        The search ranks by suitability; the best `POOL` of them are shown nearest first, then the next `POOL`
        nearest first, and so on: over the first three pages « Voir d'autres lieux » goes on outwards, never back
        nearer (a further pool, less suited, starts again from its own nearest). When getting about is difficult,
        places helping without a trip come first within each pool."""
        position = self.position(view.conversation)
        if position is None:
            return []
        wanted = OFFERS_PER_PAGE * pages + 1
        pools = -(-wanted // POOL)  # ceiling
        found = await self.offers.search(position, persona, view.conversation.answers, pools * POOL)
        if found is None:
            return None
        no_trip_first = _difficult(view.conversation)
        ordered: list[Offer] = []
        for start in range(0, len(found), POOL):
            ordered += nearest_first(found[start : start + POOL], no_trip_first)
        return ordered

    def _with_persona(self, view: View) -> tuple[View, Persona | None, Classified | None]:
        """The persona the search is made for, classified now when not yet (the outcome says so)."""
        persona_id = view.conversation.persona.id if view.conversation.persona else None
        classified = None
        if not persona_id:
            result = self.bundle.personas.classify(view.conversation.answers)
            classified = Classified(result)
            view = view.seeing(dataclasses.replace(view.conversation, persona=result))
            persona_id = result.id
        return view, self.bundle.personas.personas.get(persona_id), classified

    def _nothing(self, view: View) -> Say:
        """No place at all near: when the person's region is not one the list covers, say which ones it covers."""
        regions = self.offers.coverage()
        position = self.position(view.conversation)
        region = region_of(position.code_insee, position.postcode) if position else ""
        if regions and region and region not in regions:
            return Say("no_offers_outside", {"regions": _listing(regions)})
        return Say("no_offers")

    def offer_values(self, view: View, offer: Offer) -> dict[str, object]:
        free = "" if offer.free is None else view.label("offer_free" if offer.free else "offer_paid")
        # Why this place: its reasons, but where it is, which the first line of the message already gives.
        why = [r for r in offer.reasons if not r.startswith("à ") or "rien" in r]
        approximate = offer.approximate and bool(offer.commune)
        if approximate:
            where = f"à {offer.commune}"
        else:
            where = "" if offer.distance_km is None else distance_words(offer.distance_km)
        return {
            "name": offer.name,
            "distance": "" if approximate else _km(offer.distance_km),
            "where": where,
            "address": offer.address,
            "phone": phone_display(offer.phone),
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
        """A menu choice leading back to the offers once there are no more to show is not offered, nor one
        keeping the list before any place was shown."""
        target = self.bundle.flow.steps.get(choice.goto or "")
        if target is not None and target.action == "keep_list":
            return not conversation.offers.page
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


def _difficult(conversation: Conversation) -> bool:
    mobility = conversation.answers.get("mobility")
    return mobility == "difficult" or (isinstance(mobility, list | tuple) and "difficult" in mobility)


def _listing(items: tuple[str, ...]) -> str:
    """« A », « A et B », « A, B et C »."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]
