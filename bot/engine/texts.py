"""The flow's texts rendered for one person: their variant (for themselves or a relative, in the web chat or
elsewhere) and its variables."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.core.slots import SlotValue
from bot.engine.conversation import Conversation
from bot.language.flows import Flow, Wording
from bot.language.personas import Personas


class Texts:
    def __init__(
        self,
        flow: Flow,
        personas: Personas,
        variables: Callable[[], Mapping[str, str]],
        channel: str | None = None,
    ) -> None:
        self.flow = flow
        self.personas = personas
        self.variables = variables  # the operator's settings in words (retention periods), when a text needs them
        self.channel = channel  # the conversation's channel ("web"): texts may have its own variant
        # per speaker, who is called back, and persona
        self._values: dict[tuple[str | None, str | None, str | None], dict[str, object]] = {}

    def render(self, wording: Wording, conversation: Conversation, **extra: object) -> str:
        for_whom = conversation.answers.get("for_whom")
        who = for_whom if isinstance(for_whom, str) else None
        draft = conversation.draft
        called = draft.contact if draft is not None and draft.contact else conversation.called
        text = wording.pick(who, called, self.channel)
        if "{" not in text:
            return text  # most labels: nothing to fill in
        persona_id = conversation.persona.id if conversation.persona else None
        values = self._values.get((who, called, persona_id))
        if values is None:
            values = {
                **self.variables(),
                **{name: w.pick(who, called, self.channel) for name, w in self.flow.variables.items()},
            }
            found = self.personas.personas.get(persona_id) if persona_id else None
            if found is not None:
                values["persona_title"] = found.title
            self._values[(who, called, persona_id)] = values
        return text.format_map(_Blank({**values, **extra}))

    def label(self, key: str, conversation: Conversation) -> str:
        return self.render(self.flow.messages[key], conversation)

    def answer_words(self, answers: Mapping[str, SlotValue], conversation: Conversation) -> list[str]:
        """ "80 ans ou plus", "aucun": the buttons' own words for these answers, in the flow's order."""
        words: list[str] = []
        for step in self.flow.steps.values():
            if step.kind != "ask" or step.slot is None or step.slot not in answers:
                continue
            labels = {c.value: self.render(c.label, conversation) for c in step.choices}
            value = answers[step.slot]
            said = ", ".join(labels.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value]))
            words.append(said[:1].lower() + said[1:])
        return words


def channel_of(conversation_key: str) -> str:
    """The channel a conversation key belongs to: "web:123" -> "web", "telegram:5" -> "telegram"."""
    return conversation_key.partition(":")[0]


class _Blank(dict[str, object]):
    """Formatting values where an unknown name renders as nothing rather than failing mid-conversation."""

    def __missing__(self, key: str) -> str:
        return ""
