"""Scale benchmark: Passerelle on 1, 2 and 3 processes sharing one PostgreSQL, beside one process on SQLite.

    .venv/bin/python benchmarks/scale.py [--people 200] [--latency-ms 50] [--duration 20] [--rounds 2] [--quick]
        [--logs DIR]

What runs, all on 127.0.0.1 (nothing touches the network):
  - a throw-away PostgreSQL server (tests/support/postgres.py: Debian's binaries, fsync off), started once;
  - for each configuration, SQLite x1 process, PostgreSQL x1, x2, x3 processes: a fresh database (a new SQLite
    file; a new PostgreSQL database), a fresh fake Bot API server (tests/support/fake_telegram, emulating an API
    latency, 50 ms by default as in benchmarks/telegram.py) and the bot's processes in webhook mode behind the
    round-robin proxy of tests/support/cluster.py (the fake server POSTs each update to the proxy, which hands it to the
    next process in turn, as README "Passer à l'échelle" deploys them). Each process is this file's `--serve` entry:
    `bot.app.server.run(settings, limits=None)` (uvloop, as `python -m bot run`) with Telegram's sending limiter off,
    so that Telegram's 30 messages/s do not cap what is measured. They are stopped with SIGTERM before the next
    configuration starts;
  - a crowd of --people people (closed loop: everyone starts at once and answers as soon as the bot's turn ends,
    no thinking time), each doing the script of benchmarks/telegram.py: the shipped flow from /start to the
    persona's result and the mobility question, 11 updates (typed /start, button presses; a several-choice answer
    is a tick then "Valider") and 13 messages sent or edited. A configuration's run ends when every conversation
    is over, at --duration seconds, or when no message was sent for --stall seconds.
The four configurations run --rounds times, odd rounds in the table's order and even rounds backwards (A B C D
D C B A), and each row adds up its runs: a load from other jobs that grows or fades during the run then weighs
about the same on every row. `--quick` (one round, 20 people, 6 s) checks that everything works, not the numbers.
`--logs DIR` keeps the bot processes' logs.

The table, one row per configuration:
  - people completed: conversations that reached the mobility question within their run, out of people x rounds
    (in a closed loop everyone moves at the same pace: when the time bound ends a run, nobody has finished);
  - updates: updates answered; updates/s: updates answered / window, a run's window running from the crowd's start
    to the last turn's end when every conversation completed, else to the time bound or the stall's detection;
  - p50 / p99 ms: an update's latency, from the moment the crowd makes it available at the fake server (before it
    is POSTed to the proxy) to the arrival at the fake server of the call carrying the bot's message that ends that
    turn (the next question; the edit for a tick), before the emulated API latency is slept. In a closed loop the
    latency is about people / updates/s: compare the rows, not with a real crowd's;
  - bot CPU s: user + system CPU of the bot's processes while the crowds ran (/proc/<pid>/stat);
  - bot waiting for a core s: time the bot's threads were ready to run but had no core (/proc/<pid>/task/*/schedstat):
    other jobs on the machine, or the configuration's own processes, held them back that long. Compared with the
    window (x processes), it says whether the numbers are the bot's or the machine's;
  - PostgreSQL CPU s: the PostgreSQL server's CPU (postmaster and backends), "-" on SQLite;
  - CPU ms/update: (bot + PostgreSQL CPU) / updates: the cost of an update, which the load of other jobs distorts
    less than the throughput does (though a crowded machine makes every instruction slower: caches, steal);
  - turns redone: turns computed on a stale copy of the conversation (each process keeps recent conversations in
    memory; with round-robin a chat's next update often lands on another process than its previous one), refused
    by the version check and redone: work that only several processes pay ("retrying the turn" in the logs);
  - harness CPU: this process's CPU (fake Bot API server, crowd and round-robin proxy together) as a share of one
    core: near 100 %, the harness and not the bot would be the bottleneck;
  - x PG x1: the row's updates/s over the PostgreSQL x1 row's. The ratios are what to read: the absolute numbers
    depend on the machine and on whatever else runs on it.
The lines under the table give, per configuration, the window, the messages, how much of the time the bot's
processes were running or ready to run (their CPU + their wait for a core, over processes x crowd time: near
100 %, the bot is CPU-bound and only more CPU helps; well below, it waits on the database or the network), the
share of the cores this benchmark used, the time PostgreSQL and the harness waited for a core, the load average,
how each run ended, the start-up time and how the proxy spread the updates.
How to read it: the bot processes, PostgreSQL and this harness share the machine's cores. One bot process is one
event loop, so it uses at most one core: more processes can add throughput only while cores are idle. When the
cores are busy (the bot's processes running or ready to run about 100 % of the time, long waits for a core),
another process adds only its costs: another connection pool, turns redone, more processes to schedule. On
Linux with autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled = 1, as here), the kernel shares the
cores between sessions first: the bot processes and this harness are one session (PostgreSQL, started by pg_ctl,
another), so on a machine busy with other people's commands they get about the same CPU however many they are.

Results on this machine (2 cores, AMD EPYC; 2026-11-23; `.venv/bin/python benchmarks/scale.py`: 200 people,
50 ms, 2 rounds of 20 s; 273 s in all). The machine was shared: other engineers' test suites ran throughout
(load average 2.7 at the start, 7.3 at its busiest, this benchmark's own processes included):

  | configuration | updates | updates/s | p50 ms | p99 ms | bot CPU s | wait s | PG CPU s | ms/upd | redone | x PG x1 |
  |---------------|---------|-----------|--------|--------|-----------|--------|----------|--------|--------|---------|
  | SQLite x1     |   3,008 |      74.9 |  2,260 |  4,028 |      25.3 |   20.2 |        - |    8.4 |      0 |   1.90x |
  | PostgreSQL x1 |   1,592 |      39.4 |  3,932 | 10,182 |      21.3 |   18.9 |      5.5 |   16.8 |      0 |   1.00x |
  | PostgreSQL x2 |   1,106 |      27.5 |  5,737 | 14,115 |      22.1 |   58.1 |      5.0 |   24.5 |    129 |   0.70x |
  | PostgreSQL x3 |     772 |      19.1 |  7,221 | 18,296 |      20.4 |  100.9 |      4.6 |   32.4 |     78 |   0.48x |

("wait s": the bot waiting for a core; "ms/upd": CPU ms/update; "redone": turns redone. Left out: every run
reached its 20 s bound, so no conversation completed (0/400 each: in a closed loop everyone moves at the same
pace); the harness used 9-22 % of a core.) What it says, on this machine that day:
  - every configuration was CPU-bound: the bot's processes were running or ready to run 99-113 % of the time
    (above 100 %: aiosqlite's thread beside the event loop),
    and together they got about half a core (20-25 s of CPU in 40 s) whatever their number (autogroup, above).
    Extra processes split that same half core, and each update costs more: 16.8, 24.5, 32.4 ms of CPU (bot and
    PostgreSQL) for x1, x2, x3; the turns redone (12 % of the updates at x2, 10 % at x3) are part of it. Hence
    0.70x and 0.48x. Over the five full runs of that morning, x2 gave 0.65-1.56x and x3 0.48-1.16x; the three
    with two rounds (this default) 0.70-1.06x and 0.48-0.65x, the widest spread coming from single-round runs
    whose load drifted between rows. On this busy 2-core machine more processes did not reliably help. Whether
    a second process helps on an idle one (the bot using one core, PostgreSQL and the harness much less) is to
    be measured there: run this file on it;
  - one process on SQLite handles about twice the updates of one on PostgreSQL (1.85-2.20x in four full runs,
    3.4x in the fifth): 8.4 against 16.8 ms of CPU per update (on SQLite a turn's queries run straight on
    aiosqlite; on PostgreSQL they go through SQLAlchemy Core and asyncpg, and the server itself adds 3.5 ms);
  - the harness (fake Bot API server, crowd, proxy) was never the bottleneck (at most 22 % of a core).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

THIS_FILE = Path(__file__).resolve()
ROOT = THIS_FILE.parent.parent
# Run as a script, this folder comes first on sys.path, and benchmarks/telegram.py would shadow python-telegram-bot.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != THIS_FILE.parent]
sys.path.insert(0, str(ROOT))

from benchmarks.telegram import SCRIPT, BenchTelegram, crowd, log_problems, own_cpu, passerelle_person  # noqa: E402
from tests.support.cluster import bot_cluster  # noqa: E402
from tests.support.fake_telegram.limits import LIMITED_METHODS  # noqa: E402
from tests.support.postgres import PostgresCluster, start_cluster  # noqa: E402

FIRST_CHAT = 100_000
CONFIGURATIONS = (("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 2), ("PostgreSQL", 3))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REDONE = "conversation changed by another process; retrying the turn"  # bot/engine/engine.py, at INFO


# ----- the bot's processes -----------------------------------------------------------------------------------
def serve() -> None:
    """A bot process: `python -m bot run` in code, with Telegram's sending limiter off (capacity, not limits)."""
    import logging

    from bot.app.server import run
    from bot.config import Settings

    settings = Settings.from_env()
    level = logging.getLevelName(settings.log_level or "INFO")
    logging.basicConfig(
        level=max(level, logging.INFO), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )  # as bot/cli.py for `run`
    logging.getLogger("bot").setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    run(settings, limits=None)


