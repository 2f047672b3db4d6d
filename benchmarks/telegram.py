"""Telegram benchmark: Passerelle against a bare python-telegram-bot bot, on the same fake Bot API server.

    .venv/bin/python benchmarks/telegram.py [--regime all] [--people 1000] [--limits-people 150]
        [--latency-ms 0 50] [--quick] [--profile DIR]

Two processes per run, one for each of the 2 cores: this one (the fake Bot API server of tests/support/fake_telegram and
the simulated crowd) and the bot under test, started fresh (new database) for each run:
  - bare PTB bot: a tutorial bot (`Application` polling through its Updater, `run_polling()`, default sequential
    processing) with a 3-step ConversationHandler: /start -> Q1 -> answer -> Q2 -> answer -> Q3 -> answer ->
    "Merci" (each reply one sendMessage). A conversation: 4 updates, 4 messages.
  - Passerelle: `python -m bot run` (the production entry point, default limiter) in the limits regime; an
    in-code entry calling `bot.app.server.run(settings, limits=None)` (uvloop, as `python -m bot run`) in the
    capacity regime. A conversation: the shipped flow from /start to the persona's result and the mobility
    question (SCRIPT below): 11 updates (typed /start, button presses; a several-choice answer is a tick then
    "Valider"), 13 messages (sent or edited).
Every person starts at once and answers as soon as the bot's turn ends (closed loop, no thinking time).
An update's latency: from the moment the crowd makes it available at the fake server to the moment the call
carrying the bot's message that ends that turn (the next question; the edit for a tick) arrives at the fake
server (before the emulated API latency is slept). updates/s: updates answered / window, the window running
from the start to the last turn's end when every conversation completed, else to the time bound or to the
stall's detection. messages/s: send/edit calls answered 200 in that window. "bot CPU s": CPU time of the bot's
process while the crowd ran; "crowd+server CPU": this process' CPU over the same time (near 100 %: the
harness, not the bot, would be the bottleneck).

Regimes:
  - limits: the fake server enforces Telegram's limits (`Limits()`: 3 messages / 3 s per chat, 30 / s overall);
    Passerelle runs with its default limiter, the bare bot with none (its 429s are counted; PTB raises them in
    the handler, so that reply is lost and the person waits for ever). The ceiling is 30 messages/s.
    Goal: Passerelle at 50 ms >= 90 % of the ceiling with 100 % of conversations completed.
  - capacity: no limits anywhere. Goals: Passerelle at 50 ms >= 25x the bare bot's updates/s with 100 %
    completed; at 0 ms >= 0.3x the bare bot despite its database work.
A run ends when every conversation is over, at its time bound, or when no message was sent for --stall s.
The bare bot, sequential, serves 1,000 people at 50 ms in minutes: it is measured over --bare-duration s.

`--profile DIR` runs the Passerelle process under cProfile (slower: for where the time goes, not for the
numbers) and prints its top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import itertools
import logging
import os
import pstats
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

THIS_FILE = Path(__file__).resolve()
ROOT = THIS_FILE.parent.parent
# Run as a script, this folder comes first on sys.path, and this file would shadow python-telegram-bot.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != THIS_FILE.parent]
sys.path.insert(0, str(ROOT))

from bot.channels.telegram.mapping import decode_button  # noqa: E402
from tests.support.fake_telegram import ApiError, Call, FakeTelegram, FakeUser, Limits, StoredMessage  # noqa: E402
from tests.support.fake_telegram.limits import LIMITED_METHODS  # noqa: E402
from tests.support.telegram_harness import free_port, is_question  # noqa: E402

TOKEN = "424242:BENCH-token"
FIRST_CHAT = 100_000
CEILING = 30.0  # messages/s: Telegram's overall limit
# Passerelle: the shipped flow up to the persona's result and the mobility question ("timide"'s answers).
SCRIPT = ["/start", "value:self", "value:family_contact", "value:smartphone", "value:weekly", "value:intermediate",
          "value:unsure", "value:confidence"]  # fmt: skip
LAST_QUESTION_VALUE = "easy"  # a value of the mobility question, where the script ends
# The bare bot: three typed answers.
BARE_QUESTIONS = ("Bonjour ! Quel âge avez-vous ?", "Quel appareil utilisez-vous ?", "Quand êtes-vous disponible ?")
BARE_ANSWERS = ("72 ans", "Un smartphone", "Le mardi matin")
BARE_THANKS = "Merci ! Une personne vous rappellera."
CHILD_ENV_DROP = ("TELEGRAM_", "WEBHOOK_", "DATABASE_", "DATA_KEY", "MEDIATOR_", "PORT", "HOST", "BENCH_")
READY_TIMEOUT = 90.0
RUN_NUMBERS = itertools.count(1)  # each run its own log and database file
STOP_TIMEOUT = 30.0


# ----- the bots under test, each in its own process ----------------------------------------------------------
def run_bare_bot() -> None:
    """What a python-telegram-bot tutorial does: a ConversationHandler, run_polling(), sequential updates."""
    from telegram import Update
    from telegram.ext import Application, CommandHandler, ContextTypes, ConversationHandler, MessageHandler, filters

    age, device, when = range(3)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        await update.message.reply_text(BARE_QUESTIONS[0])
        return age

    async def got_age(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        assert context.user_data is not None
        context.user_data["age"] = update.message.text
        await update.message.reply_text(BARE_QUESTIONS[1])
        return device

    async def got_device(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        assert context.user_data is not None
        context.user_data["device"] = update.message.text
        await update.message.reply_text(BARE_QUESTIONS[2])
        return when

    async def got_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        assert context.user_data is not None
        context.user_data["when"] = update.message.text
        await update.message.reply_text(BARE_THANKS)
        return ConversationHandler.END

    async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        await update.message.reply_text("Au revoir.")
        return ConversationHandler.END

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    application = Application.builder().token(os.environ["TELEGRAM_BOT_TOKEN"])
    application = application.base_url(os.environ["TELEGRAM_API_URL"])
    app = application.build()
    answer = filters.TEXT & ~filters.COMMAND
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                age: [MessageHandler(answer, got_age)],
                device: [MessageHandler(answer, got_device)],
                when: [MessageHandler(answer, got_when)],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
        )
    )
    app.run_polling(allowed_updates=Update.ALL_TYPES)


def run_passerelle(limiter: bool) -> None:
    """`python -m bot run` in code, so that the limiter can be switched off (capacity) and cProfile wrapped."""
    from bot.app.server import run
    from bot.channels.telegram.channel import TELEGRAM_LIMITS
    from bot.config import Settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings.from_env()
    run(settings, limits=TELEGRAM_LIMITS if limiter else None)  # as `python -m bot run` (uvloop)


def child_main(kind: str, limiter: bool) -> None:
    profile_to = os.environ.get("BENCH_PROFILE")
    target: Callable[[], None] = run_bare_bot if kind == "bare" else (lambda: run_passerelle(limiter))
    if not profile_to:
        target()
        return
    profiler = cProfile.Profile()
    try:
        profiler.runcall(target)
    finally:
        profiler.dump_stats(profile_to)


# ----- the fake server, with arrival times ------------------------------------------------------------------
class BenchTelegram(FakeTelegram):
    """The fake Bot API server, noting when each message-sending call arrived (before the emulated latency)."""

    def __init__(self, latency: float, limits: Limits | None) -> None:
        super().__init__(TOKEN, latency=latency, limits=limits)
        self.arrived: dict[int, float] = {}  # chat -> arrival of the call of its latest message or edit
        self.last_attempt = time.monotonic()  # latest message-sending call, accepted or refused
        self.checks: list[tuple[float, int, bool]] = []  # (when, chat, accepted) of each flood check

    def flood_check(self, call: Call, chat_id: int) -> None:
        # Called by every send/edit handler just before it stores the message (no await in between).
        now = self.last_attempt = time.monotonic()
        try:
            super().flood_check(call, chat_id)
        except ApiError:
            self.checks.append((now, chat_id, False))
            raise
        if call.method in LIMITED_METHODS:
            self.arrived[chat_id] = call.at
            self.checks.append((now, chat_id, True))

    def refusals(self) -> dict[str, int]:
        """Which limit each 429 hit: the chat's window or the overall one (replaying the accepted calls)."""
        limits = self.limits
        counts = {"per chat": 0, "overall": 0}
        if limits is None:
            return counts
        chat_window = limits.per_chat[1] * limits.tolerance
        overall_window = limits.overall[1] * limits.tolerance
        accepted: list[tuple[float, int]] = []
        for now, chat_id, ok in self.checks:
            if ok:
                accepted.append((now, chat_id))
                continue
            in_chat = sum(1 for at, chat in accepted if chat == chat_id and at > now - chat_window)
            in_all = sum(1 for at, _chat in accepted if at > now - overall_window)
            if in_chat >= limits.per_chat[0]:
                counts["per chat"] += 1
            elif in_all >= limits.overall[0]:
                counts["overall"] += 1
        return counts


