"""Engine benchmark: turns per second and per-turn latency, in-process, side by side in one run.

    .venv/bin/python benchmarks/engine.py [--conversations 300] [--rounds 3] [--concurrency 20]

Rows, measured in alternating rounds so that machine noise hits them alike (the median round is shown):
  - bare transitions trigger: one `Machine.trigger` on a two-state machine (the floor: what any turn costs at least);
  - engine, memory storage: Engine.handle with no database;
  - engine, SQLite file: one committed transaction per turn (WAL), conversations one after another;
  - engine, SQLite file, N concurrent conversations: the same, with conversations interleaved;
  - answers pressed / answers typed: the same conversation's answers to the flow's questions, as button presses
    and as typed French read by the understanding (spaCy's French model), memory storage, answer turns only.
Then the memory per stored conversation (in the engine's memory and on disk), and what loading the French model
costs once per process (time and resident memory, measured in a fresh process).
Goals (issue #2): >= 5,000 turns/s without storage, >= 1,000 turns/s with SQLite, p99 < 5 ms.
Goal (issue #13): a typed answer costs at most 10 ms p99; button presses do not pay for the understanding.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transitions import Machine  # noqa: E402

from bot.app.root import LoadedFlow, load_flow_with_personas  # noqa: E402
from bot.channels.terminal import parse_line  # noqa: E402
from bot.engine.engine import Engine  # noqa: E402
from bot.places.offers import NoCatalogue  # noqa: E402
from bot.storage import Storage  # noqa: E402
from bot.storage.memory import MemoryStorage  # noqa: E402

# A whole conversation through the shipped flow: 14 turns, ending with a recorded callback request.
SCRIPT = ["bonjour", "value:self", "value:family_contact,leisure", "value:smartphone", "value:weekly",
          "value:intermediate", "value:unsure", "value:confidence", "value:easy", "69003", "value:yes",
          "oui", "06 12 34 56 78", "value:morning"]

# The same conversation typed as people write; ANSWERS: the turns that answer a question of the flow.
TYPED = ["bonjour", "pour moi", "garder le contact avec la famille et les jeux", "j'ai un smartphone",
         "toutes les semaines", "je me débrouille", "j'aimerais être plus sûre de moi", "peur de mal faire",
         "oui pas de souci", "69003", "oui qu'on me rappelle", "oui", "06 12 34 56 78", "plutôt le matin"]
ANSWERS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 10})
LOAD_MODEL = """
import time
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
before = rss()
start = time.perf_counter()
from bot.understanding.analysis import model
model()
loaded = time.perf_counter() - start
from bot.app.root import load_flow_with_personas
from bot.engine.bundle import FlowBundle
from bot.engine.machine import FlowMachine
from pathlib import Path
flow = load_flow_with_personas(Path("flows/orientation.yaml"))
start = time.perf_counter()
FlowBundle(flow.flow, FlowMachine(flow.flow), flow.personas).read_ahead()
ahead = time.perf_counter() - start
after = rss()
print(loaded, ahead, (after - before) / 1024)
"""


@dataclass
class Measure:
    name: str
    turns: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.turns / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def bare_transitions(turns: int) -> Measure:
    class Model:
        state: str

    machine = Machine(model=None, states=["a", "b"], initial="a", auto_transitions=False)
    machine.add_transition("go", "a", "b")
    machine.add_transition("go", "b", "a")
    model = Model()
    machine.add_model(model)
    latencies = []
    start = time.perf_counter()
    for _ in range(turns):
        t0 = time.perf_counter()
        model.trigger("go")  # type: ignore[attr-defined]
        latencies.append(time.perf_counter() - t0)
    return Measure("bare transitions trigger", turns, time.perf_counter() - start, latencies)


async def conversation(
    engine: Engine, key: str, latencies: list[float], script: list[str] = SCRIPT, only: frozenset[int] | None = None
) -> None:
    multi = False
    for index, line in enumerate(script):
        t0 = time.perf_counter()
        turn = await engine.handle(parse_line(key, line, multi))
        if only is None or index in only:
            latencies.append(time.perf_counter() - t0)
        multi = turn.multi
    if not turn.done or turn.callback is None:
        raise RuntimeError(f"the scripted conversation must end with a callback; it ended in {turn.state!r}")


async def run_engine(name: str, engine: Engine, conversations: int, concurrency: int, tag: str) -> Measure:
    latencies: list[float] = []
    keys = [f"bench:{tag}:{i}" for i in range(conversations)]
    start = time.perf_counter()
    for first in range(0, conversations, concurrency):
        await asyncio.gather(*(conversation(engine, k, latencies) for k in keys[first:first + concurrency]))
    return Measure(name, len(latencies), time.perf_counter() - start, latencies)


async def run_answers(name: str, loaded: LoadedFlow, conversations: int, script: list[str], tag: str) -> Measure:
    """Only the turns answering the flow's questions are timed (the rest is the same in both scripts)."""
    engine = Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue())
    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(conversations):
        await conversation(engine, f"bench:{tag}:{i}", latencies, script, ANSWERS)
    return Measure(name, len(latencies), time.perf_counter() - start, latencies)


