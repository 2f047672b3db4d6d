"""`flows understand`: the corpus of typed answers is checked line by line, and the report counts right.

The corpora are written here beside a copy of the shipped flow, and read with the real understanding; the
answers whose reading these tests rely on are the buttons' own labels (sure with any reader) and gibberish
(understood by none); the last test asserts that the shipped corpora together meet the issue's goals.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bot.core.errors import FlowError
from bot.language.yamlload import read_yaml
from bot.tools.check import check, kind_of
from bot.tools.understanding_corpus import held_out, load_corpus
from bot.tools.understanding_report import SlotTally, Tally, classify, combined, measure, tally_opening
from bot.understanding.question import Understood
from tests.test_cli import ROOT, run_bot

SHIPPED = ROOT / "flows" / "understanding" / "orientation.yaml"
PROBLEM_LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<message>.+)$")

BROKEN = """\
flow: orientation
colour: blue
answers:
  pour_qui:
    - {text: "pour moi", expect: self}
    - {text: "je sais pas", expect: unknown}
    - {text: "Pour Moi !", expect: self}
    - "juste un texte"
    - {text: "pour ma mère"}
    - {text: "pour mon père", expect: relative, qui: lui}
  age:
    - {text: "83", expect: [80_plus, 70_79]}
    - {text: "quatre-vingts", expect: 80_ans}
    - {text: "elle a 90 ans", expect: 80_plus, for_whom: proche}
  appareils:
    - {text: "rien ou une tablette", expect: [none, tablet]}
    - {text: "   ", expect: null}
  humeur:
    - {text: "bien", expect: good}
openings:
  - text: "bonjour ma mère a 85 ans"
    expect: {for_whom: relative, humeur: bonne}
"""
# line -> part of the French message each problem of BROKEN must give, and no other problem.
BROKEN_PROBLEMS = {
    2: "clé inconnue `colour`",
    6: "`pour_qui` : valeur inconnue `unknown` ; valeurs possibles : self, relative (`unknown` n'y est pas accepté)",
    7: "`pour_qui` : réponse en double (déjà ligne 5)",
    8: "une réponse s'écrit `- {text:",
    9: "il manque `expect`",
    10: "clé inconnue `qui` ; clés possibles : text, expect, for_whom",
    12: "`age` n'accepte qu'une valeur",
    13: "`age` : valeur inconnue `80_ans` ; valeurs possibles : under_60, 60_69, 70_79, 80_plus, unknown",
    14: "`for_whom` : `proche`",
    16: "`appareils` : `none` ne va pas avec d'autres valeurs",
    17: "`text` : le texte tapé, entre guillemets, non vide",
    18: "question inconnue `humeur` ; questions du parcours : pour_qui, envies,",
    22: "réponse inconnue `humeur`",
}

# Button labels (read sure by any understanding) and gibberish (read by none), with what each should give.
TINY = """\
flow: orientation
answers:
  pour_qui:
    - {text: "Pour moi", expect: self}              # right
    - {text: "Pour un proche", expect: relative}    # right
    - {text: "zxqv wplk", expect: self}             # not understood
    - {text: "qwfp zxcv", expect: null}             # not understood, rightly
  connexion:
    - {text: "Oui", expect: "no"}                   # wrong: sure of another value
    - {text: "Non", expect: null}                   # wrong: sure of something that should not be understood
  appareils:
    - {text: "Une tablette", expect: [tablet]}      # right (several-choice question)
    - {text: "jjkq wwpl", expect: [tablet]}         # not understood (held out)
openings:
  - text: "zxqv wplk"
    expect: {for_whom: relative, age_band: 80_plus}
