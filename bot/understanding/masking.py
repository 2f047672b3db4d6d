"""Personal data masked out of a typed answer, before it is kept for the coordinators (answers not understood).

What `mask_personal` hides, and what it keeps on purpose:
- every digit of a phone number becomes « • », separators kept (« 06 12 34 56 78 » -> « •• •• •• •• •• »,
  « +33 (0)6… » -> « +•• (•)•… »): the shape still tells a coordinator that a number was typed, and no digit is
  left (not even « 06 »: the kind of line is no help in teaching the flow). French and international numbers,
  in one block or spaced, dotted, dashed, slashed, with + or 00;
- any other run of 6 digits or more (social security, card, bank, customer numbers, large amounts) the same way;
- a date written day/month/year keeps its year only (« ••/••/1941 »): the age is what coordinators need;
- e-mail addresses (also spelled « jean point dupont arobase … ») become « [e-mail] »;
- the one or two words after « je m'appelle » (« jmappel », « elle s'appelle »…), « mon prénom est / c'est »,
  « moi c'est », and between « c'est » and « à l'appareil » become « [prénom] »; after « mon nom est », and a
  capitalised name after « Madame », « M. », « Mme »…, « [nom] ». Common words are not taken for names
  (« moi c'est pas mon truc », « ma fille m'appelle tous les jours » stay as written);
- kept: postcodes (5 digits, « 69003 » or « 69 003 »), ages, years, small counts, everything else. A 5-digit group
  beginning with 0 and followed by 4 digits or more is read as the start of a phone number (« 07400 123456 »).

Whitespace is collapsed and the result cut to 300 characters; masking comes first, so a number is never half shown
at the cut. Not recognised: numbers spelled in words (« zéro six douze… »), names introduced otherwise.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 300
MASK = "•"
EMAIL = "[e-mail]"
FIRST_NAME = "[prénom]"
SURNAME = "[nom]"
_READ_AT_MOST = 5000  # longer input is cut (at a safe place) before masking: linear work, bounded

# Possessive, and starting only where a word starts: a long run of letters, digits or dots is read once, not once
# per position (quadratic: seconds for a few thousand characters).
_EMAIL = re.compile(
    r"(?<![\w.+\-])[\w.+\-]++@[\w\-]+(?:\.[\w\-]+)+"
    # spelled out: « jean point dupont arobase gmail point com »
    r"|(?<![\w.+\-])(?:[\w+\-]++\s+(?:point|tiret)\s+)*+[\w.+\-]++\s*(?:\barobase\b|\(at\)|\[at\])\s*[\w\-]+"
    r"(?:\s*(?:\.|\bpoint\b)\s*[\w\-]+)*",
    re.IGNORECASE,
)

# Separators people put inside a number: spaces, dots, the hyphens and dashes of phone keyboards, slashes, brackets.
_SEPARATORS = " .\\-\u2010\u2011\u2012\u2013\u2014\u2212/()"
_RUN = re.compile(rf"\+?\(?\d(?:[\d{_SEPARATORS}]*\d)?")
_DATE = re.compile(r"\d{1,2}([./\-])\d{1,2}\1((?:19|20)\d\d)")
_LONG = 6  # digits from which a run is masked
_INTERNATIONAL = 9  # digits of the shortest international numbers people give (country code included)

# A word of a name: letters, with inner hyphens or apostrophes (« Jean-Pierre », « N'Diaye »).
_WORD = r"[^\W\d_]+(?:[\-'’][^\W\d_]+)*"
_NAMED_AFTER = re.compile(
    # je m'appelle, jmappel, elle s'appelle, je m apelle (not « m'appeler »)
    r"(?:(?:\bj['’]?|\b)[ms]['’]?\s?ap+e+l+e*s?\b"
    r"|\b(?:mon|son|ma|sa)\s+(?:pr[ée]nom|nom)(?:\s+de\s+famille)?\s*(?:est\b|c['’]?\s?est\b|:)"
    r"|\bmoi\s*,?\s*c['’]?\s?est\b"
    r")\s*:?\s*",
    re.IGNORECASE,
)
_ON_THE_LINE = re.compile(
    rf"\b(c['’]?\s?est\s+)({_WORD})(\s+{_WORD})?(?=\s+(?:[àa]|de)\s+l['’]?\s?appareil\b)", re.IGNORECASE
)
_CAPITALISED = r"[A-ZÀ-ÖØ-Þ][^\W\d_]*(?:[\-'’][^\W\d_]+)*"
_CIVILITY = re.compile(
    rf"\b((?i:monsieur|madame|mademoiselle|mme|mlle|mr|m\.))(\s+)({_CAPITALISED}(?:\s+{_CAPITALISED})?)\b"
)
_SECOND_WORD = re.compile(rf"\s+({_WORD})")
_ELIDED = re.compile(r"(?i:[jldnmstc]|qu)['’][a-zà-ÿ]")  # j'ai, l'ordi, qu'il; not N'Diaye

# Words that follow « moi c'est », « m'appelle »… without being a name (compared without accents, lower case).
_COMMON_WORDS = """
    et ou mais donc car ni je tu il elle on nous vous ils elles me te se le la les un une des du de au aux ce cet
    cette ces ca cela mon ma mes ton ta tes son sa ses notre votre nos vos leur leurs qui que quoi dont ou pas plus
    ne non oui ouais bien tres trop peu beaucoup tout tous toute toutes rien souvent parfois jamais toujours
    rarement quand comme avec sans pour par sur sous dans en y a ai as est suis es sont etre avoir fait faire moi
    toi lui eux aussi encore deja comment pourquoi chaque quelqu quelque plutot vraiment juste surtout seulement
    simplement meme mal bon bonne nul nulle facile difficile complique compliquee internet ordinateur ordi tablette
    telephone tel portable smartphone mobile numerique informatique mail email courriel appareil madame monsieur
    mademoiselle mme mlle mr ici la-bas voila bof ok d l j n s t c qu au-dela tard tot demain hier aujourd
