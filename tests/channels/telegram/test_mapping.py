"""Telegram ⇄ engine mapping, both ways and without any input or output: Bot API updates (built from realistic
JSON with python-telegram-bot's own parser) become Incoming/Inbound, and turns become the API calls showing them."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from telegram import Update

from bot.app.root import LoadedFlow
from bot.channels.telegram.mapping import (
    MAP,
    MAX_CALLBACK_BYTES,
    MAX_TEXT,
    OLD_BUTTON,
    SELECTED,
    Incoming,
    Labels,
    decode_button,
    decode_map,
    encode_button,
    encode_map,
    read_update,
    render_turn,
    split_text,
)
from bot.core.messages import Button, Inbound, InboundKind, Offer, Reply, Turn, question_token
from bot.core.slots import SlotValue
from bot.engine.engine import Engine
from bot.engine.machine import ENDED_STATE, FORGET_STATE
from bot.language.personas import Persona
from bot.places.offers import ResolvedLocation
from bot.storage.memory import MemoryStorage
from bot.storage.records import Outgoing
from tests.conftest import Chat
from tests.engine.test_offers_dialogue import TO_LOCATION, InventedCatalogue, SmallGeography

CHAT_ID = 424242
PERSON = {"id": CHAT_ID, "is_bot": False, "first_name": "Jeanne", "last_name": "Martin", "language_code": "fr"}
OTHER_BOT = {"id": 777, "is_bot": True, "first_name": "Robot", "username": "SomeOtherBot"}
THIS_BOT = {"id": 999, "is_bot": True, "first_name": "Passerelle", "username": "PasserelleBot"}
PRIVATE = {"id": CHAT_ID, "type": "private", "first_name": "Jeanne", "last_name": "Martin"}
GROUP = {"id": -4001, "type": "group", "title": "Club informatique", "all_members_are_administrators": True}
SUPERGROUP = {"id": -1001234567890, "type": "supergroup", "title": "Entraide numérique"}
CHANNEL = {"id": -1009876543210, "type": "channel", "title": "Actualités"}
LABELS = Labels(share_location="📍 Envoyer ma position", share_contact="📞 Envoyer mon numéro", show_map="🗺 Carte")
FILE = {"file_id": "AgACAgQAAxkBAAIB", "file_unique_id": "AQADx7Ex"}
DATE = 1_732_000_000


# ----- building updates -------------------------------------------------------------------------------------
def message(
    chat: Mapping[str, Any] = PRIVATE, sender: Mapping[str, Any] | None = PERSON, **content: Any
) -> dict[str, Any]:
    """A Bot API Message object: `content` gives its text, location, photo… fields."""
    body: dict[str, Any] = {"message_id": 1201, "date": DATE, "chat": dict(chat), **content}
    if sender is not None:
        body["from"] = dict(sender)
    return body


def command(text: str) -> dict[str, Any]:
    """A message with a command, with the bot_command entity Telegram adds."""
    name = text.split()[0]
    return message(text=text, entities=[{"type": "bot_command", "offset": 0, "length": len(name)}])


def callback_query(
    data: str | None,
    chat: Mapping[str, Any] = PRIVATE,
    sender: Mapping[str, Any] = PERSON,
    message_id: int = 1188,
    query_id: str = "4382bfdwdsb323b2d9",
) -> dict[str, Any]:
    """A press on an inline button of one of the bot's messages."""
    shown = message(chat, THIS_BOT, text="Vous m'écrivez pour vous-même ou pour un proche ?")
    shown["message_id"] = message_id
    body: dict[str, Any] = {"id": query_id, "from": dict(sender), "chat_instance": "-8123456789", "message": shown}
    if data is not None:
        body["data"] = data
    return body


def update(kind: str, body: Mapping[str, Any], update_id: int = 500_001) -> dict[str, Any]:
    """The Bot API JSON of an update, checked to be one python-telegram-bot reads."""
    payload = {"update_id": update_id, kind: dict(body)}
    assert Update.de_json(payload, bot=None) is not None
    return payload


