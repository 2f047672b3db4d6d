"""The coordinators' YAML files, broken every way a hand or a text editor can: random YAML text, random edits of
the shipped `flows/orientation.yaml`, `messages.yaml`, `personas.yaml` and `catalogue/queues.yaml` (deleted keys,
wrong types, unknown steps, huge texts, duplicate keys, bad indentation, binary junk). Whatever the file holds,
the loaders (the ones `python -m bot flows check` and the running bot use) either load it or raise FlowError
naming the file and a line of it, one `file:line: message` per problem; never another exception, never a hang.
A flow that loads is a flow the bot can run: a few turns of conversation on it never break.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import functools
import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.root import LoadedFlow, load_flow_with_personas
from bot.callbacks.queuefile import load_queues, parse_queues
from bot.core.errors import FlowError, Problem
from bot.core.messages import Inbound
from bot.core.slots import SLOTS
from bot.engine.engine import Engine
from bot.language.flows import Flow, parse_flow
from bot.language.personas import check_against_flow, load_personas, parse_personas
from bot.language.yamlload import LineDict, LineList, load_yaml
from bot.places.geo import Geo
from bot.places.offers import NoCatalogue
from bot.storage.memory import MemoryStorage
from bot.tools.check import check
from tests.conftest import FLOWS, ROOT
from tests.support.fuzzing import FUZZ, assert_located, junk_text

FLOW_FILE = FLOWS / "orientation.yaml"
MESSAGES_FILE = FLOWS / "messages.yaml"
PERSONAS_FILE = FLOWS / "personas.yaml"
QUEUES_FILE = ROOT / "catalogue" / "queues.yaml"
SHIPPED = {path.name: path.read_text(encoding="utf-8") for path in (FLOW_FILE, MESSAGES_FILE, PERSONAS_FILE)}
QUEUES_TEXT = QUEUES_FILE.read_text(encoding="utf-8")
# Parsed once: the data-level mutations start from a deep copy (LineDict and LineList keep their lines).
FLOW_DATA = load_yaml(SHIPPED["orientation.yaml"], str(FLOW_FILE))
MESSAGES_DATA = load_yaml(SHIPPED["messages.yaml"], str(MESSAGES_FILE))
PERSONAS_DATA = load_yaml(SHIPPED["personas.yaml"], str(PERSONAS_FILE))
QUEUES_DATA = load_yaml(QUEUES_TEXT, str(QUEUES_FILE))
STEP_NAMES = sorted(FLOW_DATA["steps"])
SLOT_VALUES = sorted({value for spec in SLOTS.values() for value in spec.values})
WORDS = sorted(
    {"flow", "title", "start", "human", "personas", "settings", "variables", "messages", "steps", "say", "ask",
     "text", "multi", "input", "choices", "unknown", "invalid", "next", "menu", "action", "end", "value", "label",
     "synonyms", "goto", "exclusive", "numbers", "if", "unless", "max_misses", "self", "relative", "rules",
     "weight", "reason", "urgency", "solutions", "message", "preferences", "services", "default", "queues",
     "name", "territory", "postcodes", "insee", "departments", "around", "lat", "lon", "km", "hours", "days",
     "from", "to", "telegram_chat_id", "mediators", "target_minutes", "max_attempts", "missing", "ended"}
    | set(STEP_NAMES) | set(SLOTS) | set(SLOT_VALUES)
)  # fmt: skip
GEO = Geo.load()


@functools.cache
def shipped() -> LoadedFlow:
    """The shipped flow and personas, loaded once."""
    return load_flow_with_personas(FLOW_FILE)


def line_count(text: str) -> int:
    """Lines as YAML counts them (a lone "\r", U+2028… break lines too), which an editor may show fewer of."""
    return len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1


# ----- values a YAML file can hold ---------------------------------------------------------------------------
yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # NaN and infinities too: `!!float .nan`
    junk_text(40),
    st.sampled_from(WORDS),
    st.sampled_from(["{prenom}", "{", "}", "{0}", "{persona.__class__}", "", " ", "x" * 100_000]),
    st.dates(),  # `2024-01-01` is a date to YAML
    st.binary(max_size=8),  # `!!binary`
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), junk_text(10)), children, max_size=3),
    ),
    max_leaves=8,
)


def lined(value: Any, line: int) -> Any:
    """A value as the YAML loader gives it: mappings and sequences know their line."""
    if isinstance(value, dict):
        result = LineDict({str(k): lined(v, line) for k, v in value.items()})
        result.line, result.key_lines = line, dict.fromkeys(result, line)
        return result
    if isinstance(value, list):
        items = LineList(lined(v, line) for v in value)
        items.line, items.item_lines = line, [line] * len(items)
        return items
    return value


def line_at(node: Any, key: Any) -> int:
    return int(node.line_of(key)) if isinstance(node, LineDict | LineList) else 1


# Mappings whose keys are names the coordinator chooses (step names, persona ids, text names): their entries
# are one kind of place, whatever their name.
NAME_MAPS = {"steps", "personas", "messages", "variables"}


def places(node: Any, path: tuple[Any, ...] = (), pattern: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(kind of place, path) for every key of a mapping and item of a sequence: `steps.*.choices.#.label` for
    the label of any button of any step."""
    if isinstance(node, dict):
        named = bool(pattern) and pattern[-1] in NAME_MAPS
        for key, value in node.items():
            kind = (*pattern, "*" if named else str(key))
            yield ".".join(kind), (*path, key)
            yield from places(value, (*path, key), kind)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield ".".join((*pattern, "#")), (*path, index)
            yield from places(value, (*path, index), (*pattern, "#"))


