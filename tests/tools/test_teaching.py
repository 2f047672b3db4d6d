"""Coordinators teach the understanding in YAML: `examples:` are checked by `flows check`, which warns when an
example or a synonym of one button is read as another; and every message of the coordinators' tools is French.

The warnings are checked on a small flow written into a temporary folder beside the shipped messages.yaml and the
broken fixtures' personas (which only use `for_whom`), through real `python -m bot flows check` processes. The
conflicts are built so that any reasonable understanding reads them the same way: a synonym that is word for word
another button's label, an example that holds its own button's whole label.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from bot.tools.check import check
from tests.test_cli import FIXTURES, ROOT, run_bot
from tests.tools.test_flowcheck import PROBLEM_LINE, stage

FLOW = """\
flow: apprendre
start: accueil
human: rappel
steps:
  accueil:
    ask: for_whom
    text: "C'est pour vous ou pour un proche ?"
    choices:
      - {value: self, label: Pour moi}
      - {value: relative, label: Pour un proche}
    next: attitude
  attitude:
    ask: attitude
    text: "Et internet, qu'en pensez-vous ?"
    choices:
      - value: refuses
        label: Ce n'est pas pour moi
        synonyms: [j aimerais apprendre]           # @synonym_of_curious
        examples:
          - "Ce n'est pas pour moi du tout"         # @clear_example
      - value: curious
        label: J'aimerais apprendre
    next: rappel
  rappel:
    action: request_callback
    next: fin
  fin:
    say: Au revoir.
    end: true
"""


def line_of(text: str, marker: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if f"@{marker}" in line)


def folder_with(tmp_path: Path, flow: str) -> Path:
    """A flows folder: the flow, the shipped messages.yaml, and personas that only use `for_whom`."""
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "apprendre.yaml").write_text(flow, encoding="utf-8")
    shutil.copy(ROOT / "flows" / "messages.yaml", folder / "messages.yaml")
    shutil.copy(FIXTURES / "broken" / "personas.yaml", folder / "personas.yaml")
    return folder


# ----- warnings ---------------------------------------------------------------------------------------------------
def test_a_synonym_read_as_another_button_is_a_warning_with_file_line(tmp_path: Path) -> None:
    """A synonym that, left out of its own button, is read surely as another button is a warning at its line: it
    names the button it was read as and what to do; the exit code stays 0 and a clear example gives no warning."""
    folder = folder_with(tmp_path, FLOW)
    result = run_bot(["flows", "check", str(folder)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines  # the clear example, holding its own button's label, is not reported
    match = PROBLEM_LINE.match(lines[0])
    assert match, lines[0]
    assert match["file"] == str(folder / "apprendre.yaml")
    assert int(match["line"]) == line_of(FLOW, "synonym_of_curious")
    assert match["message"].startswith(
        "attention : étape `attitude`, bouton `refuses` : le synonyme « j aimerais apprendre » est compris comme "
        "`curious` (« J'aimerais apprendre »)"
    )
    assert match["message"].endswith("ajoutez un exemple plus net, ou retirez-le")
    assert re.search(r"0 problème\(s\), 1 avertissement\(s\)", result.stderr), result.stderr


def test_warnings_in_json_have_a_severity_and_leave_ok_true(tmp_path: Path) -> None:
    """`flows check --json`: the warning is under `warnings` with `severity: warning`, `ok` stays true and
    `errors` keeps its shape."""
    folder = folder_with(tmp_path, FLOW)
    result = run_bot(["flows", "check", "--json", str(folder)], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["ok"], report["errors"]) == (True, [])
    assert [(w["line"], w["severity"]) for w in report["warnings"]] == [
        (line_of(FLOW, "synonym_of_curious"), "warning")
    ]
    assert set(report["warnings"][0]) == {"file", "line", "message", "severity"}
    assert "« j aimerais apprendre »" in report["warnings"][0]["message"]


def test_a_warning_goes_once_the_synonym_is_moved_to_its_button(tmp_path: Path) -> None:
    """Moving the conflicting synonym under the button it means leaves nothing to warn about."""
    fixed = FLOW.replace("        synonyms: [j aimerais apprendre]", "        synonyms: [pas pour moi]")
    fixed = fixed.replace(
        "        label: J'aimerais apprendre\n", "        label: J'aimerais apprendre\n        synonyms: [apprendre]\n"
    )
    report = check([folder_with(tmp_path, fixed)])
    assert report.ok, report.problems
    assert report.warnings == []


# ----- examples validated -------------------------------------------------------------------------------------------
def problems_of(tmp_path: Path, flow: str) -> list[tuple[int, str]]:
    report = check([folder_with(tmp_path, flow) / "apprendre.yaml"])
    return [(p.line, p.message) for p in report.problems]


def test_an_example_that_is_another_buttons_label_is_an_error(tmp_path: Path) -> None:
    """An example that is, once accents, case and punctuation are set aside, another button's label cannot mean
    its own button: an error at the example's line, naming the other button."""
    flow = FLOW.replace(
        '          - "Ce n\'est pas pour moi du tout"         # @clear_example',
        '          - "J\'AIMERAIS apprendre !"         # @example_is_label',
    ).replace("synonyms: [j aimerais apprendre]", "synonyms: [pas pour moi]")
    assert problems_of(tmp_path, flow) == [
        (
            line_of(flow, "example_is_label"),
            "étape `attitude`, bouton `refuses` : l'exemple « J'AIMERAIS apprendre ! » est le texte ou un synonyme du "
            "bouton `curious` ; retirez-le, ou mettez-le sous le bouton qu'il veut dire",
        )
    ]


