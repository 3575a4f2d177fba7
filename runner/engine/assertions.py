"""Assertions: the ten operators of `expect`, each evaluated and recorded with expected and actual.

`steps.py` renders an expectation's path and expected value (`Check`), then calls `evaluate` on every
attempt's result; every check is evaluated, never stopping at the first mismatch, so a report lists
them all. Paths are JMESPath over the action's result; a path that finds nothing gives `null`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jmespath

from runner.engine.record import AssertionRecord
from runner.schema import OPERATORS
from runner.value_checks import jmespath_problem


@dataclass(frozen=True)
class Check:
    """An expectation with its templates rendered, ready to evaluate."""

    path: str
    operator: str
    expected: Any
    message: str | None = None
    location: str = ""


class CheckError(ValueError):
    """An expectation that cannot be evaluated whatever the result (bad regex, bad JMESPath)."""


@functools.lru_cache(maxsize=2048)
def _compiled_path(path: str) -> Any:
    return jmespath.compile(path)


def actual_value(path: str, result: Any) -> Any:
    return _compiled_path(path).search(result)


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
        lines.append(f"{indent}{check['path']} {check['operator']}: expected {render(check['expected'])}, "
                     f"actual {render(check['actual'])}")
        if check.get("message"):
            lines.append(f"{indent}{hint}{check['message']}")
    return lines


def show(value: Any, limit: int = 120) -> str:
    """A short, unambiguous rendering of a value for messages ('text' quoted, null, true)."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def same(actual: Any, expected: Any) -> bool:
    """Equality as a lab author means it: 1 == 1.0, and "403" == 403 (a rendered template is text)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        if isinstance(actual, bool) and isinstance(expected, bool):
            return actual == expected
        other = expected if isinstance(actual, bool) else actual
        flag = actual if isinstance(actual, bool) else expected
        return isinstance(other, str) and other.strip().lower() == ("true" if flag else "false")
    if actual == expected:
        return True
    if isinstance(actual, str) != isinstance(expected, str):
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and a == e
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in actual)
    return False


def _contains(actual: Any, expected: Any) -> tuple[bool, str]:
    if isinstance(actual, str):
        return str(expected) in actual, f"{show(actual)} does not contain {show(expected)}"
    if isinstance(actual, list):
        if isinstance(expected, Mapping):  # a list of records contains one with these fields
            found = any(isinstance(item, Mapping) and _subset(item, expected) for item in actual)
        else:
            found = any(same(item, expected) for item in actual)
        return found, f"{show(expected)} is not among {show(actual)}"
    if isinstance(actual, Mapping):
        if isinstance(expected, Mapping):
            return _subset(actual, expected), f"{show(actual)} does not include {show(expected)}"
        return str(expected) in actual, f"{show(actual)} has no key {show(expected)}"
    return False, f"{show(actual)} is not a string, list or mapping"


def _subset(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    return all(key in actual and same(actual[key], value) for key, value in expected.items())


def _flag(expected: Any) -> bool:
    if isinstance(expected, str):
        return expected.strip().lower() in ("true", "yes", "1")
    return bool(expected)


def _compare(actual: Any, expected: Any, wanted: Callable[[Any, Any], bool], word: str) -> tuple[bool, str]:
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        return wanted(a, e), f"{show(actual)} is not {word} {show(expected)}"
    if isinstance(actual, str) and isinstance(expected, str):  # ISO 8601 times compare as text
        return wanted(actual, expected), f"{show(actual)} is not {word} {show(expected)}"
    return False, f"cannot compare {show(actual)} with {show(expected)}"


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CheckError(f"regex {pattern!r} does not compile: {exc}") from None


def _test(operator: str, actual: Any, expected: Any) -> tuple[bool, str, Any]:
    """(passed, why not, the actual value to record)."""
    if operator == "equals":
        return same(actual, expected), f"expected {show(expected)}, got {show(actual)}", actual
    if operator == "not_equals":
        return not same(actual, expected), f"expected anything but {show(expected)}", actual
    if operator == "contains":
        ok, why = _contains(actual, expected)
        return ok, why, actual
    if operator == "not_contains":
        if actual is None:
            return True, "", actual
        ok, _ = _contains(actual, expected)
        return not ok, f"{show(actual)} contains {show(expected)}", actual
    if operator == "matches":
        if actual is None:
            return False, f"nothing at this path to match {show(expected)}", actual
        text = actual if isinstance(actual, str) else show(actual)
        return _regex(str(expected)).search(text) is not None, f"{show(actual)} does not match {show(expected)}", actual
    if operator == "one_of":
        options = expected if isinstance(expected, list) else [expected]
        return any(same(actual, o) for o in options), f"{show(actual)} is not one of {show(options)}", actual
    if operator == "exists":
        present = actual is not None
        want = _flag(expected)
        return present == want, ("nothing at this path" if want else f"found {show(actual)}"), present
    if operator == "length":
        if not isinstance(actual, (str, list, Mapping)):
            return False, f"{show(actual)} has no length", None
        size = len(actual)
        return same(size, expected), f"expected length {show(expected)}, got {size}", size
    if operator == "greater_than":
        ok, why = _compare(actual, expected, lambda a, e: a > e, "greater than")
        return ok, why, actual
    if operator == "less_than":
        ok, why = _compare(actual, expected, lambda a, e: a < e, "less than")
        return ok, why, actual
    raise CheckError(f"unknown operator '{operator}'")


def evaluate(check: Check, result: Any) -> AssertionRecord:
    """Evaluate one check against a result. `exists` records true/false, `length` the length found."""
    actual = actual_value(check.path, result)
    passed, why, recorded = _test(check.operator, actual, check.expected)
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
    """Why a rendered check cannot be evaluated at all, or None (the path compiles, a regex compiles)."""
    problem = jmespath_problem(check.path)
    if problem:
        return f"JMESPath {problem}"
    if check.operator == "matches":
        try:
            _regex(str(check.expected))
        except CheckError as exc:
            return str(exc)
    if check.operator not in OPERATORS:
        return f"unknown operator '{check.operator}'"
    return None
