"""The commands a person can send at any point (/start, /aide, /humain, /annuler, /stop, and unknown ones), as
outcomes like the sub-dialogues' (/oublier and /mesdonnees belong to privacy)."""

from __future__ import annotations

from bot.core.commands import CANCEL, HELP, HUMAN, START, STOP
from bot.engine.conversation import TalkToHuman
from bot.engine.machine import ENDED_STATE, callback_phase
from bot.engine.outcomes import CancelCallbacks, Draft, Enter, Interrupt, Move, Outcome, Prompt, Reprompt, Restart, Say
from bot.engine.view import View


def command_outcomes(view: View, command: str, *, stored: bool) -> list[Outcome]:
    flow = view.flow
    if command == START:
        return [Restart(announce=stored)]
    if command == HELP:
        return [Say("help"), Reprompt()]
    if command == HUMAN:
        if callback_phase(flow, view.state) is not None:
            return [Prompt()]  # already asking for a callback: ask the current part again
        step = flow.steps.get(view.state)
        if step is not None and step.waits and step.id != flow.human:
            # back to this question once the callback is asked or declined
            return [Interrupt(TalkToHuman(step.id)), Enter(flow.human)]
        return [Enter(flow.human)]
    if command == CANCEL:
        return [CancelCallbacks(), Reprompt()]  # the engine cancels the open requests and says which it found
    if command == STOP:
        # A number typed for a callback never asked for is not kept.
        return [Draft(None), Say("stop"), Move(ENDED_STATE)]
    return [Say("unknown_command", {"step": command}), Reprompt()]