def inbound_of(body: Mapping[str, Any], kind: str = "message") -> Inbound:
    incoming = read_update(update(kind, body))
    assert incoming is not None
    assert incoming.inbound is not None
    return incoming.inbound


KEY = f"telegram:{CHAT_ID}"


# ----- inbound ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["/start", "/aide@SomeBot", "Bonjour, je voudrais de l'aide", "69003"])
def test_text_and_commands_become_typed_text_of_the_chat(text: str) -> None:
    """Typed text and commands (with or without the bot's name) reach the engine as TEXT, unchanged, keyed by
    the private chat's id."""
    body = command(text) if text.startswith("/") else message(text=text)
    incoming = read_update(update("message", body))
    assert incoming == Incoming(CHAT_ID, Inbound(KEY, InboundKind.TEXT, text=text))


def test_a_shared_location_becomes_a_location() -> None:
    """A position shared from the phone becomes LOCATION with its latitude and longitude."""
    inbound = inbound_of(message(location={"latitude": 45.764043, "longitude": 4.835659}))
    assert inbound == Inbound.location(KEY, 45.764043, 4.835659)


def test_a_shared_contact_becomes_a_contact_with_the_phone() -> None:
    """A contact shared with the share button becomes CONTACT carrying the phone number."""
    contact = {"phone_number": "+33612345678", "first_name": "Jeanne", "user_id": CHAT_ID}
    assert inbound_of(message(contact=contact)) == Inbound.contact(KEY, "+33612345678")


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{**FILE, "width": 90, "height": 67, "file_size": 1234}], "caption": "regardez"},
        {"voice": {**FILE, "duration": 4, "mime_type": "audio/ogg"}},
        {"sticker": {**FILE, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}},
        {"document": {**FILE, "file_name": "facture.pdf", "mime_type": "application/pdf"}},
        {"video_note": {**FILE, "length": 240, "duration": 6}},
    ],
    ids=["photo", "voice", "sticker", "document", "video_note"],
)
def test_media_the_bot_cannot_read_are_unsupported(content: dict[str, Any]) -> None:
    """Photos, voice notes, stickers, documents and round videos become UNSUPPORTED (answered kindly), not
    silence and not text (a caption is not read as an answer)."""
    assert inbound_of(message(**content)) == Inbound.unsupported(KEY)


def test_an_edited_message_is_unsupported() -> None:
    """Editing an earlier message is not a new answer: UNSUPPORTED, for the chat it was edited in."""
    body = message(text="Pour moi finalement", edit_date=DATE + 30)
    incoming = read_update(update("edited_message", body))
    assert incoming == Incoming(CHAT_ID, Inbound.unsupported(KEY))


def test_a_service_message_is_ignored() -> None:
    """A pinned-message notice (nothing the person said) gets no answer at all."""
    pinned = message(PRIVATE, THIS_BOT, text="Vous m'écrivez pour vous-même ?")
    assert read_update(update("message", message(pinned_message=pinned))) is None


@pytest.mark.parametrize("chat", [GROUP, SUPERGROUP, CHANNEL], ids=["group", "supergroup", "channel"])
def test_messages_outside_private_chats_are_ignored(chat: dict[str, Any]) -> None:
    """Only private chats converse: text, commands and edits in groups, supergroups and channels get nothing."""
    sender = None if chat is CHANNEL else PERSON
    assert read_update(update("message", message(chat, sender, text="/start"))) is None
    assert read_update(update("edited_message", message(chat, sender, text="bonjour", edit_date=DATE))) is None
    data = encode_button(question_token("pour_qui"), "self")
    assert read_update(update("callback_query", callback_query(data, chat=chat))) is None


def test_channel_posts_are_ignored() -> None:
    """A post in a channel the bot belongs to is no conversation."""
    assert read_update(update("channel_post", message(CHANNEL, None, text="Nouvelles"))) is None


