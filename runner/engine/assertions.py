"""Assertions: each expectation of a step evaluated by its operator (`runner.operators`) and recorded with
expected and actual.

`steps.py` renders an expectation's path and expected value (`Check`), checks it once (`validate`), then
calls `evaluate` on every attempt's result; every check is evaluated, never stopping at the first
mismatch, so a report lists them all. Paths are JMESPath over the action's result; a path that finds
nothing gives `null`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jmespath import exceptions

from runner import jmes
from runner.engine.record import AssertionRecord
from runner.operators import OPERATORS, CheckError, show
from runner.value_checks import jmespath_problem

#: How an expectation whose path failed on this result begins its `detail` (a type error on a missing key).
PATH_FAILED = "the path failed: "


@dataclass(frozen=True)
class Check:
    """An expectation with its templates rendered, ready to evaluate."""

    path: str
    operator: str
    expected: Any
    message: str | None = None
    location: str = ""


def actual_value(path: str, result: Any) -> Any:
    """The value of a path over a result; raises jmespath's `JMESPathError` when the path fails on it."""
    return jmes.search(path, result)


def path_failure(error: exceptions.JMESPathError) -> str:
    """What a path that failed on a result says, with the fix for its most common cause."""
    text = str(error)
    return f"{text}; {jmes.NULL_HINT}" if 'received: "null"' in text else text


def show_json(value: Any, limit: int | None = None) -> str:
    """A value as JSON, for reports that tools and students read (JUnit, Gradescope)."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def failed_lines(assertions: Iterable[AssertionRecord | Mapping[str, Any]], *, indent: str = "",
                 hint: str = "  hint: ", render: Callable[[Any], str] | None = None) -> list[str]:
    """Each failed expectation as `path operator: expected X, actual Y`, then its hint on a line of its own.

    The one wording of a failure for the console, JUnit and Gradescope; `assertions` are records or
    their JSON (a report read back from a record file).
    """
    render = render or show
    lines = []
    for item in assertions:
        check = item if isinstance(item, Mapping) else dataclasses.asdict(item)
        if check["passed"]:
            continue
        detail = str(check.get("detail") or "")
        found = f"but {detail}" if detail.startswith(PATH_FAILED) else f"actual {render(check['actual'])}"
        lines.append(f"{indent}{check['path']} {check['operator']}: expected {render(check['expected'])}, {found}")
        if check.get("message"):
            lines.append(f"{indent}{hint}{check['message']}")
    return lines


def evaluate(check: Check, result: Any) -> AssertionRecord:
    """Evaluate one check against a result. `exists` records true/false, `length` the length found.

    A path that fails on this result (a function given null for a missing key) is a failed expectation,
    retried like any other: the next result may hold the key.
    """
    operator = OPERATORS.get(check.operator)
    if operator is None:
        raise CheckError(f"unknown operator '{check.operator}'")
    try:
        actual = actual_value(check.path, result)
    except exceptions.JMESPathError as error:
        return AssertionRecord(path=check.path, operator=check.operator, expected=check.expected, actual=None,
                               passed=False, detail=PATH_FAILED + path_failure(error), message=check.message,
                               location=check.location)
    passed, why, recorded = operator.test(actual, check.expected)
    return AssertionRecord(
        path=check.path,
        operator=check.operator,
        expected=check.expected,
        actual=recorded,
        passed=passed,
        detail="" if passed else why,
        message=check.message,
        location=check.location,
    )


def evaluate_all(checks: tuple[Check, ...], result: Any) -> tuple[AssertionRecord, ...]:
    return tuple(evaluate(check, result) for check in checks)


def validate(check: Check) -> str | None:
    """Why a rendered check cannot be evaluated at all, or None (the path compiles, the operator accepts
    the value: a `matches` regex compiles)."""
    problem = jmespath_problem(check.path)
    if problem:
        return f"JMESPath {problem}"
    operator = OPERATORS.get(check.operator)
    if operator is None:
        return f"unknown operator '{check.operator}'"
    unusable = operator.problem(check.expected) if operator.problem is not None else None
    return f"{operator.name} {show(check.expected)}: {unusable[0]}" if unusable else None
