"""The coordinators' tools: `flows check`, `flows test` and `flows graph`.

The command-line contract (exit codes, `file:line: message`, `--json` shapes, files written) is checked on
real `python -m bot` processes; the validation detail (which problem, on which line) in-process, on the
broken fixtures of tests/fixtures/broken/ (each says in its first comment what is wrong, and where).
The fixtures are copied into a temporary folder beside the shipped messages.yaml, so they never drift from it.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.language.flows import load_flow
from bot.tools.check import check, kind_of, yaml_files
from tests.test_cli import FIXTURES, ROOT, bot_env, run_bot

BROKEN = FIXTURES / "broken"
SHIPPED_FLOW = ROOT / "flows" / "orientation.yaml"
PROBLEM_LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<message>.+)$")

# file -> [(line, part of the message)]: every problem each broken fixture must give, and no other.
EXPECTED: dict[str, list[tuple[int, str]]] = {
    "broken_yaml_syntax.yaml": [(10, "syntaxe YAML : cette ligne n'est pas alignée")],
    "broken_unclosed_quote.yaml": [(8, "syntaxe YAML : le texte entre guillemets ouvert sur cette ligne n'est jamais")],
    "broken_unknown_key.yaml": [
        (3, "clé `titre` inconnue ; vouliez-vous dire `title` ?"),
        (9, "étape `accueil` (étape `ask`) : clé `question` inconnue"),
    ],
    "broken_unreachable.yaml": [(20, "étape `oublie` : aucune étape n'y mène depuis `accueil`")],
    "broken_start_human.yaml": [
        (4, "l'étape de départ `debut` n'existe pas"),
        (5, "`human: fin` doit nommer une étape `action: request_callback`"),
    ],
    "broken_goto_missing.yaml": [
        (12, "étape `accueil` : mène à l'étape `rapel`, qui n'existe pas ; vouliez-vous dire `rappel` ?"),
        # no "unreachable" for `menu_fin`: while a link is broken, that report would only repeat the typo
        (16, "étape `menu_fin` : mène à l'étape `la_fin`, qui n'existe pas"),
    ],
    "broken_dead_end.yaml": [
        (16, "étape `accueil` : impasse possible ; terminez `next` par un `- goto: …` sans condition"),
        (19, "étape `merci` : impasse ; ajoutez `next:` (l'étape suivante) ou `end: true`"),
    ],
    "broken_missing_text.yaml": [(7, "étape `accueil` : il manque `text`"), (16, "étape `fin` : texte vide")],
    "broken_duplicate_values.yaml": [(11, "étape `accueil` : la valeur de bouton `self` est en double")],
    "broken_long_value.yaml": [
        (9, "est trop longue (62 octets) ; 48 au plus (un bouton Telegram transporte 64 octets)")
    ],
    "broken_unknown_slot.yaml": [
        (12, "étape `accueil` : réponse `humeur` inconnue dans une condition"),
        (14, "étape `humeur` : réponse `humeur` inconnue (réponses connues : for_whom"),
    ],
    "broken_bad_value.yaml": [
        (12, "`someone_else` n'est pas une valeur de la réponse `for_whom` (valeurs possibles : self, relative)"),
        (14, "`proche` n'est pas une valeur de la réponse `for_whom`"),
    ],
    "broken_unknown_action.yaml": [(14, "étape `resultat` : action `classer` inconnue")],
    "broken_relative_labels.yaml": [
        (
            23,
            "étape `avis`, bouton `refuses` : la question a une version pour un proche (`relative:`), mais ce bouton "
            "parle à la première personne (« Ce n'est pas pour moi », d'après « moi ») ; écrivez son `label:` en deux "
            "versions, `self:` et `relative:`",
        ),
        (
            24,
            "étape `avis`, bouton `unsure` : la question a une version pour un proche (`relative:`), mais ce bouton "
            "parle à la première personne (« J’aimerais être plus à l'aise », d'après « J’ »)",
        ),
    ],
    "broken_unknown_variable.yaml": [
        (8, "variable `{prenom}` inconnue"),
        (17, "étape `fin` : accolades `{…}` mal formées"),
    ],
    "broken_personas_file_missing.yaml": [(5, "fichier des profils `personnages.yaml` introuvable à côté du parcours")],
    "personas_unknown_id.yaml": [
        (2, "il manque le profil `modere` ; les sept profils sont nécessaires"),
        (5, "identifiant de profil `pessimiste` inconnu"),
    ],
    "personas_bad_rule.yaml": [
        (9, "profil `timide` : il manque `message`"),
        (12, "profil `timide` : réponse `humeur` inconnue dans une condition"),
        (13, "`sometimes` n'est pas une valeur de la réponse `usage_frequency`"),
        (15, "profil `melancolique` : `urgency` doit valoir une de ces valeurs : high, medium, low, none"),
    ],
}
# A flow whose mistake is reported in the personas file it uses.
PERSONA_VALUE = ("broken_persona_value.yaml", "personas.yaml", 46, "profil `hyper_connecte` : aucun bouton du parcours")
VALID = ("valid_base.yaml", "personas.yaml")


def stage(folder: Path) -> Path:
    """Copy the broken fixtures into `folder`, beside the shipped messages.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in BROKEN.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    shutil.copy(ROOT / "flows" / "messages.yaml", folder / "messages.yaml")
    return folder


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage(tmp_path_factory.mktemp("broken"))