# ----- CPU time from /proc -----------------------------------------------------------------------------------
def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command's name (field 3, the state, first)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def process_cpu(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a live process; with `children`, plus those of its children that exited."""
    fields = stat_fields(pid)
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def children_of(parent: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(stat_fields(int(entry.name))[1]) == parent:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def server_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster, the backends gone (its children's time) and those alive."""
    total = process_cpu(postmaster, children=True)
    for pid in children_of(postmaster):
        with contextlib.suppress(OSError, ValueError):
            total += process_cpu(pid, children=True)
    return total


def run_queue_wait(pid: int) -> float:
    """Seconds the threads of a process (those alive) spent ready to run but waiting for a core, from
    /proc/<pid>/task/*/schedstat: on a shared machine, how much the other jobs held it back."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def server_wait(postmaster: int) -> float:
    return sum(run_queue_wait(pid) for pid in [postmaster, *children_of(postmaster)] if Path(f"/proc/{pid}").exists())


def postmaster_pid(cluster: PostgresCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# ----- one configuration -------------------------------------------------------------------------------------
@dataclass
class Result:
    database: str
    processes: int
    people: int = 0
    completed: int = 0
    seconds: float = 0.0  # the measurement windows, added up over the rounds
    latencies: list[float] = field(default_factory=list)
    bot_cpu: float = 0.0
    postgres_cpu: float | None = None
    harness_cpu: float = 0.0  # CPU seconds of this process while the crowds ran
    waits: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # seconds waiting for a core: bot, PG, harness
    crowd_seconds: float = 0.0
    outcomes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    log_problems: list[str] = field(default_factory=list)
    forwarded: list[dict[int, int]] = field(default_factory=list)
    messages: int = 0
    loads: list[str] = field(default_factory=list)
    start_up: list[float] = field(default_factory=list)  # seconds from the database's creation to all processes up
    redone: int = 0  # turns computed on a stale copy of the conversation, refused by the version check, redone
    answered_twice: int = 0  # answerCallbackQuery refused: the query was answered already (an update handled twice)

    @property
    def label(self) -> str:
        return f"{self.database} x{self.processes}"

    @property
    def updates(self) -> int:
        return len(self.latencies)

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run_configuration(
    result: Result, args: argparse.Namespace, postgres: PostgresCluster, folder: Path, number: int
) -> None:
    """One run of one configuration, added to `result`."""
    logs = folder / f"{number:02d}-{result.database.lower()}-x{result.processes}"
    logs.mkdir()
    began = time.monotonic()
    if result.database == "SQLite":
        database_url = f"sqlite+aiosqlite:///{logs / 'passerelle.db'}"
    else:
        database_url = await postgres.create_database(f"scale_{number:02d}")
    postmaster = postmaster_pid(postgres)
    command = (sys.executable, str(THIS_FILE), "--serve")
    server = BenchTelegram(args.latency_ms / 1000, None)
    async with server:
        users = [server.user(FIRST_CHAT + i, f"Personne {i}") for i in range(args.people)]
        async with bot_cluster(server, database_url, result.processes, logs, command=command) as (processes, proxy):
            result.start_up.append(time.monotonic() - began)
            await asyncio.sleep(0.5)  # let the start-up's last calls (setWebhook, commands) settle
            pids = [bot.process.pid for bot in processes]
            bot_cpu = sum(process_cpu(pid) for pid in pids)
            pg_cpu = server_cpu(postmaster)
            waits = [sum(run_queue_wait(pid) for pid in pids), server_wait(postmaster), run_queue_wait(os.getpid())]
            harness_cpu, started = own_cpu(), time.monotonic()
            tally, outcome = await crowd(server, users, passerelle_person, args.duration, args.stall)
            crowd_end = time.monotonic()
            result.harness_cpu += own_cpu() - harness_cpu
            result.crowd_seconds += crowd_end - started
            result.bot_cpu += sum(process_cpu(pid) for pid in pids) - bot_cpu
            after = [sum(run_queue_wait(pid) for pid in pids), server_wait(postmaster), run_queue_wait(os.getpid())]
            result.waits = [total + b - a for total, a, b in zip(result.waits, waits, after, strict=True)]
            if result.database == "PostgreSQL":
                result.postgres_cpu = (result.postgres_cpu or 0.0) + server_cpu(postmaster) - pg_cpu
            result.forwarded.append(dict(proxy.forwarded))
            result.loads.append(load_average())
        # Everyone done: up to the last turn's end; else up to the time bound or the stall's detection.
        end = tally.last_end if outcome == "all done" and tally.last_end else crowd_end
        result.messages += sum(
            1
            for call in server.calls
            if call.status == 200 and call.method in LIMITED_METHODS and tally.start <= call.at <= end
        )
        result.answered_twice += sum(1 for call in server.calls_of("answerCallbackQuery") if call.status == 400)
    result.people += args.people
    result.completed += tally.completed
    result.seconds += end - tally.start
    result.latencies += tally.latencies
    result.outcomes.append(outcome)
    result.errors += tally.errors
    for log in sorted(logs.glob("bot*.log")):
        result.log_problems += [f"{log.stem}: {problem}" for problem in log_problems(log)]
        result.redone += log.read_text(errors="replace").count(REDONE)


# ----- report ------------------------------------------------------------------------------------------------
def table(results: list[Result]) -> list[str]:
    head = ["configuration", "processes", "people completed", "updates", "updates/s", "p50 ms", "p99 ms"]
    head += ["bot CPU s", "bot waiting for a core s", "PostgreSQL CPU s", "CPU ms/update", "turns redone"]
    head += ["harness CPU", "x PG x1 (updates/s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = next((r.updates_per_s for r in results if r.database == "PostgreSQL" and r.processes == 1), 0.0)
    for r in results:
        harness = r.harness_cpu / r.crowd_seconds if r.crowd_seconds > 0 else 0.0
        cells = [
            r.database,
            str(r.processes),
            f"{r.completed}/{r.people}",
            f"{r.updates:,}",
            f"{r.updates_per_s:,.1f}",
            f"{r.pct(0.5):,.0f}",
            f"{r.pct(0.99):,.0f}",
            f"{r.bot_cpu:.1f}",
            f"{r.waits[0]:.1f}",
            "-" if r.postgres_cpu is None else f"{r.postgres_cpu:.1f}",
            f"{(r.bot_cpu + (r.postgres_cpu or 0.0)) / r.updates * 1000:.1f}" if r.updates else "-",
            f"{r.redone:,}",
            f"{harness:.0%} of a core",
            f"{r.updates_per_s / base:.2f}x" if base else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def details(results: list[Result], cores: int) -> list[str]:
    lines: list[str] = []
    for r in results:
        name = r.label
        if r.updates:
            postgres_wait = "" if r.postgres_cpu is None else f"PostgreSQL {r.waits[1]:.1f} s, "
            busy = (r.bot_cpu + (r.postgres_cpu or 0.0) + r.harness_cpu) / (r.crowd_seconds * cores)
            runnable = (r.bot_cpu + r.waits[0]) / (r.crowd_seconds * r.processes)
            starts = ", ".join(f"{seconds:.1f}" for seconds in r.start_up)
            lines.append(
                f"- {name}: window {r.seconds:.1f} s, {r.messages:,} messages sent or edited, "
                f"{r.answered_twice} callback queries answered twice; the bot's processes were running or ready to "
                f"run {runnable:.0%} of the time (near 100 %: CPU-bound); bot + PostgreSQL + harness used {busy:.0%} "
                f"of the {cores} cores; waiting for a core: {postgres_wait}harness {r.waits[2]:.1f} s; load average "
                f"after: {', '.join(r.loads)}; ended: {'; '.join(r.outcomes)}; start-up {starts} s"
            )
        if r.processes > 1:
            lines.append(f"- {name}: updates handed to each process by the proxy: {r.forwarded}")
        if r.errors:
            distinct = sorted(set(r.errors))
            lines.append(f"- {name}: {len(r.errors)} conversations failed: {'; '.join(distinct[:3])}")
        unfinished = r.people - r.completed - len(r.errors)
        if unfinished:
            lines.append(f"- {name}: {unfinished} conversations unfinished when the run ended")
        if r.log_problems:
            lines.append(f"- {name}, bot logs: " + "; ".join(r.log_problems[:4]))
    return lines


def machine() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores ({model or platform.machine()}), load average {load_average()} at the start"


# ----- main --------------------------------------------------------------------------------------------------
async def bench(args: argparse.Namespace, postgres: PostgresCluster) -> None:
    started = time.monotonic()
    cores = len(os.sched_getaffinity(0))
    print(
        f"Scale benchmark: {machine()}; Python {sys.version.split()[0]}, PostgreSQL {postgres.bin_dir.parent.name} "
        f"(throw-away server, fsync off).\n"
        f"Parameters: {args.people} people per configuration, all at once (closed loop), each the shipped flow from "
        f"/start to the mobility question ({len(SCRIPT)} lines: 11 updates, 13 messages); emulated Bot API latency "
        f"{args.latency_ms} ms; time bound {args.duration:.0f} s per configuration, stall {args.stall:.0f} s; "
        f"{args.rounds} round(s) (even rounds in reverse order); webhook mode behind a round-robin proxy, "
        f"Telegram's limiter off. Latency: update available at the fake server -> arrival of the message ending "
        f"its turn.\n"
    )
    results = [Result(database, processes) for database, processes in CONFIGURATIONS]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as name:
        folder = args.logs or Path(name)
        number = 0
        for round_number in range(1, args.rounds + 1):
            # Odd rounds in the table's order, even rounds backwards (A B C D D C B A): a load that grows or fades
            # during the run weighs the same on every row.
            for result in results if round_number % 2 else results[::-1]:
                number += 1
                print(
                    f"  round {round_number}: {result.label}, {args.people} people ... (load {load_average()})",
                    file=sys.stderr,
                )
                await run_configuration(result, args, postgres, folder, number)
    print("\n".join(table(results)))
    print()
    print("\n".join(details(results, cores)))
    print(f"\nTotal wall time: {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=200, help="people in the crowd of each configuration")
    parser.add_argument("--latency-ms", type=int, default=50, help="emulated Bot API latency (ms)")
    parser.add_argument("--duration", type=float, default=20.0, help="time bound of each configuration's run (s)")
    parser.add_argument("--stall", type=float, default=10.0, help="end a run after this long without a message (s)")
    parser.add_argument("--rounds", type=int, default=2, help="run the four configurations this many times")
    parser.add_argument("--logs", type=Path, metavar="DIR", help="keep the bot processes' logs in DIR (new folder)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few people, short bounds (< 60 s)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # a bot process
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given explicitly still win
        parser.set_defaults(people=20, duration=6.0, stall=5.0, rounds=1)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    began = time.monotonic()
    if args.logs is not None:
        args.logs = args.logs.resolve()
        args.logs.mkdir(parents=True)
    postgres = start_cluster()
    print(f"  PostgreSQL started in {time.monotonic() - began:.1f} s", file=sys.stderr)
    try:
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: the clean-up below still runs
        try:
            import uvloop  # the harness's own CPU is a limit on 2 cores: the lighter event loop
        except ImportError:
            asyncio.run(bench(args, postgres))
        else:
            uvloop.run(bench(args, postgres))
    finally:
        postgres.stop()


if __name__ == "__main__":
    main()
