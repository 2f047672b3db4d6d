"""Reading typed French against a question: `understand` for the question asked, `spot` for every question a
message answers at once.

Each button is known by phrases: its label, synonyms and examples, read once by the model. A typed text is read
the same way and compared with each phrase (comparing.py). The best button's score, and its lead over the next,
make the confidence: sure, doubt (ask), or not understood; then the rules of how people answer (the moment
someone is busy, the one said after « plutôt », « pas vraiment » first, a question said back…) adjust it, and a
text saying nothing in the buttons' words may still be asked back by its meaning (nearest.py).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from bot.core.slots import UNKNOWN
from bot.core.text import normalise
from bot.understanding.analysis import KIN, Reading, read
from bot.understanding.comparing import (
    EXPLAINED,
    SPOTTED,
    Match,
    best_per_option,
    exact_reading,
    share_of,
    words_at,
)
from bot.understanding.nearest import nearest, prepare_meanings
from bot.understanding.numbers import by_number
from bot.understanding.phrases import Compiled, compiled_question, phrase_reading
from bot.understanding.qualifying import (
    family_around,
    leading_yes_no,
    people_only,
    qualified,
    said_against,
    taken_back,
    turned,
)
from bot.understanding.question import DOUBT, NOTHING, SURE, Context, Question, Understood
from bot.understanding.similarity import STRONG
from bot.understanding.spelling import (
    ASKING,
    ASKS_IF_THERE_IS,
    BOTH_PEOPLE,
    DEPENDS,
    DONT_KNOW,
    HOW_TO,
    JOKING,
    NAME_UNKNOWN,
    NO_FIRST,
    QUESTION_WORD,
    SAYS_NO,
    SAYS_YES,
    WHAT_IT_IS,
)

AMBIGUOUS = 0.1  # two buttons closer than this: the lead is not enough to be sure
LONE_WORD = 0.95  # below this, a reading carried by one word of a message of three or more is asked back
_BUSY = (
    r"(?:travaill\w*|boulot|bosse|dor[st]|dormir|sieste|kine\w*|occupee?s?|rdv|rendez vous|absente?s?|medecin"
    r"|infirmiere?|courses|dialyse|indisponible|pas dispo\w*|pas la)"
)
BUSY = re.compile(rf"\b{_BUSY}\b")  # what keeps someone from answering the phone at a moment
PREFERRED = re.compile(r"\b(?:plutot|surtout|de preference|mieux)\b")
# « …, plutôt le matin »: the clause before the preference word, and what follows it up to the clause's end
PREFERRED_TAIL = re.compile(r"([^,.;:!?]*)\b(?:plut[oô]t|surtout|de pr[eé]f[eé]rence)\b([^,.;:!?]*)")
AROUND_BUSY = re.compile(rf"\b(?:apres|avant|des|sauf)(?: (?:la|le|l|sa|son|ses|les|mon|ma|mes))? {_BUSY}\b")
POSITIONS = re.compile(r"^\d(?: (?:et )?\d)+$")
ALONE = 0.7  # a reading this strong, where no other button is named at all, is taken
FAINT = 0.5  # another button matched less than this is not pulling
MIDDLE = 0.6  # between DOUBT and SURE: asked back
ONLY_BUT = re.compile(r"^(?:rien|aucun|aucune|personne|nulle part) (?:sauf|a part|excepte|hormis) (.+)$")
GUESSING = re.compile(r"\b(?:je crois|je pense|il me semble|peut etre|sans doute|probablement|j imagine)\b")
NOT_KNOWING = re.compile(r"\b(?:sais pas|sait pas|jsp|aucune idee|sais plus|sait plus)\b")
NOTHING_ABOUT = re.compile(r"\b(?:aucun|aucune|pas de|pas d|sans) \w+ (?:de|d|du|des|avec|pour|cote)\b")
NAMING_WORDS = frozenset({"appeler", "appelle", "nom", "dire", "dit", "savoir", "sais", "sait"})


def prepare(question: Question) -> None:
    """Read the question's names and examples, and work out their meanings, now rather than at its first answer."""
    prepare_meanings(compiled_question(question))