def test_every_broken_fixture_is_covered() -> None:
    """Each file of tests/fixtures/broken/ is either valid on purpose or has its expected problems here."""
    names = {p.name for p in BROKEN.glob("*.yaml")}
    assert names == set(EXPECTED) | set(VALID) | {PERSONA_VALUE[0]}
    for name in names - set(VALID):
        assert (BROKEN / name).read_text(encoding="utf-8").startswith("# BROKEN"), name


# ----- validation detail, in-process ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_fixture_gives_its_problems_on_the_right_lines(staged: Path, name: str) -> None:
    """Each broken fixture gives exactly its documented problems, each on the line of the mistake."""
    report = check([staged / name])
    assert not report.ok
    got = [(Path(p.file).name, p.line, p.message) for p in report.problems]
    assert len(got) == len(EXPECTED[name]), got
    for (file, line, message), (want_line, want_part) in zip(got, EXPECTED[name], strict=True):
        assert file == name
        assert line == want_line, (line, message)
        assert want_part in message, (line, message)


def test_persona_rule_no_question_can_satisfy_is_reported_in_the_personas_file(staged: Path) -> None:
    """A persona rule naming a value no button of the flow produces is reported at the rule's line."""
    flow, personas_file, line, part = PERSONA_VALUE
    problems = check([staged / flow]).problems
    assert [(Path(p.file).name, p.line) for p in problems] == [(personas_file, line)]
    assert part in problems[0].message
    assert "`for_whom: relative`" in problems[0].message


@pytest.mark.parametrize("name", VALID)
def test_the_base_of_the_broken_fixtures_is_valid(staged: Path, name: str) -> None:
    """The skeleton the broken flows depart from, and their personas file, are valid: each problem above is
    the fixture's own."""
    report = check([staged / name])
    assert report.ok, report.problems


def test_shipped_flow_files_are_valid() -> None:
    """The shipped flow, messages and personas pass the same validation the bot runs at start-up."""
    report = check([ROOT / "flows"])
    assert report.ok, [str(p) for p in report.problems]
    assert {"orientation.yaml", "messages.yaml", "personas.yaml"} <= {Path(f).name for f in report.files}


def test_flow_without_messages_gives_one_clear_problem() -> None:
    """A flow with no messages.yaml beside it gets one problem saying so, not one per missing text."""
    problems = check([FIXTURES / "mini" / "mini.yaml"]).problems
    assert len(problems) == 1, problems
    assert problems[0].line == 4
    assert "messages.yaml" in problems[0].message


def test_unknown_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """Checking a file that does not exist reports `file not found` at line 1."""
    report = check([tmp_path / "absent.yaml"])
    assert [(p.line, p.message) for p in report.problems] == [(1, "fichier introuvable ; vérifiez le chemin")]


