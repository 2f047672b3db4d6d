"""Messages for a web chat's person outside a turn ("a mediator took your callback request"): how to write them.

The web chat has no push: the page asks for its notices every ~15 s while open. A notice is a row of the
`outbox` table, written by whoever has news for the person (in the transaction recording that news):

    row = web_notice(conversation_key, "Une personne a pris votre demande : elle vous appelle bientôt.")
    if row is not None:
        await tx.queue_outgoing(WEB_CHANNEL, [row])

The page shows it as a message from the bot (with its buttons, pressed like any other) and the row is deleted
once delivered. No aiohttp here: the core may import this module.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.records import Outgoing

WEB_CHANNEL = "web"  # the outbox `channel` of the web chat
NOTICE = "notice"  # the outbox `method` of a notice; params: {"text": str, "buttons": [{"label", "value"}]}
# A notice's optional `topic` param: of the notices not yet fetched on one topic, only the newest is shown (each
# tells where the person's callback request stands: « a person will call you » is stale once the call is done).
CALLBACK_TOPIC = "callback"
KEY_PREFIX = "web:"  # conversation keys of the web chat: "web:<chat id>"
MAX_CHAT_ID = 2**63 - 1  # chat ids fit a signed 64-bit integer (the outbox's BIGINT)


def web_chat_id(conversation_key: str) -> int | None:
    """The web chat's id in a conversation key ("web:123" → 123); None for another channel's key."""
    if not conversation_key.startswith(KEY_PREFIX):
        return None
    digits = conversation_key.removeprefix(KEY_PREFIX)
    if not digits.isascii() or not digits.isdigit():
        return None
    chat_id = int(digits)
    return chat_id if 0 < chat_id <= MAX_CHAT_ID else None


def web_notice(
    conversation_key: str, text: str, buttons: Sequence[tuple[str, str]] = (), topic: str | None = None
) -> Outgoing | None:
    """The outbox row telling a web chat's person `text`, with (label, value) buttons whose values are answers or
    commands ("/start", "/humain"); `topic`: a later notice on the same topic replaces it if both wait to be
    fetched. None when the conversation is not a web chat's."""
    chat_id = web_chat_id(conversation_key)
    if chat_id is None:
        return None
    params: dict[str, object] = {
        "text": text,
        "buttons": [{"label": label, "value": value} for label, value in buttons],
    }
    if topic is not None:
        params["topic"] = topic
    return Outgoing(chat_id, NOTICE, params)
