"""The JSON Schemas in flows/ (editor validation and completion) stay faithful to the loader and the code."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from bot.app.root import load_flow_with_personas
from bot.core.errors import FlowError
from bot.core.slots import INPUT_KINDS, SLOTS
from bot.language.flows import (
    ACTIONS,
    CHOICE_KEYS,
    FLOW_KEYS,
    REQUIRED_MESSAGES,
    RULE_KEYS,
    STEP_KEYS,
)
from bot.language.personas import (
    PERSONA_IDS,
    PERSONA_KEYS,
    PREFERENCE_KEYS,
    SERVICES,
    SOLUTION_TYPES,
    SUPPORT_MODES,
    URGENCY_RANK,
    load_personas,
)
from bot.language.yamlload import load_yaml
from bot.tools.flowtest import EXPECT_KEYS, load_tests

FLOWS = Path(__file__).resolve().parents[2] / "flows"
SCHEMA_NAMES = ("flow", "messages", "personas", "tests", "understanding")
MODELINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=(\S+)\s*$")

EXAMPLE_TESTS = """\
flow: ../orientation.yaml
tests:
  - name: Une personne qui refuse internet
    conversation: [bonjour, "value:self", "value:family_contact", "value:none", "value:refuses",
                   "value:health", "value:80_plus", "value:no"]
    expect: {persona: refractaire, state: mobilite, slot: mobility}
  - name: Un proche, pas à pas
    conversation:
      - bonjour
      - send: "value:relative"
        expect: {state: envies, text: "votre proche", buttons: [family_contact, unknown]}
      - send: /stop
        expect: {done: true, not_text: [erreur], offers: 0, callback: false}
"""


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FLOWS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return loaded


def plain(value: Any) -> Any:
    """LineDict/LineList (the loader's line-aware containers) as the plain JSON-like data a validator sees."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def load(text: str, file: str = "example.yaml") -> Any:
    return plain(load_yaml(text, file))


def errors(name: str, data: Any) -> list[str]:
    return [error.message for error in Draft202012Validator(schema(name)).iter_errors(data)]


def shipped(name: str) -> Any:
    return load((FLOWS / name).read_text(encoding="utf-8"), name)


def write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def shipped_yaml_files() -> list[Path]:
    return sorted(p for p in FLOWS.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))


# ----- the schemas themselves ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    """Each flows/*.schema.json is itself a valid JSON Schema of draft 2020-12."""
    loaded = schema(name)
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(loaded)


# ----- shipped files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", shipped_yaml_files(), ids=lambda p: str(p.relative_to(FLOWS)))
def test_shipped_yaml_file_names_its_schema_and_validates(path: Path) -> None:
    """Every YAML file under flows/ starts with the yaml-language-server line and validates against that schema."""
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    match = MODELINE.match(first_line)
    assert match, f"{path}: first line should be `# yaml-language-server: $schema=…`"
    schema_path = (path.parent / match.group(1)).resolve()
    assert schema_path.parent == FLOWS
    assert schema_path.name in {f"{n}.schema.json" for n in SCHEMA_NAMES}
    data = load(path.read_text(encoding="utf-8"), str(path))
    found = [e.message for e in Draft202012Validator(json.loads(schema_path.read_text("utf-8"))).iter_errors(data)]
    assert found == []


@pytest.mark.parametrize(
    ("file", "name"), [("orientation.yaml", "flow"), ("messages.yaml", "messages"), ("personas.yaml", "personas")]
)
def test_default_files_use_the_schema_of_their_kind(file: str, name: str) -> None:
    """The default flow, messages and personas files point at the schema of their own kind and validate."""
    first_line = (FLOWS / file).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema=./{name}.schema.json"
    assert errors(name, shipped(file)) == []


def test_example_test_file_is_accepted_by_schema_and_loader(tmp_path: Path) -> None:
    """The conversation-test format documented in flows/README.md passes both the schema and `load_tests`."""
    assert errors("tests", load(EXAMPLE_TESTS)) == []
    (tmp_path / "tests").mkdir()
    shutil.copy(FLOWS / "orientation.yaml", tmp_path / "orientation.yaml")
    test_file = tmp_path / "tests" / "exemple.yaml"
    test_file.write_text("# yaml-language-server: $schema=../tests.schema.json\n" + EXAMPLE_TESTS, encoding="utf-8")
    assert [t.name for t in load_tests(test_file).tests] == ["Une personne qui refuse internet", "Un proche, pas à pas"]