"""


def corpus_folder(tmp_path: Path) -> Path:
    """A flows folder as shipped (flow, texts, personas) with an `understanding/` folder for corpora."""
    for name in ("orientation.yaml", "messages.yaml", "personas.yaml"):
        shutil.copy(ROOT / "flows" / name, tmp_path / name)
    (tmp_path / "understanding").mkdir()
    return tmp_path / "understanding"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ----- the corpus file ------------------------------------------------------------------------------------------


def test_broken_corpus_gives_each_problem_on_its_line(tmp_path: Path) -> None:
    """Every mistake of a corpus (unknown question, value or key, several values for one, `unknown` where it
    is not accepted, duplicates, bad shapes) is reported in French on its own line, and nothing else."""
    path = write(corpus_folder(tmp_path), "broken.yaml", BROKEN)
    with pytest.raises(FlowError) as caught:
        load_corpus(path)
    found = {(p.line, p.message) for p in caught.value.problems}
    assert {line for line, _ in found} == set(BROKEN_PROBLEMS)
    for line, part in BROKEN_PROBLEMS.items():
        assert any(line == at and part in message for at, message in found), (line, part, sorted(found))
    assert all(p.file == str(path) for p in caught.value.problems)


def test_corpus_naming_a_missing_flow_says_where_it_looked(tmp_path: Path) -> None:
    """A corpus whose flow is neither in the folder above nor in FLOWS_DIR: one problem on the `flow:` line."""
    path = write(corpus_folder(tmp_path), "other.yaml", "answers: {}\nflow: parcours_absent\n")
    with pytest.raises(FlowError) as caught:
        load_corpus(path, tmp_path / "nowhere")
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (2, f"parcours `parcours_absent` introuvable : attendu dans {tmp_path / 'parcours_absent.yaml'}")
    ]


def test_flows_check_validates_corpora_too(tmp_path: Path) -> None:
    """`flows check` knows a corpus by its `answers:` key and reports its problems; the shipped one passes."""
    path = write(corpus_folder(tmp_path), "broken.yaml", BROKEN)
    assert kind_of(path) == "understanding"
    assert kind_of(SHIPPED) == "understanding"
    assert {p.line for p in check([path]).problems} == set(BROKEN_PROBLEMS)
    assert check([SHIPPED]).problems == []


def test_shipped_corpus_covers_every_question_the_issue_names() -> None:
    """The shipped corpus: 560 answers or more, over every question of the flow, the final menu and the
    callback's typed questions, each with answers that should not be understood; 25 openings or more."""
    corpus = load_corpus(SHIPPED)
    asked = {step.id for step in corpus.flow.steps.values() if step.kind == "ask" and step.choices}
    assert set(corpus.answers) == asked | {"proposition", "rappel.consent", "rappel.moment", "rappel.who"}
    assert sum(len(entries) for entries in corpus.answers.values()) >= 560
    for name, entries in corpus.answers.items():
        assert any(e.expect is None for e in entries), f"{name}: no answer that should not be understood"
        assert len(entries) >= 30, name
    for name in ("pour_qui", "proposition", "rappel.consent", "rappel.moment", "rappel.who"):
        assert all(e.expect != ("unknown",) for e in corpus.answers[name])
    assert len(corpus.openings) >= 25
    assert sum(len(o.expect) >= 3 for o in corpus.openings) >= 15


def test_about_a_fifth_is_held_out_by_the_normalised_text() -> None:
    """The aside part is a fifth of the shipped corpus, give or take, decided by the text once normalised."""
    corpus = load_corpus(SHIPPED)
    entries = [e for entries in corpus.answers.values() for e in entries]
    share = sum(e.aside for e in entries) / len(entries)
    assert 0.15 <= share <= 0.25
    assert all(e.aside == held_out(e.text) for e in entries)
    assert held_out("Ça m'intéresse !") == held_out("ca m interesse")
    assert {held_out(f"réponse {n}") for n in range(20)} == {True, False}


# ----- the arithmetic -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expect", "reading", "outcome"),
    [
        (("self",), Understood(("self",), 0.9), "right"),
        (("self",), Understood(("self",), 0.6), "confirmed"),
        (("self",), Understood(("relative",), 0.9), "wrong"),
        (("self",), Understood(("relative",), 0.6), "confirmed_wrong"),
        (("self",), Understood(("self",), 0.2), "not_understood"),
        (("self",), Understood((), 0.0), "not_understood"),
        (None, Understood(("self",), 0.9), "wrong"),
        (None, Understood(("self",), 0.6), "not_understood"),
        (None, Understood((), 0.0), "not_understood"),
        (("tablet", "computer"), Understood(("computer", "tablet"), 0.9), "right"),
        (("tablet", "computer"), Understood(("tablet",), 0.9), "wrong"),
    ],
)
def test_each_reading_is_classed_by_its_level_and_values(
    expect: tuple[str, ...] | None, reading: Understood, outcome: str
) -> None:
    """Sure and equal: right; doubt and equal: confirmed; other values: wrong when sure, confirmed-wrong when
    in doubt; a doubt on an answer that should not be understood is not understood (the right behaviour);
    several values compare as sets."""
    assert classify(expect, reading) == outcome