# ----- the crowd ---------------------------------------------------------------------------------------------
@dataclass
class Tally:
    start: float
    deadline: float
    latencies: list[float] = field(default_factory=list)
    last_end: float = 0.0
    completed: int = 0
    errors: list[str] = field(default_factory=list)


async def turn(
    server: BenchTelegram, user: FakeUser, act: Awaitable[object], ends: Callable[[FakeUser], bool], tally: Tally
) -> None:
    """One update, then wait until the bot's message that ends its turn is there."""
    chat = user.chat
    mark = chat.activity
    created = time.monotonic()
    await act  # the update is queued at the fake server synchronously
    while not (chat.activity > mark and ends(user)):
        await chat.signal.wait(None)  # the crowd's watchdog ends the run (time bound, stall)
    arrived = server.arrived[chat.id]
    tally.latencies.append(arrived - created)
    tally.last_end = max(tally.last_end, arrived)


def values_of(message: StoredMessage | None) -> dict[str, tuple[str, int]]:
    """Button value -> (label, message id) of a message's inline keyboard."""
    if message is None or not message.reply_markup:
        return {}
    return {
        decode_button(button["callback_data"])[1]: (button["text"], message.message_id)
        for row in message.reply_markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    }


def any_reply(_user: FakeUser) -> bool:
    return True  # any new message or edit (after a tick: the question edited in place)


