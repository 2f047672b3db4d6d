"""Coordinators teach what people write during the callback request (`answers:` of the `request_callback` step)
in YAML, like a question's synonyms and examples: read by the understanding, checked by `flows check`.

The flows are small ones written into a temporary folder beside the shipped messages.yaml (tests/tools/
test_teaching.py), loaded by the real loader and read by the real understanding.
"""

from __future__ import annotations

from pathlib import Path

from bot.language.callback_answers import CALLBACK_PHASES
from bot.language.flows import load_flow
from bot.tools.check import check
from bot.understanding.question import Context, phase_question
from bot.understanding.reader import understand
from tests.tools.test_teaching import FLOW, folder_with, line_of

# FLOW's own warning (a synonym of `refuses` that is `curious`'s label) is about a question, not the callback.

SELF = Context(for_whom="self", year=2026)
TAUGHT = FLOW.replace(
    "    action: request_callback\n",
    """\
    action: request_callback
    answers:
      moment:
        - value: morning
          synonyms: [potron-minet]
          examples:
            - "quand les poules se lèvent"        # @hens
      who:
        - value: relative
          examples: ["c'est mon numéro qu'il faut faire"]
""",
)


def test_a_phrase_taught_in_yaml_is_understood_and_untaught_it_is_not(tmp_path: Path) -> None:
    """« quand les poules se lèvent » means the morning only once the flow teaches it; a synonym likewise."""
    taught = load_flow(folder_with(tmp_path, TAUGHT) / "apprendre.yaml").steps["rappel"]
    moment = phase_question(taught, "moment")
    for text in ("quand les poules se lèvent", "Quand les poules se levent !", "potron-minet"):
        found = understand(text, moment, SELF)
        assert found.sure, (text, found)
        assert found.values == ("morning",), (text, found)
    (tmp_path / "plain").mkdir()
    plain = load_flow(folder_with(tmp_path / "plain", FLOW) / "apprendre.yaml").steps["rappel"]
    found = understand("quand les poules se lèvent", phase_question(plain, "moment"), SELF)
    assert not (found.sure and found.values == ("morning",)), found


def test_every_phase_has_its_buttons_labelled_by_the_messages_even_untaught(tmp_path: Path) -> None:
    """A callback step without `answers` still has every phase and button, labelled by messages.yaml: the
    labels and the hour said are understood; the phases' values are exactly the engine's."""
    step = load_flow(folder_with(tmp_path, FLOW) / "apprendre.yaml").steps["rappel"]
    assert {phase: [c.value for c in step.answers[phase]] for phase in step.answers} == {
        phase: [value for value, _ in buttons] for phase, buttons in CALLBACK_PHASES.items()
    }
    moment = phase_question(step, "moment")
    assert [c.label.variants["self"] for c in step.answers["moment"]] == ["Le matin", "L'après-midi", "Peu importe"]
    assert understand("l'après-midi", moment, SELF).values == ("afternoon",)
    assert understand("vers 10h", moment, SELF).values == ("morning",)
    assert understand("peu importe", moment, SELF).values == ("any",)


def test_the_shipped_flow_teaches_every_phase_in_yaml() -> None:
    """The bundled flow's callback step carries what people write for every button of every phase (nothing is
    left in code), and a phrase written there is read as its button."""
    step = load_flow(Path(__file__).resolve().parents[2] / "flows" / "orientation.yaml").steps["rappel"]
    for phase, choices in step.answers.items():
        for choice in choices:
            assert choice.examples, (phase, choice.value)
    who = phase_question(step, "who")
    assert understand("moi, je serai avec elle", who, Context(for_whom="relative", year=2026)).values == ("relative",)


def problems(tmp_path: Path, flow: str) -> list[tuple[int, str]]:
    report = check([folder_with(tmp_path, flow) / "apprendre.yaml"])
    return [(p.line, p.message) for p in report.problems]


def test_wrong_answers_are_precise_french_errors_at_their_lines(tmp_path: Path) -> None:
    """An unknown phase (with the likely one), a value that is not a button of the phase, a button written twice,
    a key that is not `value`, `synonyms` or `examples`: each reported at its line, saying what to write."""
    flow = TAUGHT.replace(
        "      who:\n",
        """\
      momnet:                              # @phase
        - value: morning
      consent:
        - value: maybe                     # @value
        - value: "yes"
          label: Oui                       # @key
        - value: "yes"                     # @twice
      who:
""",
    )
    got = problems(tmp_path, flow)
    assert [line for line, _ in got] == [line_of(flow, m) for m in ("phase", "value", "key", "twice")], got
    assert "`momnet` n'est pas une étape du rappel ; vouliez-vous dire `moment` ?" in got[0][1]
    assert "`maybe` n'est pas un bouton de cette étape (valeurs : `yes`, `no`)" in got[1][1]
    assert "clé `label` inconnue" in got[2][1]
    assert "le bouton `yes` est écrit deux fois" in got[3][1]


def test_answers_belong_to_the_callback_action_only_and_are_a_mapping(tmp_path: Path) -> None:
    """`answers` under another step kind or action is refused; `answers` as a list says how to write it."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    wrong_place = TAUGHT.replace("  fin:\n    say: Au revoir.\n", "  fin:\n    say: Au revoir.\n    answers: {}\n")
    assert any("clé `answers` inconnue" in m for _, m in problems(tmp_path / "a", wrong_place))
    as_list = FLOW.replace("    action: request_callback\n", "    action: request_callback\n    answers: [oui]\n")
    (got,) = problems(tmp_path / "b", as_list)
    assert "`answers` range ce que les gens écrivent, par étape du rappel" in got[1]


def test_a_callback_example_read_as_another_button_is_a_warning(tmp_path: Path) -> None:
    """`flows check` reads each callback phrase against its phase as it reads a question's: one that means
    another button is a warning at its line, naming the phase."""
    flow = TAUGHT.replace(
        '            - "quand les poules se lèvent"        # @hens\n',
        '            - "quand les poules se lèvent"        # @hens\n            - "plutôt l\'après-midi"  # @pm\n',
    )
    report = check([folder_with(tmp_path, flow) / "apprendre.yaml"])
    assert report.ok, report.problems
    warned = [(w.line, w.message.split(" : ")[0]) for w in report.warnings if "`rappel`" in w.message]
    assert warned == [(line_of(flow, "pm"), "étape `rappel`, `answers.moment`, bouton `morning`")]
