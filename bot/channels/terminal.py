"""The terminal channel: a chat for people (buttons as numbered choices) and the scripted JSONL mode."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
import textwrap
from typing import Any, TextIO

from bot.core.commands import FORGET, HELP, HUMAN, MY_DATA, START, STOP
from bot.core.errors import BotError
from bot.core.messages import Button, Inbound, Offer, Turn
from bot.engine.engine import Engine

log = logging.getLogger(__name__)
TECHNICAL_TROUBLE = (
    "Désolé, un petit souci technique m'empêche de répondre. Réessayez dans un instant, s'il vous plaît."
)
# Shown once when a person opens the chat in the terminal (the commands Telegram lists in its menu).
COMMANDS_HINT = (
    f"(Commandes : {HELP}, {HUMAN} pour qu'on vous rappelle, {MY_DATA} pour voir ce que je garde sur vous, "
    f"{FORGET} pour l'effacer, {STOP} pour arrêter. Ctrl-D pour quitter.)"
)
# On a several-choice question the terminal has no ticking: the numbers typed are the whole answer, validated at
# once ("3" alone as "1 3"), so that one number and several behave alike.
ENDED_HINT = "(Conversation terminée. Écrivez quelque chose pour recommencer, Ctrl-D pour quitter.)"
MULTI_HINT = "(Tapez le numéro de chaque réponse qui convient, par exemple « 1 3 », puis Entrée.)"
# Text is wrapped to the terminal's width, between words, and never wider than this (easier to read).
MAX_WIDTH = 100
MIN_WIDTH = 20
_LOCATION = re.compile(r"^location:\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_line(key: str, line: str, multi: bool) -> Inbound:
    """One scripted input line (CONTRACT): text, /command, value:V, value:V1,V2, location:LAT,LON."""
    if line.startswith("value:"):
        raw = line[len("value:") :].strip()
        if raw.startswith("/"):
            return Inbound.button(key, raw)
        if multi:
            return Inbound.choices(key, tuple(v.strip() for v in raw.split(",") if v.strip()))
        return Inbound.button(key, raw)
    match = _LOCATION.match(line)
    if match:
        return Inbound.location(key, float(match.group(1)), float(match.group(2)))
    return Inbound.typed(key, line)


def offer_to_json(offer: Offer) -> dict[str, Any]:
    """An offer as CONTRACT.md shows it (chat --jsonl `offers`, catalogue search --json)."""
    return {
        "id": offer.id,
        "name": offer.name,
        "distance_km": offer.distance_km,
        "services": list(offer.services),
        "open_now": offer.open_now,
    }


def turn_to_json(turn: Turn) -> dict[str, Any]:
    persona = turn.persona
    return {
        "state": turn.state,
        "slot": turn.slot,
        "multi": turn.multi,
        "text": "\n\n".join(r.text for r in turn.replies),
        "buttons": [{"label": b.label, "value": b.value} for b in turn.buttons],
        "persona": {"id": persona.id, "confidence": persona.confidence, "reasons": list(persona.reasons)}
        if persona
        else None,
        "offers": [offer_to_json(o) for o in turn.offers],
        "callback": {"id": turn.callback.id, "queue": turn.callback.queue, "status": turn.callback.status}
        if turn.callback
        else None,
        "done": turn.done,
    }


class TerminalChat:
    def __init__(
        self, engine: Engine, stdin: TextIO, stdout: TextIO, key: str | None = None, width: int | None = None
    ) -> None:
        self.engine = engine
        self.stdin = stdin
        self.stdout = stdout
        self.key = key or f"terminal:{secrets.token_hex(4)}"
        self.last: Turn | None = None
        columns = width if width is not None else shutil.get_terminal_size((80, 24)).columns
        self.width = max(MIN_WIDTH, min(columns, MAX_WIDTH))

    async def turn(self, inbound: Inbound) -> Turn | None:
        try:
            self.last = await self.engine.handle(inbound)
        except BotError:
            log.exception("turn failed; the person was told to try again")
            return None
        return self.last

    async def read(self) -> str | None:
        line = await asyncio.to_thread(self.stdin.readline)
        return None if line == "" else line.rstrip("\r\n")

    async def run_jsonl(self) -> None:
        while (line := await self.read()) is not None:
            multi = bool(self.last and self.last.multi)
            turn = await self.turn(parse_line(self.key, line, multi))
            if turn is None:
                out: dict[str, Any] = {
                    "state": self.last.state if self.last else None,
                    "slot": None,
                    "multi": False,
                    "text": TECHNICAL_TROUBLE,
                    "buttons": [],
                    "persona": None,
                    "offers": [],
                    "callback": None,
                    "done": False,
                }
            else:
                out = turn_to_json(turn)
            self.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            self.stdout.flush()

    async def run_human(self) -> None:
        self.stdout.write(wrap(COMMANDS_HINT, self.width) + "\n")
        self.show(await self.turn(Inbound.typed(self.key, START)))
        while (line := await self.read()) is not None:
            self.show(await self.turn(self.from_human(line.strip())))
            if self.last is not None and self.last.done:
                self.stdout.write(wrap(ENDED_HINT, self.width) + "\n")
                self.stdout.flush()

    def from_human(self, line: str) -> Inbound:
        """Numbers pick buttons ("2"); anything else is typed text. On a several-choice question the numbers typed,
        one or several ("3", "1 3"), are the whole answer and validate it at once, as `value:V1,V2` does in the
        scripted mode; a number standing for a command button (« Valider », « Parler à quelqu'un ») alone
        presses it."""
        buttons = self.last.buttons if self.last else ()
        numbers = (
            [int(n) for n in re.split(r"[\s,;]+", line) if n.isdigit()] if re.fullmatch(r"[\d\s,;]+", line) else []
        )
        if numbers and all(1 <= n <= len(buttons) for n in numbers):
            picked = [buttons[n - 1].value for n in numbers]
            answers = tuple(dict.fromkeys(v for v in picked if not v.startswith("/")))
            if self.last is not None and self.last.multi and answers:
                return Inbound.choices(self.key, answers)
            if len(picked) == 1:
                return Inbound.button(self.key, picked[0])
        return Inbound.typed(self.key, line)

    def show(self, turn: Turn | None) -> None:
        if turn is None:
            self.stdout.write(TECHNICAL_TROUBLE + "\n")
        else:
            # the buttons' hint ("appuyez sur « Valider »") says how to answer with the terminal's numbers here
            press_hint = self.engine.text("multi_hint")
            for reply in turn.replies:
                text = reply.text.replace(press_hint, MULTI_HINT) if turn.multi else reply.text
                self.stdout.write("\n" + wrap(text, self.width) + "\n")
            self.stdout.write(_numbered(turn.buttons, self.width))
        self.stdout.write("> ")
        self.stdout.flush()


def wrap(text: str, width: int) -> str:
    """Text folded to `width` columns between words (a word longer than the line stays whole), its own line
    breaks kept."""
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) if line.strip() else ""
        for line in text.splitlines()
    )


def _numbered(buttons: tuple[Button, ...], width: int) -> str:
    lines = []
    for i, button in enumerate(buttons, 1):
        first = f"  {i}. {'[x] ' if button.selected else ''}"
        lines.append(
            textwrap.fill(
                button.label,
                width,
                initial_indent=first,
                subsequent_indent=" " * len(first),
                break_long_words=False,
                break_on_hyphens=False,
            )
            + "\n"
        )
    return "".join(lines)
