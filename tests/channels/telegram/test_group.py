"""The mediators' group mapping (bot/channels/telegram/group.py), both ways: presses read, posts rendered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.callbacks.view import RequestView, who_to_call
from bot.channels.telegram.group import Press, read_press, render_post, render_reminder, render_summary

CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def press(data: str | None, chat_type: str = "supergroup", is_bot: bool = False) -> dict[str, Any]:
    return {
        "update_id": 1,
        "callback_query": {
            "id": "q1",
            "from": {"id": 501, "is_bot": is_bot, "first_name": "Marie", "last_name": "Durand"},
            "chat_instance": "c",
            "data": data,
            "message": {"message_id": 9, "date": 0, "chat": {"id": -100123, "type": chat_type}, "text": "…"},
        },
    }


def view(status: str = "new", **changes: Any) -> RequestView:
    values: dict[str, Any] = {
        "id": "3fa2c1d0e9b8",
        "short_id": "3fa2",
        "queue": "lyon",
        "queue_label": "l'équipe de Lyon",
        "status": status,
        "status_label": {"new": "En attente", "claimed": "Prise en charge", "done": "Appel fait"}.get(status, status),
        "first_name": "Jeanne",
        "phone": "06 12 34 56 78",
        "moment": "Le matin",
        "contact": "la personne elle-même",
        "asked_by_relative": False,
        "persona": "Le timide",
        "answers": (("Équipement", "Un smartphone"),),
        "places": ("TUBÀ (Lyon)",),
        "created_at": CREATED,
        "due_at": CREATED + timedelta(hours=4),
        "holder": "",
        "attempts": 0,
        "outcome": "",
        "note": "",
        "tel": "tel:+33612345678",
        "relation": "",
        "commune": "Villeurbanne",
        "channel": "Telegram",
    }
    values |= changes
    values.setdefault(
        "call",
        who_to_call(values["first_name"], changes.get("contact_code"), values["asked_by_relative"], values["relation"]),
    )
    values.pop("contact_code", None)
    return RequestView(**values)


@pytest.mark.parametrize(("code", "action"), [("c", "claim"), ("d", "done"), ("u", "unreachable"), ("r", "release")])
def test_a_press_in_a_group_names_the_action_the_request_and_the_mediator(code: str, action: str) -> None:
    """`2|<code>|<id>` pressed in a group: who, where, what, on which request, and the query to answer."""
    assert read_press(press(f"2|{code}|3fa2c1d0e9b8")) == Press(
        -100123, 501, "Marie Durand", action, "3fa2c1d0e9b8", "q1"
    )


@pytest.mark.parametrize(
    "update",
    [
        press("2|c|3fa2", chat_type="private"),  # the person's own chat: not a mediators' press
        press("2|c|3fa2", is_bot=True),
        press("1|abcdef|self"),  # a conversation button
        press("2|x|3fa2"),
        press("2|c|"),
        press(None),
        {"update_id": 2, "message": {"message_id": 1, "date": 0, "chat": {"id": -1, "type": "group"}}},
    ],
)
def test_anything_else_is_not_a_press(update: dict[str, Any]) -> None:
    """Private chats, bots, other formats, empty ids and plain messages are not mediators' presses."""
    assert read_press(update) is None


def test_a_new_request_shows_everything_needed_to_call_and_one_button() -> None:
    """Waiting: name, phone, moment, persona, answers, places, due time; only « Je m'en occupe »."""
    text, markup = render_post(view(), CREATED + timedelta(hours=1))
    for expected in ("3fa2", "En attente", "Jeanne", "06 12 34 56 78", "le matin", "Le timide", "Un smartphone"):
        assert expected in text
    assert "TUBÀ (Lyon)" in text
    assert "en retard" not in text
    assert "👤 Jeanne, la personne elle-même" in text
    assert "📍 Villeurbanne · par Telegram" in text
    assert markup == {"inline_keyboard": [[{"text": "🙋 Je m'en occupe", "callback_data": "2|c|3fa2c1d0e9b8"}]]}
    late, _ = render_post(view(), CREATED + timedelta(hours=5))
    assert "en retard" in late


def test_a_request_from_a_relative_says_whom_to_call_and_who_they_are() -> None:
    """The relative who wrote will be called: « Claire, le proche qui a écrit (son enfant) »; the person called at
    a relative's request: « …, à la demande d'un proche »; no commune known: no 📍."""
    relative = view(first_name="Claire", contact_code="relative", asked_by_relative=True, relation="son enfant")
    text, _ = render_post(relative, CREATED)
    assert "👤 Claire, le proche qui a écrit (son enfant)" in text
    person = view(first_name="", contact_code="person", asked_by_relative=True, commune="", channel="chat web")
    text, _ = render_post(person, CREATED)
    assert "👤 la personne elle-même, à la demande d'un proche" in text
    assert "📍" not in text
    assert "par chat web" in text


def test_a_claimed_request_shows_its_holder_and_the_three_actions() -> None:
    """Claimed: « par Marie », then Appel fait / Injoignable / Libérer."""
    text, markup = render_post(view("claimed", holder="Marie"), CREATED)
    assert "Prise en charge</b> par Marie" in text
    assert [row[0]["callback_data"] for row in markup["inline_keyboard"]] == [
        "2|d|3fa2c1d0e9b8",
        "2|u|3fa2c1d0e9b8",
        "2|r|3fa2c1d0e9b8",
    ]


def test_a_closed_request_keeps_no_personal_details_nor_buttons() -> None:
    """Done: who called and the outcome; the phone and answers leave the group's screen."""
    text, markup = render_post(view("done", holder="Marie", outcome="Rendez-vous pris"), CREATED)
    assert "par Marie (Rendez-vous pris)" in text
    assert "06 12" not in text
    assert "Jeanne" not in text
    assert markup == {"inline_keyboard": []}


def test_names_are_escaped_for_telegram_html() -> None:
    """Text typed by people (a first name) cannot inject markup into the group message."""
    text, _ = render_post(view(first_name="<b>Jo</b> & co"), CREATED)
    assert "&lt;b&gt;Jo&lt;/b&gt; &amp; co" in text


def test_reminder_and_summary_texts() -> None:
    """The reminder counts and lists the waiting requests; the summary gives yesterday's figures."""
    text = render_reminder(
        [view(), view("claimed", id="9", short_id="9", holder="Marie")], CREATED + timedelta(hours=6)
    )
    assert "2 demande(s)" in text
    assert "· prise par Marie" in text
    assert "depuis 6 h" in text
    summary = render_summary("l'équipe", {"created": 4, "done": 3}, waiting=2, late=1)
    assert "Nouvelles demandes : 4" in summary
    assert "Appels faits : 3" in summary
    assert "En attente maintenant : 2 (dont 1 en retard)" in summary
    assert "Bilan d'hier" in summary
    assert "Bilan des 3 derniers jours" in render_summary("l'équipe", {}, waiting=0, late=0, days=3)