# ----- flows check on the command line ----------------------------------------------------------------------------
def test_flows_check_exits_0_on_the_shipped_files(tmp_path: Path) -> None:
    """`flows check` with no path checks FLOWS_DIR (flows/) and exits 0 with no problem on stdout (warnings at
    most: they depend on how well the understanding reads the synonyms)."""
    result = run_bot(["flows", "check"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in result.stdout.splitlines():
        match = PROBLEM_LINE.match(line)
        assert match, line
        assert match["message"].startswith("attention : "), line
    assert re.search(r"\d+ fichier\(s\) vérifié\(s\), 0 problème\(s\), \d+ avertissement\(s\)", result.stderr)


def test_flows_check_json_on_the_shipped_files(tmp_path: Path) -> None:
    """`flows check --json` on the shipped files: {ok: true, files: [...], errors: [], warnings: [...]}."""
    result = run_bot(["flows", "check", "flows", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"ok", "files", "errors", "warnings"}
    assert all(w["severity"] == "warning" for w in report["warnings"])
    assert report["ok"] is True
    assert report["errors"] == []
    assert str(Path("flows") / "orientation.yaml") in report["files"]


def test_flows_check_prints_file_line_message_and_exits_1(staged: Path, tmp_path: Path) -> None:
    """`flows check FOLDER` on the broken fixtures exits 1; every stdout line is `file:line: message`,
    with each expected problem present."""
    result = run_bot(["flows", "check", str(staged)], tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    parsed = []
    for line in lines:
        match = PROBLEM_LINE.match(line)
        assert match, f"not `file:line: message`: {line!r}"
        parsed.append((Path(match["file"]).name, int(match["line"]), match["message"]))
    for name, problems in EXPECTED.items():
        for want_line, part in problems:
            assert any(f == name and n == want_line and part in m for f, n, m in parsed), (name, want_line, part)
    assert (
        f"{staged / 'broken_unknown_action.yaml'}:14: étape `resultat` : action `classer` inconnue ; vouliez-vous "
        "dire `classify` ? (actions connues : "
    ) in result.stdout
    assert re.search(rf"{len(lines)} problème\(s\)", result.stderr)
    assert "Traceback" not in result.stderr


def test_flows_check_json_shape_on_broken_files(staged: Path, tmp_path: Path) -> None:
    """`flows check --json`: {ok: false, files: [...], errors: [{file, line, message, severity}], warnings: []},
    exit 1."""
    result = run_bot(
        ["flows", "check", "--json", str(staged / "broken_dead_end.yaml"), str(staged / "personas.yaml")], tmp_path
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert set(report) == {"ok", "files", "errors", "warnings"}
    assert report["ok"] is False
    assert report["warnings"] == []
    assert report["files"] == [str(staged / "broken_dead_end.yaml"), str(staged / "personas.yaml")]
    for error in report["errors"]:
        assert set(error) == {"file", "line", "message", "severity"}
        assert error["severity"] == "error"
        assert isinstance(error["line"], int)
        assert isinstance(error["message"], str)
    assert [(e["file"], e["line"]) for e in report["errors"]] == [
        (str(staged / "broken_dead_end.yaml"), 16),
        (str(staged / "broken_dead_end.yaml"), 19),
    ]


# ----- flows test -------------------------------------------------------------------------------------------------
OWN_TESTS = """\
flow: {flow}
tests:
  - name: Refus poli
    conversation: [bonjour, "value:self", "value:leisure", "value:none", "value:refuses",
                   "value:health,interest", "value:80_plus", "value:no"]
    expect: {{persona: refractaire, state: mobilite}}
  - name: Pour un proche
    conversation:
      - bonjour
      - send: "value:relative"
        expect: {{state: envies, text: votre proche}}
"""


def test_flows_test_passes_on_the_shipped_tests(tmp_path: Path) -> None:
    """`flows test` passes on the conversation tests shipped beside the flows (or, while none are shipped,
    on a small test file written here against the shipped flow)."""
    shipped = [p for p in yaml_files([ROOT / "flows"]) if kind_of(p) == "tests"]
    if shipped:
        result = run_bot(["flows", "test"], tmp_path)
    else:
        own = tmp_path / "own.tests.yaml"
        own.write_text(OWN_TESTS.format(flow=SHIPPED_FLOW), encoding="utf-8")
        result = run_bot(["flows", "test", str(own)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\d+ réussi\(s\), 0 échoué\(s\)$", result.stdout, re.M), result.stdout
    assert "ÉCHEC" not in result.stdout


def test_flows_test_reports_a_wrong_persona_as_fail_file_line(tmp_path: Path) -> None:
    """A test expecting the wrong persona fails: exit 1, `ÉCHEC file:line:` at the failing input, and the count."""
    path = FIXTURES / "flowtests" / "wrong_persona.tests.yaml"
    result = run_bot(["flows", "test", str(path)], tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "RÉUSSI Une personne hésitante est orientée vers les ateliers" in lines
    fail = [line for line in lines if line.startswith("ÉCHEC ")]
    assert len(fail) == 1
    assert fail[0].startswith(f"ÉCHEC {path}:25: Mauvais profil attendu")
    assert re.search(r" : message \d+ \('[^']*'\) : profil attendu", fail[0]), fail[0]
    assert "profil attendu 'hyper_connecte', obtenu 'timide'" in fail[0]
    assert "; le robot a dit : " in fail[0]
    assert lines[-1] == "1 réussi(s), 1 échoué(s)"


def test_flows_test_json_shape(tmp_path: Path) -> None:
    """`flows test --json`: {passed, failed, results: [{file, name, line, ok, message}]}, exit 1 on a failure."""
    path = FIXTURES / "flowtests" / "wrong_persona.tests.yaml"
    result = run_bot(["flows", "test", "--json", str(path)], tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert set(report) == {"passed", "failed", "results"}
    assert (report["passed"], report["failed"]) == (1, 1)
    for entry in report["results"]:
        assert set(entry) == {"file", "name", "line", "ok", "message"}
    assert [(r["ok"], r["line"]) for r in report["results"]] == [(True, 5), (False, 25)]
    assert "hyper_connecte" in report["results"][1]["message"]


# ----- flows graph ------------------------------------------------------------------------------------------------
STEP_IDS = list(load_flow(SHIPPED_FLOW).steps)


def test_flows_graph_prints_mermaid_with_every_step(tmp_path: Path) -> None:
    """`flows graph FLOW` prints a Mermaid flowchart on stdout naming every step of the flow."""
    result = run_bot(["flows", "graph", str(SHIPPED_FLOW)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart TD\n")
    nodes = {line.split("[")[0].split("(")[0].split("{")[0].strip() for line in result.stdout.splitlines()[1:]}
    assert set(STEP_IDS) <= nodes


def test_flows_graph_writes_a_mermaid_file(tmp_path: Path) -> None:
    """`flows graph FLOW -o x.mmd` writes the Mermaid text into the file, nothing on stdout."""
    out = tmp_path / "x.mmd"
    result = run_bot(["flows", "graph", str(SHIPPED_FLOW), "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("flowchart TD\n")
    assert all(f"  {step}" in text for step in STEP_IDS)


def test_flows_graph_svg_with_or_without_graphviz(tmp_path: Path) -> None:
    """`-o x.svg`: with Graphviz `dot` installed, a valid SVG naming every step; without it, the Mermaid
    fallback x.mmd and a warning."""
    out = tmp_path / "x.svg"
    result = run_bot(["flows", "graph", str(SHIPPED_FLOW), "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    if shutil.which("dot", path=bot_env(tmp_path)["PATH"]):
        root = ET.parse(out).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = {el.text for el in root.iter("{http://www.w3.org/2000/svg}text")}
        assert set(STEP_IDS) <= texts
        assert "attention" not in result.stderr
    else:
        assert not out.exists()
        assert (tmp_path / "x.mmd").read_text(encoding="utf-8").startswith("flowchart TD\n")
        assert "attention : Graphviz (`dot`) n'est pas installé" in result.stderr


def test_flows_graph_falls_back_to_mermaid_without_dot(tmp_path: Path) -> None:
    """With no `dot` on PATH, `-o x.svg` writes Mermaid to x.mmd instead, warns, and still exits 0."""
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    out = tmp_path / "x.svg"
    env = bot_env(tmp_path, PATH=str(empty_bin))
    result = run_bot(["flows", "graph", str(SHIPPED_FLOW), "-o", str(out)], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert not out.exists()
    fallback = tmp_path / "x.mmd"
    assert fallback.read_text(encoding="utf-8").startswith("flowchart TD\n")
    assert f"attention : Graphviz (`dot`) n'est pas installé : texte Mermaid écrit dans {fallback}" in result.stderr


def test_flows_graph_of_an_invalid_flow_exits_1_with_its_problems(tmp_path: Path) -> None:
    """`flows graph` on a flow that does not validate exits 1 with `file:line: message` on stderr."""
    flow = FIXTURES / "mini" / "mini.yaml"  # no messages.yaml beside it in the fixtures folder
    result = run_bot(["flows", "graph", str(flow)], tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.match(rf"{re.escape(str(flow))}:4: aucun texte commun", result.stderr), result.stderr


def test_dot_output_escapes_labels_and_draws_the_end() -> None:
    """The Graphviz text escapes quotes in labels and ends every `end: true` step in one end node that no
    step name can collide with (the shipped flow has a step called `fin`)."""
    from bot.app.root import load_flow_with_personas
    from bot.tools.graph import END_NODE, _dot_text, dot

    text = dot(load_flow_with_personas(SHIPPED_FLOW).flow)
    assert f'"fin" -> "{END_NODE}";' in text
    assert '"fin" -> "fin"' not in text
    assert _dot_text('dit "oui"') == 'dit \\"oui\\"'