def test_complete_examples_in_the_readme_validate() -> None:
    """Every complete YAML example in flows/README.md (one starting with its schema line) validates."""
    readme = (FLOWS / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)
    complete = [b for b in blocks if MODELINE.match(b.splitlines()[0]) and load(b) is not None]
    assert complete, "the README should show at least one complete file (the conversation-test example)"
    for block in complete:
        match = MODELINE.match(block.splitlines()[0])
        assert match is not None
        name = Path(match.group(1)).name
        assert errors(name.removesuffix(".schema.json"), load(block)) == [], block


# ----- broken files are rejected (by the schema, and by the loader too) ------------------------------------


def _unknown_step_key(flow: dict[str, Any]) -> None:
    flow["steps"]["pour_qui"]["question"] = "Pour qui ?"


def _unknown_slot(flow: dict[str, Any]) -> None:
    flow["steps"]["age"]["ask"] = "age_range"


def _wrong_action(flow: dict[str, Any]) -> None:
    flow["steps"]["resultat"]["action"] = "classer"


def _value_not_of_the_slot(flow: dict[str, Any]) -> None:
    flow["steps"]["age"]["choices"][0]["value"] = "under_50"


def _multi_slot_without_multi(flow: dict[str, Any]) -> None:
    del flow["steps"]["appareils"]["multi"]


def _unknown_slot_in_condition(flow: dict[str, Any]) -> None:
    flow["steps"]["appareils"]["next"][0]["if"] = {"devices": ["smartphone"]}


def _wrong_value_in_condition(flow: dict[str, Any]) -> None:
    flow["steps"]["freins"]["next"][0]["if"] = {"usage_frequency": ["sometimes"]}


def _relative_without_self(flow: dict[str, Any]) -> None:
    flow["steps"]["envies"]["text"] = {"relative": "Et votre proche ?"}


def _say_without_next_or_end(flow: dict[str, Any]) -> None:
    del flow["steps"]["fin"]["end"]


def _unknown_false_on_a_question(flow: dict[str, Any]) -> None:
    flow["steps"]["age"]["unknown"] = False


def _two_kinds_in_one_step(flow: dict[str, Any]) -> None:
    flow["steps"]["accueil"]["action"] = "classify"


def _empty_message(flow: dict[str, Any]) -> None:
    flow["messages"] = {"restart": "  "}


BROKEN_FLOWS = [
    _unknown_step_key,
    _unknown_slot,
    _wrong_action,
    _value_not_of_the_slot,
    _multi_slot_without_multi,
    _unknown_slot_in_condition,
    _wrong_value_in_condition,
    _relative_without_self,
    _say_without_next_or_end,
    _unknown_false_on_a_question,
    _two_kinds_in_one_step,
    _empty_message,
]


def test_unchanged_files_written_back_still_load(tmp_path: Path) -> None:
    """Control for the tests below: the shipped flow and personas, rewritten as they are, load without problems."""
    shutil.copy(FLOWS / "messages.yaml", tmp_path / "messages.yaml")
    write_yaml(tmp_path / "personas.yaml", shipped("personas.yaml"))
    write_yaml(tmp_path / "orientation.yaml", shipped("orientation.yaml"))
    loaded = load_flow_with_personas(tmp_path / "orientation.yaml")
    assert loaded.flow.start == "accueil"
    assert list(loaded.personas.personas) == list(PERSONA_IDS)


@pytest.mark.parametrize("breakage", BROKEN_FLOWS, ids=lambda f: f.__name__.strip("_"))
def test_broken_flow_is_rejected_by_schema_and_loader(breakage: Any, tmp_path: Path) -> None:
    """A flow with one mistake fails the schema, and `flows check`'s loader rejects the same file."""
    flow = copy.deepcopy(shipped("orientation.yaml"))
    breakage(flow)
    assert errors("flow", flow) != []
    for name in ("messages.yaml", "personas.yaml"):
        shutil.copy(FLOWS / name, tmp_path / name)
    write_yaml(tmp_path / "orientation.yaml", flow)
    with pytest.raises(FlowError):
        load_flow_with_personas(tmp_path / "orientation.yaml")


def _bad_persona_id(personas: dict[str, Any]) -> None:
    personas["personas"]["curieux"] = personas["personas"].pop("novice_curieux")


def _bad_urgency(personas: dict[str, Any]) -> None:
    personas["personas"]["timide"]["urgency"] = "urgent"


def _bad_service(personas: dict[str, Any]) -> None:
    personas["personas"]["timide"]["preferences"]["services"] = ["Ateliers numériques"]


def _bad_support_mode(personas: dict[str, Any]) -> None:
    personas["personas"]["timide"]["preferences"]["modalites_accompagnement"] = ["En groupe"]


