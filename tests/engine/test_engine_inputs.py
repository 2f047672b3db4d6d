"""What a channel may send beyond text and buttons: things the bot cannot read, and presses on buttons of an
earlier question (Telegram keeps old messages' buttons pressable)."""

from __future__ import annotations

from bot.core.messages import Inbound, question_token
from bot.engine.engine import Engine
from tests.conftest import Chat

KEY = "test:1"


async def test_unsupported_input_says_so_and_asks_the_same_question_again(memory_engine: Engine) -> None:
    """A photo or a voice note mid-conversation: a kind sentence, the current question again, nothing stored."""
    chat = Chat(memory_engine, KEY)
    before = await chat.script(["bonjour"])
    turn = await chat.send_inbound(Inbound.unsupported(KEY))
    assert turn.replies[0].text.startswith("Je ne sais lire que les messages écrits")
    assert turn.state == before[-1].state == "pour_qui"
    assert turn.replies[-1].text == before[-1].replies[-1].text
    assert [b.value for b in turn.buttons] == [b.value for b in before[-1].buttons]


async def test_unsupported_first_message_then_the_welcome(memory_engine: Engine) -> None:
    """A voice note as the very first message: the sentence, then the conversation begins."""
    turn = await memory_engine.handle(Inbound.unsupported(KEY))
    assert turn.replies[0].text.startswith("Je ne sais lire")
    assert turn.state == "pour_qui"


async def test_button_of_an_earlier_question_is_not_read_as_the_current_answer(memory_engine: Engine) -> None:
    """Pressing "Pour moi" on the first question's old message while the bot asks about goals: the bot says
    this button belonged to an earlier question and asks the current one again; no answer changes."""
    chat = Chat(memory_engine, KEY)
    first = (await chat.script(["bonjour"]))[-1]
    old_token = question_token(first.state)
    turn = await chat.send_inbound(Inbound.button(KEY, "self", context=old_token))
    assert turn.state == "envies"
    stale = await chat.send_inbound(Inbound.button(KEY, "relative", context=old_token))
    assert stale.state == "envies"
    assert stale.replies[0].text.startswith("Ce bouton répondait à une question précédente")
    record = await memory_engine.storage.load_conversation(KEY)
    assert record is not None
    assert record.data["answers"]["for_whom"] == "self"


async def test_button_of_the_current_question_with_its_token_is_an_answer(memory_engine: Engine) -> None:
    """The token of the question shown is accepted: the press answers it."""
    chat = Chat(memory_engine, KEY)
    first = (await chat.script(["bonjour"]))[-1]
    turn = await chat.send_inbound(Inbound.button(KEY, "relative", context=question_token(first.state)))
    assert turn.state != first.state


async def test_command_buttons_work_from_any_old_message(memory_engine: Engine) -> None:
    """The "Parler à quelqu'un" button pressed on an old message still leads to a person, whatever the question."""
    chat = Chat(memory_engine, KEY)
    await chat.script(["bonjour", "value:self"])
    turn = await chat.send_inbound(Inbound.button(KEY, "/humain", context=question_token("somewhere.else")))
    assert turn.state.endswith(".consent")


def test_question_tokens_are_short_and_distinct() -> None:
    """Tokens fit easily in a button's 64 bytes and tell the flow's questions apart."""
    states = ["pour_qui", "envies", "frequence", "lieu", "lieu.consent", "lieu.phone", "forget.confirm"]
    tokens = {question_token(s) for s in states}
    assert len(tokens) == len(states)
    assert all(len(t) == 6 for t in tokens)


async def test_the_talk_to_someone_label_typed_is_the_human_command(memory_engine: Engine) -> None:
    """Keyboards that type their labels (Telegram's share keyboard) send "Parler à quelqu'un" as text: it
    leads to a person, as the button does."""
    chat = Chat(memory_engine, KEY)
    await chat.script(["bonjour", "value:self"])
    turn = await chat.send("Parler à quelqu'un")
    assert turn.state.endswith(".consent")