# A value of another type is the commonest mistake (and the one code forgets): four edits in ten.
EDITS = ["retype"] * 4 + ["delete"] * 2 + ["replace", "rename", "retarget", "double", "empty"]
OTHER_TYPES = [0, -1, 2**70, 1.5, float("nan"), float("inf"), True, False, None, "", "x", [], {}, [1, [2]],
               {"a": {"b": 1}}, datetime.date(2024, 1, 1), b"\x00\xff", "x" * 100_000]  # fmt: skip
MISSING_STEPS = ["nulle_part", "ended", "", "Étape 2"]


def _shallow(node: Any) -> Any:
    copied = copy.copy(node)  # LineDict and LineList keep their line attributes
    if isinstance(copied, LineDict):
        copied.key_lines = dict(node.key_lines)
    elif isinstance(copied, LineList):
        copied.item_lines = list(node.item_lines)
    return copied


def edited(data: Any, path: tuple[Any, ...], edit: str, value: Any = None) -> Any:
    """`data` with one edit at `path` (the containers along the path are copied, the rest is shared):
    retype/replace (by `value`), delete, rename (the key becomes `value`), double (a list's first item again)."""
    root = _shallow(data)
    parent = root
    *parents, key = path
    for step in parents:
        parent[step] = _shallow(parent[step])
        parent = parent[step]
    line = line_at(parent, key)
    if edit == "delete":
        del parent[key]
        if isinstance(parent, LineList):
            del parent.item_lines[key]
    elif edit == "rename" and isinstance(parent, LineDict):
        parent[str(value)] = parent.pop(key)
        parent.key_lines[str(value)] = line
    elif edit == "double" and isinstance(parent[key], LineList) and parent[key]:
        items = parent[key] = _shallow(parent[key])
        items.append(items[0])
        items.item_lines.append(items.line_of(0))
    elif edit in ("retype", "replace"):
        parent[key] = lined(value, line)
    return root