"""
_NOT_NAMES = frozenset(_COMMON_WORDS.split())


def mask_personal(text: str) -> str:
    """`text` with phone numbers, long numbers, e-mail addresses and names masked, whitespace collapsed, at most
    300 characters (see the module's docstring for what is kept)."""
    text = _bounded(text)
    text = _EMAIL.sub(EMAIL, text)
    text = _mask_names(text)
    text = _RUN.sub(_mask_run, text)
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - 1].rstrip() + "…"
    return text


def _bounded(text: str) -> str:
    """Invisible characters out (a zero-width space inside a number would split it into short, unmasked runs),
    whitespace collapsed, and very long input cut where no number can be left half."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    if len(text) > _READ_AT_MOST:
        text = re.sub(rf"[\d\s{_SEPARATORS}+]+$", "", text[:_READ_AT_MOST])
    return " ".join(text.split())


# ----- numbers ----------------------------------------------------------------------------------------------------
def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _hide(text: str) -> str:
    return "".join(MASK if ch.isdigit() else ch for ch in text)


def _postcode(item: str) -> bool:
    return len(item) == 5 and item.isdigit()


def _mask_run(match: re.Match[str]) -> str:
    """A run of digits and separators, read item by item (space-separated): a phone number or long number masked
    whole, a postcode (« 69003 83 ans ») and short numbers beside it kept."""
    items = match.group(0).split(" ")
    # With + or 00 the number runs on while it is shorter than any international number: its 5-digit groups are
    # its own, not postcodes (« +41 44 12345 67 »).
    international = items[0].lstrip("(").startswith(("+", "00"))
    pieces: list[str] = []
    pending: list[str] = []  # items of a number being read

    def flush() -> None:
        nonlocal international
        if pending:
            joined = " ".join(pending)
            pieces.append(_hide(joined) if _digits(joined) >= _LONG else joined)
            pending.clear()
        international = False

    while items:
        item = items.pop(0)
        if international and _digits(" ".join(pending)) < _INTERNATIONAL:
            pending.append(item)
        elif _postcode(item) and item.startswith("0") and items and _digits(items[0]) >= 4:
            pending += [item, items.pop(0)]  # « 06123 45678 », « 07400 123456 »: a phone number, not a postcode
        elif _postcode(item):
            flush()  # a postcode alone: kept, and it ends the number before it
            pieces.append(item)
        elif (date := _DATE.fullmatch(item)) is not None:
            flush()
            pieces.append(_hide(item[: date.start(2)]) + date.group(2))
        else:
            pending.append(item)
    flush()
    return " ".join(pieces)


# ----- names ------------------------------------------------------------------------------------------------------
def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_name(word: str) -> bool:
    return _plain(word) not in _NOT_NAMES and _ELIDED.match(word) is None


def _mask_names(text: str) -> str:
    text = _ON_THE_LINE.sub(_on_the_line, text)
    text = _CIVILITY.sub(lambda m: f"{m.group(1)}{m.group(2)}{SURNAME}" if _is_name(m.group(3)) else m.group(0), text)
    out: list[str] = []
    position = 0
    for trigger in _NAMED_AFTER.finditer(text):
        if trigger.start() < position:
            continue
        out.append(text[position : trigger.end()])
        position = trigger.end()
        first = re.match(_WORD, text[position:])
        if first is None or not _is_name(first.group(0)):
            continue
        position += first.end()
        second = _SECOND_WORD.match(text, position)
        if second is not None and _is_name(second.group(1)):
            position = second.end()
        surname = "nom" in _plain(trigger.group(0)) and "prenom" not in _plain(trigger.group(0))
        out.append(SURNAME if surname else FIRST_NAME)
    out.append(text[position:])
    return "".join(out)


def _on_the_line(match: re.Match[str]) -> str:
    """« c'est Marie (Dupont) à l'appareil »: the name between them masked, common words left."""
    if not _is_name(match.group(2)) or (match.group(3) and not _is_name(match.group(3).strip())):
        return match.group(0)
    return f"{match.group(1)}{FIRST_NAME}"