async def passerelle_person(server: BenchTelegram, user: FakeUser, tally: Tally) -> None:
    for line in SCRIPT:
        if not line.startswith("value:"):
            await turn(server, user, user.send(line), is_question, tally)
            continue
        value = line.removeprefix("value:")
        buttons = values_of(user.last)
        if value not in buttons:
            raise AssertionError(f"no button {value!r}; {user.summary(3)}")
        label, message_id = buttons[value]
        if "/valider" in buttons:  # several choices: tick (the message is edited), then confirm
            await turn(server, user, user.press(label, message_id), any_reply, tally)
            label, message_id = values_of(user.message(message_id))["/valider"]
        await turn(server, user, user.press(label, message_id), is_question, tally)
    if LAST_QUESTION_VALUE not in values_of(user.last):
        raise AssertionError(f"the script should end at the mobility question; {user.summary(3)}")
    tally.completed += 1


async def bare_person(server: BenchTelegram, user: FakeUser, tally: Tally) -> None:
    for line in ("/start", *BARE_ANSWERS):
        await turn(server, user, user.send(line), any_reply, tally)  # one message per turn
    last = user.last
    if last is None or last.text != BARE_THANKS:
        raise AssertionError(f"the bare bot should end with its thanks; {user.summary(3)}")
    tally.completed += 1


async def crowd(
    server: BenchTelegram,
    users: list[FakeUser],
    person: Callable[[BenchTelegram, FakeUser, Tally], Awaitable[None]],
    bound: float,
    stall: float,
) -> tuple[Tally, str]:
    """Everyone starts at once; returns when all are done, at the time bound, or when the bot is stuck."""
    start = time.monotonic()
    tally = Tally(start, start + bound)
    server.last_attempt = start
    tasks = [asyncio.create_task(person(server, user, tally)) for user in users]
    pending: set[asyncio.Task[None]] = set(tasks)
    outcome = "all done"
    while pending:
        _done, pending = await asyncio.wait(pending, timeout=0.25)
        now = time.monotonic()
        if pending and now >= tally.deadline:
            outcome = f"time bound ({bound:.0f} s)"
            break
        if pending and now - server.last_attempt > stall:
            outcome = f"stalled (no message for {stall:.0f} s)"
            break
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            tally.errors.append(f"{error.__class__.__name__}: {str(error).splitlines()[0]}")
    return tally, outcome


