"""YAML loading that remembers where each value came from, so errors can name file and line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.errors import FlowError, Problem


class LineDict(dict[str, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


# YAML 1.2 scalars: coordinators write `yes`, `no`, `on` and `60_69` as plain words (slot values),
# not as the booleans and the number 6069 of YAML 1.1. A number with a leading zero (a postcode `01000`, the
# department `08`, a phone number typed in a conversation test) stays text as written, instead of YAML 1.1's
# octal (512, or a crash on `08`).
_YAML11_ONLY = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(text: str, file: str) -> Any:
    """Parse YAML text; a syntax error becomes a FlowError naming file and line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or str(exc)
        if exc.context_mark is not None and ("end of stream" in what or "<stream end>" in what):
            # An unclosed quote or bracket: the end of the file says nothing; point at where it was opened.
            mark = exc.context_mark
            what = f"{exc.context}, never closed ({what})"
        line = mark.line + 1 if mark is not None else 1
        raise FlowError([Problem(file, line, f"YAML syntax: {what}; check indentation and quotes")]) from None
    except yaml.YAMLError as exc:
        raise FlowError([Problem(file, 1, f"YAML syntax: {exc}")]) from None


def read_yaml(path: Path) -> tuple[str, Any]:
    """Read a file and parse it; returns the raw text (for versioning) and the data."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError([Problem(str(path), 1, f"cannot read the file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise FlowError([Problem(str(path), 1, "the file is not UTF-8 text; save it as UTF-8")]) from None
    return text, load_yaml(text, str(path))