def _bad_preference_key(personas: dict[str, Any]) -> None:
    personas["personas"]["timide"]["preferences"]["gratuit"] = True


def _bad_solution(personas: dict[str, Any]) -> None:
    personas["personas"]["timide"]["solutions"] = ["training"]


def _weight_not_a_number(personas: dict[str, Any]) -> None:
    personas["personas"]["timide"]["rules"][0]["weight"] = "beaucoup"


def _rule_on_unknown_slot(personas: dict[str, Any]) -> None:
    personas["personas"]["timide"]["rules"][0]["if"] = {"confidence": "low"}


BROKEN_PERSONAS = [
    _bad_persona_id,
    _bad_urgency,
    _bad_service,
    _bad_support_mode,
    _bad_preference_key,
    _bad_solution,
    _weight_not_a_number,
    _rule_on_unknown_slot,
]


@pytest.mark.parametrize("breakage", BROKEN_PERSONAS, ids=lambda f: f.__name__.strip("_"))
def test_broken_personas_file_is_rejected_by_schema_and_loader(breakage: Any, tmp_path: Path) -> None:
    """A personas file with one mistake fails the schema, and the personas loader rejects it too."""
    personas = copy.deepcopy(shipped("personas.yaml"))
    breakage(personas)
    assert errors("personas", personas) != []
    write_yaml(tmp_path / "personas.yaml", personas)
    with pytest.raises(FlowError):
        load_personas(tmp_path / "personas.yaml")


@pytest.mark.parametrize(
    "breakage",
    [
        "tests: [{name: x, conversation: [bonjour]}]",  # no `flow:`
        "flow: ../orientation.yaml\ntests: [{name: x, conversation: []}]",  # empty conversation
        "flow: ../orientation.yaml\ntests: [{name: x, conversation: [bonjour], expect: {persona_id: timide}}]",
        "flow: ../orientation.yaml\ntests: [{name: x, conversation: [{expect: {done: true}}]}]",  # no `send:`
    ],
)
def test_broken_test_file_is_rejected_by_schema_and_loader(breakage: str, tmp_path: Path) -> None:
    """A conversation-test file with one mistake fails the schema, and `load_tests` rejects it too."""
    assert errors("tests", load(breakage)) != []
    shutil.copy(FLOWS / "orientation.yaml", tmp_path / "orientation.yaml")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.yaml").write_text(breakage, encoding="utf-8")
    with pytest.raises(FlowError):
        load_tests(tmp_path / "tests" / "t.yaml")


def _misspelt_text_name(flow: dict[str, Any]) -> None:
    flow["messages"] = {"unknwon_label": "Je ne sais pas"}


def _unknown_setting(flow: dict[str, Any]) -> None:
    flow["settings"]["max_miss"] = 3


def _step_named_ended(flow: dict[str, Any]) -> None:
    flow["steps"]["ended"] = flow["steps"].pop("fin")


def _step_name_with_a_dot(flow: dict[str, Any]) -> None:
    flow["steps"]["rappel.consent"] = {"say": "Bonjour", "end": True}


def _question_without_next_but_button_gotos(flow: dict[str, Any]) -> None:
    step = flow["steps"]["connexion"]
    del step["next"]
    for choice in step["choices"]:
        choice["goto"] = "attitude"  # "Je ne sais pas" has no goto: the engine finds no next step


def _goto_on_a_several_choice_button(flow: dict[str, Any]) -> None:
    flow["steps"]["appareils"]["choices"][0]["goto"] = "attitude"  # ignored: the answer is a set