def test_an_example_written_twice_in_a_question_is_an_error(tmp_path: Path) -> None:
    """The same example under two buttons of one question (or twice under one) is an error at the second, naming
    the line of the first."""
    flow = FLOW.replace(
        "        label: J'aimerais apprendre\n",
        "        label: J'aimerais apprendre\n        examples: [\"ce n'est PAS pour moi, du tout\"]  # @twice\n",
    )
    assert problems_of(tmp_path, flow) == [
        (
            line_of(flow, "twice"),
            "étape `attitude`, bouton `curious` : l'exemple « ce n'est PAS pour moi, du tout » est déjà écrit ligne "
            f"{line_of(flow, 'clear_example')} (exemple du bouton `refuses`) ; gardez-en un seul, sous le bouton "
            "qu'il veut dire",
        )
    ]


def test_examples_must_be_a_list_of_sentences(tmp_path: Path) -> None:
    """`examples` not a list, or holding an empty text or a number: each reported at its own line, in French."""
    flow = FLOW.replace(
        '          - "Ce n\'est pas pour moi du tout"         # @clear_example',
        '          - "  "         # @empty\n          - 42         # @number\n          - "Pas pour moi du tout"',
    ).replace(
        "        label: J'aimerais apprendre\n",
        "        label: J'aimerais apprendre\n        examples: une phrase  # @not_a_list\n",
    )
    got = problems_of(tmp_path, flow)
    assert [line for line, _ in got] == [line_of(flow, m) for m in ("empty", "number", "not_a_list")], got
    assert "pas un texte vide" in got[0][1]
    assert "pas 42" in got[1][1]
    assert "`examples` doit être une liste de phrases" in got[2][1]


# ----- French for coordinators --------------------------------------------------------------------------------------
ENGLISH = re.compile(r"\b(the|must|is|not|unknown|missing|expected|should|found|step|line|allowed|known)\b")


def outside_quotes(message: str) -> str:
    """The message without what it quotes (names in backticks, values in « », PyYAML's own words in brackets)."""
    return re.sub(r"`[^`]*`|«[^»]*»|\([^)]*\)|'[^']*'", "", message)


def test_every_problem_of_the_broken_fixtures_is_french(tmp_path: Path) -> None:
    """No message of `flows check` on the broken fixtures (flows, personas, a tests file, a queues file) reads as
    English once the names it quotes are set aside; each gives a remedy or names what is expected."""
    folder = stage(tmp_path / "broken")
    (folder / "bad.tests.yaml").write_text("flow: absent.yaml\ntests:\n  - {name: x}\n", encoding="utf-8")
    (folder / "queues.yaml").write_text("queues:\n  - {name: Lyon, label: x, territory: {}}\n", encoding="utf-8")
    problems = check([folder]).problems
    assert len(problems) > 30
    english = [p.message for p in problems if ENGLISH.search(outside_quotes(p.message))]
    assert english == []
