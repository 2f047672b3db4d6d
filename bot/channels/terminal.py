"""The terminal channel: a chat for people (buttons as numbered choices) and the scripted JSONL mode."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
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
    f"(Commandes : {HELP}, {HUMAN} pour être rappelé, {MY_DATA} pour voir ce que je garde sur vous, {FORGET} pour "
    f"l'effacer, {STOP} pour arrêter. Ctrl-D pour quitter.)"
)
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
    def __init__(self, engine: Engine, stdin: TextIO, stdout: TextIO, key: str | None = None) -> None:
        self.engine = engine
        self.stdin = stdin
        self.stdout = stdout
        self.key = key or f"terminal:{secrets.token_hex(4)}"
        self.last: Turn | None = None

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
        self.stdout.write(COMMANDS_HINT + "\n")
        self.show(await self.turn(Inbound.typed(self.key, START)))
        while (line := await self.read()) is not None:
            self.show(await self.turn(self.from_human(line.strip())))
            if self.last is not None and self.last.done:
                self.stdout.write(
                    "(Conversation terminée. Écrivez quelque chose pour recommencer, Ctrl-D pour quitter.)\n"
                )
                self.stdout.flush()

    def from_human(self, line: str) -> Inbound:
        """Numbers pick buttons ("2"; "1 3" on a several-choice question); anything else is typed text."""
        buttons = self.last.buttons if self.last else ()
        numbers = (
            [int(n) for n in re.split(r"[\s,;]+", line) if n.isdigit()] if re.fullmatch(r"[\d\s,;]+", line) else []
        )
        if numbers and all(1 <= n <= len(buttons) for n in numbers):
            picked = [buttons[n - 1].value for n in numbers]
            if len(picked) == 1:
                return Inbound.button(self.key, picked[0])
            if self.last is not None and self.last.multi:
                return Inbound.choices(self.key, tuple(v for v in picked if not v.startswith("/")))
        return Inbound.typed(self.key, line)

    def show(self, turn: Turn | None) -> None:
        if turn is None:
            self.stdout.write(TECHNICAL_TROUBLE + "\n")
        else:
            for reply in turn.replies:
                self.stdout.write("\n" + reply.text + "\n")
            self.stdout.write(_numbered(turn.buttons))
        self.stdout.write("> ")
        self.stdout.flush()


def _numbered(buttons: tuple[Button, ...]) -> str:
    return "".join(f"  {i}. {'[x] ' if b.selected else ''}{b.label}\n" for i, b in enumerate(buttons, 1))