def test_messages_and_presses_from_bots_are_ignored() -> None:
    """Another bot writing, editing or pressing a button is never answered (no bot-to-bot loops)."""
    assert read_update(update("message", message(sender=OTHER_BOT, text="/start"))) is None
    assert read_update(update("edited_message", message(sender=OTHER_BOT, text="x", edit_date=DATE))) is None
    data = encode_button(question_token("pour_qui"), "self")
    assert read_update(update("callback_query", callback_query(data, sender=OTHER_BOT))) is None


@pytest.mark.parametrize("value", ["self", "@0", "/valider", "Saint-Étienne", "✅ oui"])
def test_a_button_press_becomes_a_button_with_its_question_token(value: str) -> None:
    """A press on a button made by encode_button gives BUTTON with that value, the question's token as
    context, and what the channel needs to answer the query and edit the message."""
    token = question_token("envies")
    body = callback_query(encode_button(token, value), message_id=1188, query_id="q-77")
    incoming = read_update(update("callback_query", body))
    assert incoming == Incoming(CHAT_ID, Inbound(KEY, InboundKind.BUTTON, values=(value,), context=token), "q-77", 1188)


@pytest.mark.parametrize("data", ["abc", "0|x|y", "", "1|abcdef|", "1||self", "2|abcdef|self", None])
def test_a_press_in_an_unknown_format_is_an_old_button(data: str | None, loaded: LoadedFlow) -> None:
    """Data this format did not make (older formats, junk, none) still reaches the engine as BUTTON, with the
    OLD_BUTTON context, which is the token of no state of the shipped flow (so it is never read as today's
    answer)."""
    incoming = read_update(update("callback_query", callback_query(data)))
    assert incoming is not None
    assert incoming.inbound is not None
    assert incoming.inbound.kind is InboundKind.BUTTON
    assert incoming.inbound.context == OLD_BUTTON
    assert incoming.callback_query_id is not None  # still answered, so the button stops spinning
    states = [*loaded.flow.steps, FORGET_STATE, ENDED_STATE, "rappel.consent", "rappel.phone", "rappel.moment"]
    assert OLD_BUTTON not in {question_token(state) for state in states}


def test_a_map_press_is_answered_by_the_channel_alone() -> None:
    """A "map" button gives no inbound for the engine, only the point to show (and the query to answer)."""
    incoming = read_update(update("callback_query", callback_query(encode_map(45.75917, 4.82965), message_id=9)))
    assert incoming == Incoming(CHAT_ID, None, "4382bfdwdsb323b2d9", 9, show_map=(45.75917, 4.82965))


@pytest.mark.parametrize(
    "data", [f"1|{MAP}|91.0,4.8", f"1|{MAP}|45.7,-180.5", f"1|{MAP}|nan,4.8", f"1|{MAP}|45.7", f"1|{MAP}|x,y"]
)
def test_map_data_out_of_range_or_malformed_is_not_a_map(data: str) -> None:
    """Coordinates outside the globe (or unreadable) are not shown on a map: the press is an old button."""
    assert decode_map(data) is None
    incoming = read_update(update("callback_query", callback_query(data)))
    assert incoming is not None
    assert incoming.show_map is None
    assert incoming.inbound is not None
    assert incoming.inbound.context == OLD_BUTTON


# ----- callback data ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["self", "family_contact", "Saint-Denis (974)", "Pâques à l'Île", "👍🏽 d'accord", "a|b"]
)
def test_encode_button_round_trips(value: str) -> None:
    """Values (accents, emoji, even a "|") come back exactly as encoded, with their question token."""
    token = question_token("rappel.moment")
    assert decode_button(encode_button(token, value)) == (token, value)