def corpus_answers(loaded: LoadedFlow) -> Measure:
    """Every typed answer of the corpora in flows/understanding/, each read once as the conversation reads it
    (against its question, and the questions still to come when it is not sure)."""
    from bot.tools.understanding_corpus import load_corpus
    from bot.understanding.question import Context
    from bot.understanding.reader import understand

    latencies: list[float] = []
    start = time.perf_counter()
    for path in sorted((ROOT / "flows" / "understanding").glob("*.yaml")):
        corpus = load_corpus(path)
        later = corpus.slot_questions
        for name, entries in corpus.answers.items():
            question = corpus.questions[name]
            besides = [q for q in later if q.slot != question.slot]
            for entry in entries:
                t0 = time.perf_counter()
                understand(entry.text, question, Context(entry.for_whom, corpus.year), besides=besides)
                latencies.append(time.perf_counter() - t0)
    return Measure("corpus answers typed, each once", len(latencies), time.perf_counter() - start, latencies)


def model_cost() -> tuple[float, float, float]:
    """Seconds to load the French model, seconds to read the flow's phrases, MiB of resident memory added."""
    done = subprocess.run([sys.executable, "-c", LOAD_MODEL], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded, ahead, mib = (float(x) for x in done.stdout.split())
    return loaded, ahead, mib


def size_on_disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("bench.db*"))


async def memory_per_conversation(loaded: LoadedFlow, conversations: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    storage = MemoryStorage()
    engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
    await run_engine("memory", engine, conversations, 1, "mem")
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / conversations


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=300, help="conversations per round and row")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is shown")
    parser.add_argument("--concurrency", type=int, default=20, help="interleaved conversations in the last row")
    args = parser.parse_args()
    loaded = load_flow_with_personas(ROOT / "flows" / "orientation.yaml")

    with tempfile.TemporaryDirectory() as folder:
        db_file = Path(folder) / "bench.db"
        storage = await Storage.open(f"sqlite+aiosqlite:///{db_file}")
        sqlite_engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
        await sqlite_engine.start()
        rows: dict[str, list[Measure]] = {}
        runners: list[tuple[str, Callable[[int], Awaitable[Measure]]]] = [
            ("bare", lambda r: bare_transitions(args.conversations * len(SCRIPT))),
            ("memory", lambda r: run_engine("engine, memory storage",
                                            Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue()),
                                            args.conversations, 1, f"m{r}")),
            ("sqlite", lambda r: run_engine("engine, SQLite file (1 commit/turn)", sqlite_engine,
                                            args.conversations, 1, f"s{r}")),
            ("sqlite_conc", lambda r: run_engine(f"engine, SQLite file, {args.concurrency} concurrent",
                                                 sqlite_engine, args.conversations, args.concurrency, f"c{r}")),
            ("pressed", lambda r: run_answers("answers pressed (answer turns only)", loaded,
                                              args.conversations, SCRIPT, f"p{r}")),
            ("typed", lambda r: run_answers("answers typed (answer turns only)", loaded,
                                            args.conversations, TYPED, f"t{r}")),
        ]
        # the model and the flow's phrases are read once per process: not part of any row
        Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue()).current.read_ahead()
        for round_number in range(args.rounds):
            for key, runner in runners:
                rows.setdefault(key, []).append(await runner(round_number))
        conversations_stored = args.conversations * args.rounds * 2
        await storage.close()
        disk = size_on_disk(Path(folder))
    in_memory = await memory_per_conversation(loaded, args.conversations)
    corpus = corpus_answers(loaded)
    load_seconds, ahead_seconds, model_mib = model_cost()

    print(f"Engine benchmark: {args.conversations} conversations x {len(SCRIPT)} turns per row, "
          f"median of {args.rounds} alternating rounds (Python {sys.version.split()[0]})")
    print(f"{'row':44} {'turns/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>8}")
    bare_rate = statistics.median(m.rate for m in rows["bare"])
    for measures in rows.values():
        median = sorted(measures, key=lambda m: m.rate)[len(measures) // 2]
        print(f"{median.name:44} {median.rate:>10,.0f} {median.pct(0.5):>8.3f} {median.pct(0.99):>8.3f} "
              f"{median.rate / bare_rate:>8.4f}")
    print(f"memory per conversation held by the engine (memory storage): {in_memory / 1024:.1f} KiB")
    print(f"SQLite file size per stored conversation (with its callback): {disk / conversations_stored / 1024:.1f} KiB")
    typed = sorted(rows["typed"], key=lambda m: m.rate)[len(rows["typed"]) // 2]
    pressed = sorted(rows["pressed"], key=lambda m: m.rate)[len(rows["pressed"]) // 2]
    print(f"{corpus.name:44} {corpus.rate:>10,.0f} {corpus.pct(0.5):>8.3f} {corpus.pct(0.99):>8.3f}")
    print(f"typed / pressed answer, p50: {typed.pct(0.5) / pressed.pct(0.5):.1f}x, p99: "
          f"{typed.pct(0.99) / pressed.pct(0.99):.1f}x (goal: typed p99 <= 10 ms)")
    print(f"French model, once per process: loaded in {load_seconds:.1f} s, the flow's phrases read in "
          f"{ahead_seconds:.1f} s, {model_mib:.0f} MiB of resident memory")


if __name__ == "__main__":
    asyncio.run(main())