def kinds_of_places(data: Any) -> dict[str, list[tuple[Any, ...]]]:
    by_kind: dict[str, list[tuple[Any, ...]]] = {}
    for kind, path in places(data):
        by_kind.setdefault(kind, []).append(path)
    return by_kind


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """The parsed file with one to three random edits: an entry deleted, a value of another type (or huge), a key
    renamed, a link pointing at a step that does not exist, a list item doubled. Each kind of place (a step's
    `next`, a button's `label`, a persona's `solutions`…) is as likely to be edited as any other, however many
    places of that kind the file has."""
    data = original
    for _ in range(draw(st.integers(1, 3), label="edits")):
        by_kind = kinds_of_places(data)
        if not by_kind:
            break  # everything deleted already
        kind = draw(st.sampled_from(sorted(by_kind)), label="kind of place")
        path = draw(st.sampled_from(by_kind[kind]), label="place")
        edit = draw(st.sampled_from(EDITS), label="edit")
        if edit == "retype":
            data = edited(data, path, edit, draw(st.sampled_from(OTHER_TYPES), label="value"))
        elif edit == "replace":
            data = edited(data, path, edit, draw(yaml_values, label="value"))
        elif edit == "rename":
            data = edited(data, path, edit, draw(st.one_of(st.sampled_from(WORDS), junk_text(12)), label="key"))
        elif edit == "retarget":
            data = edited(data, path, "replace", draw(st.sampled_from([*STEP_NAMES, *MISSING_STEPS]), label="to"))
        elif edit == "empty":
            data = edited(data, path, "replace", draw(st.sampled_from([{}, [], "", None]), label="empty"))
        else:
            data = edited(data, path, edit)
    return data


# ----- text a YAML file can hold -----------------------------------------------------------------------------
TOKENS = [
    "\n", "  ", "    ", "\t", "- ", ": ", ":", "[", "]", "{", "}", ",", "'", '"', "&a ", "*a", "*b", "<<: ", "? ",
    "!!binary ", "!!set ", "!!float ", ".nan", "!!python/object:os.system ", "!!str ", "!custom ", "|", ">-", "#",
    "---\n", "...\n", "%YAML 1.1\n", "%TAG ! x\n", "\\", "\\x00", "\\ud800", "\x00", "\x85", "\ufeff", "\u2028",
    "2024-01-01", "0x1F", "1e400", "08", "-1001234567890", "yes", "~",
]  # fmt: skip


def nested(depth: int, kind: str) -> str:
    if kind == "flow":
        return "a: " + "[" * depth + "]" * depth + "\n"
    if kind == "block":
        return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "v\n"
    return "".join(f"{'  ' * level}- \n" for level in range(depth)) + "  " * depth + "- v\n"


yaml_texts = st.one_of(
    st.lists(st.one_of(st.sampled_from(TOKENS), st.sampled_from(WORDS), junk_text(8)), max_size=40).map("".join),
    st.text(max_size=200),
    st.builds(nested, st.integers(1, 3000), st.just("flow")),
    st.builds(nested, st.integers(1, 300), st.sampled_from(["block", "sequence"])),
)


