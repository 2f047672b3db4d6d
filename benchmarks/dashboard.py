"""Dashboard benchmark: 20 mediators working at once on /mediateurs/, on a SQLite file and on PostgreSQL.

    .venv/bin/python benchmarks/dashboard.py [--backend both] [--mediators 20] [--rounds 6] [--requests 3000]
        [--think-ms 300] [--logs DIR] [--profile DIR]

What runs, all on 127.0.0.1 (nothing touches the network); both backends are set up and started first, then measured
one after the other (the other server idle):
  - a fresh database: a new SQLite file, or a new database on a throw-away PostgreSQL server (tests/support/postgres.py:
    Debian's binaries, fsync off), seeded before the server starts with --requests callback requests as the engine
    stores them (phone numbers and first names encrypted with DATA_KEY, their keyed digests, answers, audit events),
    spread over the 5 queues of catalogue/queues.yaml and the last 80 days: a quarter open (mostly waiting, some
    taken), the rest closed (done, unreachable, cancelled); and --mediators accounts (`Accounts.save`, as
    `python -m bot mediators add`), each on one queue, every third also on the next one (5 or 6 per queue);
  - the whole server in a process of its own (this file's `--serve` entry: `bot.app.server.run`, uvloop, as
    `python -m bot run` without Telegram), measured once it answers /healthz. The French model's read-ahead is left
    out: the dashboard never reads French, and that thread would take a core for the first seconds (a minute on a
    busy machine), during the measure;
  - --mediators simulated mediators (aiohttp clients in this process, each with its own cookies), all starting at
    once, each with a random pause of 0 to 2 x --think-ms before every click (a person reads the page first; the
    default, 300 ms on average, is several times a real mediator's pace, who phones between two clicks; --think-ms 0
    is a closed loop: the server's capacity rather than its latency). Each signs in through the real form (GET, then
    POST with the form's CSRF token; at most 10 at once: the sign-in limit counts 20 failures per address, and a
    sign-in counts as one until its password is checked), then does --rounds rounds of:
      1. the list with a filter (state « à traiter », waiting, taken, all or done; one of their queues or all;
         page 2 of « toutes » now and then);
      2. « Prendre la plus ancienne » (POST /mediateurs/suivante), the request's page, a note, then « Appel fait »
         (with a result; 60 %) or « Injoignable » (40 %), and the page it lands on;
      3. the list of waiting requests, one of them opened and claimed (« Je m'en occupe », which another mediator may
         have taken meanwhile: refused, counted below), then released (« Libérer ») when it was;
      4. « Rechercher un numéro » with the number of a seeded request;
      5. the activity export (CSV, a monthly report): the month so far every third round, the last 90 days every
         sixth.
Every HTTP request is timed on the client, from sending it to its body's last byte; redirects are NOT followed
inside a measurement: an action's row is its POST alone (answered 303), and the page the browser then loads is timed
as that page's own request (« liste » or « page demande »). What a mediator waits for after a click is the two added.

The table, per backend: action, count, p50 / p95 / p99 / max in ms, and whether p99 <= 300 ms (the goal of issue 15,
point 5). Percentiles are nearest-rank (`percentile`). Then the PostgreSQL / SQLite ratio of each action's p50 and
p99, and per backend: the requests per second; the server's CPU (and PostgreSQL's) while the mediators worked, and
the time the server's threads were ready to run but waited for a core (/proc/<pid>/task/*/schedstat: on a shared
machine, how long other jobs held it back); the claims refused because another mediator was first; this harness's
own CPU; the load average; and the WARNING/ERROR lines of the server's log (`--logs DIR` keeps them).
`--profile DIR` runs the server under cProfile, timing the CPU of the event loop's thread (slower: for where the time
goes, not for the figures), and prints its top functions by own and cumulative time.

Results: README.md, « Mediators' dashboard: `benchmarks/dashboard.py` ».
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import math
import os
import pstats
import random
import re
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

THIS_FILE = Path(__file__).resolve()
ROOT = THIS_FILE.parent.parent
# Run as a script, this folder comes first on sys.path, and benchmarks/telegram.py would shadow python-telegram-bot.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != THIS_FILE.parent]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from benchmarks.scale import load_average, machine, postmaster_pid, process_cpu, run_queue_wait, server_cpu  # noqa: E402
from benchmarks.telegram import log_problems  # noqa: E402
from bot.core.clock import PARIS  # noqa: E402
from tests.support.postgres import PostgresCluster, free_port, start_cluster  # noqa: E402

GOAL_MS = 300.0
PREFIX = "/mediateurs"
PASSWORD = "un mot de passe de banc d'essai"
QUEUES = {"default": 10, "lyon": 35, "rhone": 20, "isere": 20, "clermont": 15}  # name -> share of the requests (%)
OUTCOMES = ("helped", "oriented", "appointment", "no_need", "other")
PERSONAS = ("refractaire", "novice_curieux", "sans_reperes", "timide", "melancolique", "modere", "hyper_connecte")
FIRST_NAMES = ("Jeanne", "Marcel", "Lucienne", "André", "Monique", "Henri", "Simone", "Roger", "Odette", "Paul")
STATES = ("ouvertes", "ouvertes", "ouvertes", "new", "claimed", "toutes", "done")  # the list's filters, as used
SIGN_IN_AT_ONCE = 10
READY_TIMEOUT = 120.0  # s: start-up and the bundled catalogue's import, on a busy machine
ACTIONS = (  # the table's rows, in this order
    "connexion",
    "liste",
    "page demande",
    "suivante",
    "prendre",
    "note",
    "appel-fait",
    "injoignable",
    "liberer",
    "recherche",
    "export CSV (mois)",
    "export CSV (90 j)",
)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
REQUEST_LINK = re.compile(PREFIX + r"/demandes/([0-9a-f]+)\"")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-quantile (0 < q <= 1): the smallest value with at least q of the values at or below it.
    p99 of 100 values is the 99th smallest; of 50 values, the largest. NaN when there is none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# ----- the database's content ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Seeded:
    phones: list[str]  # numbers of the seeded requests, national format (as a mediator types one)
    mediators: dict[str, tuple[str, ...]]  # login -> queues


def mediator_queues(count: int) -> dict[str, tuple[str, ...]]:
    names = list(QUEUES)
    accounts: dict[str, tuple[str, ...]] = {}
    for i in range(count):
        own = names[i % len(names)]
        extra = (names[(i + 1) % len(names)],) if i % 3 == 2 else ()  # some mediators help a neighbouring team
        accounts[f"mediateur{i + 1:02d}"] = (own, *extra)
    return accounts


def seed_rows(requests: int, mediators: dict[str, tuple[str, ...]], rng: random.Random) -> list[dict[str, Any]]:
    """The requests, in clear (sealed when inserted), oldest ~80 days ago; a quarter open."""
    at = datetime.now(UTC)
    holders = {q: [m for m, qs in mediators.items() if q in qs] for q in QUEUES}
    people = max(1, int(requests * 0.9))  # a tenth are people asking again: a number search finds several
    rows = []
    for i in range(requests):
        queue = rng.choices(list(QUEUES), weights=list(QUEUES.values()))[0]
        open_ = rng.random() < 0.25
        created = at - timedelta(minutes=rng.uniform(5, (7 if open_ else 80) * 24 * 60))
        status = rng.choices(
            ["new", "claimed"] if open_ else ["done", "unreachable", "cancelled"],
            weights=[8, 2] if open_ else [70, 15, 15],
        )[0]
        holder = rng.choice(holders[queue] or list(mediators))
        claimed = status in ("claimed", "done", "unreachable")
        claimed_at = created + timedelta(minutes=rng.uniform(10, 600)) if claimed else None
        resolved_at = (
            min(at, (claimed_at or created) + timedelta(minutes=rng.uniform(5, 2000)))
            if status in ("done", "unreachable", "cancelled")
            else None
        )
        rows.append(
            {
                "id": f"{i:06x}{rng.getrandbits(24):06x}",
                "conversation_key": f"web:{i + 1}" if i % 10 < 3 else f"telegram:{100_000 + i}",
                "status": status,
                "queue": queue,
                "persona": rng.choice(PERSONAS),
                "answers": {"for_whom": rng.choice(["self", "relative"]), "age_band": "70_79", "location": "69003"},
                "phone": f"+336{(i % people) * 7919 % 100_000_000:08d}",
                "moment": rng.choice(["morning", "afternoon", "any"]),
                "contact": "person",
                "consent_at": created,
                "consent_text": "v1",
                "first_name": rng.choice(FIRST_NAMES),
                "created_at": created,
                "updated_at": resolved_at or claimed_at or created,
                "attempts": 3 if status == "unreachable" else rng.choice([0, 0, 0, 1, 2]),
                "claimed_by": f"web:{holder}" if claimed else None,
                "claimed_name": holder if claimed else None,
                "claimed_at": claimed_at,
                "outcome": rng.choice(OUTCOMES)
                if status == "done"
                else ("unreachable" if status == "unreachable" else None),
                "note": "Rappeler après 14 h, préfère le fixe." if status == "done" and rng.random() < 0.3 else None,
                "resolved_at": resolved_at,
            }
        )
    return rows


async def seed(url: str, data_key: str, args: argparse.Namespace) -> Seeded:
    """Requests and audit events in one transaction each, then the accounts (scrypt, as the command line does)."""
    from sqlalchemy import insert

    from bot.callbacks.rules import person
    from bot.dashboard.accounts import Accounts
    from bot.storage import Storage
    from bot.storage.core import event_values
    from bot.storage.crypto import Keyring
    from bot.storage.records import CallbackEvent
    from bot.storage.tables import callback_events, callbacks

    rng = random.Random(15)
    mediators = mediator_queues(args.mediators)
    rows = seed_rows(args.requests, mediators, rng)
    keyring = Keyring.from_text(data_key)
    storage = await Storage.open(url, keyring=keyring)
    try:
        stored = [
            {
                **r,
                "phone": keyring.seal(r["phone"]),
                "phone_digest": keyring.phone_digest(r["phone"]),
                "first_name": keyring.seal(r["first_name"]),
                "note": keyring.seal(r["note"]),
            }
            for r in rows
        ]
        events = []
        for r in rows:
            asker = person(r["conversation_key"])
            events.append(
                CallbackEvent(r["id"], r["created_at"], "created", None, "new", asker.id, asker.name, asker.via)
            )
            if r["claimed_at"] is not None:
                events.append(
                    CallbackEvent(
                        r["id"],
                        r["claimed_at"],
                        "claimed",
                        "new",
                        "claimed",
                        r["claimed_by"],
                        r["claimed_name"],
                        "dashboard",
                    )
                )
            if r["resolved_at"] is not None:
                actor = (
                    (r["claimed_by"], r["claimed_name"], "dashboard")
                    if r["claimed_by"]
                    else (asker.id, asker.name, asker.via)
                )
                action = "cancelled" if r["status"] == "cancelled" else r["status"]
                events.append(
                    CallbackEvent(
                        r["id"],
                        r["resolved_at"],
                        action,
                        "claimed",
                        r["status"],
                        actor[0],
                        actor[1],
                        actor[2],
                        r["note"],
                    )
                )
        events.sort(key=lambda e: e.at)
        async with storage.callback_transaction() as tx:
            await tx.connection.execute(insert(callbacks), stored)
            await tx.connection.execute(insert(callback_events), [event_values(e, keyring) for e in events])
        accounts = Accounts(storage)  # the passwords are hashed in threads: together
        await asyncio.gather(*(accounts.save(m, PASSWORD, q, f"Médiateur {m[-2:]}") for m, q in mediators.items()))
    finally:
        await storage.close()
    return Seeded([national(r["phone"]) for r in rows], mediators)


def national(phone: str) -> str:
    """+33612345678 -> "06 12 34 56 78", as a mediator types it."""
    digits = "0" + phone.removeprefix("+33")
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


# ----- the server ----------------------------------------------------------------------------------------------
def serve() -> None:
    """The server process: `python -m bot run` in code (uvloop), without the French model's read-ahead; under
    cProfile (CPU time of the event loop's thread) when BENCH_PROFILE names a file."""
    import logging

    import bot.app.server
    from bot.config import Settings

    settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The dashboard never reads French. The model's read-ahead is a thread taking a core for several seconds after
    # the start (a minute on a busy machine): left out, the start is quick and nothing else runs during the measure.
    bot.app.server._read_ahead = lambda _app: None
    profile_to = os.environ.get("BENCH_PROFILE")
    if not profile_to:
        bot.app.server.run(settings)
        return
    profiler = cProfile.Profile(time.thread_time)  # CPU time: a busy machine's waits for a core are left out
    try:
        profiler.runcall(bot.app.server.run, settings)
    finally:
        profiler.dump_stats(profile_to)


def server_env(url: str, data_key: str, port: int, profile: Path | None) -> dict[str, str]:
    dropped = ("TELEGRAM_", "WEBHOOK_", "MEDIATOR_CHAT_ID", "DATABASE_URL", "DATA_KEY", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env |= {
        "DATABASE_URL": url,
        "DATA_KEY": data_key,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "FLOWS_DIR": str(ROOT / "flows"),
        "CATALOGUE_DIR": str(ROOT / "catalogue"),
        "PYTHONUNBUFFERED": "1",
    }
    if profile is not None:
        env["BENCH_PROFILE"] = str(profile)
    return env


@dataclass
class Server:
    """A server process on its own database (seeded), started beside the other backend's."""

    backend: str
    seeded: Seeded
    log: Path
    port: int
    process: asyncio.subprocess.Process
    database: str  # PostgreSQL: the database's name, dropped at the end; SQLite: ""
    seed_seconds: float
    started_at: float
    ready_seconds: float = 0.0


async def start_server(
    backend: str, args: argparse.Namespace, folder: Path, postgres: PostgresCluster | None, stack: AsyncExitStack
) -> Server:
    """A fresh database, seeded, and the server on it in a process of its own (stopped with SIGTERM when the stack
    closes)."""
    from bot.storage.crypto import Keyring

    data_key = Keyring.new_key()
    database = ""
    if postgres is None:
        url = f"sqlite+aiosqlite:///{folder / 'dashboard.db'}"
    else:
        database = f"bench_dashboard_{os.getpid()}"
        url = await postgres.create_database(database)
        stack.push_async_callback(postgres.drop_database, database)
    began = time.monotonic()
    seeded = await seed(url, data_key, args)
    seed_seconds = time.monotonic() - began
    profile = args.profile / f"dashboard-{backend.lower()}.prof" if args.profile else None
    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(THIS_FILE),
            "--serve",
            cwd=folder,
            env=server_env(url, data_key, port, profile),
            stdout=out,
            stderr=out,
        )
    stack.push_async_callback(stop_server, process)
    return Server(backend, seeded, log, port, process, database, seed_seconds, time.monotonic())


async def wait_ready(server: Server) -> None:
    """Until the server answers /healthz."""
    deadline = server.started_at + READY_TIMEOUT
    async with aiohttp.ClientSession() as probe:
        while True:
            if server.process.returncode is not None or time.monotonic() > deadline:
                tail = read_log(server.log)[-3000:]
                raise RuntimeError(
                    f"the {server.backend} server did not start (exit {server.process.returncode}):\n{tail}"
                )
            with contextlib.suppress(aiohttp.ClientError):
                async with probe.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                    if response.status == 200:
                        server.ready_seconds = time.monotonic() - server.started_at
                        return
            await asyncio.sleep(0.2)


async def stop_server(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()


# ----- the mediators -------------------------------------------------------------------------------------------
@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=lambda: {action: [] for action in ACTIONS})
    errors: list[str] = field(default_factory=list)
    refused_claims: int = 0  # « Je m'en occupe » on a request another mediator had just taken
    nothing_waiting: int = 0  # « Prendre la plus ancienne » with nothing left in the queue


class Mediator:
    """A mediator in a browser without JavaScript: cookies, the CSRF token of the last page seen, a pause before
    each click (not before a redirect's page, which the browser loads at once)."""

    def __init__(self, url: str, login: str, queues: tuple[str, ...], tally: Tally, think: float, seed: int) -> None:
        self.session = aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.login = login
        self.queues = queues
        self.tally = tally
        self.think = think
        self.rng = random.Random(seed)
        self.csrf = ""

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, action: str | None, method: str, path: str, *, form: dict[str, str] | None = None, click: bool = True
    ) -> tuple[int, str, str]:
        """(status, Location, body); timed under `action` (send -> last byte of the body), redirect not followed."""
        if click and self.think > 0:
            await asyncio.sleep(self.rng.uniform(0, 2 * self.think))
        data = None if form is None else {"csrf": self.csrf, **form}
        started = time.perf_counter()
        async with self.session.request(method, path, data=data, allow_redirects=False) as response:
            body = await response.read()
        elapsed = time.perf_counter() - started
        if action is not None:
            self.tally.times[action].append(elapsed)
        location = response.headers.get("Location", "")
        if response.status not in (200, 303) or location.startswith(f"{PREFIX}/connexion"):
            self.tally.errors.append(f"{action or method} {path.split('?')[0]}: HTTP {response.status} {location}")
        text = body.decode("utf-8", "replace")
        if (found := CSRF.search(text)) is not None:
            self.csrf = found.group(1)
        return response.status, location, text

    async def land(self, location: str) -> str:
        """The page a redirect leads to, loaded at once as a browser does; timed as that page."""
        action = "page demande" if "/demandes/" in location else "liste"
        return (await self.request(action, "GET", location, click=False))[2]

    async def post(self, action: str, path: str, form: dict[str, str]) -> tuple[str, str]:
        """A form sent, and the page it leads to: (Location, that page)."""
        _, location, _ = await self.request(action, "POST", path, form=form)
        return location, (await self.land(location) if location else "")

    async def sign_in(self) -> None:
        await self.request(None, "GET", f"{PREFIX}/connexion")  # after a pause: the team does not arrive at once
        _, location, _ = await self.request(
            "connexion", "POST", f"{PREFIX}/connexion", form={"identifiant": self.login, "mot_de_passe": PASSWORD}
        )
        if not location or location.startswith(f"{PREFIX}/connexion"):
            raise RuntimeError(f"{self.login} could not sign in")
        await self.land(location)

    async def work(self, rounds: int, phones: Sequence[str]) -> None:
        rng = self.rng
        for number in range(rounds):
            # 1. The list, with a filter.
            state = rng.choice(STATES)
            query = f"?etat={state}"
            if rng.random() < 0.5:
                query += f"&file={rng.choice(self.queues)}"
            if state == "toutes" and rng.random() < 0.5:
                query += "&page=2"
            await self.request("liste", "GET", f"{PREFIX}/{query}")
            # 2. The oldest waiting request: taken, a note, then called (or nobody answered).
            form = {"file": rng.choice(self.queues)} if rng.random() < 0.3 else {}
            location, _ = await self.post("suivante", f"{PREFIX}/suivante", form)
            if "/demandes/" in location:
                await self.post("note", f"{location}/note", {"note": "Messagerie : rappeler demain matin."})
                if rng.random() < 0.6:
                    form = {"resultat": rng.choice(OUTCOMES), "note": "Rendez-vous pris à la médiathèque."}
                    await self.post("appel-fait", f"{location}/appel-fait", form)
                else:
                    await self.post("injoignable", f"{location}/injoignable", {"note": "Pas de réponse."})
            else:
                self.tally.nothing_waiting += 1
            # 3. A waiting request chosen in the list, claimed, released.
            _, _, text = await self.request("liste", "GET", f"{PREFIX}/?etat=new&file={rng.choice(self.queues)}")
            found = REQUEST_LINK.findall(text)
            if found:
                page = f"{PREFIX}/demandes/{rng.choice(found[:20])}"
                await self.request("page demande", "GET", page)
                _, landed = await self.post("prendre", f"{page}/prendre", {})
                if f'action="{page}/liberer"' in landed:
                    await self.post("liberer", f"{page}/liberer", {})
                else:
                    self.tally.refused_claims += 1
            # 4. Someone calls back: their number searched.
            await self.request("recherche", "POST", f"{PREFIX}/recherche", form={"numero": rng.choice(phones)})
            # 5. The activity export (a monthly report, not an everyday click): the month so far every third round;
            # the last 90 days every sixth.
            if number % 3 == 2:
                await self.request("export CSV (mois)", "GET", f"{PREFIX}/export.csv")
            if number % 6 == 5:
                today = datetime.now(PARIS).date()
                since = (today - timedelta(days=90)).isoformat()
                path = f"{PREFIX}/export.csv?du={since}&au={today.isoformat()}"
                await self.request("export CSV (90 j)", "GET", path)