def test_report_counts_a_tiny_corpus(tmp_path: Path) -> None:
    """On a corpus of labels and gibberish: per question and in total, right, not understood (rightly or not)
    and wrong add up, the parts add up to the whole, and the wrong and missed answers are listed."""
    path = write(corpus_folder(tmp_path), "tiny.yaml", TINY)
    report = measure(load_corpus(path))
    whole = report.parts["whole"]
    assert (whole["pour_qui"].seen, whole["pour_qui"].right, whole["pour_qui"].not_understood) == (4, 2, 2)
    assert whole["pour_qui"].rightly_ignored == 1
    assert (whole["connexion"].seen, whole["connexion"].wrong) == (2, 2)
    assert (whole["appareils"].seen, whole["appareils"].right) == (2, 1)
    total = report.total("whole")
    assert (total.seen, total.success, total.wrong, total.confirmed, total.doubts) == (8, 4, 2, 0, 0)
    for name in whole:
        parts = Tally()
        for part in ("training", "aside"):
            parts.merge(report.parts[part].get(name, Tally()))
        assert parts == whole[name]
    misses = {(m.text, m.outcome) for m in report.misses}
    assert misses == {
        ("zxqv wplk", "not_understood"),
        ("Oui", "wrong"),
        ("Non", "wrong"),
        ("jjkq wwpl", "not_understood"),
    }
    assert report.openings["for_whom"].missed == 1
    assert report.openings["age_band"].missed == 1
    assert report.goals_missed()


def test_openings_count_right_wrong_missed_and_extra_per_slot() -> None:
    """A first message's sure readings are compared slot by slot; doubts fill nothing."""
    tallies: dict[str, SlotTally] = {}
    expect = {"for_whom": ("relative",), "age_band": ("80_plus",), "equipment": ("none",), "attitude": ("refuses",)}
    found = {
        "for_whom": Understood(("relative",), 0.95),
        "age_band": Understood(("70_79",), 0.9),
        "equipment": Understood(("none",), 0.6),  # a doubt: missed
        "mobility": Understood(("difficult",), 0.9),  # not named by the careful reader
    }
    tally_opening(tallies, expect, found)
    assert tallies == {
        "for_whom": SlotTally(right=1),
        "age_band": SlotTally(wrong=1),
        "equipment": SlotTally(missed=1),
        "attitude": SlotTally(missed=1),
        "mobility": SlotTally(extra=1),
    }


# ----- the command ----------------------------------------------------------------------------------------------