def test_encode_button_refuses_data_over_64_bytes() -> None:
    """Telegram refuses callback_data over 64 bytes: exactly 64 bytes pass, 65 raise (counted in UTF-8 bytes,
    not characters)."""
    token = question_token("lieu")
    room = MAX_CALLBACK_BYTES - len(f"1|{token}|")
    assert len(encode_button(token, "x" * room).encode()) == MAX_CALLBACK_BYTES
    with pytest.raises(ValueError, match="too long"):
        encode_button(token, "x" * (room + 1))
    with pytest.raises(ValueError, match="too long"):
        encode_button(token, "é" * (room // 2 + 1))  # fewer characters than `room`, but more bytes


@given(
    token=st.text(st.characters(codec="utf-8", exclude_characters="|"), min_size=1, max_size=10).filter(
        lambda t: t != MAP
    ),
    value=st.text(min_size=1, max_size=60),
)
def test_encode_decode_button_property(token: str, value: str) -> None:
    """Any token without "|" (other than the map marker) and any non-empty value that fit in 64 bytes decode
    back to themselves."""
    assume(len(f"1|{token}|{value}".encode()) <= MAX_CALLBACK_BYTES)
    assert decode_button(encode_button(token, value)) == (token, value)


# ----- the shipped flow fits Telegram -------------------------------------------------------------------------
class PlacedCatalogue(InventedCatalogue):
    """The invented places, with coordinates (so that their messages get a map button)."""

    async def search(
        self, location: ResolvedLocation, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        found = await super().search(location, persona, answers, limit) or []
        return [dataclasses.replace(o, latitude=45.7 + n / 100, longitude=4.8) for n, o in enumerate(found)]


def plain(text: str) -> str:
    """A message's text as Telegram counts it: after the HTML is read."""
    return html.unescape(re.sub(r"</?b>", "", text))


def check_calls(turn: Turn, calls: list[Outgoing]) -> None:
    for call in calls:
        assert call.method in {"sendMessage", "editMessageText"}
        assert 0 < len(plain(call.params["text"])) <= MAX_TEXT
        for row in call.params.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                assert len(button["callback_data"].encode()) <= MAX_CALLBACK_BYTES
    # every button of the turn is there, in order, and its value comes back from its data
    inline = [b.value for r in turn.replies if r.request is None for b in r.buttons]
    assert [v for v in callback_values(calls) if not v.startswith(f"1|{MAP}|")] == inline


async def test_every_turn_of_the_shipped_flow_fits_telegram(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """Driving the shipped flow through its paths (self and relative, toggles, homonyms, places with maps, the
    callback with phone sharing, commands): every callback_data is at most 64 bytes, every text at most 4096
    characters, and every button value comes back from its callback_data."""
    places = Engine(loaded.flow, loaded.personas, MemoryStorage(), PlacedCatalogue(5), SmallGeography())
    await places.start()
    toggles = [Inbound.button("test:self", value) for value in ("leisure", "daily_life")]
    self_path = ["bonjour", "value:self", *toggles, "/aide", "value:/valider", "value:smartphone,tablet"]
    self_path += ["value:daily", "value:none", "value:curious", "value:none", "value:difficult", "69003"]
    self_path += ["value:yes", "oui", "06 12 34 56 78", "value:any", "Marie-Thérèse"]
    places_path = [*TO_LOCATION, "Saint-Denis", "value:@1", "value:more", "value:no", "/start", "value:relative"]
    places_path += [*TO_LOCATION[2:], "Lyon", "/humain", "value:yes", "oui", "0590123456", "value:afternoon"]
    places_path += ["value:person", "value:friend", "/oublier", "value:yes", "bonjour", "/stop", "encore ?"]
    turns: list[Turn] = []
    for engine, key, script in [(memory_engine, "test:self", self_path), (places, "test:places", places_path)]:
        chat = Chat(engine, key)
        for step in script:
            turns.append(await (chat.send_inbound(step) if isinstance(step, Inbound) else chat.send(step)))
    every_call: list[Outgoing] = []
    for turn in turns:
        for edited in (None, 1188):
            calls = render_turn(turn, CHAT_ID, LABELS, edited)
            check_calls(turn, calls)
            every_call.extend(calls)
    # the drive went through what matters here, so the checks above were not vacuous
    states = {t.state for t in turns}
    expected = {"envies", "lieu", "proposition", "rappel.phone", "rappel.moment", "rappel.name", "rappel.relation"}
    assert expected | {FORGET_STATE, ENDED_STATE} <= states
    markups = [c.params.get("reply_markup", {}) for c in every_call]
    assert any(c.method == "editMessageText" for c in every_call)
    assert any(row[0].get("request_location") for m in markups for row in m.get("keyboard", [])[:1])
    assert any(row[0].get("request_contact") for m in markups for row in m.get("keyboard", [])[:1])
    assert any(row[0]["text"] == LABELS.show_map for m in markups for row in m.get("inline_keyboard", []))
    assert any(row[0]["callback_data"].endswith("|@1") for m in markups for row in m.get("inline_keyboard", []))


# ----- outbound -------------------------------------------------------------------------------------------------
FOR_WHOM = (Button("Pour moi", "self"), Button("Pour un proche", "relative"))


def test_a_question_turn_is_html_messages_with_one_button_per_row() -> None:
    """Each reply is a sendMessage in HTML; "<", ">" and "&" are escaped and nothing else is added or changed
    (quotes included); the question's buttons are one per row, carrying the state's question token."""
    turn = Turn(
        replies=(
            Reply('Bonjour ! <Passerelle> & vous > tout. « Guillemets », l\'apostrophe et "ça".'),
            Reply("Vous m'écrivez pour vous-même ou pour un proche ?", buttons=FOR_WHOM),
        ),
        state="pour_qui",
        slot="for_whom",
        multi=False,
    )
    first, second = render_turn(turn, CHAT_ID, LABELS)
    assert (first.chat_id, first.method, second.method) == (CHAT_ID, "sendMessage", "sendMessage")
    assert first.params["parse_mode"] == second.params["parse_mode"] == "HTML"
    assert first.params["chat_id"] == CHAT_ID
    assert first.params["text"] == (
        'Bonjour ! &lt;Passerelle&gt; &amp; vous &gt; tout. « Guillemets », l\'apostrophe et "ça".'
    )
    assert second.params["text"] == "Vous m'écrivez pour vous-même ou pour un proche ?"
    token = question_token("pour_qui")
    assert second.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Pour moi", "callback_data": f"1|{token}|self"}],
            [{"text": "Pour un proche", "callback_data": f"1|{token}|relative"}],
        ]
    }


def several_choice_turn() -> Turn:
    buttons = (
        Button("Les loisirs", "leisure", True),
        Button("Les démarches", "admin"),
        Button("Valider ✔", "/valider"),
    )
    reply = Reply("Qu'aimeriez-vous faire ?", buttons=buttons, multi=True, edit=True)
    return Turn(replies=(reply,), state="envies", slot="goals", multi=True, buttons=buttons)


def test_a_toggle_edits_the_pressed_message_with_ticks_on_selected_buttons() -> None:
    """A several-choice question updated by a toggle: one editMessageText of the pressed message, with "✅ "
    before the selected buttons only."""
    token = question_token("envies")
    [call] = render_turn(several_choice_turn(), CHAT_ID, LABELS, edit_message_id=1188)
    assert call.method == "editMessageText"
    assert call.params["message_id"] == 1188
    assert call.params["chat_id"] == CHAT_ID
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"] == "Qu'aimeriez-vous faire ?"
    rows = call.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == [f"{SELECTED}Les loisirs", "Les démarches", "Valider ✔"]
    assert [row[0]["callback_data"] for row in rows] == [
        f"1|{token}|leisure",
        f"1|{token}|admin",
        f"1|{token}|/valider",
    ]


def test_a_toggle_without_a_message_to_edit_is_sent_anew() -> None:
    """Without the pressed message's id (typed toggle), the updated question is sent as a new message."""
    [call] = render_turn(several_choice_turn(), CHAT_ID, LABELS)
    assert call.method == "sendMessage"
    assert "message_id" not in call.params
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == f"{SELECTED}Les loisirs"


def test_a_location_question_shows_a_share_keyboard_with_typed_alternatives() -> None:
    """A question asking for a location: a reply keyboard whose first button shares the position and whose
    other rows are the question's buttons (typed answers), hidden once used; no earlier message of the turn
    removes a keyboard."""
    reply = Reply("Où habitez-vous ?", buttons=(Button("Je ne sais pas", "unknown"),), request="location")
    turn = Turn(replies=(Reply("Merci !"), reply), state="lieu", slot="location", multi=False)
    thanks, question = render_turn(turn, CHAT_ID, LABELS)
    assert "reply_markup" not in thanks.params
    assert question.params["reply_markup"] == {
        "keyboard": [[{"text": LABELS.share_location, "request_location": True}], [{"text": "Je ne sais pas"}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


def test_a_phone_question_shows_a_share_contact_button() -> None:
    """A question asking for a phone number: the keyboard's first button shares the contact."""
    reply = Reply("Votre numéro ?", buttons=(Button("Annuler", "/annuler"),), request="contact")
    [call] = render_turn(Turn(replies=(reply,), state="rappel.phone", slot=None, multi=False), CHAT_ID, LABELS)
    keyboard = call.params["reply_markup"]["keyboard"]
    assert keyboard == [[{"text": LABELS.share_contact, "request_contact": True}], [{"text": "Annuler"}]]
    assert "request_location" not in keyboard[0][0]


def test_only_the_first_message_without_buttons_removes_the_keyboard() -> None:
    """In a turn asking for nothing special, the first reply without buttons takes a share keyboard away, and
    no other message does (a message with inline buttons cannot)."""
    turn = Turn(
        replies=(Reply("Question ?", buttons=FOR_WHOM), Reply("Un mot."), Reply("Un autre."), Reply("Fin.")),
        state="pour_qui",
        slot="for_whom",
        multi=False,
    )
    calls = render_turn(turn, CHAT_ID, LABELS)
    markups = [c.params.get("reply_markup") for c in calls]
    assert markups[0] is not None
    assert "inline_keyboard" in markups[0]
    assert markups[1:] == [{"remove_keyboard": True}, None, None]


def offer(name: str, latitude: float | None = 45.76, longitude: float | None = 4.84) -> Offer:
    return Offer("lieu-1", name, 1.2, ("Aide",), latitude=latitude, longitude=longitude)


def test_an_offer_gets_a_map_button_and_its_name_in_bold() -> None:
    """A place's message: its name (escaped) in bold when the text starts with it, and a map button whose data
    decodes back to the place's point."""
    place = offer("Café & Numérique <Part-Dieu>", 45.760123, 4.859876)
    reply = Reply("Café & Numérique <Part-Dieu>, à 1,2 km\n3 rue X", offers=(place,))
    turn = Turn(replies=(reply, Reply("Autre chose ?", buttons=FOR_WHOM)), state="proposition", slot=None, multi=False)
    call = render_turn(turn, CHAT_ID, LABELS)[0]
    assert call.params["text"] == "<b>Café &amp; Numérique &lt;Part-Dieu&gt;</b>, à 1,2 km\n3 rue X"
    [[button]] = call.params["reply_markup"]["inline_keyboard"]
    assert button["text"] == LABELS.show_map
    assert decode_map(button["callback_data"]) == pytest.approx((45.760123, 4.859876), abs=1e-5)


def test_an_offer_named_after_a_pin_in_bold_and_without_coordinates_no_map() -> None:
    """The name is in bold where the first line names it (after the shipped "📍 "), never further down; no map
    button for a place without coordinates."""
    reply = Reply("📍 Lieu <Soleil>, à 1,2 km\nLieu <Soleil> aussi", offers=(offer("Lieu <Soleil>", None, None),))
    [call] = render_turn(Turn(replies=(reply,), state="proposition", slot=None, multi=False), CHAT_ID, LABELS)
    assert call.params["text"] == "📍 <b>Lieu &lt;Soleil&gt;</b>, à 1,2 km\nLieu &lt;Soleil&gt; aussi"
    reply = Reply("📍 Ailleurs\nLieu Soleil", offers=(offer("Lieu Soleil", None, None),))
    [call] = render_turn(Turn(replies=(reply,), state="proposition", slot=None, multi=False), CHAT_ID, LABELS)
    assert "<b>" not in call.params["text"]
    assert call.params["reply_markup"] == {"remove_keyboard": True}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_long_reply_is_split_between_paragraphs_with_buttons_on_the_last_part() -> None:
    """A text over 4096 characters becomes several sendMessage calls, each at most 4096 characters, cut between
    paragraphs, with the buttons only on the last part and nothing lost."""
    paragraphs = [f"Paragraphe {n} : " + "des mots simples et clairs " * (3 + n % 7) for n in range(80)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    assert len(text) > 2 * MAX_TEXT
    turn = Turn(replies=(Reply(text, buttons=FOR_WHOM),), state="pour_qui", slot="for_whom", multi=False)
    calls = render_turn(turn, CHAT_ID, LABELS)
    assert len(calls) >= 3
    assert all(c.method == "sendMessage" for c in calls)
    assert all(len(c.params["text"]) <= MAX_TEXT for c in calls)
    assert ["reply_markup" in c.params for c in calls] == [False] * (len(calls) - 1) + [True]
    assert calls[-1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].endswith("|self")
    parts = [c.params["text"] for c in calls]
    assert squash("".join(parts)) == squash(text)
    whole = {p.strip() for p in paragraphs}
    assert all(set(part.split("\n\n")) <= whole for part in parts)  # only whole paragraphs in each part


@pytest.mark.parametrize(
    ("unit", "joiner"),
    [("une ligne de texte assez ordinaire", "\n"), ("mot", " ")],
    ids=["lines", "words"],
)
def test_a_long_text_without_paragraphs_is_cut_between_lines_else_words(unit: str, joiner: str) -> None:
    """Without paragraphs, the cut falls between lines; without lines, between words; never inside a unit."""
    text = joiner.join(f"{unit}{n}" for n in range(2000))
    parts = split_text(text)
    assert len(parts) >= 2
    assert all(len(p) <= MAX_TEXT for p in parts)
    assert squash("".join(parts)) == squash(text)
    units = {f"{unit}{n}" for n in range(2000)}
    assert all(set(p.split(joiner)) <= units for p in parts)


def test_a_text_without_any_break_is_cut_at_the_limit() -> None:
    """One endless word is cut exactly at the limit."""
    assert split_text("x" * 10_000) == ["x" * 4096, "x" * 4096, "x" * 1808]


def test_escaping_a_long_text_keeps_it_within_the_limit_as_telegram_counts() -> None:
    """Splitting counts characters before escaping (Telegram counts them after reading the HTML): "&" signs
    may lengthen the sent text, but not what the person reads."""
    text = "Questions & réponses " * 400
    calls = render_turn(Turn(replies=(Reply(text),), state="x", slot=None, multi=False), CHAT_ID, LABELS)
    assert len(calls) >= 2
    assert all(len(plain(c.params["text"])) <= MAX_TEXT for c in calls)
    assert squash("".join(plain(c.params["text"]) for c in calls)) == squash(text)


@given(
    text=st.text(st.sampled_from("ab é\n\t😀"), max_size=300) | st.text(max_size=200),
    limit=st.integers(min_value=1, max_value=40),
)
def test_split_text_property(text: str, limit: int) -> None:
    """For any text and limit: every part is non-empty, at most `limit` characters, without surrounding
    whitespace, and the parts hold every non-whitespace character of the text, in order."""
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert all(p == p.strip() for p in parts)
    if text.strip():
        assert squash("".join(parts)) == squash(text)
    else:
        assert parts == ["…"]


def callback_values(calls: list[Outgoing]) -> list[str]:
    """The button values sent by these calls."""
    values: list[str] = []
    for call in calls:
        for row in call.params.get("reply_markup", {}).get("inline_keyboard", []):
            values.extend(decode_button(button["callback_data"])[1] for button in row if "callback_data" in button)
    return values