# ----- one backend ---------------------------------------------------------------------------------------------
@dataclass
class Result:
    backend: str
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0  # from the first mediator's first request of the rounds to the last one's end
    server_cpu: float = 0.0
    server_wait: float = 0.0  # s the server's threads were ready to run but had no core (the machine's other jobs)
    postgres_cpu: float | None = None
    harness_cpu: float = 0.0
    seed_seconds: float = 0.0
    start_seconds: float = 0.0
    load: str = ""
    log_problems: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(times) for action, times in self.tally.times.items() if action != "connexion")


async def measure(server: Server, args: argparse.Namespace, postgres: PostgresCluster | None) -> Result:
    """The mediators sign in, then work their rounds all at once."""
    result = Result(server.backend, seed_seconds=server.seed_seconds, start_seconds=server.ready_seconds)
    url = f"http://127.0.0.1:{server.port}"
    mediators = [
        Mediator(url, login, queues, result.tally, args.think_ms / 1000, seed=i)
        for i, (login, queues) in enumerate(server.seeded.mediators.items())
    ]
    try:
        gate = asyncio.Semaphore(SIGN_IN_AT_ONCE)

        async def day(mediator: Mediator) -> None:
            async with gate:
                await mediator.sign_in()
            await mediator.work(args.rounds, server.seeded.phones)

        pid = server.process.pid
        postmaster = postmaster_pid(postgres) if postgres is not None else None
        cpu, wait, pg_cpu, own, started = process_cpu(pid), run_queue_wait(pid), 0.0, own_cpu(), time.monotonic()
        if postmaster is not None:
            pg_cpu = server_cpu(postmaster)
        await asyncio.gather(*(day(m) for m in mediators))
        result.seconds = time.monotonic() - started
        result.server_cpu = process_cpu(pid) - cpu
        result.server_wait = run_queue_wait(pid) - wait
        result.harness_cpu = own_cpu() - own
        if postmaster is not None:
            result.postgres_cpu = server_cpu(postmaster) - pg_cpu
        result.load = load_average()
    finally:
        for mediator in mediators:
            await mediator.close()
    return result


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ----- report --------------------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def table(result: Result) -> list[str]:
    lines = [
        "| action | count | p50 ms | p95 ms | p99 ms | max ms | p99 <= 300 ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for action in ACTIONS:
        times = result.tally.times[action]
        if not times:
            continue
        p99 = percentile(times, 0.99)
        verdict = "yes" if p99 * 1000 <= GOAL_MS else "**NO**"
        cells = [
            action,
            f"{len(times):,}",
            *(ms(percentile(times, q)) for q in (0.5, 0.95, 0.99)),
            ms(max(times)),
            verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ratios(sqlite: Result, postgres: Result) -> list[str]:
    lines = [
        "| action | SQLite p50 ms | PostgreSQL p50 ms | PG / SQLite p50 | SQLite p99 ms | PostgreSQL p99 ms "
        "| PG / SQLite p99 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for action in ACTIONS:
        a, b = sqlite.tally.times[action], postgres.tally.times[action]
        if not a or not b:
            continue
        cells = [action]
        for q in (0.5, 0.99):
            x, y = percentile(a, q), percentile(b, q)
            cells += [ms(x), ms(y), f"{y / x:.2f}x" if x > 0 else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def details(result: Result) -> list[str]:
    r, tally = result, result.tally
    pg = "" if r.postgres_cpu is None else f", PostgreSQL {r.postgres_cpu:.1f} s"
    lines = [
        f"- {r.backend}: {r.requests:,} requests in {r.seconds:.1f} s ({r.requests / r.seconds:,.1f}/s); CPU while the "
        f"mediators worked: server {r.server_cpu:.1f} s ({r.server_cpu / r.requests * 1000:.1f} ms a request; "
        f"{r.server_cpu / r.seconds:.0%} of a core; it waited {r.server_wait:.1f} s for a core){pg}, this harness "
        f"{r.harness_cpu:.1f} s; load average after: {r.load}; seeding {r.seed_seconds:.1f} s, server start "
        f"{r.start_seconds:.1f} s",
        f"- {r.backend}: claims refused (another mediator was first): {tally.refused_claims}; « Prendre la plus "
        f"ancienne » with nothing waiting: {tally.nothing_waiting}",
    ]
    if tally.errors:
        distinct = sorted(set(tally.errors))
        lines.append(f"- {r.backend}: {len(tally.errors)} unexpected answers: {'; '.join(distinct[:4])}")
    if r.log_problems:
        lines.append(f"- {r.backend}, server log: " + "; ".join(r.log_problems[:4]))
    return lines


def print_profile(path: Path, top: int) -> None:
    for order in ("tottime", "cumulative"):
        print(f"\nProfile of {path.name} (cProfile, CPU of the event loop's thread, top {top} by {order}):\n```")
        pstats.Stats(str(path)).sort_stats(order).print_stats(top)
        print("```")


# ----- main ----------------------------------------------------------------------------------------------------
async def bench(args: argparse.Namespace) -> None:
    started = time.monotonic()
    names = {"sqlite": ["SQLite"], "postgresql": ["PostgreSQL"], "both": ["SQLite", "PostgreSQL"]}
    backends = names[args.backend]
    print(
        f"Dashboard benchmark: {machine()}; Python {sys.version.split()[0]}.\n"
        f"Parameters: {args.mediators} mediators at once, {args.rounds} rounds each, {args.requests:,} requests seeded "
        f"over {len(QUEUES)} queues, pause 0-{2 * args.think_ms} ms before each click. Latency: client side, "
        f"sending -> last byte, redirects not followed (an action's POST alone; the page it leads to is timed as "
        f"that page).\n"
    )
    results: dict[str, Result] = {}
    postgres = None
    try:
        if "PostgreSQL" in backends:
            began = time.monotonic()
            postgres = start_cluster()
            print(f"  PostgreSQL started in {time.monotonic() - began:.1f} s", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as name:
            async with AsyncExitStack() as stack:
                # Both servers start together (a few seconds each, more on a busy machine); each is measured alone
                # afterwards, the other one idle.
                servers = []
                for backend in backends:
                    folder = (args.logs or Path(name)) / backend.lower()
                    folder.mkdir()
                    cluster = postgres if backend == "PostgreSQL" else None
                    print(f"  {backend}: seeding {args.requests:,} requests, starting the server", file=sys.stderr)
                    servers.append(await start_server(backend, args, folder, cluster, stack))
                await asyncio.gather(*(wait_ready(server) for server in servers))
                for server in servers:
                    cluster = postgres if server.backend == "PostgreSQL" else None
                    print(
                        f"  {server.backend}: {args.mediators} mediators at work (load {load_average()})",
                        file=sys.stderr,
                    )
                    results[server.backend] = await measure(server, args, cluster)
            for server in servers:
                result = results[server.backend]
                result.log_problems = log_problems(server.log)
                title = ""
                if server.backend == "PostgreSQL" and postgres is not None:
                    title = f" (PostgreSQL {postgres.bin_dir.parent.name}, fsync off)"
                print(f"### {server.backend}{title}\n")
                print("\n".join(table(result)))
                print()
                print("\n".join(details(result)))
                print()
    finally:
        if postgres is not None:
            postgres.stop()
    if len(results) == 2:
        print("### PostgreSQL / SQLite\n")
        print("\n".join(ratios(results["SQLite"], results["PostgreSQL"])))
        print()
    missed = [
        f"{b}: {a}"
        for b, r in results.items()
        for a, t in r.tally.times.items()
        if t and percentile(t, 0.99) * 1000 > GOAL_MS
    ]
    print(f"Goal (every action's p99 <= {GOAL_MS:.0f} ms): {'met' if not missed else 'NOT met: ' + ', '.join(missed)}")
    print(f"Total wall time: {time.monotonic() - started:.0f} s")
    if args.profile:
        for backend in results:
            path = args.profile / f"dashboard-{backend.lower()}.prof"
            if path.exists():
                print_profile(path, args.profile_top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--mediators", type=int, default=20, help="mediators working at once")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of work per mediator")
    parser.add_argument("--requests", type=int, default=3000, help="callback requests in the database")
    parser.add_argument("--think-ms", type=int, default=300, help="mean pause before a click (ms); 0: closed loop")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="run the server under cProfile, stats in DIR")
    parser.add_argument("--profile-top", type=int, default=40, help="functions shown per profile")
    parser.add_argument("--logs", type=Path, metavar="DIR", help="keep the server's logs (and SQLite file) in DIR")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.logs is not None:
        args.logs = args.logs.resolve()
        args.logs.mkdir(parents=True)
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: the clean-ups still run
    try:
        import uvloop  # the harness's own CPU counts on 2 cores: the lighter event loop
    except ImportError:
        asyncio.run(bench(args))
    else:
        uvloop.run(bench(args))


if __name__ == "__main__":
    main()