def understand(
    text: str, question: Question, context: Context | None = None, *, besides: Sequence[Question] = ()
) -> Understood:
    """The value(s) the text gives to the question, with how sure the reading is. `besides`: questions still to
    come; words that clearly answer them (« …, elle a 85 ans ») do not count against the reading."""
    compiled = compiled_question(question)
    plain = normalise(text)
    if not plain:
        return NOTHING
    exact = exact_reading(plain, compiled)
    if exact is not None:
        return exact
    only = ONLY_BUT.match(plain)
    if only is not None:  # « rien, sauf la vue », « personne à part ma fille »: only what follows
        return understand(only.group(1), question, context, besides=besides)
    first = _said_first(text, question, compiled, context)
    if first is not None:
        return first
    before, mark, after = text.rstrip().rpartition("?")
    if mark and before.strip() and len(normalise(after).split()) >= 2:
        # « à l'aise ? moi ? pas vraiment, je fais juste les mails »: the question said back, then the answer
        return understand(after, question, context, besides=besides)
    if ASKING.search(plain) or (text.rstrip().endswith("?") and QUESTION_WORD.match(plain)) or WHAT_IT_IS.search(plain):
        return NOTHING  # « c'est quoi une box ? » asks something: not an answer, whatever words it shares
    words = set(plain.split())
    if {"oui", "non"} <= words and not question.persons:
        return NOTHING  # « oui et non »
    said = _yes_or_no(plain, question)
    if said is not None:
        return said
    if question.persons and BOTH_PEOPLE.search(plain):
        return NOTHING  # « pour nous deux avec mon mari »: which one is asked
    naming = NAME_UNKNOWN.search(plain) is not None
    knowing_how = question.know_how and HOW_TO.search(plain) is not None
    if (naming or knowing_how) and any(o.value == UNKNOWN for o in question.options):
        # « je sais pas comment ça s'appelle, un truc avec un écran »: not « je ne sais pas », a description;
        # « aucune idée de comment ça marche » to how well one gets on: the answer, not « je ne sais pas »
        question = dataclasses.replace(question, options=tuple(o for o in question.options if o.value != UNKNOWN))
        compiled = compiled_question(question)
    elif any(o.value == UNKNOWN for o in question.options) and DONT_KNOW.match(plain):
        return _guessed(text, question, context) or Understood((UNKNOWN,), 0.9, (plain,))  # « … si elle a le wifi »
    if question.multi and POSITIONS.match(plain):
        picked = [int(n) - 1 for n in re.findall(r"\d", plain)]
        if all(0 <= n < len(question.options) for n in picked):  # « 1, 3 »: the buttons at those places
            values = tuple(dict.fromkeys(question.options[n].value for n in picked))
            return Understood(values, 1.0, (plain,))
    reading = phrase_reading(text) or read(text)  # a flow's own phrase (`flows check`) is read already
    if naming:  # what the thing is called is not what it is (« ça s'appelle » is no call)
        reading = dataclasses.replace(reading, terms=tuple(t for t in reading.terms if not t.forms & NAMING_WORDS))
    if text.rstrip().endswith("?") and ASKS_IF_THERE_IS.search(plain):
        # « y en a pas d'autres ? »: whether there are others, asked (and asked back, never taken: see below)
        reading = dataclasses.replace(
            reading, terms=tuple(dataclasses.replace(t, negated=False) for t in reading.terms)
        )
    if question.wishes and any(t.unable and t.negated for t in reading.terms):
        # « il n'arrive pas à faire ses impôts »: what is out of reach is what is wished for
        terms = tuple(dataclasses.replace(t, negated=False) if t.unable else t for t in reading.terms)
        reading = dataclasses.replace(reading, terms=terms)
    numbered = by_number(reading, compiled.question.options, context, position_too=True)
    if numbered is not None:
        return numbered
    found = _busy(plain, reading, _read_against(reading, compiled), compiled)
    if found.sure and (
        text.rstrip().endswith("?")
        or JOKING.search(plain)
        or JOKING.search(text)
        or DEPENDS.match(plain)
        or taken_back(plain)
    ):
        # « c'est une question piège ? », « le frein à main lol », « ça dépend des semaines »: asked back, not taken
        found = dataclasses.replace(found, confidence=SURE - 0.01)
    if found.sure and GUESSING.search(plain) and NOT_KNOWING.search(plain):
        found = dataclasses.replace(found, confidence=MIDDLE)  # « je sais pas trop, une tablette peut-être »
    if found.sure or not besides:
        return found
    _, used = _spotted(reading, besides, context)
    if not used:
        return found
    rest = dataclasses.replace(reading, terms=tuple(t for t in reading.terms if t.position not in used))
    return _read_against(rest, compiled) if rest.terms else found