def test_json_report_of_the_command(tmp_path: Path) -> None:
    """`flows understand CORPUS --json`: one object per corpus, with per part the questions and the total,
    the openings per slot, the goals and the answers to correct; exit 0 though the goals are missed."""
    path = write(corpus_folder(tmp_path), "tiny.yaml", TINY)
    result = run_bot(["flows", "understand", str(path), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["errors"] == []
    assert len(data["corpora"]) == 1
    corpus = data["corpora"][0]
    assert (corpus["file"], corpus["flow"]) == (str(path), "orientation")
    assert set(corpus["parts"]) == {"training", "aside", "whole"}
    counts = {"seen", "right", "confirmed", "not_understood", "rightly_ignored", "wrong", "confirmed_wrong", "doubts"}
    rates = {"success_rate", "wrong_rate", "confirmation_rate"}
    whole = corpus["parts"]["whole"]
    assert set(whole["total"]) == counts | rates
    assert set(whole["questions"]) == {"pour_qui", "connexion", "appareils"}
    assert whole["total"]["seen"] == 8
    assert whole["total"]["wrong"] == 2
    aside = int(held_out("zxqv wplk"))
    assert corpus["openings"]["seen"] == {"training": 1 - aside, "aside": aside, "whole": 1}
    assert corpus["openings"]["slots"]["for_whom"] == {"right": 0, "wrong": 0, "missed": 1, "extra": 0}
    assert corpus["goals"]["met"] is False
    assert corpus["goals"]["missed"]
    miss = next(m for m in corpus["misses"] if m["text"] == "Oui")
    assert miss == {
        "question": "connexion",
        "line": 9,
        "text": "Oui",
        "aside": False,  # drawn for the aside part, but a button's label: counted with the training part
        "expected": ["no"],
        "got": ["yes"],
        "level": "sure",
        "outcome": "wrong",
    }


def test_goals_flag_turns_missed_goals_into_exit_1(tmp_path: Path) -> None:
    """`--goals` exits 1 when the goals are missed, and the table says which, in French."""
    path = write(corpus_folder(tmp_path), "tiny.yaml", TINY)
    result = run_bot(["flows", "understand", str(path), "--goals"], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Objectifs manqués" in result.stdout
    assert re.search(r"^connexion +2 +0 +0 +0 +0 +2 +0 +0,0 %$", result.stdout, re.M), result.stdout
    assert f"{path}:9: connexion « Oui » : attendu no, compris yes (faux" in result.stdout


def test_invalid_corpus_exits_1_with_file_line_messages(tmp_path: Path) -> None:
    """An invalid corpus: exit 1, every stdout line `file:line: message`, and the same problems in --json."""
    path = write(corpus_folder(tmp_path), "broken.yaml", BROKEN)
    result = run_bot(["flows", "understand", str(path)], tmp_path)
    assert result.returncode == 1
    matches = [PROBLEM_LINE.match(line) for line in result.stdout.splitlines()]
    assert matches, result.stdout
    assert all(matches), result.stdout
    assert {int(m["line"]) for m in matches if m} == set(BROKEN_PROBLEMS)
    assert {m["file"] for m in matches if m} == {str(path)}
    as_json = run_bot(["flows", "understand", str(path), "--json"], tmp_path)
    assert as_json.returncode == 1
    assert {e["line"] for e in json.loads(as_json.stdout)["errors"]} == set(BROKEN_PROBLEMS)


def test_default_reads_the_shipped_corpus(tmp_path: Path) -> None:
    """With no path, `flows understand` reads FLOWS_DIR/understanding/ and prints the three parts' tables."""
    result = run_bot(["flows", "understand"], tmp_path)
    assert result.returncode == 0, result.stderr
    for title in ("Part d'entraînement", "Part de côté", "Ensemble", "Premiers messages"):
        assert title in result.stdout
    _, data = read_yaml(SHIPPED)
    total = sum(len(entries) for entries in data["answers"].values())
    assert re.search(rf"^Ensemble \({total} réponses\)$", result.stdout, re.M)


def test_aside_answers_the_flow_lists_word_for_word_count_with_the_training_part(tmp_path: Path) -> None:
    """An answer drawn for the aside part that the flow already lists (a label, a synonym, an example copied from
    the corpus) measures nothing: it counts with the training part and is named, so that the aside figures are
    only about answers the flow never saw."""
    assert all(held_out(text) for text in ("Pour un proche", "Oui", "qwfp zxcv"))
    path = write(corpus_folder(tmp_path), "tiny.yaml", TINY)
    report = measure(load_corpus(path))
    assert report.copied == [("pour_qui", 5, "Pour un proche"), ("connexion", 9, "Oui")]
    aside = report.total("aside")
    assert aside.seen == 2  # « qwfp zxcv » and « jjkq wwpl »: never in the flow
    assert report.parts["training"]["pour_qui"].right == 2
    result = run_bot(["flows", "understand", str(path), "--all"], tmp_path)
    assert "2 réponses tirées pour la part de côté figurent mot pour mot dans le parcours" in result.stdout
    assert f"{path}:5: pour_qui « Pour un proche » (dans le parcours)" in result.stdout
    data = json.loads(run_bot(["flows", "understand", str(path), "--json"], tmp_path).stdout)
    assert data["corpora"][0]["copied"][1] == {"question": "connexion", "line": 9, "text": "Oui"}


def test_several_corpora_are_also_counted_together_and_the_goals_judged_on_all(tmp_path: Path) -> None:
    """Two corpora: each has its table, then one line per part for both together; `--goals` judges the goals on
    both together (a corpus of labels alone meets them; with the tiny corpus beside it, they are missed)."""
    folder = corpus_folder(tmp_path)
    tiny = write(folder, "tiny.yaml", TINY)
    labels = write(
        folder,
        "labels.yaml",
        'flow: orientation\nanswers:\n  pour_qui:\n    - {text: "Pour moi", expect: self}\n'
        '    - {text: "qwfp zxcv", expect: null}\n',
    )
    alone = run_bot(["flows", "understand", str(labels), "--goals"], tmp_path)
    assert alone.returncode == 0, alone.stdout
    assert "Tous les corpus ensemble" not in alone.stdout
    both = run_bot(["flows", "understand", str(tiny), str(labels), "--goals"], tmp_path)
    assert both.returncode == 1, both.stdout
    assert "Tous les corpus ensemble" in both.stdout
    assert "Ensemble : 10 réponses" in both.stdout
    data = json.loads(run_bot(["flows", "understand", str(tiny), str(labels), "--json"], tmp_path).stdout)
    assert data["all"]["parts"]["whole"]["seen"] == 10
    assert data["all"]["goals"]["met"] is False


def test_the_shipped_corpora_together_meet_the_goals() -> None:
    """The issue's goals, on every shipped corpus counted together: at least 95 % of the held-aside answers right
    or confirmed, at most 1 % wrong, at most 10 % confirmations on the whole (`flows understand --goals`). A change
    that makes the understanding worse fails here, with the figures."""
    folder = ROOT / "flows" / "understanding"
    together = combined([measure(load_corpus(path)) for path in sorted(folder.glob("*.yaml"))])
    aside = together.total("aside")
    assert aside.seen >= 250
    assert together.goals_missed() == [], together.goals_missed()
