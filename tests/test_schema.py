"""The committed lab JSON Schema: generated from the registry, current, valid, and true to the labs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from runner import registry
from runner.loader import load_file
from runner.operators import OPERATORS
from runner.schema import generate, lean, params_schema, render_json

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "schemas" / "lab.schema.json"
LABS = sorted((ROOT / "labs").glob("*.yaml")) + sorted((ROOT / "tests" / "data" / "valid").glob("*.yaml"))


def test_committed_schema_is_current() -> None:
    assert COMMITTED.read_text() == render_json(), (
        "schemas/lab.schema.json is stale: run `labrunner schema > schemas/lab.schema.json` and commit it")


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(COMMITTED.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_higher_level_action_is_in_the_schema() -> None:
    schema = generate()
    step = schema["$defs"]["step"]
    assert step["properties"]["action"]["anyOf"][0]["enum"] == list(registry.builtin_actions())
    branches = {b["if"]["properties"]["action"]["const"] for b in step["allOf"]}
    assert branches == set(registry.builtin_actions())
    assert set(OPERATORS) <= set(schema["$defs"]["expectation"]["properties"])


@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_valid_labs_validate_against_the_plain_schema(lab: Path) -> None:
    """What an editor's YAML language server does with the modeline: plain jsonschema, no labrunner."""
    doc = load_file(str(lab))
    schema = json.loads(COMMITTED.read_text())
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc.data)]
    assert not errors
    assert lab.read_text().startswith("# yaml-language-server: $schema="), "labs carry the schema modeline"
    modeline = lab.read_text().splitlines()[0].split("$schema=", 1)[1]
    assert (lab.parent / modeline).resolve() == COMMITTED


def test_the_lean_validator_schema_keeps_every_definition() -> None:
    full, fast = generate(), lean()
    assert set(fast["$defs"]) == set(full["$defs"])
    assert fast["required"] == full["required"] and set(fast["properties"]) == set(full["properties"])
    jsonschema.Draft202012Validator.check_schema(params_schema("http.request"))


def test_schema_catches_what_an_editor_should_show() -> None:
    validator = jsonschema.Draft202012Validator(generate())
    bad = {"lab": "x", "title": "t", "tasks": [{"id": "a", "title": "b", "steps": [
        {"action": "s3.empty_bucket", "params": {"buckt": "b"}},
        {"action": "aws.kms.create_key", "retry": {"timeout": "soon"}},
    ]}]}
    messages = " | ".join(e.message for e in validator.iter_errors(bad))
    assert "buckt" in messages or "bucket" in messages
    templated = {"lab": "x", "title": "t", "tasks": [{"id": "a", "title": "b", "checks": [
        {"action": "http.request", "params": {"url": "{{ u }}", "timeout": "{{ t }}"}}]}]}
    assert not list(validator.iter_errors(templated))
