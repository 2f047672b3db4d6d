"""The engine end to end on the shipped flow: commands, several-choice questions, skips, the callback request,
misses, restarts, flow versions and per-conversation ordering."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.app.root import LoadedFlow, load_flow_with_personas
from bot.core.messages import Inbound, Offer, Turn
from bot.core.slots import SlotValue
from bot.engine.engine import Engine
from bot.engine.locks import KeyedLocks
from bot.engine.machine import ENDED_STATE, FORGET_STATE
from bot.engine.privacy_dialogue import PrivacyTerms
from bot.language.personas import Persona
from bot.places.offers import NoCatalogue
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from tests.conftest import FLOWS, Chat

KEY = "test:1"

# Scripts reaching a given state of the shipped flow (self path, no catalogue).
LAST_QUESTION = "utile"  # « est-ce que cette conversation vous a été utile ? », after the results and the callback
TO_GOALS = ["bonjour", "value:self"]
TO_FREQUENCY = [*TO_GOALS, "value:family_contact", "value:smartphone"]
TO_LOCATION = [*TO_FREQUENCY, "value:weekly", "value:intermediate", "value:unsure", "value:confidence", "value:easy"]
TO_PROPOSAL = [*TO_LOCATION, "69003"]
TO_CONSENT = [*TO_PROPOSAL, "value:yes"]
TO_PHONE = [*TO_CONSENT, "oui"]
TO_MOMENT = [*TO_PHONE, "06 12 34 56 78"]
TO_NAME = [*TO_MOMENT, "value:morning"]
REACH: dict[str, list[str]] = {
    "pour_qui": ["bonjour"],
    "envies": TO_GOALS,
    "frequence": TO_FREQUENCY,
    "lieu": TO_LOCATION,
    "proposition": TO_PROPOSAL,
    "rappel.consent": TO_CONSENT,
    "rappel.phone": TO_PHONE,
    "rappel.moment": TO_MOMENT,
    "rappel.name": TO_NAME,
    FORGET_STATE: [*TO_GOALS, "/oublier"],
    ENDED_STATE: ["bonjour", "/stop"],
}


def text(turn: Turn) -> str:
    return "\n".join(r.text for r in turn.replies)


def values(turn: Turn) -> list[str]:
    return [b.value for b in turn.buttons]


def selected(turn: Turn) -> set[str]:
    return {b.value for b in turn.buttons if b.selected}


def msg(loaded: LoadedFlow, key: str, who: str | None = None) -> str:
    return loaded.flow.messages[key].pick(who)


def question(loaded: LoadedFlow, step_id: str, who: str | None = None) -> str:
    wording = loaded.flow.steps[step_id].text
    assert wording is not None
    return wording.pick(who)


async def answers_of(engine: Engine, key: str = KEY) -> Mapping[str, SlotValue]:
    record = await engine.storage.load_conversation(key)
    assert record is not None
    return dict(record.data.get("answers", {}))


async def reach(engine: Engine, state: str, key: str = KEY) -> tuple[Chat, Turn]:
    chat = Chat(engine, key)
    turns = await chat.script(REACH[state])
    assert turns[-1].state == state
    return chat, turns[-1]


# ----- commands --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["envies", "frequence", "lieu", "rappel.phone", FORGET_STATE])
async def test_start_restarts_from_any_state_and_clears_answers(
    memory_engine: Engine, loaded: LoadedFlow, state: str
) -> None:
    """/start from anywhere announces a restart, asks the first question again and forgets earlier answers."""
    chat, _ = await reach(memory_engine, state)
    assert await answers_of(memory_engine) != {}
    turn = await chat.send("/start")
    assert (turn.state, turn.slot) == ("pour_qui", "for_whom")
    assert turn.replies[0].text == msg(loaded, "restart")
    assert turn.replies[-1].text == question(loaded, "pour_qui")
    assert await answers_of(memory_engine) == {}
    assert turn.persona is None
    assert not turn.done


async def test_start_as_first_message_welcomes_without_announcing_a_restart(
    memory_engine: Engine, loaded: LoadedFlow
) -> None:
    """/start on a new conversation is a plain welcome: no "on recommence" for someone who never began."""
    turn = await Chat(memory_engine).send("/start")
    assert turn.state == "pour_qui"
    assert msg(loaded, "restart") not in text(turn)
    assert loaded.flow.steps["accueil"].text is not None
    assert loaded.flow.steps["accueil"].text.pick(None) in text(turn)


@pytest.mark.parametrize(
    "state", ["pour_qui", "envies", "frequence", "lieu", "rappel.consent", "rappel.phone", FORGET_STATE]
)
async def test_help_explains_and_asks_the_same_question_again(
    memory_engine: Engine, loaded: LoadedFlow, state: str
) -> None:
    """/aide says the help text, then the very same question with the same buttons; nothing else changes."""
    chat, before = await reach(memory_engine, state)
    record_before = await memory_engine.storage.load_conversation(KEY)
    assert record_before is not None
    turn = await chat.send("/aide")
    assert turn.replies[0].text == msg(loaded, "help")
    assert turn.replies[-1].text == before.replies[-1].text
    assert values(turn) == values(before)
    assert (turn.state, turn.slot, turn.multi, turn.done) == (before.state, before.slot, before.multi, False)
    record_after = await memory_engine.storage.load_conversation(KEY)
    assert record_after is not None
    assert record_after.data.get("answers") == record_before.data.get("answers")


async def test_help_keeps_ticked_choices_of_a_several_choice_question(memory_engine: Engine) -> None:
    """/aide in the middle of ticking boxes shows the question again with the same boxes still ticked."""
    chat, _ = await reach(memory_engine, "envies")
    await chat.send_inbound(Inbound.button(KEY, "leisure"))
    turn = await chat.send("/aide")
    assert turn.state == "envies"
    assert selected(turn) == {"leisure"}


async def test_help_as_first_message_then_starts_the_conversation(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """/aide as the very first message gives the help and then the first question (not a silent dead end)."""
    chat = Chat(memory_engine)
    turn = await chat.send("/aide")
    assert turn.replies[0].text == msg(loaded, "help")
    assert (turn.state, turn.slot) == ("pour_qui", "for_whom")
    assert turn.replies[-1].text == question(loaded, "pour_qui")
    following = await chat.send("value:relative")
    assert following.state == "envies"
    assert msg(loaded, "restart") not in text(following)


async def test_help_in_an_ended_conversation_says_help_only(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """/aide after /stop explains the commands; the conversation stays ended, with no question."""
    chat, _ = await reach(memory_engine, ENDED_STATE)
    turn = await chat.send("/aide")
    assert text(turn) == msg(loaded, "help")
    assert turn.state == ENDED_STATE
    assert turn.done
    assert turn.buttons == ()


@pytest.mark.parametrize("state", ["pour_qui", "envies", "frequence", "lieu", FORGET_STATE, ENDED_STATE])
async def test_human_leads_to_the_callback_consent_from_anywhere(
    memory_engine: Engine, loaded: LoadedFlow, state: str
) -> None:
    """/humain from any state asks consent for a callback, with yes/no buttons; answers so far are kept."""
    chat, _ = await reach(memory_engine, state)
    stored = await memory_engine.storage.load_conversation(KEY)
    kept = dict(stored.data.get("answers", {})) if stored is not None else {}
    turn = await chat.send("/humain")
    assert turn.state == "rappel.consent"
    retention = PrivacyTerms().variables()  # the periods the person is told: Settings' defaults here
    assert turn.replies[-1].text == msg(loaded, "callback_consent").format_map(retention)
    assert values(turn) == ["yes", "no"]
    assert not turn.done
    if state != ENDED_STATE:
        assert await answers_of(memory_engine) == kept


async def test_human_mid_questionnaire_then_a_callback_is_recorded(
    sqlite_engine: Engine, sqlite_storage: Storage
) -> None:
    """/humain in the middle of the questions leads to a stored callback with the answers given so far."""
    chat, _ = await reach(sqlite_engine, "frequence")
    await chat.script(["/humain", "oui", "0612345678", "value:afternoon"])
    turn = await chat.send("Lucienne")
    assert turn.callback is not None
    [row] = await sqlite_storage.callbacks_for(KEY)
    assert (row.status, row.phone, row.moment, row.contact) == ("new", "+33612345678", "afternoon", "person")
    assert (row.first_name, row.channel) == ("Lucienne", KEY.partition(":")[0])
    assert row.answers is not None
    assert row.answers["for_whom"] == "self"
    assert row.answers["equipment"] == ["smartphone"]


async def test_forget_asks_confirmation_and_no_keeps_everything(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """/oublier asks first; "non" erases nothing and asks the interrupted question again."""
    chat, before = await reach(memory_engine, "frequence")
    kept = await answers_of(memory_engine)
    confirm = await chat.send("/oublier")
    assert confirm.state == FORGET_STATE
    assert confirm.replies[-1].text == msg(loaded, "forget_confirm")
    assert values(confirm) == ["yes", "no"]
    unsure = await chat.send("peut-être")  # neither yes nor no: asked again, nothing erased
    assert unsure.state == FORGET_STATE
    assert unsure.replies[-1].text == msg(loaded, "forget_confirm")
    turn = await chat.send("non")
    assert msg(loaded, "forget_cancelled") in text(turn)
    assert turn.state == "frequence"
    assert turn.replies[-1].text == before.replies[-1].text
    assert await answers_of(memory_engine) == kept
    assert (await chat.send("value:daily")).state == "aisance"  # the conversation simply goes on


async def test_forget_yes_erases_conversation_and_callback_personal_data(
    sqlite_engine: Engine, sqlite_storage: Storage, sqlite_url: str, loaded: LoadedFlow
) -> None:
    """/oublier + "oui" deletes the conversation and the callback's phone and answers in the database, and ends."""
    chat, _ = await reach(sqlite_engine, "rappel.name")
    recorded = await chat.send("Lucienne")
    assert recorded.callback is not None
    assert recorded.state == LAST_QUESTION
    await chat.send("/oublier")
    turn = await chat.send("oui")
    assert text(turn) == msg(loaded, "forget_done")
    assert turn.done
    assert turn.state == ENDED_STATE
    other = await Storage.open(sqlite_url)  # another connection: what is really in the file
    try:
        assert await other.load_conversation(KEY) is None
        assert await other.callbacks_for(KEY) == []
        row = await other.get_callback(recorded.callback.id)
        assert row is not None
        assert (row.conversation_key, row.phone, row.answers, row.contact) == (None, None, None, None)
        assert (row.first_name, row.commune, row.code_insee) == (None, None, None)
        assert row.status == "cancelled"
    finally:
        await other.close()
    again = await chat.send("bonjour")
    assert again.state == "pour_qui"
    assert not again.done
    assert await answers_of(sqlite_engine) == {}


