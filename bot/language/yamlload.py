"""YAML loading that remembers where each value came from, so errors can name file and line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import FlowError, Problem


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


DUPLICATE_KEY = "clé écrite deux fois :"
# What PyYAML was reading when the file ended: said in the coordinators' words.
_OPENED = {
    "while scanning a quoted scalar": "le texte entre guillemets ouvert sur cette ligne",
    "while parsing a flow sequence": "la liste `[` ouverte sur cette ligne",
    "while parsing a flow mapping": "le bloc `{` ouvert sur cette ligne",
}
# PyYAML's most frequent problems, explained before its own (English) words, which stay for precision.
_HINTS = (
    (
        "mapping values are not allowed here",
        "un « : » inattendu (un texte qui contient « : » se met entre guillemets) ; ",
    ),
    ("expected <block end>", "cette ligne n'est pas alignée avec celles du même niveau ; "),
    ("cannot start any token", "une tabulation ou un caractère qui ne peut pas commencer une valeur ; "),
    ("could not find expected ':'", "il manque « : » après un nom de clé ; "),
)
# Bounds on what one file may ask of the loader: nesting deeper than this overflows Python's stack (a
# RecursionError), and anchors repeated inside each other (`*a` nine times in `&b`, `*b` nine times in `&c`, …)
# expand to billions of values. The shipped flow nests 8 levels and holds about 3,000 values.
MAX_DEPTH = 64
MAX_VALUES = 200_000
# The line breaks of YAML (PyYAML's marks count these), to turn a character position into a line.
_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


class _TooLarge(yaml.composer.ComposerError):
    """The file passes a bound of MAX_DEPTH or MAX_VALUES (its syntax may be fine)."""


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # PyYAML's parameter name
        # Checked while scanning too: PyYAML's scanner slows down with each open bracket (quadratic), so that
        # 100 KB of "[" would take minutes before the composer ever counts them.
        if self.flow_level >= MAX_DEPTH:
            raise _TooLarge(None, None, f"plus de {MAX_DEPTH} niveaux d'imbrication", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
                raise _TooLarge(None, None, f"plus de {MAX_DEPTH} niveaux d'imbrication", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node, {})
        return node


def _check_expansion(node: yaml.Node, sizes: dict[int, int]) -> int:
    """The number of values `node` stands for once its aliases are expanded; a ComposerError at the first
    collection that expands past MAX_VALUES. Depth-first in document order, so an anchor is counted before its
    aliases and the recursion stays as deep as the file's nesting."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # an alias inside its own anchor: counted once here, refused by the constructor
    if isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    else:
        children = []
    size = 1 + sum(_check_expansion(child, sizes) for child in children)
    if size > MAX_VALUES:
        raise _TooLarge(
            None,
            None,
            f"cette valeur se déploie en plus de {MAX_VALUES} valeurs (des ancres `*nom` répétées les unes dans "
            "les autres ?)",
            node.start_mark,
        )
    sizes[id(node)] = size
    return size


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
            raise yaml.constructor.ConstructorError(
                None, None, f"{DUPLICATE_KEY} `{key}` (une seule fois par bloc : gardez-en une)", key_node.start_mark
            )
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
        what = " ".join((exc.problem or str(exc)).split())  # one problem, one line (PyYAML's texts may span two)
        if exc.context_mark is not None and ("end of stream" in what or "<stream end>" in what):
            # An unclosed quote or bracket: the end of the file says nothing; point at where it was opened.
            mark = exc.context_mark
            opened = _OPENED.get(exc.context or "", f"ce qui s'ouvre ici ({exc.context})")
            what = f"{opened} n'est jamais refermé ({what})"
        line = mark.line + 1 if mark is not None else 1
        if isinstance(exc, _TooLarge):
            raise FlowError([Problem(file, line, f"{what} : simplifiez le fichier")]) from None
        if what.startswith(DUPLICATE_KEY):
            raise FlowError([Problem(file, line, what)]) from None
        hint = next((french for english, french in _HINTS if english in what), "")
        raise FlowError(
            [Problem(file, line, f"syntaxe YAML : {hint}{what} ; vérifiez l'indentation et les guillemets")]
        ) from None
    except yaml.reader.ReaderError as exc:
        # A control character or binary junk: PyYAML gives its position, never its line.
        line = len(_BREAKS.findall(text, 0, exc.position)) + 1
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        raise FlowError(
            [
                Problem(
                    file,
                    line,
                    f"le caractère #x{code:04x} n'est pas permis dans un fichier YAML (données binaires ?) : "
                    "supprimez-le",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise FlowError([Problem(file, 1, f"syntaxe YAML : {' '.join(str(exc).split())}")]) from None


def read_yaml(path: Path) -> tuple[str, Any]:
    """Read a file and parse it; returns the raw text (for versioning) and the data."""
    text = read_text(path)
    return text, load_yaml(text, str(path))


def read_text(path: Path) -> str:
    """A YAML file's text, unparsed; FlowError when it cannot be read or is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlowError(
            [Problem(str(path), 1, f"impossible de lire le fichier ({exc.strerror}) : vérifiez son nom et ses droits")]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = (
            f"le fichier n'est pas un texte UTF-8 (octet 0x{data[exc.start]:02x} sur cette ligne) : "
            "enregistrez-le en UTF-8"
        )
        raise FlowError([Problem(str(path), line, message)]) from None
    # As Path.read_text gives it: "\r\n" and "\r" read as "\n" (the text is also the flow's version).
    return text.replace("\r\n", "\n").replace("\r", "\n")
