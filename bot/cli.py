"""`python -m bot …`: the command line. Logging is configured once, here."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from bot.app.root import DEFAULT_FLOW, QUEUES_FILE, load_flow_with_personas, open_app
from bot.channels.terminal import TerminalChat
from bot.config import Settings
from bot.core.errors import BotError, FlowError
from bot.places.geo import Geo
from bot.places.locations import GeoLocations
from bot.privacy.keys import add_parser as add_keys_parser
from bot.privacy.keys import run as run_keys
from bot.privacy.purge import add_parser as add_purge_parser
from bot.privacy.purge import run as run_purge
from bot.storage.crypto import Keyring
from bot.tools.mediators import add_parser as add_mediators_parser
from bot.tools.mediators import run as run_mediators
from bot.tools.misunderstood import add_parser as add_misunderstood_parser
from bot.tools.misunderstood import run as run_misunderstood

log = logging.getLogger("bot")


def _configure_logging(level: int) -> None:
    # LOG_LEVEL=DEBUG is the bot's own debug log (`bot.*`, free of personal data); libraries stay at INFO or above,
    # since at DEBUG some write what they carry (python-telegram-bot the updates and messages, aiosqlite the SQL
    # parameters): people's answers and phone numbers.
    logging.basicConfig(
        level=max(level, logging.INFO), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("bot").setLevel(level)
    # httpx logs request URLs, which contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Passerelle: orientation towards digital help.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="the main job: the web server on HOST:PORT (default http://127.0.0.1:8080/: the web chat) and, when "
        "TELEGRAM_BOT_TOKEN is set, the Telegram bot too; stops cleanly on SIGTERM or Ctrl-C",
        description="Serve the web chat at http://HOST:PORT/ (default http://127.0.0.1:8080/), the mediators' "
        "dashboard at /mediateurs/ and, when TELEGRAM_BOT_TOKEN is set, the Telegram bot, on DATABASE_URL "
        "(default: passerelle.db in the current folder). The conversation in the terminal is `python -m bot chat`.",
    )
    run.add_argument("--flow", type=Path, help="flow file (default: FLOWS_DIR/orientation.yaml)")

    chat = sub.add_parser("chat", help="a conversation in the terminal (try the questions without a browser)")
    chat.add_argument("--jsonl", action="store_true", help="scripted mode: one JSON line out per input line")
    chat.add_argument("--flow", type=Path, help="flow file (default: FLOWS_DIR/orientation.yaml)")

    flows = sub.add_parser("flows", help="check, test and draw the coordinators' flows")
    flows_sub = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    check = flows_sub.add_parser(
        "check", help="validate flows, personas and mediator queues; errors as file:line: message"
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="files or folders (default: FLOWS_DIR and CATALOGUE_DIR/queues.yaml)",
    )
    check.add_argument("--json", action="store_true", help="machine-readable report")
    test = flows_sub.add_parser("test", help="run the conversation tests written in YAML beside the flows")
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="test files or folders (default: FLOWS_DIR)")
    test.add_argument("--json", action="store_true", help="machine-readable report")
    understand = flows_sub.add_parser(
        "understand",
        help="measure how typed answers are understood, question by question, on the corpora of typed answers",
        description="Read every typed answer of the corpora as the conversation would, and count per question: "
        "right at the first try, right after one confirmation, not understood, wrong. A fifth of each corpus "
        "is held out (by a hash of the text) and counted apart.",
    )
    understand.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="CORPUS",
        help="corpus files or folders (default: every *.yaml under FLOWS_DIR/understanding/)",
    )
    understand.add_argument("--json", action="store_true", help="machine-readable report")
    understand.add_argument(
        "--goals",
        action="store_true",
        help="exit 1 when the held-out part is under 95%% right (at the first try or after one confirmation) or "
        "over 1%% wrong, or when confirmations pass 10%% of the whole, all the corpora read counted together",
    )
    understand.add_argument(
        "--all", action="store_true", help="also list the answers not understood, not only the wrong ones"
    )
    graph = flows_sub.add_parser("graph", help="draw a flow: SVG/PNG with Graphviz, Mermaid otherwise")
    graph.add_argument("flow", type=Path, metavar="FLOW")
    graph.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help=".svg, .png, .dot, .mmd (default: Mermaid on stdout)"
    )
    add_misunderstood_parser(flows_sub)

    geo = sub.add_parser("geo", help="French geography, offline: postcodes, communes, positions")
    geo_sub = geo.add_subparsers(dest="geo_command", required=True, metavar="ACTION")
    locate = geo_sub.add_parser("locate", help="resolve postcodes, commune names or LAT,LON to positions")
    locate.add_argument("queries", nargs="+", metavar="QUERY", help="a query, or - to read one query per stdin line")
    locate.add_argument("--json", action="store_true", help="one JSON line per query (CONTRACT.md)")

    catalogue = sub.add_parser("catalogue", help="import and inspect the places of digital help")
    catalogue_sub = catalogue.add_subparsers(dest="catalogue_command", required=True, metavar="ACTION")
    imports = catalogue_sub.add_parser(
        "import", help="import places in the national standard (v1 or v0.1, CSV or JSON)"
    )
    imports.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imports.add_argument(
        "--source",
        metavar="NAME",
        help="one import of this source for all the files (default: each file is its "
        "own source, named after the file); places of the source absent from the import are retired",
    )
    imports.add_argument("--dry-run", action="store_true", help="report what would happen, write nothing")
    imports.add_argument("--json", action="store_true", help="machine-readable report")
    stats = catalogue_sub.add_parser("stats", help="counts of stored places by source, retired, unplaced, …")
    stats.add_argument("--json", action="store_true", help="machine-readable report")
    search = catalogue_sub.add_parser("search", help="the nearest suitable places, as the conversation shows them")
    search.add_argument("--near", required=True, metavar="WHERE", help="a postcode, a commune or LAT,LON")
    search.add_argument("--persona", metavar="ID", help="a persona id of flows/personas.yaml (default: none)")
    search.add_argument("--limit", type=int, default=5, metavar="N", help="how many places (default: 5)")
    search.add_argument("--json", action="store_true", help="the offers as in the chat's JSONL `offers`")
    add_mediators_parser(sub)
    add_purge_parser(sub)
    add_keys_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "keys" and args.keys_command == "generate":  # needs no setting (DATA_KEY may be the problem)
        print(Keyring.new_key())
        return 0
    try:
        settings = Settings.from_env()
        if args.command == "run":
            _configure_logging(logging.getLevelName(settings.log_level or "INFO"))
            from bot.app.server import run  # the web server and Telegram: not needed by the other commands

            run(settings, args.flow)
            return 0
        if args.command == "chat":
            _configure_logging(logging.getLevelName(settings.log_level or "WARNING"))
            return asyncio.run(_chat(settings, args.flow, jsonl=args.jsonl))
        _configure_logging(logging.getLevelName(settings.log_level or "WARNING"))
        if args.command == "geo":
            return _geo_locate(settings, args.queries, args.json)
        if args.command == "catalogue":
            return asyncio.run(_catalogue(settings, args))
        if args.command == "mediators":
            return asyncio.run(run_mediators(settings, args))
        if args.command == "purge":
            return asyncio.run(run_purge(settings, args))
        if args.command == "keys":
            return asyncio.run(run_keys(settings, args))
        if args.flows_command == "check":
            return _flows_check(args.paths or _default_check_paths(settings), args.json)
        if args.flows_command == "understand":
            from bot.tools.understanding_report import run as run_understand

            return run_understand(
                args.paths, settings.flows_dir, as_json=args.json, goals=args.goals, show_all=args.all
            )
        if args.flows_command == "misunderstood":
            return asyncio.run(run_misunderstood(settings, args))
        if args.flows_command == "test":
            return asyncio.run(_flows_test(args.paths or [settings.flows_dir], settings, args.json))
        return _flows_graph(args.flow, args.output)
    except FlowError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`… | head`): stop quietly, and keep Python from failing again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


async def _chat(settings: Settings, flow: Path | None, *, jsonl: bool) -> int:
    if jsonl:  # JSON Lines are UTF-8 whatever the locale (an ASCII locale used to crash on the first "é")
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    else:  # a person's terminal: its own encoding, never a crash on a character it cannot show
        sys.stdin.reconfigure(errors="replace")  # type: ignore[union-attr]
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    async with open_app(settings, flow or settings.flows_dir / DEFAULT_FLOW) as app:
        chat = TerminalChat(app.engine, sys.stdin, sys.stdout)
        if jsonl:
            await chat.run_jsonl()
        else:
            await chat.run_human()
    return 0


def _default_check_paths(settings: Settings) -> list[Path]:
    """The flows folder, and the mediator queues when the catalogue has a queues file."""
    queues = settings.catalogue_dir / QUEUES_FILE
    return [settings.flows_dir, *([queues] if queues.is_file() else [])]


def _flows_check(paths: list[Path], as_json: bool) -> int:
    from bot.tools.check import check, warning_text

    report = check(paths)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "files": report.files,
                    "errors": [
                        {"file": p.file, "line": p.line, "message": p.message, "severity": "error"}
                        for p in report.problems
                    ],
                    "warnings": [
                        {"file": p.file, "line": p.line, "message": p.message, "severity": "warning"}
                        for p in report.warnings
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        shown = [(p, str(p)) for p in report.problems] + [(w, warning_text(w)) for w in report.warnings]
        for _, text in sorted(shown, key=lambda item: (item[0].file, item[0].line)):
            print(text)
        print(
            f"{len(report.files)} fichier(s) vérifié(s), {len(report.problems)} problème(s), "
            f"{len(report.warnings)} avertissement(s)",
            file=sys.stderr,
        )
    return 0 if report.ok else 1


async def _flows_test(paths: list[Path], settings: Settings, as_json: bool) -> int:
    from bot.tools.check import kind_of, yaml_files
    from bot.tools.flowtest import run_tests

    files = [p for p in yaml_files(paths) if kind_of(p) == "tests"]
    if not files:
        print(
            "aucun fichier de test de conversation (fichiers YAML avec une liste `tests:`) ; nommez un fichier ou un "
            "dossier qui en contient",
            file=sys.stderr,
        )
        return 1
    report = await run_tests(files, settings)
    if as_json:
        print(
            json.dumps(
                {
                    "passed": report.passed,
                    "failed": report.failed,
                    "results": [
                        {"file": r.file, "name": r.name, "line": r.line, "ok": r.ok, "message": r.message}
                        for r in report.results
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for r in report.results:
            print(f"RÉUSSI {r.name}" if r.ok else f"ÉCHEC {r.file}:{r.line}: {r.name} : {r.message}")
        print(f"{report.passed} réussi(s), {report.failed} échoué(s)")
    return 0 if report.failed == 0 else 1


def _flows_graph(flow_path: Path, output: Path | None) -> int:
    from bot.tools.graph import draw

    loaded = load_flow_with_personas(flow_path)
    text, written, warning = draw(loaded.flow, output)
    if text:
        sys.stdout.write(text)
    if warning:
        print(f"attention : {warning}", file=sys.stderr)
    if written:
        print(f"écrit : {written}", file=sys.stderr)
    return 0


def _geo_locate(settings: Settings, queries: list[str], as_json: bool) -> int:
    from bot.places.geo import Ambiguous, Geo

    table = settings.catalogue_dir / "geo" / "geo.json.gz"
    geo = Geo.load(table if table.is_file() else None)
    sys.stdin.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    if as_json:  # JSON Lines are UTF-8 whatever the locale; a terminal gets its own encoding, never a crash
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    else:
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    for query in (line.rstrip("\r\n") for arg in queries for line in (sys.stdin if arg == "-" else [arg])):
        result = geo.locate(query)
        if as_json:
            data = (
                result.as_dict()
                if not isinstance(result, Ambiguous)
                else {
                    "query": result.query,
                    "lat": None,
                    "lon": None,
                    "commune": "",
                    "code_insee": "",
                    "postcode": "",
                    "precision": "none",
                    "candidates": [c.as_dict() for c in result.candidates],
                }
            )
            print(json.dumps(data, ensure_ascii=False), flush=True)
        elif isinstance(result, Ambiguous):
            names = [f"{c.commune} ({geo.department_of(c.code_insee)}, {c.code_insee})" for c in result.candidates]
            example = f"{result.query} {geo.department_of(result.candidates[0].code_insee)}"
            print(
                f"{result.query} → plusieurs communes portent ce nom : {', '.join(names)} ; "
                f"ajoutez le département, par exemple « {example} »",
                flush=True,
            )
        elif result.precision == "none":
            print(f"{query} → lieu inconnu", flush=True)
        else:
            postcode = f", {result.postcode}" if result.postcode else ""
            print(
                f"{query} → {result.commune} ({result.code_insee}{postcode}) : {result.lat}, {result.lon}, "
                f"précision {result.precision}",
                flush=True,
            )
    return 0


async def _catalogue(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tools.catalogue import print_import, print_stats, run_import, run_stats

    if args.catalogue_command == "import":
        placer = GeoLocations(Geo.load()).place  # places published without coordinates, from their commune
        summary = await run_import(settings, args.files, source=args.source, dry_run=args.dry_run, placer=placer)
        print_import(summary, as_json=args.json, dry_run=args.dry_run)
        return 0
    if args.catalogue_command == "search":
        return await _catalogue_search(settings, args)
    print_stats(await run_stats(settings), as_json=args.json)
    return 0


async def _catalogue_search(settings: Settings, args: argparse.Namespace) -> int:
    """Resolve WHERE like the conversation does, rank like the conversation does, print what it would show."""
    from bot.channels.terminal import offer_to_json
    from bot.places.offers import LocationChoice, nearest_first

    async with open_app(settings) as app:
        personas = app.engine.current.personas.personas
        if args.persona is not None and args.persona not in personas:
            print(f"error: unknown persona {args.persona!r}; known: {', '.join(personas)}", file=sys.stderr)
            return 2
        found = app.geo.resolve(args.near)
        if isinstance(found, LocationChoice):
            names = ", ".join(c.label for c in found.candidates)
            print(f"error: several communes are called {args.near!r}: {names}; add the department", file=sys.stderr)
            return 2
        if found is None or found.latitude is None or found.longitude is None:
            print(f"error: {args.near!r} is not a known postcode, commune or LAT,LON", file=sys.stderr)
            return 2
        persona = personas[args.persona] if args.persona else None
        offers = nearest_first(app.places.search(found.latitude, found.longitude, persona, {}, max(args.limit, 0)))
    if args.json:
        print(json.dumps([offer_to_json(o) for o in offers], ensure_ascii=False, indent=2))
        return 0
    print(f"{found.commune or found.label} ({found.precision}): {len(offers)} place(s)")
    for number, offer in enumerate(offers, 1):
        print(f"{number}. {offer.name} [{offer.id}] - {offer.address}")
        print(f"   {' · '.join(offer.reasons)}")
        if offer.next_opening:
            print(f"   {offer.next_opening}")
    return 0