# ----- one run -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    bot: str  # "bare" or "passerelle"
    limits: bool  # the limits regime (fake server enforcing, Passerelle's default limiter on)
    latency_ms: int
    people: int
    bound: float

    @property
    def label(self) -> str:
        return "bare PTB bot" if self.bot == "bare" else "Passerelle"


@dataclass
class Result:
    spec: Spec
    completed: int
    updates: int
    seconds: float
    latencies: list[float]
    messages: int
    violations: int
    bot_cpu: float
    harness_cpu: float
    wall: float
    outcome: str
    errors: list[str]
    log_problems: list[str]
    calls: dict[str, int]
    refusals: dict[str, int]

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_env(server: FakeTelegram, database: Path, profile: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CHILD_ENV_DROP)}
    env |= {
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_URL": server.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    if profile is not None:
        env["BENCH_PROFILE"] = str(profile)
    return env


@contextlib.asynccontextmanager
async def bot_process(
    server: FakeTelegram, spec: Spec, log: Path, profile: Path | None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot under test in its own process, yielded once it polls for updates; stopped with SIGTERM."""
    if spec.bot == "passerelle" and spec.limits and profile is None:
        argv = [sys.executable, "-m", "bot", "run"]  # the production entry point, default limiter
    else:
        limiter = "on" if spec.limits else "off"
        argv = [sys.executable, str(THIS_FILE), "--child", spec.bot, "--child-limiter", limiter]
    env = child_env(server, log.with_suffix(".db"), profile)  # a fresh database for each run
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not any(call.method == "getUpdates" for call in server.calls):
            if process.returncode is not None or time.monotonic() > deadline:
                tail = tail_of(log)
                raise RuntimeError(f"{spec.label} did not start polling (exit {process.returncode}):\n{tail}")
            await asyncio.sleep(0.05)
        yield process
    finally:
        if process.returncode is None and spec.bot == "bare":
            process.kill()  # a sequential bot would answer its whole backlog before stopping: not measured
            await process.wait()
        elif process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()


def tail_of(log: Path, size: int = 3000) -> str:
    return log.read_text(errors="replace")[-size:]


def log_problems(log: Path) -> list[str]:
    """Distinct WARNING / ERROR lines of the bot's log (timestamps and numbers dropped), with counts."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        for level in (" WARNING ", " ERROR ", "Traceback"):
            if level in line:
                key = line[line.index(level) :].strip()[:150]
                key = "".join("#" if c.isdigit() else c for c in key)
                counts[key] = counts.get(key, 0) + 1
    return [f"{n} x {text}" for text, n in sorted(counts.items(), key=lambda item: -item[1])]


async def run(spec: Spec, folder: Path, stall: float, profile: Path | None) -> Result:
    limits = Limits() if spec.limits else None
    wall_start = time.monotonic()
    log = (
        folder / f"{next(RUN_NUMBERS):02d}-{spec.bot}-{'limits' if spec.limits else 'capacity'}-{spec.latency_ms}ms.log"
    )
    async with BenchTelegram(spec.latency_ms / 1000, limits) as server:
        users = [server.user(FIRST_CHAT + i, f"Personne {i}") for i in range(spec.people)]
        person = bare_person if spec.bot == "bare" else passerelle_person
        async with bot_process(server, spec, log, profile) as process:
            await asyncio.sleep(0.5)  # let the first getUpdates settle
            bot_cpu, harness_cpu, started = process_cpu(process.pid), own_cpu(), time.monotonic()
            tally, outcome = await crowd(server, users, person, spec.bound, stall)
            crowd_end = time.monotonic()
            bot_cpu = process_cpu(process.pid) - bot_cpu
            harness_cpu = (own_cpu() - harness_cpu) / max(time.monotonic() - started, 1e-9)
        # Everyone done: up to the last turn's end; else up to the time bound or the stall's detection.
        end = tally.last_end if outcome == "all done" and tally.last_end else crowd_end
        messages = sum(
            1
            for call in server.calls
            if call.status == 200 and call.method in LIMITED_METHODS and tally.start <= call.at <= end
        )
        violations = sum(1 for call in server.limit_violations if tally.start <= call.at <= crowd_end)
        refusals = server.refusals()
        calls: dict[str, int] = {}
        for call in server.calls:
            if tally.start <= call.at <= crowd_end:
                key = f"{call.method} {call.status}"
                calls[key] = calls.get(key, 0) + 1
    return Result(
        spec,
        tally.completed,
        len(tally.latencies),
        end - tally.start,
        tally.latencies,
        messages,
        violations,
        bot_cpu,
        harness_cpu,
        time.monotonic() - wall_start,
        outcome,
        tally.errors,
        log_problems(log),
        calls,
        refusals,
    )


# ----- report ------------------------------------------------------------------------------------------------
def table(results: list[Result], limits: bool) -> list[str]:
    head = ["bot", "API latency", "people", "completed", "updates/s", "p50 ms", "p99 ms", "messages/s"]
    head += ["429s", "x bare (updates/s)", "bot CPU s", "crowd+server CPU", "run ended"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    bare = {r.spec.latency_ms: r.updates_per_s for r in results if r.spec.bot == "bare"}
    for r in results:
        base = bare.get(r.spec.latency_ms) or 0.0
        ratio = f"{r.updates_per_s / base:.2f}x" if base else "-"
        messages = f"{r.messages_per_s:.1f}"
        if limits:
            messages += f" ({r.messages_per_s / CEILING:.0%} of 30)"
        cells = [
            r.spec.label,
            f"{r.spec.latency_ms} ms",
            str(r.spec.people),
            f"{r.completed} ({r.completed / r.spec.people:.0%})",
            f"{r.updates_per_s:,.1f}",
            f"{r.pct(0.5):,.0f}",
            f"{r.pct(0.99):,.0f}",
            messages,
            str(r.violations),
            ratio,
            f"{r.bot_cpu:.1f}",
            f"{r.harness_cpu:.0%} of a core",
            f"{r.outcome}, {r.wall:.0f} s wall",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def goals(results: list[Result], limits: bool) -> list[str]:
    found = {(r.spec.bot, r.spec.latency_ms): r for r in results}
    lines: list[str] = []
    if limits:
        ours = found.get(("passerelle", 50))
        if ours is not None:
            share = ours.messages_per_s / CEILING
            done = ours.completed == ours.spec.people
            verdict = "met" if share >= 0.9 and done else "NOT met"
            lines.append(
                f"Goal (50 ms: >= 90 % of the ceiling, 100 % completed): {verdict} - {share:.1%} of 30 messages/s, "
                f"{ours.completed}/{ours.spec.people} completed."
            )
        return lines
    for latency, wanted in ((50, 25.0), (0, 0.3)):
        ours, bare = found.get(("passerelle", latency)), found.get(("bare", latency))
        if ours is None or bare is None or bare.updates_per_s == 0:
            continue
        ratio = ours.updates_per_s / bare.updates_per_s
        done = ours.completed == ours.spec.people
        verdict = "met" if ratio >= wanted and (done or latency == 0) else "NOT met"
        lines.append(
            f"Goal ({latency} ms: >= {wanted:g}x the bare bot"
            f"{', 100 % completed' if latency == 50 else ''}): {verdict} - {ratio:.2f}x, "
            f"{ours.completed}/{ours.spec.people} completed."
        )
    return lines


def details(results: list[Result]) -> list[str]:
    lines: list[str] = []
    for r in results:
        name = f"{r.spec.label}, {'limits' if r.spec.limits else 'capacity'}, {r.spec.latency_ms} ms"
        if r.errors:
            distinct = sorted(set(r.errors))
            lines.append(f"- {name}: {len(r.errors)} conversations failed: {'; '.join(distinct[:3])}")
        if r.violations:
            lines.append(f"- {name}: the 429s hit these limits: {r.refusals}")
        unfinished = r.spec.people - r.completed - len(r.errors)
        if unfinished:
            lines.append(f"- {name}: {unfinished} conversations unfinished when the run ended ({r.outcome})")
        if r.log_problems:
            lines.append(f"- {name}, bot log: " + "; ".join(r.log_problems[:4]))
        if r.latencies:
            mean = statistics.fmean(r.latencies) * 1000
            lines.append(f"- {name}: {r.updates} updates answered, {r.messages} messages, mean latency {mean:,.0f} ms")
        calls = ", ".join(f"{key}: {n}" for key, n in sorted(r.calls.items(), key=lambda item: -item[1]))
        lines.append(f"- {name}: API calls while the crowd ran (method status: count): {calls}")
    return lines


def print_profile(path: Path, top: int) -> None:
    print(f"\nProfile of {path.name} (cProfile, top {top} by own time):\n```")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    print("```")


# ----- main --------------------------------------------------------------------------------------------------
async def bench(args: argparse.Namespace) -> None:
    regimes = ["capacity", "limits"] if args.regime == "all" else [args.regime]
    started = time.monotonic()
    print(
        f"Telegram benchmark (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs). A conversation: "
        f"bare PTB bot = /start + 3 typed answers (4 updates, 4 messages); Passerelle = the shipped flow from "
        f"/start to the mobility question ({len(SCRIPT)} lines: 11 updates, 13 messages). Latency: update "
        f"available at the fake server -> arrival of the message ending its turn.\n"
    )
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as name:
        folder = Path(name)
        profiles: list[Path] = []
        for regime in regimes:
            limits = regime == "limits"
            people = args.limits_people if limits else args.people
            bound = args.limits_duration if limits else args.duration
            results: list[Result] = []
            for latency in args.latency_ms:
                for bot in ("bare", "passerelle"):
                    spec = Spec(bot, limits, latency, people, args.bare_duration if bot == "bare" else bound)
                    profile = None
                    if args.profile is not None and bot == "passerelle":
                        profile = args.profile / f"passerelle-{regime}-{latency}ms.prof"
                        profiles.append(profile)
                    print(f"  running {spec.label}, {regime}, {latency} ms, {people} people ...", file=sys.stderr)
                    results.append(await run(spec, folder, args.stall, profile))
            title = "limits enforced (ceiling 30 messages/s)" if limits else "capacity, limiter off"
            print(f"### {title}\n")
            print("\n".join(table(results, limits)))
            print()
            print("\n".join(goals(results, limits) + details(results)))
            print()
    print(f"Total wall time: {time.monotonic() - started:.0f} s")
    for path in profiles:
        if path.exists():
            print_profile(path, args.profile_top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regime", choices=["capacity", "limits", "all"], default="all")
    parser.add_argument("--people", type=int, default=1000, help="people in the capacity regime")
    parser.add_argument("--limits-people", type=int, default=150, help="people in the limits regime")
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 50], help="emulated Bot API latencies")
    parser.add_argument("--duration", type=float, default=180.0, help="time bound of a capacity run (s)")
    parser.add_argument("--limits-duration", type=float, default=120.0, help="time bound of a limits run (s)")
    parser.add_argument("--bare-duration", type=float, default=30.0, help="time bound of a bare bot's run (s)")
    parser.add_argument("--stall", type=float, default=10.0, help="end a run after this long without a message (s)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few people, short bounds (< 60 s)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="run Passerelle under cProfile, stats in DIR")
    parser.add_argument("--profile-top", type=int, default=25, help="functions shown per profile")
    parser.add_argument("--child", choices=["bare", "passerelle"], help=argparse.SUPPRESS)
    parser.add_argument("--child-limiter", choices=["on", "off"], default="on", help=argparse.SUPPRESS)
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given explicitly still win
        parser.set_defaults(people=50, limits_people=30, latency_ms=[50], duration=10.0, limits_duration=16.0)
        parser.set_defaults(bare_duration=6.0, stall=5.0)
    args = parser.parse_args()
    if args.child is not None:
        child_main(args.child, args.child_limiter == "on")
        return
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
