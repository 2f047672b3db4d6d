"""The only importer of `transitions`: one machine per flow version, conversations attached per message.

The machine is the authority on which moves are legal: the flow's edges, plus the moves every state allows
(start again, talk to a human, forget my data, stop). The engine decides where to go; the machine refuses a
move the flow does not have.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from transitions import Machine, MachineError

from bot.core.errors import BotError
from bot.language.flows import Flow, Step

# Sub-states of a request_callback step, in the order they are asked.
CALLBACK_PHASES = ("consent", "who", "relation", "phone", "moment", "name")
FORGET_STATE = "forget.confirm"
ENDED_STATE = "ended"


class IllegalMove(BotError):
    """The engine asked for a move the flow does not have (a bug, never the person's fault)."""


def callback_state(step_id: str, phase: str) -> str:
    return f"{step_id}.{phase}"


def callback_phase(flow: Flow, state: str) -> tuple[Step, str] | None:
    """The `request_callback` step and the part of it being asked, when `state` is one of its sub-states."""
    step_id, _, phase = state.rpartition(".")
    step = flow.steps.get(step_id)
    if step is not None and step.action == "request_callback" and phase in CALLBACK_PHASES:
        return step, phase
    return None


class FlowState:
    """Where a conversation stands, attached to the machine while a message is handled; `state` is set by it."""

    state: str

    def __init__(self, state: str) -> None:
        self.state = state

    def trigger(self, name: str) -> bool:  # replaced on attach by the machine (model_override)
        raise IllegalMove(f"conversation not attached to a machine, cannot run {name!r}")


class _LeanMachine(Machine):
    """A Machine that binds only `trigger` to an attached record.

    Stock `add_model` binds an `is_<state>` helper per state and a method per event on every attach (~24
    states and ~20 events here: about 0.4 ms per message). Nothing calls those helpers: the engine only ever
    asks `trigger(name)`, so attaching is reduced to setting the state.
    """

    def _add_model_to_state(self, state: Any, model: Any) -> None:
        return None

    def _add_trigger_to_model(self, trigger: str, model: Any) -> None:
        return None


class FlowMachine:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        states: list[str] = [*flow.steps, FORGET_STATE, ENDED_STATE]
        for step in flow.steps.values():
            if step.action == "request_callback":
                states += [callback_state(step.id, phase) for phase in CALLBACK_PHASES]
        self.states = frozenset(states)
        # model_override: only what FlowState declares (`trigger`) is bound, never `may_trigger`.
        logging.getLogger("transitions").setLevel(logging.ERROR)
        self._machine = _LeanMachine(
            model=None, states=states, initial=flow.start, auto_transitions=False, model_override=True, send_event=False
        )
        edges: dict[str, set[str]] = {}
        for step in flow.steps.values():
            for target in step.targets():
                edges.setdefault(target, set()).add(step.id)
            if step.action == "request_callback":
                phases = [step.id] + [callback_state(step.id, p) for p in CALLBACK_PHASES]
                for phase in phases[1:]:
                    edges.setdefault(phase, set()).update(phases)
                for target in step.targets():
                    edges.setdefault(target, set()).update(phases)
        for dest, sources in edges.items():
            self._machine.add_transition(f"go:{dest}", list[Any](sorted(sources)), dest)
        # Moves allowed from anywhere: start again, a human, forget, stop; and back from the forget question.
        for dest in {flow.start, flow.human, callback_state(flow.human, "consent"), FORGET_STATE, ENDED_STATE}:
            self._machine.add_transition(f"go:{dest}", "*", dest)
        # Back to an interrupted question once a callback asked with /humain is made or declined.
        human_phases: list[Any] = [flow.human, *(callback_state(flow.human, p) for p in CALLBACK_PHASES)]
        for dest in flow.steps:
            self._machine.add_transition(f"go:{dest}", human_phases, dest)
        for dest in states:
            self._machine.add_transition(f"go:{dest}", FORGET_STATE, dest)
            self._machine.add_transition(f"go:{dest}", ENDED_STATE, dest)

    def knows(self, state: str) -> bool:
        return state in self.states

    @contextmanager
    def attached(self, conversation: FlowState) -> Iterator[FlowState]:
        """Attach the record for the time of one message, then detach it (a shared machine slows down
        as models accumulate)."""
        if conversation.state not in self.states:
            raise IllegalMove(f"state {conversation.state!r} is not in flow {self.flow.name!r}")
        self._machine.add_model(conversation, initial=conversation.state)
        try:
            yield conversation
        finally:
            self._machine.remove_model(conversation)

    def move(self, conversation: FlowState, dest: str) -> None:
        if conversation.state == dest:
            return
        try:
            moved: Any = conversation.trigger(f"go:{dest}")
        except (MachineError, AttributeError) as exc:
            raise IllegalMove(f"flow {self.flow.name!r} has no move {conversation.state!r} -> {dest!r}") from exc
        if moved is not True:
            raise IllegalMove(f"flow {self.flow.name!r} refused the move {conversation.state!r} -> {dest!r}")