@pytest.mark.parametrize(
    "breakage",
    [
        _misspelt_text_name,
        _unknown_setting,
        _step_named_ended,
        _step_name_with_a_dot,
        _question_without_next_but_button_gotos,
        _goto_on_a_several_choice_button,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_schema_flags_flow_mistakes_the_loader_lets_through(breakage: Any) -> None:
    """Mistakes the loader lets through: typos it ignores, names the engine reserves, gotos that fail at run time."""
    flow = copy.deepcopy(shipped("orientation.yaml"))
    breakage(flow)
    assert errors("flow", flow) != []


def test_schema_flags_persona_rule_keys_the_loader_ignores() -> None:
    """`unless` or any other extra key in a persona rule is flagged (the personas loader silently ignores it)."""
    personas = copy.deepcopy(shipped("personas.yaml"))
    personas["personas"]["timide"]["rules"][0]["unless"] = {"attitude": "refuses"}
    assert any("unless" in message for message in errors("personas", personas))


def test_messages_file_with_unknown_key_is_rejected() -> None:
    """A misspelt text name in messages.yaml is flagged by the schema (the loader would silently ignore it)."""
    messages = copy.deepcopy(shipped("messages.yaml"))
    messages["messages"]["unknwon_label"] = messages["messages"].pop("unknown_label")
    assert any("unknwon_label" in message for message in errors("messages", messages))


# ----- no silent drift between the schemas and the code ----------------------------------------------------


def test_flow_schema_slots_and_values_equal_the_code() -> None:
    """The flow schema's slot names, per-slot button values, several-choice flags and conditions equal SLOTS."""
    defs = schema("flow")["$defs"]
    ask = defs["askStep"]
    assert ask["properties"]["ask"]["enum"] == list(SLOTS)
    per_slot = {rule["if"]["properties"]["ask"]["const"]: rule["then"] for rule in ask["allOf"] if "if" in rule}
    assert list(per_slot) == list(SLOTS)
    for name, spec in SLOTS.items():
        then = per_slot[name]
        values = then["properties"].get("choices", {}).get("items", {}).get("properties", {}).get("value", {})
        assert tuple(values.get("enum", ())) == spec.values, name
        assert then["properties"]["multi"] == {"const": spec.multi}, name
        assert ("multi" in then["required"]) == spec.multi, name
        assert ("input" in then["required"]) == (not spec.values), name
        assert ("unknown" in then["properties"]) == spec.unknown_allowed, name
    for name in ("flow", "personas"):
        condition = schema(name)["$defs"]["condition"]
        assert condition["propertyNames"]["enum"] == list(SLOTS)
        assert list(condition["properties"]) == list(SLOTS)
        for slot, spec in SLOTS.items():
            one = condition["properties"][slot]["oneOf"][0]
            assert one.get("enum", [*spec.values, "unknown", "missing"]) == [*spec.values, "unknown", "missing"]
            assert ("enum" in one) == bool(spec.values), slot


def test_flow_schema_keys_actions_and_inputs_equal_the_code() -> None:
    """The flow schema's actions, input kinds and allowed keys (file, steps, choices, rules) equal the loader's."""
    flow = schema("flow")
    defs = flow["$defs"]
    assert defs["actionStep"]["properties"]["action"]["enum"] == list(ACTIONS)
    assert defs["askStep"]["properties"]["input"]["enum"] == list(INPUT_KINDS)
    assert set(flow["properties"]) == FLOW_KEYS
    for kind, keys in STEP_KEYS.items():
        assert set(defs[f"{kind}Step"]["properties"]) == keys, kind
        assert defs[f"{kind}Step"]["additionalProperties"] is False
    assert set(defs["choice"]["properties"]) == CHOICE_KEYS
    assert set(defs["rule"]["properties"]) == RULE_KEYS


def test_messages_schemas_list_exactly_the_required_messages() -> None:
    """The text names offered by the flow and messages schemas are exactly REQUIRED_MESSAGES."""
    for name in ("flow", "messages"):
        assert list(schema(name)["$defs"]["messages"]["properties"]) == list(REQUIRED_MESSAGES), name


def test_personas_schema_equals_the_code() -> None:
    """The personas schema's ids, keys, urgencies, solutions, services, support modes and preferences equal the code."""
    loaded = schema("personas")
    personas = loaded["properties"]["personas"]
    assert list(personas["properties"]) == list(PERSONA_IDS)
    assert personas["propertyNames"]["enum"] == list(PERSONA_IDS)
    assert personas["required"] == list(PERSONA_IDS)
    persona = loaded["$defs"]["persona"]["properties"]
    assert set(persona) == PERSONA_KEYS
    assert persona["urgency"]["enum"] == list(URGENCY_RANK)
    assert persona["solutions"]["items"]["enum"] == list(SOLUTION_TYPES)
    preferences = persona["preferences"]["properties"]
    assert set(preferences) == PREFERENCE_KEYS
    assert preferences["services"]["items"]["enum"] == list(SERVICES)
    assert preferences["modalites_accompagnement"]["items"]["enum"] == list(SUPPORT_MODES)


def test_tests_schema_expectations_equal_the_code() -> None:
    """The conversation-test schema's expectation keys, persona ids and slot names equal the code's."""
    expect = schema("tests")["$defs"]["expect"]["properties"]
    assert set(expect) == EXPECT_KEYS
    assert expect["persona"]["enum"] == [*PERSONA_IDS, None]
    assert expect["slot"]["enum"] == [*SLOTS, None]
