"""The operator table: the schema, the validator and the engine all read it, so an operator is one entry.

Each operator's own cases (passing, failing, what is recorded) are in tests/engine/test_engine_assertions.py.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from runner.engine.assertions import Check, evaluate
from runner.engine.assertions import validate as check_rendered
from runner.errors import Problem
from runner.operators import OPERATORS, Operator, Verdict, same, show
from runner.schema import generate, lean
from runner.validate import schema_errors, validate_text


def test_every_operator_is_in_the_schema_as_the_table_has_it() -> None:
    expectation = generate()["$defs"]["expectation"]
    for name, operator in OPERATORS.items():
        assert expectation["properties"][name] == operator.json_schema()
        assert expectation["properties"][name]["description"] == operator.asserts
        assert {"required": [name]} in expectation["oneOf"]
        assert name in expectation["errorMessage"]
    assert set(expectation["properties"]) == {"path", "message", *OPERATORS}


def problems(expectation: str) -> list[Problem]:
    """What the validator says of a lab whose one check has this expectation."""
    _, found = validate_text(textwrap.dedent(f"""\
        lab: demo
        title: Demo
        tasks:
          - id: t
            title: T
            checks:
              - action: aws.kms.list_aliases
                expect: [{expectation}]
        """))
    return found


def test_a_value_that_can_never_work_is_worded_once_for_the_validator_and_the_engine() -> None:
    unusable = OPERATORS["matches"].problem
    assert unusable is not None
    message, hint = unusable("([") or ("", "")
    assert [(p.message, p.hint, p.rule) for p in problems('{path: Keys, matches: "(["}')] == [(message, hint, "regex")]
    assert check_rendered(Check("Keys", "matches", "([")) == f"matches '([': {message}"


def _starts_with(actual: Any, expected: Any) -> Verdict:
    return isinstance(actual, str) and actual.startswith(expected), f"{show(actual)} does not start so", actual


@pytest.fixture
def starts_with(monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    """An operator added the way a new one is: one entry in the table, nothing else."""
    operator = Operator("starts_with", "The text at the path starts with this.", _starts_with, {"type": "string"},
                        problem=lambda expected: ("starts_with needs some text", "write the start") if expected == ""
                        else None)
    monkeypatch.setitem(OPERATORS, operator.name, operator)
    schema_errors.lab_check.cache_clear()  # the lab schema, compiled once per process
    yield operator
    monkeypatch.undo()
    schema_errors.lab_check.cache_clear()


def test_a_new_operator_is_one_entry_in_the_table(starts_with: Operator) -> None:
    assert generate()["$defs"]["expectation"]["properties"]["starts_with"] == starts_with.json_schema()
    assert lean()["$defs"]["expectation"]["properties"]["starts_with"] == starts_with.json_schema()

    def messages(value: str) -> list[str]:
        return [p.message for p in problems(f'{{path: "Aliases[0].AliasName", starts_with: {value}}}')]

    assert messages("alias/") == []
    assert messages("3") == ["'starts_with' must be a string, not number"]  # its schema
    assert messages('""') == ["starts_with needs some text"]  # its problem, at validation
    assert messages('"{{ run.id }}"') == []  # a template is checked once rendered
    assert check_rendered(Check("a", "starts_with", "")) == "starts_with '': starts_with needs some text"
    assert check_rendered(Check("a", "starts_with", "ar")) is None
    assert evaluate(Check("a", "starts_with", "ar"), {"a": "arn"}).passed
    assert not evaluate(Check("a", "starts_with", "x"), {"a": "arn"}).passed


def test_same_and_show() -> None:
    assert same([1, "2"], [1.0, 2]) and same({"a": 1}, {"a": "1"})
    assert not same(True, 1) and not same("yes", True) and same("True", True)
    assert show(None) == "null" and show("x") == "'x'" and show([1]) == "[1]"
    assert show("y" * 500).endswith("...")
