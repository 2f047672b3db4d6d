"""Telegram's parse_mode="HTML": the text with its tags removed, plus message entities (UTF-16 offsets).

Follows the parser of TDLib (``do_parse_html``) and its error messages, byte offsets being UTF-8 offsets in the
source text. Two rules are deliberately stricter than Telegram, to catch unescaped text in our bot:
an ``&`` that does not start a known entity, and ``<a>`` without ``href``, are refused (see STRICT_* below).
"""

from __future__ import annotations

import re

from .models import JSON, utf16_len

TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
SPACES = frozenset(" \t\r\n\v\0")
_SPECIAL = re.compile(r"[<&]")
_NAME = re.compile(r"[A-Za-z]*")
_DIGITS = re.compile(r"[0-9]*")
_HEX = re.compile(r"[0-9A-Fa-f]*")
_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")

STRICT_AMPERSAND = "Character '&' must be escaped as \"&amp;\" when it does not start an HTML entity"
STRICT_HREF = 'Tag "a" must have an attribute "href"'


class HtmlError(Exception):
    """A parse error; the message is what Telegram puts after "can't parse entities: "."""


def decode_entity(source: str, pos: int) -> tuple[str, int] | None:
    """The character of the HTML entity at ``source[pos] == "&"`` and the position after it, or None."""
    end = pos + 1
    if source.startswith("#", end):
        end += 1
        hexadecimal = source.startswith("x", end)
        if hexadecimal:
            end += 1
        match = (_HEX if hexadecimal else _DIGITS).match(source, end)
        assert match is not None
        digits = match.group()
        end = match.end()
        if not digits or end - pos >= 10:
            return None
        code = int(digits, 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        match = _NAME.match(source, end)
        assert match is not None
        char_or_none = NAMED_ENTITIES.get(match.group())
        if char_or_none is None:
            return None
        char = char_or_none
        end = match.end()
    if source.startswith(";", end):
        end += 1
    return char, end


def _last_utf16(text: str, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[len(encoded) - 2 * length :].decode("utf-16-le")


def _byte_offset(source: str, pos: int) -> int:
    return len(source[:pos].encode("utf-8"))


class _Parser:
    def __init__(self, source: str, strict: bool) -> None:
        self.source = source
        self.strict = strict
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[tuple[str, str, int, bool]] = []  # tag, argument, UTF-16 offset, expandable
        self.entities: list[JSON] = []

    def error(self, message: str, pos: int | None = None) -> HtmlError:
        if pos is None:
            return HtmlError(message)
        return HtmlError(f"{message} at byte offset {_byte_offset(self.source, pos)}")

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16 += utf16_len(chunk)

    def skip_spaces(self, i: int) -> int:
        source, n = self.source, len(self.source)
        while i < n and source[i] in SPACES:
            i += 1
        return i

    def run(self) -> tuple[str, list[JSON]]:
        source, n, i = self.source, len(self.source), 0
        while i < n:
            match = _SPECIAL.search(source, i)
            if match is None:
                self.emit(source[i:])
                break
            if match.start() > i:
                self.emit(source[i : match.start()])
            i = match.start()
            if source[i] == "&":
                decoded = decode_entity(source, i)
                if decoded is None:
                    if self.strict:
                        raise self.error(STRICT_AMPERSAND, i)
                    self.emit("&")
                    i += 1
                else:
                    self.emit(decoded[0])
                    i = decoded[1]
            elif source.startswith("/", i + 1):
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise self.error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        source, n = self.source, len(self.source)
        i = begin + 1
        while i < n and source[i] not in SPACES and source[i] != ">":
            i += 1
        if i >= n:
            raise self.error("Unclosed start tag", begin)
        tag = source[begin + 1 : i].lower()
        if tag not in TAG_TYPES:
            raise self.error(f'Unsupported start tag "{tag}"', begin)
        argument, has_href, expandable = "", False, False
        while True:
            i = self.skip_spaces(i)
            if i >= n:
                raise self.error("Unclosed start tag", begin)
            if source[i] == ">":
                break
            name_start = i
            while i < n and source[i] not in SPACES and source[i] not in "=>":
                i += 1
            name = source[name_start:i].lower()
            if not name:
                raise self.error(f'Empty attribute name in the tag "{tag}"', begin)
            i = self.skip_spaces(i)
            if i >= n or source[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    expandable = True
                    continue
                raise self.error(f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin)
            i = self.skip_spaces(i + 1)
            if i >= n:
                raise self.error(f'Unclosed start tag "{tag}"', begin)
            value, i = self.attribute_value(i, begin)
            if tag == "a" and name == "href":
                argument, has_href = value, True
            elif tag == "code" and name == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and name == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and name == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        if tag == "a" and not has_href and self.strict:
            raise self.error(STRICT_HREF, begin)
        if tag == "tg-emoji" and not (argument.isdigit() and int(argument) > 0):
            raise self.error("Invalid custom emoji identifier specified")
        self.stack.append((tag, argument, self.utf16, expandable))
        return i + 1

    def attribute_value(self, i: int, begin: int) -> tuple[str, int]:
        source, n = self.source, len(self.source)
        if source[i] not in "'\"":
            match = _TOKEN.match(source, i)
            assert match is not None
            end = match.end()
            if end >= n:
                raise self.error("Unclosed start tag", begin)
            if source[end] not in SPACES and source[end] != ">":
                raise self.error("Unexpected end of name token", i)
            return match.group().lower(), end
        quote = source[i]
        i += 1
        parts: list[str] = []
        while i < n and source[i] != quote:
            decoded = decode_entity(source, i) if source[i] == "&" else None
            if decoded is None:
                parts.append(source[i])
                i += 1
            else:
                parts.append(decoded[0])
                i = decoded[1]
        if i >= n:
            raise self.error("Unclosed start tag", begin)
        return "".join(parts), i + 1

    def end_tag(self, begin: int) -> int:
        source, n = self.source, len(self.source)
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        i = begin + 2
        while i < n and source[i] not in SPACES and source[i] != ">":
            i += 1
        end_name = source[begin + 2 : i].lower()
        i = self.skip_spaces(i)
        if i >= n or source[i] != ">":
            raise self.error("Unclosed end tag", begin)
        tag, argument, offset, expandable = self.stack.pop()
        if end_name and end_name != tag:
            raise self.error(
                f'Unmatched end tag at byte offset {_byte_offset(source, begin)}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        length = self.utf16 - offset
        if length > 0:
            self.entities.append(self.entity(tag, argument, offset, length, expandable))
        return i + 1

    def entity(self, tag: str, argument: str, offset: int, length: int, expandable: bool) -> JSON:
        kind = TAG_TYPES[tag]
        entity: JSON = {"type": kind, "offset": offset, "length": length}
        if tag == "a":
            entity["url"] = argument or _last_utf16("".join(self.out), length)
        elif tag == "code" and argument:
            entity["language"] = argument  # only kept when merged into an enclosing <pre>
        elif tag == "pre":
            last = self.entities[-1] if self.entities else None
            if last and last["type"] == "code" and last["offset"] == offset and last["length"] == length:
                self.entities.pop()
                if "language" in last:
                    entity["language"] = last["language"]
        elif tag == "blockquote" and expandable:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = argument
        return entity


def parse_html(source: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Plain text and entities of an HTML-formatted text; raises HtmlError like Telegram."""
    return _Parser(source, strict).run()


def strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim leading and trailing whitespace like Telegram does, moving and clipping the entities along."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    cut = len(text) - len(text.lstrip())  # whitespace characters are all in the BMP: one UTF-16 unit each
    total = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(entity["offset"] - cut, 0)
        end = min(entity["offset"] + entity["length"] - cut, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
