"""The typed conversation against its JSON: rows in the untyped format written before it (no `format`) read into
named fields and are written back with the same keys; the interruption stack; changes return new values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.messages import PersonaResult
from bot.engine.conversation import (
    FORMAT,
    CallbackDraft,
    ConfirmForget,
    Consent,
    Conversation,
    Notice,
    OffersCursor,
    TalkToHuman,
)
from bot.places.offers import ResolvedLocation

SHOWN = "2026-11-23T09:00:00.123456+00:00"
ACCEPTED = "2026-11-23T09:01:30.000001+00:00"
CONSENTED = "2026-11-23T09:05:00+00:00"
SAINT_DENIS_93 = {
    "label": "Saint-Denis (93)",
    "latitude": 48.94,
    "longitude": 2.36,
    "commune": "Saint-Denis",
    "postcode": "93200",
    "code_insee": "93066",
    "precision": "commune",
}
SAINT_DENIS_974 = {**SAINT_DENIS_93, "label": "Saint-Denis (974)", "latitude": -20.88, "longitude": 55.45}
SAINT_DENIS_974.update(postcode="97400", code_insee="97411")

# Every key the untyped dialogue wrote, as it wrote them (a conversation can hold them all only in a test).
EVERY_KEY: dict[str, Any] = {
    "answers": {"for_whom": "relative", "goals": ["leisure", "family_contact"], "location": "Saint-Denis (974)"},
    "persona": {"id": "timide", "confidence": 0.62, "reasons": ["Peur de mal faire (+2)"]},
    "pending": ["smartphone", "tablet"],
    "misses": 1,
    "callback_draft": {"consent_at": CONSENTED, "phone": "+33612345678", "moment": "morning"},
    "resume": "appareils",
    "forget_return": "rappel.who",
    "location_choices": {"Saint-Denis (93)": SAINT_DENIS_93, "Saint-Denis (974)": SAINT_DENIS_974},
    "position": SAINT_DENIS_974,
    "offers_page": 2,
    "offers_exhausted": False,
    "offers": ["lieu-1", "lieu-2", "lieu-3", "lieu-4"],
    "callbacks": ["3f2a1b4c5d6e"],
    "privacy": {
        "notice": {"version": "notice-v1", "shown_at": SHOWN, "accepted_at": ACCEPTED},
        "callbacks": {"3f2a1b4c5d6e": {"consent_at": CONSENTED, "version": "callback-v1"}},
    },
}


def test_every_key_of_the_untyped_format_reads_into_its_field() -> None:
    """Each key written before the conversation was typed lands in a named, typed field."""
    conversation = Conversation.from_json(EVERY_KEY)
    assert conversation.answers == EVERY_KEY["answers"]
    assert conversation.persona == PersonaResult("timide", 0.62, ("Peur de mal faire (+2)",))
    assert conversation.pending == ("smartphone", "tablet")
    assert conversation.misses == 1
    assert conversation.draft == CallbackDraft(datetime(2026, 11, 23, 9, 5, tzinfo=UTC), "+33612345678", "morning")
    assert conversation.interruption(TalkToHuman) == TalkToHuman("appareils")
    assert conversation.interruption(ConfirmForget) == ConfirmForget("rappel.who")
    assert [c.label for c in conversation.location_choices] == ["Saint-Denis (93)", "Saint-Denis (974)"]
    assert conversation.position == ResolvedLocation(**SAINT_DENIS_974)
    assert conversation.offers == OffersCursor(2, False, ("lieu-1", "lieu-2", "lieu-3", "lieu-4"))
    assert conversation.callbacks == ("3f2a1b4c5d6e",)
    notice = conversation.privacy.notice
    assert notice is not None
    assert (notice.version, notice.shown_at, notice.accepted_at) == (
        "notice-v1",
        datetime.fromisoformat(SHOWN),
        datetime.fromisoformat(ACCEPTED),
    )
    assert conversation.privacy.consents == {"3f2a1b4c5d6e": Consent(datetime.fromisoformat(CONSENTED), "callback-v1")}
    assert conversation.unknown == {}


def test_written_back_with_the_same_keys_and_values_plus_the_format() -> None:
    """Read then written, a row in the untyped format comes back key for key, value for value (timestamps to the
    microsecond), with `format` added and its two interruption keys as one stack; reading that again changes
    nothing."""
    written = Conversation.from_json(EVERY_KEY).to_json()
    legacy = {k: v for k, v in EVERY_KEY.items() if k not in ("resume", "forget_return")}
    interruptions = [{"kind": "human", "resume": "appareils"}, {"kind": "forget", "back": "rappel.who"}]
    assert written == {"format": FORMAT, **legacy, "interruptions": interruptions}
    assert Conversation.from_json(written) == Conversation.from_json(EVERY_KEY)


def test_a_row_of_the_first_typed_format_reads_its_interruption_keys() -> None:
    """Format 1 stored the interruptions as `resume` and `forget_return`, as before typing: still read."""
    row = {"format": 1, "answers": {}, "resume": "envies", "forget_return": "rappel.phone"}
    conversation = Conversation.from_json(row)
    assert conversation.interruptions == (TalkToHuman("envies"), ConfirmForget("rappel.phone"))
    assert conversation.to_json() == {
        "format": FORMAT,
        "answers": {},
        "interruptions": [{"kind": "human", "resume": "envies"}, {"kind": "forget", "back": "rappel.phone"}],
    }


@pytest.mark.parametrize(
    "row",
    [
        {},
        {"answers": {}},
        {"answers": {"for_whom": "self"}, "privacy": {"notice": {"version": "notice-v1", "shown_at": SHOWN}}},
        {"answers": {}, "callback_draft": {}},  # a callback request just begun: nothing answered yet
        {"answers": {}, "pending": []},  # every ticked button unticked again
        {"answers": {}, "offers_exhausted": True},  # looked for places, found none
    ],
)
def test_small_rows_are_written_back_as_they_were(row: dict[str, Any]) -> None:
    """Keys the untyped dialogue left out stay out; an empty value it wrote stays (only `answers` always appears)."""
    assert Conversation.from_json(row).to_json() == {"format": FORMAT, "answers": {}, **row}


def test_keys_this_code_does_not_know_are_kept() -> None:
    """A key written by another version (newer, or older and forgotten) is written back untouched, not dropped."""
    row = {"format": FORMAT + 1, "answers": {"for_whom": "self"}, "understanding": {"model": "x", "scores": [0.5]}}
    conversation = Conversation.from_json(row)
    assert conversation.unknown == {"understanding": {"model": "x", "scores": [0.5]}}
    assert conversation.to_json() == {**row, "format": FORMAT}


def test_starting_again_keeps_only_what_the_person_was_told_and_agreed_to() -> None:
    """/start: answers, draft, interruptions and places are gone; the privacy notice and consents stay."""
    conversation = Conversation.from_json(EVERY_KEY)
    restarted = conversation.restarted()
    assert restarted == Conversation(privacy=conversation.privacy)
    assert restarted.to_json() == {"format": FORMAT, "answers": {}, "privacy": EVERY_KEY["privacy"]}


def test_interruptions_stack_and_resume_by_kind() -> None:
    """The innermost interruption is on top; resuming one kind leaves the other; a new one of a kind replaces an
    abandoned one of the same kind."""
    conversation = Conversation().interrupted(TalkToHuman("envies")).interrupted(ConfirmForget("rappel.phone"))
    assert conversation.interruptions == (TalkToHuman("envies"), ConfirmForget("rappel.phone"))
    after_no = conversation.resumed(ConfirmForget)
    assert after_no.interruptions == (TalkToHuman("envies"),)
    assert after_no.interruption(ConfirmForget) is None
    again = conversation.interrupted(TalkToHuman("appareils"))
    assert again.interruptions == (ConfirmForget("rappel.phone"), TalkToHuman("appareils"))
    assert again.to_json()["interruptions"] == [
        {"kind": "forget", "back": "rappel.phone"},
        {"kind": "human", "resume": "appareils"},
    ]
    assert conversation.interruptions == (TalkToHuman("envies"), ConfirmForget("rappel.phone"))  # unchanged


def test_acceptance_is_recorded_once() -> None:
    """The notice's acceptance keeps its first moment; with no notice shown there is nothing to accept."""
    first, later = datetime(2026, 11, 23, 9, 0, tzinfo=UTC), datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert Conversation().accepted(first) == Conversation()
    shown = Conversation().noticed(Notice("notice-v1", first))
    accepted = shown.accepted(first).accepted(later)
    assert accepted.privacy.notice == Notice("notice-v1", first, first)


def test_a_recorded_callback_drops_the_draft_and_keeps_the_consent() -> None:
    """Recording a request: the draft is done with, the request's id and consent are kept (for /mesdonnees)."""
    moment = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    conversation = Conversation(draft=CallbackDraft(moment, "+33612345678", "any", "person"))
    recorded = conversation.recorded("abc", Consent(moment, "callback-v1"))
    assert (recorded.draft, recorded.callbacks) == (None, ("abc",))
    assert recorded.to_json()["privacy"] == {"callbacks": {"abc": {"consent_at": CONSENTED, "version": "callback-v1"}}}


def test_the_conversation_is_frozen() -> None:
    """Nothing changes a conversation in place: every change is a new value."""
    conversation = Conversation()
    with pytest.raises(dataclasses.FrozenInstanceError):
        conversation.misses = 3  # type: ignore[misc]
    assert conversation.answered("for_whom", "self").answers == {"for_whom": "self"}
    assert conversation.answers == {}
