"""The flow's texts rendered for one person: their variant (for themselves or a relative) and its variables."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.engine.conversation import Conversation
from bot.language.flows import Flow, Wording
from bot.language.personas import Personas


class Texts:
    def __init__(self, flow: Flow, personas: Personas, variables: Callable[[], Mapping[str, str]]) -> None:
        self.flow = flow
        self.personas = personas
        self.variables = variables  # the operator's settings in words (retention periods), when a text needs them
        self._values: dict[tuple[str | None, str | None], dict[str, object]] = {}  # per speaker and persona

    def render(self, wording: Wording, conversation: Conversation, **extra: object) -> str:
        for_whom = conversation.answers.get("for_whom")
        who = for_whom if isinstance(for_whom, str) else None
        text = wording.pick(who)
        if "{" not in text:
            return text  # most labels: nothing to fill in
        persona_id = conversation.persona.id if conversation.persona else None
        values = self._values.get((who, persona_id))
        if values is None:
            values = {**self.variables(), **{name: w.pick(who) for name, w in self.flow.variables.items()}}
            found = self.personas.personas.get(persona_id) if persona_id else None
            if found is not None:
                values["persona_title"] = found.title
            self._values[(who, persona_id)] = values
        return text.format_map(_Blank({**values, **extra}))

    def label(self, key: str, conversation: Conversation) -> str:
        return self.render(self.flow.messages[key], conversation)


class _Blank(dict[str, object]):
    """Formatting values where an unknown name renders as nothing rather than failing mid-conversation."""

    def __missing__(self, key: str) -> str:
        return ""