def _said_first(text: str, question: Question, compiled: Compiled, context: Context | None) -> Understood | None:
    """« pas du tout, il a même pas internet »: a button's own words first, then why. Taken when the rest names no
    other button and turns nothing (« mais », « chez … »); otherwise the whole is read."""
    first, comma, rest = text.partition(",")
    if not comma or not normalise(rest):
        return None
    said = exact_reading(normalise(first), compiled)
    if said is None or normalise(first) in ("oui", "non", "ouais"):
        return None  # « non, on est en zone blanche »: yes or no then why is read whole (see `_single`)
    if question.multi and not any(o.exclusive and o.value in said.values for o in question.options):
        return None  # « photos, musique »: several answers; « rien, ça va » to brakes is one
    after = understand(rest, question, context)
    if after.values and after.values != said.values and after.level != "none":
        return None  # « oui, enfin non »: the rest says another thing; read as a whole
    if re.search(r"\b(?:mais|sauf|chez)\b", normalise(rest)):
        return None  # « pas trop, mais … »: the rest turns it; read as a whole
    return Understood(said.values, SURE, said.evidence)


def _guessed(text: str, question: Question, context: Context | None) -> Understood | None:
    """« jsp ce qu'il a exactement, un portable je crois »: not sure, but a guess after the comma: asked back."""
    _, comma, rest = text.rpartition(",")
    if not comma or not GUESSING.search(normalise(rest)):
        return None
    found = understand(GUESSING.sub(" ", normalise(rest)), question, context)
    if found.level == "none" or UNKNOWN in found.values:
        return None
    return dataclasses.replace(found, confidence=min(found.confidence, MIDDLE))


def _yes_or_no(plain: str, question: Question) -> Understood | None:
    """« bien sûr », « je crois pas », « pas question » to a question with a Oui and a Non button."""
    if not {"yes", "no"} <= {o.value for o in question.options}:
        return None
    for value, pattern in (("yes", SAYS_YES), ("no", SAYS_NO)):
        if pattern.match(plain):
            return Understood((value,), SURE, (plain,))
    said = NO_FIRST.match(plain)
    if said is None or re.search(r"\b(?:mais|sauf|quand meme|heureusement)\b", said.group(1)):
        return None  # « pas vraiment, mais ma voisine passe »: the rest decides
    # « pas vraiment »: no; « pas vraiment, les voisins sont âgés »: no, then why, asked back
    return Understood(("no",), SURE if not said.group(1).strip() else MIDDLE, (plain,))


def _read_against(reading: Reading, compiled: Compiled) -> Understood:
    matches = best_per_option(reading, compiled, strict=False)
    if compiled.question.multi:
        found = _multi(reading, matches, compiled) if matches else NOTHING
    else:
        found = _single(reading, matches, compiled) if matches else NOTHING
        found = _the_other(reading, compiled) or found if found.level == "none" else found
    # nothing said in the buttons' words: what it says in other words is asked back
    return nearest(reading, compiled) or found if found.level == "none" else found


def _the_other(reading: Reading, compiled: Compiled) -> Understood | None:
    """« pas le matin », « c'est pas facile », « elle ne veut pas »: a text that only says which button it is not,
    where one button is left (the catch-alls « peu importe » and « je ne sais pas » aside)."""
    negated = {t.position for t in reading.terms if t.negated}
    if not negated:
        return None
    flipped = dataclasses.replace(
        reading,
        terms=tuple(dataclasses.replace(t, negated=False, denied=False) if t.negated else t for t in reading.terms),
    )
    denied = {
        option: match
        for option, match in best_per_option(flipped, compiled, strict=False).items()
        if match.coverage >= STRONG and match.positions <= negated
    }
    options = compiled.question.options
    left = [i for i, o in enumerate(options) if i not in denied and o.value != UNKNOWN and not o.exclusive]
    if not denied or len(left) != 1:
        return None
    carried = frozenset(p for match in denied.values() for p in match.positions)
    said = [t for t in reading.terms if t.weight >= 0.5 and (t.pos != "PRON" or compiled.persons)]
    # « pas le matin, je dors tard »: more is said than which button it is not; asked back
    sure = not any(t.position not in carried for t in said)
    return Understood((options[left[0]].value,), SURE if sure else MIDDLE, words_at(reading, carried))


