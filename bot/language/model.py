"""The flow model: frozen values the loader builds and the engine reads. No parsing here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

StepKind = Literal["say", "ask", "menu", "action"]
ACTIONS = ("classify", "show_offers", "keep_list", "request_callback")
# Wording variants: `self` (the person writes for themselves), `relative` (someone writes for a relative),
# `person_called` (a relative writes and chose that the person themselves be called back: « votre proche »), and
# the web chat's own words (`web`, `web_relative`: its buttons, not commands).
VARIANTS = ("self", "relative", "person_called", "web", "web_relative")
CHANNEL_VARIANTS = ("web",)  # conversation channels (the key's prefix, "web:…") that may have texts of their own

# Variables filled at run time, usable in any text besides the flow's own `variables`.
RUNTIME_VARIABLES = frozenset(
    {
        "persona_title",
        "count",
        "name",
        "distance",
        "where",  # where a place is: « à 1,2 km », or « à Villeurbanne » when only its commune is known
        "regions",  # the regions the list of places covers
        "address",
        "phone",
        "services",
        "help",
        "why",
        "opening",
        "free",
        "moment",
        "step",
        "queue",  # who will call back: the label of the mediators' queue (catalogue/queues.yaml)
        "when",  # the call's time agreed with the person, in words: « jeudi 10 décembre à 14 h »
        "next_try",  # when a new call will come after an unanswered one: « demain matin », « lundi après-midi »
        # Personal data (bot/engine/privacy_dialogue.py): retention periods in words ("6 mois"), and /mesdonnees.
        "retention_answers",
        "retention_phone",
        "answers",
        "answer",  # the button a typed answer seems to mean (« Si je comprends bien : {answer} ? »)
        "date",
        "status",
        "consent_date",
        "erase_date",
    }
)

# System texts every flow needs (from messages.yaml beside the flow, or the flow's own `messages`).
REQUIRED_MESSAGES = (
    "unknown_label",
    "confirm_label",
    "human_label",
    "multi_hint",
    "not_understood",
    "not_understood_human",
    "guess_question",
    "guess_yes_label",
    "guess_no_label",
    "guess_refused",
    "understood_also",
    "empty_input",
    "help",
    "restart",
    "welcome_back",
    "stop",
    "unknown_command",
    "forget_confirm",
    "forget_yes_label",
    "forget_no_label",
    "forget_done",
    "forget_cancelled",
    "resume",
    "migrated",
    "invalid_postcode",
    "invalid_location",
    "invalid_phone",
    "invalid_text",
    "no_catalogue",
    "no_offers",
    "no_offers_outside",
    "offers_intro",
    "offers_intro_one",
    "offers_nearest_first",
    "offers_no_trip_first",
    "offer_line",
    "offers_more_intro",
    "offers_more_intro_one",
    "kept_list_intro",
    "kept_list_line",
    "kept_list_page",
    "kept_list_empty",
    "no_more_offers",
    "offer_free",
    "offer_paid",
    "location_ambiguous",
    "callback_consent",
    "consent_yes_label",
    "consent_no_label",
    "callback_declined",
    "callback_phone",
    "callback_phone_invalid",
    "callback_moment",
    "moment_morning",
    "moment_afternoon",
    "moment_any",
    "moment_said_morning",
    "moment_said_afternoon",
    "moment_said_any",
    "callback_who",
    "who_person_label",
    "who_relative_label",
    "callback_relation",
    "relation_child_label",
    "relation_partner_label",
    "relation_family_label",
    "relation_friend_label",
    "relation_pro_label",
    "skip_label",
    "callback_name",
    "callback_name_invalid",
    "callback_done",
    "unsupported",
    "stale_button",
    "technical_error",
    "share_location_label",
    "share_contact_label",
    "map_label",
    "callback_claimed",
    "callback_scheduled",
    "callback_retry",
    "callback_gave_up",
    "callback_call_done",
    "callback_cancelled",
    "callback_none_open",
    "cancel_label",
    "privacy_notice",
    "my_data_intro",
    "my_data_nothing",
    "my_data_answers",
    "my_data_profile",
    "my_data_notice",
    "my_data_callback",
    "my_data_erasure",
    "my_data_erased",
    "callback_status_new",
    "callback_status_claimed",
    "callback_status_done",
    "callback_status_unreachable",
    "callback_status_cancelled",
)


@dataclass(frozen=True, slots=True)
class Wording:
    """A text with optional variants: for a relative speaking about someone else (`relative`), and in the web chat
    (`web`, `web_relative`: its page has buttons where Telegram has commands)."""

    variants: Mapping[str, str]
    line: int

    def pick(self, for_whom: str | None, called: str | None = None, channel: str | None = None) -> str:
        """The variant for who writes (`for_whom`); for a relative, who will be called back (`called`: `person`
        or `relative`, None before it is known); and the conversation's channel (`web`)."""
        relative = for_whom == "relative"
        if relative and called == "person" and "person_called" in self.variants:
            return self.variants["person_called"]
        if channel in CHANNEL_VARIANTS:
            if relative and f"{channel}_relative" in self.variants:
                return self.variants[f"{channel}_relative"]
            if channel in self.variants and not (relative and "relative" in self.variants):
                return self.variants[channel]
        if relative and "relative" in self.variants:
            return self.variants["relative"]
        return self.variants.get("self") or next(iter(self.variants.values()))


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Wording
    synonyms: tuple[str, ...] = ()
    goto: str | None = None
    exclusive: bool = False  # ticking it clears the others (e.g. "none")
    line: int = 0
    numbers: tuple[int, int] | None = None  # a typed number in [min, max] picks this button ("83" -> 80_plus)
    # Whole sentences people write meaning this button, read by the understanding as well as the synonyms.
    examples: tuple[str, ...] = ()
    examples_lines: tuple[int, ...] = ()  # the line of each example, for coordinators' warnings
    synonyms_lines: tuple[int, ...] = ()  # the line of each synonym, likewise


@dataclass(frozen=True, slots=True)
class Rule:
    """`goto` when every `if` condition holds and no `unless` condition does."""

    goto: str
    when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unless: Mapping[str, frozenset[str]] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    kind: StepKind
    line: int
    text: Wording | None = None
    slot: str | None = None
    multi: bool = False
    input: str | None = None
    choices: tuple[Choice, ...] = ()
    allow_unknown: bool = True
    invalid: Wording | None = None
    action: str | None = None
    next: tuple[Rule, ...] = ()
    end: bool = False
    feedback: str | None = None  # a menu whose answer is kept anonymously: `rating` (Oui / Un peu / Non), `word`
    # `request_callback`: per phase (consent, phone, moment, who), its buttons and what people write for them
    answers: Mapping[str, tuple[Choice, ...]] = field(default_factory=dict)

    @property
    def waits(self) -> bool:
        """True when the step waits for the person's answer."""
        return self.kind in ("ask", "menu")

    def targets(self) -> list[str]:
        return [r.goto for r in self.next] + [c.goto for c in self.choices if c.goto]


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    title: str
    file: str
    version: str  # content hash: a conversation keeps the version it started with
    source: str
    start: str
    human: str  # the request_callback step that /humain leads to
    personas_file: str
    max_misses: int
    steps: Mapping[str, Step]
    messages: Mapping[str, Wording]
    variables: Mapping[str, Wording]
    personas_line: int = 1  # where `personas:` is written, for "file not found"