@st.composite
def edited_text(draw: st.DrawFn, text: str) -> str:
    """The file's text with one to three edits a person makes by mistake: a line deleted, doubled (a duplicate
    key), moved, re-indented (or a tab), replaced by junk, cut short, or junk inserted anywhere."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3), label="edits")):
        index = draw(st.integers(0, len(lines) - 1), label="line")
        edit = draw(
            st.sampled_from(["delete", "double", "swap", "indent", "dedent", "tab", "junk", "insert", "cut", "huge"]),
            label="edit",
        )
        line = lines[index]
        if edit == "delete" and len(lines) > 1:
            del lines[index]
        elif edit == "double":
            lines.insert(index, line)
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], line
        elif edit == "indent":
            lines[index] = " " * draw(st.integers(1, 5)) + line
        elif edit == "dedent":
            lines[index] = line.lstrip()
        elif edit == "tab":
            lines[index] = "\t" + line
        elif edit == "junk":
            lines[index] = draw(st.one_of(st.sampled_from(TOKENS), junk_text(30)))
        elif edit == "insert":
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.one_of(st.sampled_from(TOKENS), junk_text(10))) + line[at:]
        elif edit == "cut":
            lines = lines[: index + 1]
            lines[index] = line[: draw(st.integers(0, len(line)))]
        elif edit == "huge":
            at = line.find(": ")
            lines[index] = (line[: at + 2] if at >= 0 else line + ": ") + '"' + "é" * 200_000 + '"'
    return "\n".join(lines)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A folder of the module's own, rewritten by each example (Hypothesis runs examples one after another)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-flows-") as name:
        yield Path(name)


def stage(folder: Path, **texts: str | bytes) -> dict[str, int]:
    """The shipped flow files in `folder`, some replaced by `texts` (file name → text or bytes); returns the
    number of lines of each file, by path as the loaders name it."""
    lines = {}
    for name in SHIPPED:
        content = texts.get(name.replace(".yaml", ""), SHIPPED[name])
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
            lines[str(path)] = content.count(b"\n") + 1
        else:
            path.write_text(content, encoding="utf-8")
            lines[str(path)] = line_count(content)
    return lines


def loads_or_located(load: Any, lines: dict[str, int]) -> Any:
    """`load()`'s result, or None after checking its FlowError is located; any other exception fails the test.
    Each load must also be quick: a hang (an expanding alias, runaway nesting) is a failure, not a timeout."""
    started = time.monotonic()
    try:
        return load()
    except FlowError as error:
        assert_located(error, lines)
        return None
    finally:
        assert time.monotonic() - started < 10, "the loader took more than 10 s"


async def converse(flow: Flow, loaded: LoadedFlow, presses: list[int]) -> None:
    """A few turns on a flow that loaded: /start, buttons on screen, typed text; every turn says something."""
    engine = Engine(flow, loaded.personas, MemoryStorage(), NoCatalogue())
    await engine.start()
    key = "fuzz:flow"
    turn = await engine.handle(Inbound.typed(key, "/start"))
    for press in [*presses, None]:
        assert turn.replies, turn
        assert all(reply.text.strip() for reply in turn.replies), turn
        if press is None:
            break
        if turn.buttons and press >= 0:
            turn = await engine.handle(Inbound.button(key, turn.buttons[press % len(turn.buttons)].value))
        else:
            turn = await engine.handle(Inbound.typed(key, "je ne sais pas"))


SOURCE = json.dumps({"flow": "fuzz", "messages": "", "messages_file": str(MESSAGES_FILE)})
FILE_LINES = {str(FLOW_FILE): line_count(SHIPPED["orientation.yaml"]),
              str(MESSAGES_FILE): line_count(SHIPPED["messages.yaml"]),
              str(PERSONAS_FILE): line_count(SHIPPED["personas.yaml"]),
              str(QUEUES_FILE): line_count(QUEUES_TEXT)}  # fmt: skip


def parse_flow_data(data: Any) -> Flow:
    """A flow's data validated as `load_flow_with_personas` does: with the shipped messages and personas."""
    flow = parse_flow(data, str(FLOW_FILE), SOURCE, MESSAGES_DATA["messages"], str(MESSAGES_FILE))
    problems = check_against_flow(shipped().personas, flow)
    if problems:
        raise FlowError(problems)
    return flow


def parse_messages_data(data: Any) -> Flow:
    """messages.yaml's data under the shipped flow, checked as `flow_from_source` does."""
    if not isinstance(data, LineDict) or not isinstance(data.get("messages"), LineDict):
        raise FlowError([Problem(str(MESSAGES_FILE), 1, "expected a `messages:` mapping")])  # as flow_from_source
    return parse_flow(FLOW_DATA, str(FLOW_FILE), SOURCE, data["messages"], str(MESSAGES_FILE))


def parse_personas_data(data: Any) -> Any:
    personas = parse_personas(data, str(PERSONAS_FILE))
    problems = check_against_flow(personas, shipped().flow)
    if problems:
        raise FlowError(problems)
    return personas


def parse_queues_data(data: Any) -> Any:
    return parse_queues(data, str(QUEUES_FILE), GEO)


