"""What a sub-dialogue sees of the turn: the conversation as it stands, the step it stands on, the texts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bot.engine.conversation import Conversation
from bot.engine.texts import Texts
from bot.language.flows import Flow, Wording


@dataclass(frozen=True, slots=True)
class View:
    conversation: Conversation
    state: str
    texts: Texts

    @property
    def flow(self) -> Flow:
        return self.texts.flow

    def render(self, wording: Wording, **extra: object) -> str:
        return self.texts.render(wording, self.conversation, **extra)

    def label(self, key: str) -> str:
        return self.texts.render(self.flow.messages[key], self.conversation)

    def seeing(self, conversation: Conversation) -> View:
        """The same turn, once something the sub-dialogue decided is taken into account."""
        return dataclasses.replace(self, conversation=conversation)
