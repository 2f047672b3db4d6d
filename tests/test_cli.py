"""The command line, run for real as `python -m bot …` subprocesses: the `chat --jsonl` contract of
CONTRACT.md, the human terminal chat, and `--help` on every command (`run` without a token serves the web
chat: tests/channels/web/test_chat.py starts it).

One long JSONL conversation (a single process, driven line by line through pipes) feeds most checks, so the
whole file stays fast: see `transcript` below.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CONTRACT_KEYS = {"state", "slot", "multi", "text", "buttons", "persona", "offers", "callback", "done"}
PERSONA_IDS = ("refractaire", "novice_curieux", "sans_reperes", "timide", "melancolique", "modere", "hyper_connecte")
TURN_TIMEOUT = 20.0  # seconds for one reply line
# The first reply includes start-up: migrations, and the French model with the flow's ~1,700 phrases (about 8 s
# alone, several times that with the parallel workers of the whole suite on two cores).
START_TIMEOUT = 90.0


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a bot process: its database in tmp_path, so nothing is left in the repository.
    PYTHONUNBUFFERED is dropped: the bot itself must flush each reply (CONTRACT)."""
    dropped = ("FLOWS_DIR", "TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env.update(extra)
    return env


def run_bot(
    args: list[str], tmp_path: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env or bot_env(tmp_path),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


# ----- a JSONL process driven one line at a time -----------------------------------------------------------
_EOF = b""


class JsonlProcess:
    """`python -m bot chat --jsonl`, fed one line at a time: each reply must arrive (flushed) before the next
    line is written, otherwise `send` fails after TURN_TIMEOUT."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "chat", "--jsonl", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stderr: list[bytes] = []
        self.replied = False  # the first reply waits for start-up
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(_EOF)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def send(self, line: bytes) -> bytes:
        assert self.proc.stdin is not None
        assert self.lines.empty(), f"output appeared before input {line!r} was sent: {self.lines.get()!r}"
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()
        timeout = TURN_TIMEOUT if self.replied else START_TIMEOUT
        try:
            out = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"no output line within {timeout}s after {line[:80]!r}: reply not written or not flushed")
        self.replied = True
        if out == _EOF:
            pytest.fail(f"the process ended after {line[:80]!r}: {b''.join(self.stderr).decode(errors='replace')}")
        return out

    def finish(self) -> tuple[int, list[bytes], str]:
        """Close stdin (end of input); returns the exit code, any further output lines, stderr."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        extra: list[bytes] = []
        while (line := self.lines.get(timeout=10)) != _EOF:
            extra.append(line)
        return code, extra, b"".join(self.stderr).decode(errors="replace")


@dataclass
class Exchange:
    segment: str
    sent: bytes
    raw: bytes

    @property
    def reply(self) -> dict[str, Any]:
        data = json.loads(self.raw.decode("utf-8"))
        assert isinstance(data, dict)
        return data


@dataclass
class Transcript:
    exchanges: list[Exchange] = field(default_factory=list)
    exit_code: int = -1
    extra_lines: list[bytes] = field(default_factory=list)
    stderr: str = ""

    def segment(self, name: str) -> list[Exchange]:
        found = [e for e in self.exchanges if e.segment == name]
        assert found, f"no segment {name!r}"
        return found

    def after(self, segment: str, sent: str) -> dict[str, Any]:
        """The reply to the first line `sent` of a segment."""
        for exchange in self.segment(segment):
            if exchange.sent == sent.encode():
                return exchange.reply
        raise AssertionError(f"{sent!r} not sent in {segment!r}")


LONG_LINE = "je voudrais " + "a" * 4988  # 5,000 characters
GARBAGE = b"\xff\xfe\x00\x01garbage\x1b[2J\x07\xc3(\xe9t\xe9 \xf0\x9f\x98"  # invalid UTF-8, NUL, escapes
ANSWERS: dict[str, list[str]] = {
    # Answer sets read from flows/personas.yaml: each lights the persona's strongest rules, not the others'.
    "refractaire": [
        "value:self",
        "value:leisure",
        "value:none",
        "value:refuses",
        "value:health,interest",
        "value:80_plus",
        "value:no",
    ],
    "novice_curieux": [
        "value:relative",
        "value:family_contact",
        "value:basic_phone",
        "value:curious",
        "value:money",
        "value:70_79",
        "value:yes",
    ],
    "sans_reperes": [
        "value:self",
        "value:daily_life",
        "value:smartphone",
        "value:rarely",
        "value:yes",
        "value:indifferent",
        "value:interest",
        "value:70_79",
    ],
    "timide": [
        "value:self",
        "value:family_contact,leisure",
        "value:smartphone",
        "value:weekly",
        "value:intermediate",
        "value:unsure",
        "value:confidence",
    ],
    "melancolique": [
        "value:self",
        "value:office_skills,admin_procedures",
        "value:computer",
        "value:weekly",
        "value:intermediate",
        "value:critical",
        "value:none",
    ],
    "modere": [
        "value:self",
        "value:admin_procedures",
        "value:smartphone,computer",
        "value:daily",
        "value:advanced",
        "value:pragmatic",
        "value:time",
    ],
    "hyper_connecte": [
        "value:self",
        "value:help_others,new_tools",
        "value:smartphone,tablet,computer",
        "value:daily",
        "value:advanced",
        "value:passionate",
        "value:none",
    ],
}
# A relative's answers up to the callback's consent (the place typed, the callback accepted).
RELATIVE_PATH = [
    "value:family_contact",
    "value:smartphone",
    "value:rarely",
    "value:yes",
    "value:unsure",
    "value:confidence",
    "value:70_79",
    "value:difficult",
    "69003",
    "value:yes",
    "value:yes",
]
# « Mon proche directement », « Son enfant », the number, « Peu importe », how to call them: « Passer ».
CALL_THE_PERSON = ["value:person", "value:child", "06 12 34 56 78", "value:any", "value:skip"]
SCRIPT: list[tuple[str, list[str | bytes]]] = [
    # A whole conversation: timide, a shared location, then a callback request.
    (
        "callback",
        [
            "bonjour",
            *ANSWERS["timide"],
            "value:easy",
            "location:999,999",
            "location:45.764,4.8357",
            "value:yes",
            "oui",
            "06 12 34 56 78",
            "value:morning",
            "Jeanne",
        ],
    ),
    ("callback_end", ["value:yes"]),  # the last question
    # A relative, for a mother then for a father, who has the person themselves called back.
    *[
        (
            f"relative_{gender}",
            ["/start", opening, *RELATIVE_PATH, *CALL_THE_PERSON],
        )
        for gender, opening in (("f", "c'est pour ma mère"), ("m", "c'est pour mon père"))
    ],
    # Malformed lines on the first question, then a normal answer still works.
    (
        "malformed",
        [
            "/start",
            "/aide",
            "value:",
            "location:abc",
            "",
            GARBAGE,
            LONG_LINE,
            "value:nope",
            "value:self,relative",
            "location:45.7,4.8",
            "/inconnue",
            "value:relative",
        ],
    ),
    # One conversation per persona, each after /start; the last one goes on to the end without a callback.
    *[(persona, ["/start", *ANSWERS[persona]]) for persona in PERSONA_IDS],
    ("end", ["value:easy", "64230", "value:no", "value:some", "les horaires"]),
]


@pytest.fixture(scope="module")
def transcript(tmp_path_factory: pytest.TempPathFactory) -> Transcript:
    tmp_path = tmp_path_factory.mktemp("jsonl")
    process = JsonlProcess([], bot_env(tmp_path))
    result = Transcript()
    try:
        for segment, lines in SCRIPT:
            for line in lines:
                sent = line if isinstance(line, bytes) else line.encode("utf-8")
                result.exchanges.append(Exchange(segment, sent, process.send(sent)))
    finally:
        result.exit_code, result.extra_lines, result.stderr = process.finish()
    return result


# ----- chat --jsonl ------------------------------------------------------------------------------------------
def test_jsonl_one_flushed_line_per_input_line(transcript: Transcript) -> None:
    """Every input line got exactly one output line, read back before the next line was written (flushed)."""
    sent = sum(len(lines) for _, lines in SCRIPT)
    assert len(transcript.exchanges) == sent
    assert transcript.extra_lines == []
    assert all(e.raw.endswith(b"\n") and e.raw.count(b"\n") == 1 for e in transcript.exchanges)


def test_jsonl_exits_0_at_end_of_input_without_errors(transcript: Transcript) -> None:
    """The process exits 0 when stdin closes, and no turn failed (no traceback, no technical-trouble reply)."""
    assert transcript.exit_code == 0, transcript.stderr
    assert "Traceback" not in transcript.stderr
    assert not any("souci technique" in e.reply["text"] for e in transcript.exchanges)


def test_jsonl_lines_have_exactly_the_contract_keys_and_types(transcript: Transcript) -> None:
    """Each output line is one JSON object with exactly the CONTRACT keys, each of the documented type."""
    for exchange in transcript.exchanges:
        reply = exchange.reply
        where = f"reply to {exchange.sent[:40]!r}"
        assert set(reply) == CONTRACT_KEYS, where
        assert isinstance(reply["state"], str), where
        assert reply["state"], where
        assert reply["slot"] is None or isinstance(reply["slot"], str), where
        assert isinstance(reply["multi"], bool), where
        assert isinstance(reply["done"], bool), where
        assert isinstance(reply["text"], str), where
        assert reply["text"].strip(), where
        assert isinstance(reply["buttons"], list), where
        for button in reply["buttons"]:
            assert set(button) == {"label", "value"}, where
            assert isinstance(button["label"], str), where
            assert isinstance(button["value"], str), where
        assert isinstance(reply["offers"], list), where
        for offer in reply["offers"]:
            assert set(offer) == {"id", "name", "distance_km", "services", "open_now"}, where
        assert reply["persona"] is None or isinstance(reply["persona"], dict), where
        assert reply["callback"] is None or isinstance(reply["callback"], dict), where


def test_jsonl_persona_object_shape(transcript: Transcript) -> None:
    """Once classified, `persona` is {id, confidence, reasons}: a known id, a confidence in [0, 1], texts."""
    personas = [e.reply["persona"] for e in transcript.exchanges if e.reply["persona"] is not None]
    assert personas
    for persona in personas:
        assert set(persona) == {"id", "confidence", "reasons"}
        assert persona["id"] in PERSONA_IDS
        assert isinstance(persona["confidence"], int | float)
        assert 0.0 <= persona["confidence"] <= 1.0
        assert isinstance(persona["reasons"], list)
        assert persona["reasons"]
        assert all(isinstance(r, str) and r for r in persona["reasons"])


@pytest.mark.parametrize("persona", PERSONA_IDS)
def test_jsonl_scripted_conversation_reaches_each_persona(transcript: Transcript, persona: str) -> None:
    """A scripted conversation reaches each of the seven personas; /start first clears the previous one."""
    turns = transcript.segment(persona)
    assert turns[0].reply["persona"] is None
    assert turns[0].reply["state"] == "pour_qui"
    assert all(t.reply["persona"] is None for t in turns[:-1])
    last = turns[-1].reply
    assert last["persona"] is not None, last["text"]
    assert last["persona"]["id"] == persona, last["persona"]
    assert last["state"] == "mobilite"
    assert last["slot"] == "mobility"


def test_jsonl_value_lines_answer_single_and_multi_questions(transcript: Transcript) -> None:
    """`value:V` presses a button, `value:V1,V2` answers a several-choice question with a set."""
    first = transcript.segment("callback")
    goals = first[1].reply  # after value:self
    assert goals["state"] == "envies"
    assert goals["slot"] == "goals"
    assert goals["multi"] is True
    values = {b["value"] for b in goals["buttons"]}
    assert {"family_contact", "leisure", "unknown"} <= values
    after_multi = first[2].reply  # after value:family_contact,leisure
    assert after_multi["state"] == "appareils"
    assert after_multi["slot"] == "equipment"
    assert after_multi["multi"]
    assert first[3].reply["state"] == "frequence"
    assert first[3].reply["multi"] is False


def test_jsonl_location_line_answers_the_location_question(transcript: Transcript) -> None:
    """`location:LAT,LON` answers the location question; coordinates off the globe are asked again."""
    asked = transcript.after("callback", "value:easy")
    assert asked["state"] == "lieu"
    assert asked["slot"] == "location"
    refused = transcript.after("callback", "location:999,999")
    assert refused["state"] == "lieu"
    assert refused["slot"] == "location"
    answered = transcript.after("callback", "location:45.764,4.8357")
    assert answered["state"] != "lieu"
    assert answered["slot"] is None
    assert answered["buttons"]
    assert {"yes", "no"} <= {b["value"] for b in answered["buttons"]}


def test_jsonl_callback_object_on_the_turn_it_is_recorded(transcript: Transcript) -> None:
    """The callback is {id, queue, status: "new"} on the turn it is recorded, null before; that turn asks the last
    question (was it useful?), and the conversation ends once it is answered."""
    turns = transcript.segment("callback")
    assert all(t.reply["callback"] is None for t in turns[:-1])
    final = turns[-1].reply
    assert turns[-1].sent == b"Jeanne"  # the last question of the request: how to call the person (optional)
    assert turns[-2].reply["state"] == "rappel.name"
    assert [b["value"] for b in turns[-2].reply["buttons"]] == ["skip"]
    callback = final["callback"]
    assert set(callback) == {"id", "queue", "status"}
    assert callback["status"] == "new"
    assert isinstance(callback["id"], str)
    assert callback["id"]
    assert isinstance(callback["queue"], str)
    assert callback["queue"]
    assert (final["done"], final["state"]) == (False, "utile")
    assert [b["value"] for b in final["buttons"]] == ["yes", "some", "no", "skip"]
    assert all(t.reply["done"] is False for t in turns[:-1])
    ended = transcript.after("callback_end", "value:yes")
    assert (ended["done"], ended["callback"], ended["buttons"]) == (True, None, [])


def test_jsonl_a_relative_reads_votre_proche_and_who_is_asked_before_the_number(transcript: Transcript) -> None:
    """For a mother and for a father, the same words: questions and buttons speak of « votre proche », who to call
    comes before the number, and once « Mon proche directement » is chosen, the number, the moment and the
    confirmation speak of them."""
    mother, father = (transcript.segment(f"relative_{g}") for g in ("f", "m"))
    assert [t.reply["text"] for t in mother[1:]] == [t.reply["text"] for t in father[1:]]
    assert [t.reply["buttons"] for t in mother] == [t.reply["buttons"] for t in father]
    attitude = next(t.reply for t in mother if t.reply["state"] == "attitude")
    assert attitude["text"].endswith("Et qu'est-ce que votre proche pense d'internet ?")
    labels = {b["value"]: b["label"] for b in attitude["buttons"]}
    assert (labels["refuses"], labels["unsure"]) == ("Mon proche n'en veut pas", "Mon proche manque d'assurance")
    states = [t.reply["state"] for t in mother]
    assert states.index("rappel.who") + 2 == states.index("rappel.relation") + 1 == states.index("rappel.phone")
    phone = mother[states.index("rappel.phone")].reply
    assert phone["text"].endswith("À quel numéro peut-on appeler votre proche ?")
    done = mother[-1].reply
    assert done["callback"] is not None
    assert "une personne appellera votre proche dès que possible" in done["text"]
    assert "vous appellera" not in done["text"]
    assert done["state"] == "utile"


def test_jsonl_done_only_on_the_last_turn(transcript: Transcript) -> None:
    """A conversation declining the callback, then answering the last question, ends with `done: true` on its last
    turn, false before."""
    end = transcript.segment("end")
    assert [e.reply["done"] for e in end] == [False, False, False, False, True]
    assert [e.reply["state"] for e in end[-3:]] == ["utile", "un_mot", "ended"]
    assert end[1].reply["state"] == "proposition"
    assert end[1].reply["slot"] is None
    assert end[-1].reply["callback"] is None


def test_jsonl_aide_explains_and_asks_again(transcript: Transcript) -> None:
    """`/aide` answers with the help text and the pending question again, with its buttons."""
    reply = transcript.after("malformed", "/aide")
    assert reply["state"] == "pour_qui"
    assert reply["slot"] == "for_whom"
    assert "/start" in reply["text"]
    assert "/humain" in reply["text"]
    assert {"self", "relative"} <= {b["value"] for b in reply["buttons"]}


@pytest.mark.parametrize(
    "line",
    [
        "value:",
        "location:abc",
        "",
        GARBAGE,
        LONG_LINE,
        "value:nope",
        "value:self,relative",
        "location:45.7,4.8",
        "/inconnue",
    ],
    ids=[
        "empty-value",
        "bad-location",
        "empty-line",
        "binary-garbage",
        "5000-chars",
        "unknown-value",
        "multi-on-single",
        "location-off-question",
        "unknown-command",
    ],
)
def test_jsonl_malformed_line_is_answered_and_keeps_the_question(transcript: Transcript, line: str | bytes) -> None:
    """A malformed line gets a normal reply that asks the same question again; nothing is recorded."""
    sent = line if isinstance(line, bytes) else line.encode()
    exchange = next(e for e in transcript.segment("malformed") if e.sent == sent)
    reply = exchange.reply
    assert reply["state"] == "pour_qui"
    assert reply["slot"] == "for_whom"
    assert {"self", "relative"} <= {b["value"] for b in reply["buttons"]}
    assert reply["done"] is False
    assert reply["persona"] is None


def test_jsonl_conversation_goes_on_after_malformed_lines(transcript: Transcript) -> None:
    """After all the malformed lines, `value:relative` is understood and the next question speaks of the
    relative."""
    reply = transcript.after("malformed", "value:relative")
    assert reply["state"] == "envies"
    assert "votre proche" in reply["text"]


def test_chat_with_another_flow_file(tmp_path: Path) -> None:
    """`chat --jsonl --flow FILE` runs that flow (here the small fixture flow, with its own personas), and
    writes UTF-8 JSON even when the locale's encoding is ASCII."""
    for name in ("mini.yaml", "personas.yaml"):
        shutil.copy(FIXTURES / "mini" / name, tmp_path / name)
    shutil.copy(ROOT / "flows" / "messages.yaml", tmp_path / "messages.yaml")
    env = bot_env(tmp_path, PYTHONIOENCODING="ascii")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--jsonl", "--flow", str(tmp_path / "mini.yaml")],
        cwd=ROOT,
        env=env,
        input=b"salut\nvalue:relative\nvalue:critical\nvalue:no\n",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    replies = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [r["state"] for r in replies] == ["pour_qui", "avis", "proposition", "ended"]
    assert "petit parcours de test" in replies[0]["text"]
    assert "Que pense votre proche" in replies[1]["text"]
    assert replies[2]["persona"]["id"] == "melancolique"
    assert "Profil mélancolique" in replies[2]["text"]
    assert replies[-1]["done"] is True


def test_chat_with_a_missing_flow_file_fails_cleanly(tmp_path: Path) -> None:
    """`chat --flow` with a file that does not exist exits 1 with a `file:line: message`, no traceback."""
    result = run_bot(["chat", "--jsonl", "--flow", str(tmp_path / "absent.yaml")], tmp_path)
    assert result.returncode == 1
    assert re.search(r"absent\.yaml:1: impossible de lire le fichier", result.stderr), result.stderr
    assert "Traceback" not in result.stderr


# ----- human mode, run, --help ----------------------------------------------------------------------------------
def test_human_chat_numbers_pick_buttons(tmp_path: Path) -> None:
    """Without --jsonl, buttons are printed as numbered choices and typing a number picks one ("1 3" picks
    two on a several-choice question)."""
    result = run_bot(["chat"], tmp_path, stdin="1\n1 3\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  1. Pour moi\n  2. Pour un proche\n" in out
    # "1" chose "Pour moi": the goals question comes, in its wording for the person themself.
    assert "qu'aimeriez-vous pouvoir faire" in out
    assert "votre proche" not in out
    assert "  1. Garder le contact avec la famille\n" in out
    # "1 3" answered the several-choice goals question: the equipment question follows.
    assert "Quels appareils avez-vous ?" in out
    assert "Traceback" not in result.stderr


HELP_COMMANDS = [[], ["run"], ["chat"], ["flows"], ["flows", "check"], ["flows", "test"], ["flows", "graph"],
                 ["flows", "misunderstood"],
                 ["catalogue"], ["catalogue", "import"], ["catalogue", "stats"], ["catalogue", "search"], ["geo"],
                 ["geo", "locate"], ["purge"], ["keys"], ["keys", "generate"], ["keys", "rotate"]]


@pytest.mark.slow
def test_every_command_has_help(tmp_path: Path) -> None:
    """`--help` works and exits 0 on every command of the table that exists (started all at once)."""
    processes = {
        " ".join(args) or "(top)": subprocess.Popen(
            [sys.executable, "-m", "bot", *args, "--help"],
            cwd=ROOT,
            env=bot_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in HELP_COMMANDS
    }
    for name, process in processes.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, f"{name}: {err}"
        assert out.startswith("usage: python -m bot"), name
        assert "--help" in out or "-h" in out, name
    assert not (tmp_path / "cli.db").exists()  # --help touches no database