PARSED: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "orientation": (FLOW_DATA, parse_flow_data),
    "messages": (MESSAGES_DATA, parse_messages_data),
    "personas": (PERSONAS_DATA, parse_personas_data),
    "queues": (QUEUES_DATA, parse_queues_data),
}
# One edit at a time, at one place of each kind: every value type, a deletion, an unknown key, a missing step,
# a doubled list item.
SWEEP = [("retype", value) for value in OTHER_TYPES] + [
    ("delete", None), ("rename", "inconnu"), ("replace", "nulle_part"), ("double", None)
]  # fmt: skip


# ----- the tests ---------------------------------------------------------------------------------------------
@settings(FUZZ, max_examples=100)
@given(text=yaml_texts)
def test_random_yaml_text_loads_or_names_a_line(folder: Path, text: str) -> None:
    """Random YAML-ish text (indentation, brackets, anchors and aliases, tags, directives, control characters,
    nesting thousands of levels deep) given as a flow, a personas file, a queues file and to `flows check`: a
    load, or a FlowError whose every problem is `file:line: message` on a line of the file."""
    path = folder / "aleatoire.yaml"
    path.write_text(text, encoding="utf-8")
    lines = {str(path): line_count(text)}
    loads_or_located(lambda: load_yaml(text, str(path)), lines)
    loads_or_located(lambda: load_personas(path), lines)
    loads_or_located(lambda: load_queues(path, default_chat_id=None, geo=GEO), lines)
    report = check([path])
    for problem in report.problems:
        assert_located(FlowError([problem]), lines)


@settings(FUZZ, max_examples=25)
@given(junk=st.binary(min_size=1, max_size=300), at=st.integers(0, 10_000))
def test_binary_junk_in_a_flow_file_is_reported_with_its_line(folder: Path, junk: bytes, at: int) -> None:
    """Bytes that are not UTF-8 text (a file saved in Latin-1, an image, a corrupted copy) inserted anywhere in
    the shipped flow: a FlowError naming the flow file and a line; a junk byte at a known line is reported at
    that line (not always at line 1)."""
    original = SHIPPED["orientation.yaml"].encode("utf-8")
    at %= len(original)
    while at and original[at - 1] >= 0x80:  # insert between characters, not inside one
        at -= 1
    content = original[:at] + junk + original[at:]
    lines = stage(folder, orientation=content)
    result = loads_or_located(lambda: load_flow_with_personas(folder / "orientation.yaml"), lines)
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        assert result is None
        wrong_line = content[: exc.start].count(b"\n") + 1
        with pytest.raises(FlowError) as raised:
            load_flow_with_personas(folder / "orientation.yaml")
        assert raised.value.problems[0].line == wrong_line, raised.value


@pytest.mark.parametrize("which", sorted(PARSED))
def test_every_kind_of_place_with_every_wrong_value(which: str) -> None:
    """Systematically, one edit at a time: at one place of each kind in the shipped file (a step's `next`, a
    button's `numbers`, a persona's `solutions`, a queue's `hours.days`…), a value of every YAML type (numbers
    huge and NaN, booleans, null, texts empty and of 100,000 characters, lists, mappings, a date, bytes), the
    entry deleted, renamed, pointing at a missing step, doubled: a load, or a FlowError located in the files."""
    original, parse = PARSED[which]
    for paths_of_kind in kinds_of_places(original).values():
        for edit, value in SWEEP:
            changed = edited(original, paths_of_kind[0], edit, value)
            loads_or_located(lambda changed=changed: parse(changed), FILE_LINES)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_edited_flow_data_loads_or_names_a_line(data: st.DataObject) -> None:
    """The shipped flow with random edits of its content (entries deleted or renamed, values of every YAML type
    and size, links to unknown steps, doubled list items), validated with the shipped messages and personas as
    `flows check` does: a FlowError located in the flow or personas file, or a flow on which a short
    conversation (buttons, typed text) always answers."""
    flow = loads_or_located(lambda: parse_flow_data(data.draw(mutated(FLOW_DATA), label="flow")), FILE_LINES)
    if flow is not None:
        presses = data.draw(st.lists(st.integers(-1, 20), max_size=6), label="presses")
        asyncio.run(converse(flow, shipped(), presses))


