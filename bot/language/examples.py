"""The `synonyms:` (short names) and `examples:` (whole sentences people write) of a flow's buttons, read by the
understanding. Each example must be a sentence, and mean its own button only: not written twice in a question, not
another button's name."""

from __future__ import annotations

from bot.core.text import normalise
from bot.language.checks import Collector
from bot.language.model import Choice
from bot.language.yamlload import LineDict, LineList


def line_of_item(item: LineDict, key: str, index: int) -> int:
    items = item.get(key)
    return items.line_of(index) if isinstance(items, LineList) else item.line_of(key)


def read_synonyms(item: LineDict, where: str, out: Collector) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The choice's synonyms (short names typed whole) and their lines."""
    synonyms = item.get("synonyms") or []
    if not isinstance(synonyms, list) or not all(isinstance(s, str | int) for s in synonyms):
        out.add(item.line_of("synonyms"), f"{where} : `synonyms` doit être une liste de mots : [mot, autre mot]")
        return (), ()
    return tuple(str(s) for s in synonyms), tuple(line_of_item(item, "synonyms", i) for i in range(len(synonyms)))


def read_examples(item: LineDict, where: str, out: Collector) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The choice's example sentences and their lines; each one that is not a sentence is reported at its line."""
    raw = item.get("examples")
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        out.add(
            item.line_of("examples"),
            f"{where} : `examples` doit être une liste de phrases, une par ligne (`- elle ne veut pas en entendre "
            "parler`)",
        )
        return (), ()
    examples: list[str] = []
    lines: list[int] = []
    for index, sentence in enumerate(raw):
        line = line_of_item(item, "examples", index)
        if not isinstance(sentence, str) or not normalise(sentence):
            out.add(
                line,
                f"{where} : un exemple est une phrase écrite comme le ferait une personne, pas "
                f"{'un texte vide' if isinstance(sentence, str) or sentence is None else repr(sentence)} ; "
                "écrivez la phrase (entre guillemets si elle contient « : ») ou retirez la ligne",
            )
            continue
        examples.append(sentence.strip())
        lines.append(line)
    return tuple(examples), tuple(lines)


def check_examples(choices: list[Choice], where: str, out: Collector) -> None:
    """An example written twice in one question, or that is word for word another button's text or synonym: the
    understanding could not tell which button it means."""
    names: dict[str, list[str]] = {}
    for choice in choices:
        for name in (*choice.label.variants.values(), *choice.synonyms):
            names.setdefault(normalise(name), []).append(choice.value)
    seen: dict[str, tuple[str, int]] = {}
    for choice in choices:
        for sentence, line in zip(choice.examples, choice.examples_lines, strict=True):
            key = normalise(sentence)
            if key in seen:
                first_value, first_line = seen[key]
                owner = "du même bouton" if first_value == choice.value else f"du bouton `{first_value}`"
                out.add(
                    line,
                    f"{where}, bouton `{choice.value}` : l'exemple « {sentence} » est déjà écrit ligne {first_line} "
                    f"(exemple {owner}) ; gardez-en un seul, sous le bouton qu'il veut dire",
                )
                continue
            seen[key] = (choice.value, line)
            other = next((value for value in names.get(key, ()) if value != choice.value), None)
            if other is not None:
                out.add(
                    line,
                    f"{where}, bouton `{choice.value}` : l'exemple « {sentence} » est le texte ou un synonyme du "
                    f"bouton `{other}` ; retirez-le, ou mettez-le sous le bouton qu'il veut dire",
                )