def _busy(plain: str, reading: Reading, found: Understood, compiled: Compiled) -> Understood:
    """« je travaille le matin », « l'après-midi il fait la sieste »: the moment named is the one the person is
    not free; of two moments, the other is asked back (« je ne travaille pas le matin »: that one)."""
    timed = [o.value for o in compiled.question.options if o.numbers is not None and not o.exclusive]
    if len(timed) != 2 or len(found.values) != 1 or found.values[0] not in timed or not BUSY.search(plain):
        return found
    if AROUND_BUSY.search(plain) or len(found.evidence) != 1:
        return found  # « après sa sieste »: a time, not a moment taken; « … donc avant le repas »: said outright
    said = PREFERRED_TAIL.search(reading.text)
    if said and not BUSY.search(normalise(said.group(0))):
        return found  # « l'aprem je dors, plutôt le matin »: the moment preferred (not « je bosse plutôt le matin »)
    busy = [t for t in reading.terms if BUSY.fullmatch(normalise(t.word))]
    busy_negated = any(t.negated for t in busy)
    moment_negated = any(t.negated for t in reading.terms if t.word in found.evidence)
    if busy_negated != moment_negated:
        return found  # « pas le matin, je dors tard »: the negation already named the free moment
    other = timed[1 - timed.index(found.values[0])]
    return Understood((other,), MIDDLE, found.evidence)


def spot(text: str, questions: Sequence[Question], context: Context | None = None) -> dict[str, Understood]:
    """Per slot, the answers a message clearly gives, for questions other than the one asked: only sure
    readings of whole phrases holding a word that means something on its own (never « oui », « un peu »)."""
    return _spotted(read(text), questions, context)[0]


def _spotted(
    reading: Reading, questions: Sequence[Question], context: Context | None
) -> tuple[dict[str, Understood], set[int]]:
    """What `spot` finds, and the positions of the words that carried it."""
    found: list[tuple[float, int, str, str, frozenset[int]]] = []
    for question in questions:
        if question.slot is None:
            continue
        compiled = compiled_question(question)
        numbered = by_number(reading, compiled.question.options, context, position_too=False)
        if numbered is not None and numbered.sure:
            unit = frozenset(t.position for t in reading.terms if t.key in ("an", "ans", "age"))  # « 85 ans »
            found.append((1.0, 3, question.slot, numbered.values[0], unit))
        for match in best_per_option(reading, compiled, strict=True).values():
            value = question.options[match.option].value
            several_words = match.terms >= 2 or not question.multi or question.slot == "equipment"
            # « photos » alone: a wish or a pastime?
            if match.coverage >= SPOTTED and value != UNKNOWN and several_words:
                found.append((match.coverage, match.terms, question.slot, value, match.positions))
    for question in questions:
        if question.persons and question.slot is not None and reading.speakers == {"me"}:
            # « j'ai 83 ans et je voudrais apprendre »: written by the person, for themselves
            self_value = next((o.value for o in question.options if o.value == "self"), None)
            if self_value is not None and any(f[2] != question.slot for f in found):
                found.append((1.0, 0, question.slot, self_value, frozenset()))
    found.sort(key=lambda item: (-item[1], -item[0]))
    used: set[int] = set()
    values: dict[str, list[str]] = {}
    evidence: dict[str, list[str]] = {}
    multi = {q.slot for q in questions if q.multi}
    for _, _, slot, value, positions in found:
        if positions & used or (slot in values and (slot not in multi or value in values[slot])):
            continue
        used |= positions
        values.setdefault(slot, []).append(value)
        evidence.setdefault(slot, []).extend(t.word for t in reading.terms if t.position in positions)
    return {slot: Understood(tuple(v), 1.0, tuple(evidence[slot])) for slot, v in values.items()}, used