@settings(FUZZ, max_examples=40)
@given(which=st.sampled_from(["messages", "personas", "queues"]), data=st.data())
def test_edited_data_of_the_other_files_loads_or_names_a_line(which: str, data: st.DataObject) -> None:
    """messages.yaml (texts deleted, of another type, with unknown or malformed `{placeholders}`), personas.yaml
    (personas, rules, weights, preferences) and catalogue/queues.yaml (names, territories, circles, hours, group
    ids) with random edits: a load, or a FlowError located in the files."""
    original, parse = PARSED[which]
    loads_or_located(lambda: parse(data.draw(mutated(original), label=which)), FILE_LINES)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_edited_files_load_or_name_a_line(folder: Path, data: st.DataObject) -> None:
    """One of the shipped flow, messages and personas files, or the queues file, edited as text (a line deleted,
    doubled into a duplicate key, moved, re-indented, tabbed, junk, cut short, a 200,000-character text), then
    loaded from disk by the loaders the bot runs: a load, or FlowError located in one of the files."""
    which = data.draw(st.sampled_from(["orientation", "messages", "personas", "queues"]), label="file")
    if which == "queues":
        text = data.draw(edited_text(QUEUES_TEXT), label="text")
        path = folder / "queues.yaml"
        path.write_text(text, encoding="utf-8")
        loads_or_located(lambda: load_queues(path, default_chat_id=None, geo=GEO), {str(path): line_count(text)})
        return
    shipped = SHIPPED[f"{which}.yaml"]
    text = data.draw(edited_text(shipped), label="text")
    lines = stage(folder, **{which: text})
    loads_or_located(lambda: load_flow_with_personas(folder / "orientation.yaml"), lines)


def test_an_alias_bomb_is_refused_quickly(folder: Path) -> None:
    """A file whose anchors and aliases nest into each other (the "billion laughs": 9 values, 9 copies of those,
    and so on) is refused at once with a located FlowError, instead of being expanded to hundreds of megabytes
    of text in memory and in the error message."""
    levels = ["  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
    text = "flow: bombe\nstart: a\nhuman: a\nvariables:\n" + "\n".join(levels) + "\nsteps:\n"
    text += "  a: {say: bonjour, end: true, next: [{if: {for_whom: *l8}, goto: a}]}\n"
    lines = stage(folder, orientation=text)
    started = time.monotonic()
    with pytest.raises(FlowError) as raised:
        load_flow_with_personas(folder / "orientation.yaml")
    assert time.monotonic() - started < 5
    assert_located(raised.value, lines)
    assert len(str(raised.value)) < 10_000


@pytest.mark.parametrize("text", ["a: " + "[" * 100_000, "{a: " * 50_000, "- " * 20_000 + "x"])
def test_runaway_nesting_is_refused_quickly(text: str) -> None:
    """Brackets or dashes opened by the ten thousand (a stuck key, a generated file gone wrong): a located
    FlowError within a second, not a RecursionError nor minutes of scanning."""
    started = time.monotonic()
    with pytest.raises(FlowError) as raised:
        load_yaml(text, "f.yaml")
    assert time.monotonic() - started < 1
    assert_located(raised.value, {"f.yaml": 1})
    assert "niveaux d'imbrication" in str(raised.value)


def test_dates_and_binary_values_where_texts_are_expected_are_reported() -> None:
    """YAML turns `2024-01-01` into a date and `!!binary` into bytes: where the flow expects a text, a name or
    a list, such values get a located problem like any other wrong type."""
    text = SHIPPED["orientation.yaml"].replace("flow: orientation", "flow: 2024-01-01", 1)
    with pytest.raises(FlowError) as raised:
        parse_flow(load_yaml(text, "f.yaml"), "f.yaml", text, MESSAGES_DATA["messages"], str(MESSAGES_FILE))
    assert_located(raised.value, {"f.yaml": line_count(text), str(MESSAGES_FILE): 200})
    assert any("`flow` doit être un texte non vide" in p.message for p in raised.value.problems)
    assert isinstance(load_yaml("a: 2024-01-01", "f.yaml")["a"], datetime.date)
