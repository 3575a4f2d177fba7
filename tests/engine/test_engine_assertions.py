"""Every operator of `expect`, passing and failing, with what the record keeps as actual."""

from __future__ import annotations

import pytest

from runner.engine.assertions import Check, evaluate, evaluate_all, validate
from runner.operators import OPERATORS

RESULT = {
    "KeyMetadata": {"KeyState": "Enabled", "Enabled": True, "Description": "KMS Key for S3 data"},
    "Aliases": [{"AliasName": "alias/a"}, {"AliasName": "alias/b"}],
    "count": 3,
    "status": 403,
    "Created": "2026-03-01T12:00:00+00:00",
    "Tags": {"lab": "features"},
}


CASES = [
    # operator, path, expected, passes
    ("equals", "KeyMetadata.KeyState", "Enabled", True),
    ("equals", "KeyMetadata.KeyState", "Disabled", False),
    ("equals", "status", "403", True),  # a rendered template is text
    ("equals", "KeyMetadata.Enabled", "true", True),
    ("equals", "count", 3.0, True),
    ("not_equals", "KeyMetadata.KeyState", "Disabled", True),
    ("not_equals", "KeyMetadata.KeyState", "Enabled", False),
    ("contains", "KeyMetadata.Description", "S3", True),
    ("contains", "Aliases[].AliasName", "alias/b", True),
    ("contains", "Aliases", {"AliasName": "alias/a"}, True),
    ("contains", "Tags", "lab", True),
    ("contains", "Aliases[].AliasName", "alias/c", False),
    ("contains", "missing", "x", False),
    ("not_contains", "Aliases[].AliasName", "alias/c", True),
    ("not_contains", "Aliases[].AliasName", "alias/a", False),
    ("not_contains", "missing", "x", True),
    ("matches", "KeyMetadata.Description", "^KMS .* data$", True),
    ("matches", "KeyMetadata.Description", "^S3", False),
    ("matches", "missing", ".*", False),
    ("one_of", "KeyMetadata.KeyState", ["Enabled", "Creating"], True),
    ("one_of", "KeyMetadata.KeyState", ["PendingDeletion", "Disabled"], False),
    ("exists", "KeyMetadata.KeyState", True, True),
    ("exists", "KeyMetadata.KmsKeyId", False, True),
    ("exists", "KeyMetadata.KmsKeyId", True, False),
    ("exists", "KeyMetadata", "false", False),
    ("length", "Aliases", 2, True),
    ("length", "Aliases", "2", True),
    ("length", "Aliases", 3, False),
    ("length", "count", 1, False),
    ("greater_than", "count", 2, True),
    ("greater_than", "count", "3", False),
    ("greater_than", "Created", "2026-01-01T00:00:00Z", True),
    ("greater_than", "KeyMetadata", 1, False),
    ("less_than", "count", 10, True),
    ("less_than", "count", 3, False),
]


@pytest.mark.parametrize(("operator", "path", "expected", "passes"), CASES)
def test_operator(operator: str, path: str, expected: object, passes: bool) -> None:
    record = evaluate(Check(path, operator, expected, "hint", "lab.yaml:3:5"), RESULT)
    assert record.passed is passes
    assert record.operator == operator and record.path == path and record.expected == expected
    assert record.location == "lab.yaml:3:5" and record.message == "hint"
    assert (record.detail == "") is passes


def test_every_operator_is_covered() -> None:
    assert {case[0] for case in CASES} == set(OPERATORS)


def test_actual_is_recorded() -> None:
    assert evaluate(Check("KeyMetadata.KeyState", "equals", "Disabled"), RESULT).actual == "Enabled"
    assert evaluate(Check("Aliases", "length", 5), RESULT).actual == 2  # the length found
    assert evaluate(Check("nothing", "exists", True), RESULT).actual is False
    failed = evaluate(Check("KeyMetadata.KeyState", "equals", "Disabled"), RESULT)
    assert failed.detail == "expected 'Disabled', got 'Enabled'"


def test_all_are_evaluated_not_just_the_first_mismatch() -> None:
    checks = (Check("count", "equals", 1), Check("status", "equals", 500), Check("count", "equals", 3))
    records = evaluate_all(checks, RESULT)
    assert [r.passed for r in records] == [False, False, True]


def test_validate_catches_what_only_rendering_reveals() -> None:
    assert validate(Check("a[", "equals", 1)) is not None
    assert "does not compile" in (validate(Check("a", "matches", "([")) or "")
    assert validate(Check("a", "matches", "^ok$")) is None