def _single(reading: Reading, matches: dict[int, Match], compiled: Compiled) -> Understood:
    ranked = sorted(matches.values(), key=lambda m: -m.score)
    best = ranked[0]
    value = compiled.question.options[best.option].value
    confidence = best.score
    if len(ranked) > 1:
        second = ranked[1]
        either = _either(reading, compiled, best, second)
        if either is not None:
            return either
        named = {m.option for m in ranked if m.coverage >= STRONG}
        preferred = _preferred(reading, compiled, named) if len(named) > 1 else None
        if preferred is not None:
            return preferred  # « il n'est pas contre, il est même plutôt curieux »
        if second.score >= SURE and best.score >= SURE and not best.positions & second.positions:
            return NOTHING  # « oui et non »: two answers where one is asked
        if best.score - second.score < AMBIGUOUS:
            confidence = best.score - 0.3
    if leading_yes_no(reading, best) and best.coverage >= STRONG and (len(ranked) == 1 or ranked[1].score < DOUBT):
        return Understood((value,), max(confidence, SURE), words_at(reading, best.positions))  # then why
    alone = len(ranked) == 1 or ranked[1].coverage < FAINT
    if alone and best.coverage >= STRONG and confidence >= ALONE and not qualified(reading, best):
        # « pour ma tante qui vit seule »: one button named, in its own words, nothing else pulling or qualifying
        return Understood((value,), SURE, words_at(reading, best.positions))
    meaningful = sum(1 for t in reading.terms if t.weight >= 0.5)
    someone = any(t.key in KIN for t in reading.terms if t.position not in best.positions)  # « chez ma fille oui »
    long = meaningful >= 3 or someone
    carried = sum(1 for t in reading.terms if t.position in best.positions and t.weight >= 0.5)
    if carried == 1 and long and confidence < LONE_WORD and qualified(reading, best):
        # one word of a long message carried it, the rest qualifying it (« pas chez moi, chez ma fille oui »)
        confidence = min(confidence, SURE - 0.01)
    if people_only(reading, best, compiled) and (
        any(m.positions - best.positions for m in ranked[1:]) or said_against(reading, best)
    ):
        confidence = min(confidence, SURE - 0.01)  # « mes enfants sont loin »: named, but do they help? asked back
    if turned(reading, best):
        confidence = min(confidence, SURE - 0.01)  # « j'ai envie d'apprendre mais j'ose pas »: asked back
    return Understood((value,), round(max(0.0, confidence), 3), words_at(reading, best.positions))


def _either(reading: Reading, compiled: Compiled, best: Match, second: Match) -> Understood | None:
    """« le matin ou l'après-midi », « matin ou aprem c'est pareil »: two buttons fully named where one is asked,
    and a button for either of them (« Peu importe »): that one, asked back. Not when one is preferred or busy
    (« plutôt l'après-midi, le matin j'ai le kiné »)."""
    if min(best.coverage, second.coverage) < STRONG or best.positions & second.positions:
        return None
    if PREFERRED.search(reading.plain) or BUSY.search(reading.plain):
        return None
    either = [o.value for o in compiled.question.options if o.exclusive and o.value != UNKNOWN]
    return Understood((either[0],), MIDDLE, ()) if len(either) == 1 else None


def _preferred(reading: Reading, compiled: Compiled, tied: set[int]) -> Understood | None:
    """« l'aprem je dors, plutôt le matin »: of the buttons a text names, the one said after « plutôt »."""
    said = PREFERRED_TAIL.search(reading.text)
    tail = said.group(2).strip() if said else ""
    if not tail:
        return None
    found = _read_against(read(tail), compiled)
    values = [compiled.question.options[i].value for i in tied]
    return found if found.sure and len(found.values) == 1 and found.values[0] in values else None


def _multi(reading: Reading, matches: dict[int, Match], compiled: Compiled) -> Understood:
    options = compiled.question.options
    chosen: list[Match] = []
    used: set[int] = set()
    claimed: set[int] = set()  # words a chosen button's phrases hold as typed (« photos » is also a family word)
    for match in sorted(matches.values(), key=lambda m: (-m.coverage, -m.terms)):
        if match.coverage < STRONG or match.positions <= used | claimed:
            continue
        chosen.append(match)
        used |= match.positions
        claimed |= match.held
    if not chosen:
        return _single(reading, matches, compiled)
    related = {p for match in matches.values() for p in match.positions}
    explained = share_of(reading, used, related)
    confidence = min(m.coverage for m in chosen) * (EXPLAINED + (1 - EXPLAINED) * explained)
    values = tuple(options[m.option].value for m in sorted(chosen, key=lambda m: min(m.positions)))  # as typed
    if len(values) > 1:
        kept = tuple(v for v in values if not options[[o.value for o in options].index(v)].exclusive)
        if kept and kept != values and not NOTHING_ABOUT.search(reading.plain):
            # « elle n'a besoin de rien, tout va bien »: « nothing » named beside something: which is asked back
            # (not « aucun problème de santé, c'est le prix »: no trouble with one thing, then the answer)
            confidence = min(confidence, SURE - 0.01)
        values = kept or values
        if any(family_around(reading, m) for m in chosen):
            # « l'arbre de la famille », « mes mémoires pour les enfants »: family named around another wish may
            # or may not be a wish of its own: asked back
            confidence = min(confidence, SURE - 0.01)
    return Understood(values, round(confidence, 3), words_at(reading, frozenset(used)))