async def test_stop_ends_and_a_later_message_starts_over(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """/stop ends the conversation (done=true); the next message starts a new one from the welcome."""
    chat, _ = await reach(memory_engine, "frequence")
    turn = await chat.send("/stop")
    assert turn.done
    assert turn.state == ENDED_STATE
    assert text(turn) == msg(loaded, "stop")
    assert turn.buttons == ()
    assert turn.slot is None
    later = await chat.send("rebonjour")
    assert not later.done
    assert later.state == "pour_qui"
    assert await answers_of(memory_engine) == {}


@pytest.mark.parametrize("command", ["/foo", "/Foo bar", "/startt"])
async def test_unknown_command_is_named_and_the_question_asked_again(
    memory_engine: Engine, loaded: LoadedFlow, command: str
) -> None:
    """An unknown command is answered kindly (naming it and the real commands), then the same question."""
    chat, before = await reach(memory_engine, "frequence")
    turn = await chat.send(command)
    name = command.split()[0].lower()
    assert f"« {name} »" in turn.replies[0].text
    assert "/aide" in turn.replies[0].text
    assert turn.replies[-1].text == before.replies[-1].text
    assert turn.state == "frequence"


async def test_commands_ignore_case_and_bot_suffix(memory_engine: Engine) -> None:
    """ "/STOP" and "/stop@PasserelleBot" (Telegram groups) are the /stop command."""
    chat, _ = await reach(memory_engine, "frequence")
    assert (await chat.send("/STOP")).state == ENDED_STATE
    chat2, _ = await reach(memory_engine, "frequence", key="test:2")
    assert (await chat2.send("/stop@PasserelleBot")).state == ENDED_STATE


# ----- several-choice questions ----------------------------------------------------------------------------


async def test_toggling_buttons_marks_selection_and_edits_in_place(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """Each press ticks or unticks a box: the question is shown again in place (edit) with its ticks."""
    chat, _ = await reach(memory_engine, "envies")
    await chat.send_inbound(Inbound.button(KEY, "family_contact"))
    turn = await chat.send_inbound(Inbound.button(KEY, "/valider"))
    assert turn.state == "appareils"
    turn = await chat.send_inbound(Inbound.button(KEY, "smartphone"))
    assert selected(turn) == {"smartphone"}
    assert turn.replies[-1].edit
    assert turn.replies[-1].multi
    assert turn.multi
    assert len(turn.replies) == 1
    assert question(loaded, "appareils") in turn.replies[-1].text
    assert values(turn)[-1] == "/valider"
    turn = await chat.send_inbound(Inbound.button(KEY, "tablet"))
    assert selected(turn) == {"smartphone", "tablet"}
    turn = await chat.send_inbound(Inbound.button(KEY, "tablet"))
    assert selected(turn) == {"smartphone"}
    assert turn.state == "appareils"
    assert "equipment" not in await answers_of(memory_engine)  # nothing stored before confirmation


async def test_exclusive_none_and_unknown_clear_the_other_ticks(memory_engine: Engine) -> None:
    """Ticking "Aucun" or "Je ne sais pas" clears the other boxes; ticking a device clears them in turn."""
    chat, _ = await reach(memory_engine, "envies")
    await chat.send("value:family_contact")
    tick = chat.send_inbound
    assert selected(await tick(Inbound.button(KEY, "smartphone"))) == {"smartphone"}
    assert selected(await tick(Inbound.button(KEY, "computer"))) == {"smartphone", "computer"}
    assert selected(await tick(Inbound.button(KEY, "none"))) == {"none"}
    assert selected(await tick(Inbound.button(KEY, "tablet"))) == {"tablet"}
    assert selected(await tick(Inbound.button(KEY, "unknown"))) == {"unknown"}
    assert selected(await tick(Inbound.button(KEY, "none"))) == {"none"}
    turn = await tick(Inbound.button(KEY, "/valider"))
    assert (await answers_of(memory_engine))["equipment"] == ["none"]
    assert turn.state == "attitude"


async def test_confirm_with_nothing_ticked_asks_again_kindly(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """ "/valider" with no box ticked is not an answer: a hint, then the same question; nothing stored."""
    chat, _ = await reach(memory_engine, "envies")
    turn = await chat.send_inbound(Inbound.button(KEY, "/valider"))
    assert turn.state == "envies"
    assert turn.replies[0].text == msg(loaded, "multi_hint")
    assert question(loaded, "envies") in turn.replies[-1].text
    assert "goals" not in await answers_of(memory_engine)
    typed = await chat.send("c'est tout")  # the typed way of confirming, still with nothing ticked
    assert typed.state == "envies"


async def test_ticks_then_typed_confirmation_store_the_set(memory_engine: Engine) -> None:
    """Ticked boxes confirmed by typing "ok" are stored as the slot's set, in the order ticked."""
    chat, _ = await reach(memory_engine, "envies")
    await chat.send_inbound(Inbound.button(KEY, "leisure"))
    await chat.send_inbound(Inbound.button(KEY, "admin_procedures"))
    turn = await chat.send("ok")
    assert turn.state == "appareils"
    assert selected(turn) == set()  # the next question starts with nothing ticked
    assert (await answers_of(memory_engine))["goals"] == ["leisure", "admin_procedures"]


async def test_typed_list_answers_a_several_choice_question(memory_engine: Engine) -> None:
    """ "smartphone et tablette" typed answers the devices question at once."""
    chat, _ = await reach(memory_engine, "envies")
    await chat.send("value:family_contact")
    turn = await chat.send("smartphone et tablette")
    assert turn.state == "frequence"
    assert (await answers_of(memory_engine))["equipment"] == ["smartphone", "tablet"]


# ----- skips and wording -----------------------------------------------------------------------------------


async def test_no_usage_question_without_a_connected_device(memory_engine: Engine) -> None:
    """With no device (equipment=none) the internet-use question is skipped: next comes the attitude."""
    chat, _ = await reach(memory_engine, "envies")
    await chat.send("value:family_contact")
    turn = await chat.send("value:none")
    assert turn.state == "attitude"
    assert turn.slot == "attitude"
    states = [t.state for t in await chat.script(["value:curious", "value:money", "value:80_plus", "value:no"])]
    assert "frequence" not in states
    assert "aisance" not in states
    assert states == ["freins", "age", "entourage", "mobilite"]
    assert "usage_frequency" not in await answers_of(memory_engine)


async def test_usage_question_asked_with_a_smartphone(memory_engine: Engine) -> None:
    """With a smartphone the internet-use question is asked."""
    chat, _ = await reach(memory_engine, "frequence")
    assert chat.last is not None
    assert chat.last.slot == "usage_frequency"


async def test_relative_wording_speaks_of_votre_proche(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """Writing for a relative turns questions into "votre proche" wording; for oneself, "vous"."""
    chat = Chat(memory_engine)
    turns = await chat.script(["bonjour", "value:relative", "value:family_contact", "value:smartphone"])
    assert turns[1].replies[-1].text.startswith(question(loaded, "envies", "relative"))
    assert "votre proche" in turns[1].replies[-1].text
    assert turns[2].replies[-1].text.startswith("Quels appareils a votre proche ?")
    assert turns[3].replies[-1].text == "Est-ce que votre proche se sert d'internet ?"
    self_chat = Chat(memory_engine, "test:self")
    own = await self_chat.script(["bonjour", "value:self"])
    assert "votre proche" not in text(own[-1])


# ----- the callback request --------------------------------------------------------------------------------


async def test_consent_refused_stores_nothing(
    sqlite_engine: Engine, sqlite_storage: Storage, loaded: LoadedFlow
) -> None:
    """Saying no to the consent question stores no callback and says no number is kept."""
    chat, _ = await reach(sqlite_engine, "rappel.consent")
    turn = await chat.send("non")
    assert msg(loaded, "callback_declined") in text(turn)
    assert turn.callback is None
    assert (turn.state, turn.done) == (LAST_QUESTION, False)
    assert await sqlite_storage.callbacks_for(KEY) == []
    record = await sqlite_storage.load_conversation(KEY)
    assert record is not None
    assert "callback_draft" not in record.data


async def test_phone_refused_stores_nothing(sqlite_engine: Engine, sqlite_storage: Storage, loaded: LoadedFlow) -> None:
    """Pressing "Non merci" instead of giving a number stores no callback and no number."""
    chat, _ = await reach(sqlite_engine, "rappel.phone")
    turn = await chat.send("value:no")
    assert msg(loaded, "callback_declined") in text(turn)
    assert await sqlite_storage.callbacks_for(KEY) == []
    record = await sqlite_storage.load_conversation(KEY)
    assert record is not None
    assert "callback_draft" not in record.data


async def test_invalid_phone_is_asked_again_kindly_then_accepted(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """A wrong number gets a kind example and the phone question again; a valid one moves on."""
    chat, before = await reach(memory_engine, "rappel.phone")
    assert before.replies[-1].request == "contact"
    for wrong in ("12", "06 12 34", "0612345"):
        turn = await chat.send(wrong)
        assert turn.state == "rappel.phone"
        assert turn.replies[0].text == msg(loaded, "callback_phone_invalid")
        assert turn.replies[-1].text == msg(loaded, "callback_phone")
        assert "/humain" not in values(turn)  # no "talk to someone" button while already asking for one
    turn = await chat.send("06 12 34 56 78")
    assert turn.state == "rappel.moment"
    assert values(turn) == ["morning", "afternoon", "any"]


async def test_overseas_number_shared_as_contact_is_stored_in_e164(
    sqlite_engine: Engine, sqlite_storage: Storage
) -> None:
    """A Martinique mobile shared with the contact button is stored as +596…."""
    chat, _ = await reach(sqlite_engine, "rappel.phone")
    turn = await chat.send_inbound(Inbound.contact(KEY, "0696 12 34 56"))
    assert turn.state == "rappel.moment"
    await chat.script(["value:any", "value:skip"])
    [row] = await sqlite_storage.callbacks_for(KEY)
    assert row.phone == "+596696123456"


async def test_callback_is_in_the_database_when_the_confirmation_is_returned(
    sqlite_engine: Engine, sqlite_storage: Storage, sqlite_url: str, loaded: LoadedFlow
) -> None:
    """The confirmation turn is returned only once the callback is committed, status new, for oneself."""
    chat, _ = await reach(sqlite_engine, "rappel.name")
    turn = await chat.send("value:skip")
    assert turn.callback is not None
    other = await Storage.open(sqlite_url)  # a separate connection sees only what is committed
    try:
        row = await other.get_callback(turn.callback.id)
    finally:
        await other.close()
    assert row is not None
    assert (turn.callback.queue, turn.callback.status) == (row.queue, row.status) == ("default", "new")
    assert (row.conversation_key, row.phone, row.moment, row.contact) == (KEY, "+33612345678", "morning", "person")
    assert turn.persona is not None
    assert row.persona == turn.persona.id
    assert row.answers is not None
    assert row.answers["location"] == "69003"
    assert row.first_name is None  # « Passer »
    assert "vous appellera le matin," in text(turn)  # the moment, said in the sentence
    assert (turn.state, turn.done) == (LAST_QUESTION, False)


async def test_who_to_call_is_asked_only_for_a_relative(
    sqlite_engine: Engine, sqlite_storage: Storage, loaded: LoadedFlow
) -> None:
    """For a relative, the bot asks who should be called right after the consent, before the number (so it is
    clear whose number is asked); the choice is stored with the callback."""
    chat = Chat(sqlite_engine)
    turns = await chat.script(["bonjour", "value:relative", *TO_CONSENT[2:], "oui"])
    assert turns[-1].state == "rappel.who"
    assert turns[-1].replies[-1].text == msg(loaded, "callback_who")
    assert values(turns[-1]) == ["person", "relative"]
    relation = await chat.send("moi")
    assert relation.state == "rappel.relation"
    assert relation.replies[-1].text == msg(loaded, "callback_relation")
    phone = await chat.send("je suis son petit-fils")
    assert phone.state == "rappel.phone"
    assert phone.replies[-1].text == msg(loaded, "callback_phone", "relative")
    assert (await chat.send("0590 12 34 56")).state == "rappel.moment"
    assert (await chat.send("value:afternoon")).state == "rappel.name"
    assert await sqlite_storage.callbacks_for(KEY) == []  # not before the last answer
    done = await chat.send("Julien")
    assert done.callback is not None
    assert msg(loaded, "callback_done", "relative").split("{")[0] in text(done)
    [row] = await sqlite_storage.callbacks_for(KEY)
    assert (row.contact, row.phone, row.moment) == ("relative", "+590590123456", "afternoon")
    assert (row.relation, row.first_name) == ("family", "Julien")
    # for oneself, nobody is asked who to call
    self_chat = Chat(sqlite_engine, "test:self")
    own = await self_chat.script([*TO_MOMENT, "value:any", "value:skip"])
    assert not {"rappel.who", "rappel.relation"} & {t.state for t in own}
    assert own[-1].callback is not None


# ----- misunderstandings -----------------------------------------------------------------------------------


async def test_after_two_misses_a_human_is_offered(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """One unclear answer: a kind rephrasing. Two: the buttons also offer a person ("/humain")."""
    chat, before = await reach(memory_engine, "frequence")
    first = await chat.send("blablabla")
    assert first.replies[0].text == msg(loaded, "not_understood")
    assert "/humain" not in values(first)
    assert values(first) == values(before)
    second = await chat.send("qwertyuiop")
    assert second.replies[0].text == msg(loaded, "not_understood_human")
    assert values(second)[-1] == "/humain"
    assert second.state == "frequence"
    human = await chat.send("value:/humain")
    assert human.state == "rappel.consent"


async def test_misses_count_again_on_the_next_question(memory_engine: Engine) -> None:
    """A good answer resets the count: the next question's first miss does not offer a person yet."""
    chat, _ = await reach(memory_engine, "frequence")
    await chat.script(["blabla", "blublu"])
    await chat.send("value:daily")
    turn = await chat.send("blabla")
    assert turn.state == "aisance"
    assert "/humain" not in values(turn)


async def test_empty_answer_gets_its_own_kind_message(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """An empty message is met with "Je n'ai rien reçu", then the question again."""
    chat, before = await reach(memory_engine, "frequence")
    turn = await chat.send("   ")
    assert turn.replies[0].text == msg(loaded, "empty_input")
    assert turn.replies[-1].text == before.replies[-1].text


async def test_old_button_is_answered_with_the_current_question(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """Pressing a button left from an earlier question is not taken as an answer here: the current question
    comes again, kindly."""
    chat, before = await reach(memory_engine, "frequence")
    turn = await chat.send_inbound(Inbound.button(KEY, "relative"))  # from "pour qui ?"
    assert turn.state == "frequence"
    assert turn.replies[0].text == msg(loaded, "not_understood")
    assert turn.replies[-1].text == before.replies[-1].text
    assert (await answers_of(memory_engine))["for_whom"] == "self"
    toggle = await chat.send_inbound(Inbound.button(KEY, "tablet"))  # a several-choice value, also old
    assert toggle.state == "frequence"
    assert "usage_frequency" not in await answers_of(memory_engine)


# ----- restarts and flow versions ----------------------------------------------------------------------------


async def test_conversation_survives_a_restart_of_the_process(sqlite_url: str, loaded: LoadedFlow) -> None:
    """Half a conversation, storage closed, a new storage and engine on the same file: it goes on where it was,
    with its answers, and ends with the same persona as an uninterrupted conversation."""
    first_half = [*TO_GOALS, "value:family_contact,admin_procedures", "value:smartphone", "value:rarely"]
    second_half = ["value:yes", "value:unsure", "value:confidence,money", "value:70_79"]
    storage = await Storage.open(sqlite_url)
    engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
    await engine.start()
    before = (await Chat(engine).script(first_half))[-1]
    assert before.state == "connexion"
    await storage.close()

    storage = await Storage.open(sqlite_url)
    try:
        engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
        await engine.start()
        chat = Chat(engine)
        again = await chat.send("/aide")
        assert again.state == "connexion"
        assert again.replies[-1].text == before.replies[-1].text
        turns = await chat.script(second_half)
        record = await storage.load_conversation(KEY)
    finally:
        await storage.close()
    assert record is not None
    assert record.data["answers"]["goals"] == ["family_contact", "admin_procedures"]
    assert record.data["answers"]["usage_frequency"] == "rarely"
    reference = Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue())
    expected = (await Chat(reference).script(first_half + second_half))[-1]
    assert turns[-1].state == expected.state == "mobilite"
    assert turns[-1].persona is not None
    assert expected.persona is not None
    assert turns[-1].persona.id == expected.persona.id


def edited_flow(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> LoadedFlow:
    """A copy of the shipped flow with some text replaced, beside copies of messages.yaml and personas.yaml."""
    folder = tmp_path / name
    folder.mkdir()
    source = (FLOWS / "orientation.yaml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    (folder / "orientation.yaml").write_text(source, encoding="utf-8")
    shutil.copy(FLOWS / "messages.yaml", folder / "messages.yaml")
    shutil.copy(FLOWS / "personas.yaml", folder / "personas.yaml")
    return load_flow_with_personas(folder / "orientation.yaml")


NEW_DEVICES_TEXT = ('      self: "Quels appareils avez-vous ?"', '      self: "Avec quoi allez-vous sur internet ?"')
NEW_USAGE_TEXT = ('''      self: "Vous servez-vous d'internet ?"''', '''      self: "Allez-vous sur internet ?"''')


async def test_conversation_keeps_the_flow_version_it_started_with(
    sqlite_url: str, loaded: LoadedFlow, tmp_path: Path
) -> None:
    """After the flow is edited and the bot restarted, a conversation under way keeps its original wording;
    a new conversation gets the edited one."""
    storage = await Storage.open(sqlite_url)
    old = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
    await old.start()
    await Chat(old).script([*TO_GOALS, "value:family_contact"])
    await storage.close()

    edited = edited_flow(tmp_path, "edited", NEW_DEVICES_TEXT, NEW_USAGE_TEXT)
    assert edited.flow.version != loaded.flow.version
    storage = await Storage.open(sqlite_url)
    try:
        engine = Engine(edited.flow, edited.personas, storage, NoCatalogue())
        await engine.start()
        chat = Chat(engine)
        turn = await chat.send("/aide")
        assert turn.replies[-1].text.startswith("Quels appareils avez-vous ?")
        turn = await chat.send("value:smartphone")
        assert turn.replies[-1].text == "Vous servez-vous d'internet ?"
        record = await storage.load_conversation(KEY)
        assert record is not None
        assert record.flow_version == loaded.flow.version
        newcomer = await Chat(engine, "test:new").script([*TO_GOALS, "value:family_contact", "value:smartphone"])
        assert newcomer[-2].replies[-1].text.startswith("Avec quoi allez-vous sur internet ?")
        assert newcomer[-1].replies[-1].text == "Allez-vous sur internet ?"
        fresh = await storage.load_conversation("test:new")
        assert fresh is not None
        assert fresh.flow_version == edited.flow.version
    finally:
        await storage.close()


RENAMED_DEVICES_STEP = (("    next: appareils\n", "    next: equipement\n"), ("  appareils:\n", "  equipement:\n"))


async def test_unknown_version_with_a_removed_step_is_migrated(
    sqlite_url: str, loaded: LoadedFlow, tmp_path: Path
) -> None:
    """A conversation whose flow version is unknown and whose step no longer exists is told the questions
    changed, keeps its answers, and is asked the first question it has not answered."""
    storage = await Storage.open(sqlite_url)
    try:
        # Never start()ed, so its version is not remembered in the database: unknown to the next engine.
        old = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
        await Chat(old).script([*TO_GOALS, "value:leisure"])
        stored = await storage.load_conversation(KEY)
        assert stored is not None
        assert stored.state == "appareils"

        renamed = edited_flow(tmp_path, "renamed", *RENAMED_DEVICES_STEP)
        engine = Engine(renamed.flow, renamed.personas, storage, NoCatalogue())
        await engine.start()
        chat = Chat(engine)
        turn = await chat.send("value:smartphone")  # answered a question that no longer exists: not kept
        assert turn.replies[0].text == msg(loaded, "migrated")
        assert (turn.state, turn.slot) == ("equipement", "equipment")
        assert turn.replies[-1].text.startswith("Quels appareils avez-vous ?")
        # answered questions are skipped, and the welcome is not said again mid-conversation
        assert len(turn.replies) == 2
        assert question(loaded, "pour_qui") not in text(turn)
        assert question(loaded, "envies") not in text(turn)
        assert "Bonjour" not in text(turn)
        record = await storage.load_conversation(KEY)
        assert record is not None
        assert record.flow_version == renamed.flow.version
        assert record.data["answers"] == {"for_whom": "self", "goals": ["leisure"]}
        following = await chat.send("value:smartphone")
        assert following.state == "frequence"
    finally:
        await storage.close()


async def test_unknown_version_with_the_step_still_there_just_goes_on(
    sqlite_url: str, loaded: LoadedFlow, tmp_path: Path
) -> None:
    """An unknown version whose step still exists continues on the current flow, without a migration notice."""
    storage = await Storage.open(sqlite_url)
    try:
        old = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
        await Chat(old).script([*TO_GOALS, "value:leisure"])
        edited = edited_flow(tmp_path, "edited", NEW_DEVICES_TEXT)
        engine = Engine(edited.flow, edited.personas, storage, NoCatalogue())
        await engine.start()
        turn = await Chat(engine).send("/aide")
        assert msg(loaded, "migrated") not in text(turn)
        assert turn.state == "appareils"
        assert turn.replies[-1].text.startswith("Avec quoi allez-vous sur internet ?")
    finally:
        await storage.close()


# ----- ordering and concurrency -----------------------------------------------------------------------------


def scripted(key: str) -> list[Inbound]:
    """20 inputs where each answer only makes sense after the previous one."""
    b, t = Inbound.button, Inbound.typed
    return [
        t(key, "bonjour"), b(key, "self"),
        b(key, "family_contact"), b(key, "leisure"), b(key, "daily_life"), b(key, "leisure"), b(key, "/valider"),
        b(key, "smartphone"), b(key, "tablet"), b(key, "/valider"),
        t(key, "chaque semaine"), t(key, "je me débrouille"), b(key, "unsure"),
        b(key, "confidence"), b(key, "money"), b(key, "/valider"),
        t(key, "blabla"), b(key, "easy"), t(key, "69003"), b(key, "no"),
    ]  # fmt: skip


def shape(turn: Turn) -> tuple[object, ...]:
    return turn.state, tuple(r.text for r in turn.replies), tuple(sorted(selected(turn))), turn.done


async def test_messages_of_one_conversation_are_handled_one_at_a_time_in_order(
    versions_from_one: None, sqlite_engine: Engine, sqlite_storage: Storage, loaded: LoadedFlow
) -> None:
    """20 messages of one person fired at once (and 5 other people's alongside) are each handled in arrival
    order, without conflict errors, exactly as if sent one by one; no lock is left behind."""
    reference = Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue())
    expected = [shape(await reference.handle(inbound)) for inbound in scripted("reference")]
    assert expected[-1][0] == LAST_QUESTION

    keys = [f"test:{n}" for n in range(6)]
    per_key = {key: scripted(key) for key in keys}
    interleaved = [per_key[key][i] for i in range(20) for key in keys]
    turns = await asyncio.gather(*(sqlite_engine.handle(inbound) for inbound in interleaved))
    for key in keys:
        got = [shape(turn) for inbound, turn in zip(interleaved, turns, strict=True) if inbound.key == key]
        assert got == expected, key
        record = await sqlite_storage.load_conversation(key)
        assert record is not None
        assert record.version == 20  # one save per message, none lost or redone
        assert record.data["answers"]["goals"] == ["family_contact", "daily_life"]
    assert len(sqlite_engine.locks) == 0


class MeetingPoint:
    """An offer search where every conversation waits until all of them are searching at the same time:
    it only completes if different conversations really run concurrently."""

    def __init__(self, engine_locks: KeyedLocks, expected: int) -> None:
        self.expected = expected
        self.arrived = 0
        self.everyone = asyncio.Event()
        self.locks_seen: list[int] = []
        self.engine_locks = engine_locks

    async def search(
        self, location: str, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        self.arrived += 1
        self.locks_seen.append(len(self.engine_locks))
        if self.arrived == self.expected:
            self.everyone.set()
        await asyncio.wait_for(self.everyone.wait(), timeout=5)
        return []

    def coverage(self) -> tuple[str, ...]:
        return ()


@pytest.mark.parametrize("on", ["memory", "sqlite"])
async def test_different_conversations_run_concurrently_and_idle_locks_are_dropped(
    loaded: LoadedFlow, on: str, sqlite_url: str
) -> None:
    """Three people reaching the offer search at once are all inside it together (no global lock, and on SQLite
    no database transaction held while a turn is worked out); one lock per conversation exists meanwhile, and
    none remains after."""
    storage = MemoryStorage() if on == "memory" else await Storage.open(sqlite_url)
    engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
    meeting = MeetingPoint(engine.locks, expected=3)
    engine.offers = meeting
    keys = ["test:a", "test:b", "test:c"]
    for key in keys:
        turn = (await Chat(engine, key).script(TO_LOCATION))[-1]
        assert turn.state == "lieu"
    assert len(engine.locks) == 0
    turns = await asyncio.gather(*(engine.handle(Inbound.typed(key, "69003")) for key in keys))
    assert [t.state for t in turns] == ["proposition"] * 3
    assert meeting.locks_seen[-1] == 3
    assert len(engine.locks) == 0
    await storage.close()


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "core"])
async def test_two_processes_on_one_database_see_each_others_turns(
    versions_from_one: None, sqlite_url: str, loaded: LoadedFlow, fast: bool
) -> None:
    """Two engines on two storages of one SQLite file (two processes) alternate on one conversation: each turn
    starts from the other's last write, never from a stale copy."""
    one = await Storage.open(sqlite_url, fast_sqlite=fast)
    two = await Storage.open(sqlite_url, fast_sqlite=fast)
    try:
        first = Engine(loaded.flow, loaded.personas, one, NoCatalogue())
        second = Engine(loaded.flow, loaded.personas, two, NoCatalogue())
        await first.start()
        await second.start()
        assert (await first.handle(Inbound.typed(KEY, "bonjour"))).state == "pour_qui"
        assert (await second.handle(Inbound.button(KEY, "self"))).state == "envies"
        turn = await first.handle(Inbound.button(KEY, "leisure"))
        assert (turn.state, selected(turn)) == ("envies", {"leisure"})
        turn = await second.handle(Inbound.button(KEY, "family_contact"))
        assert selected(turn) == {"leisure", "family_contact"}
        turn = await first.handle(Inbound.button(KEY, "/valider"))
        assert turn.state == "appareils"
        third = await Storage.open(sqlite_url)  # read the file, not a process's cached copy
        record = await third.load_conversation(KEY)
        await third.close()
        assert record is not None
        assert record.version == 5
        assert record.data["answers"]["goals"] == ["leisure", "family_contact"]
    finally:
        await one.close()
        await two.close()


async def test_humain_mid_questionnaire_comes_back_to_the_question(memory_engine: Engine) -> None:
    """/humain in the middle of the questions: whether the callback is declined or recorded, the person is
    then asked the question they were on, with their answers kept."""
    chat = Chat(memory_engine)
    await chat.script(["bonjour", "value:self"])
    turn = await chat.send("/humain")
    assert turn.state == "rappel.consent"
    turn = await chat.send("value:no")
    assert (turn.state, turn.slot, turn.done) == ("envies", "goals", False)
    assert "Reprenons" in text(turn)
    await chat.send("value:family_contact")
    await chat.send("/humain")
    await chat.script(["value:yes", "06 12 34 56 78", "value:any"])
    turn = await chat.send("value:skip")
    assert turn.callback is not None
    assert (turn.state, turn.slot, turn.done) == ("appareils", "equipment", False)
    turn = await chat.send("/humain")  # asked again while a callback question is pending: nothing restarts
    assert turn.state == "rappel.consent"
    turn = await chat.send("/humain")
    assert turn.state == "rappel.consent"


async def test_stop_during_the_callback_keeps_no_phone_number(sqlite_engine: Engine, sqlite_storage: Storage) -> None:
    """A number typed for a callback, then /stop before the request is complete: no request is stored and the
    number is not left in the stored conversation."""
    chat = Chat(sqlite_engine)
    await chat.script(["bonjour", "value:self", "/humain", "value:yes", "06 12 34 56 78"])
    record = await sqlite_storage.load_conversation(chat.key)
    assert record is not None
    assert record.data["callback_draft"]["phone"] == "+33612345678"
    turn = await chat.send("/stop")
    assert turn.done
    record = await sqlite_storage.load_conversation(chat.key)
    assert record is not None
    assert "+33612345678" not in str(record.data)
    assert await sqlite_storage.callbacks_for(chat.key) == []


async def test_current_turn_asks_the_question_again_without_changing_anything(sqlite_engine: Engine) -> None:
    """current_turn (a web page reloaded): the current question with its buttons, the consent question during a
    callback request, nothing once ended or for a stranger; the conversation is not written."""
    assert await sqlite_engine.current_turn(KEY) is None
    chat, asked = await reach(sqlite_engine, "frequence")
    stored = await sqlite_engine.storage.load_conversation(KEY)
    assert stored is not None
    again = await sqlite_engine.current_turn(KEY)
    assert again is not None
    assert (again.state, values(again), again.replies[-1].text) == (asked.state, values(asked), asked.replies[-1].text)
    after = await sqlite_engine.storage.load_conversation(KEY)
    assert after is not None
    assert (after.version, after.data) == (stored.version, stored.data)
    consent = await chat.send("/humain")
    during = await sqlite_engine.current_turn(KEY)
    assert during is not None
    assert (during.state, values(during)) == (consent.state, values(consent))
    await chat.send("/stop")
    assert await sqlite_engine.current_turn(KEY) is None
