"""The operators of `expect`, as one table: each names what it asserts, tests a value at run time, gives
the JSON Schema of what a lab writes for it and, where some values can never work, says why.

A leaf module. The lab schema (`runner.schema`) takes each operator's schema and sentence from
`OPERATORS`; the validator (`runner.validate`) applies an operator's `problem` to the values a lab writes,
and the engine (`runner.engine.assertions`) to rendered ones, before running its `test` on every
attempt's result. A new operator is one entry here, beside its code, and a case in its tests.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import gt, lt
from typing import Any

#: What a test says: passed, why not (for the record and the terminal), and the actual value to record.
Verdict = tuple[bool, str, Any]

#: The lab schema's `{{ expression }}` string: a value that is only known once rendered.
_TEMPLATE = {"$ref": "#/$defs/template"}
_REGEX_HINT = "fix the pattern (quote it in YAML and escape backslashes)"


class CheckError(ValueError):
    """An expectation that cannot be evaluated whatever the result (an unknown operator, a bad regex)."""


@dataclass(frozen=True)
class Operator:
    """One operator of `expect`."""

    name: str
    asserts: str  # what a passing check asserts, in one sentence (the schema's description of it)
    test: Callable[[Any, Any], Verdict]  # (actual, expected) -> verdict
    schema: Mapping[str, Any] = field(default_factory=dict)  # of the expected value; may $ref the lab schema's $defs
    problem: Callable[[Any], tuple[str, str] | None] | None = None  # why an expected value can never work, and the fix
    rule: str = "operator"  # the rule a `problem` is reported under

    def json_schema(self) -> dict[str, Any]:
        """The schema of this operator's key in an expectation."""
        return {**copy.deepcopy(dict(self.schema)), "description": self.asserts}


# ---- how values compare


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


def _subset(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    return all(key in actual and same(actual[key], value) for key, value in expected.items())


def _flag(expected: Any) -> bool:
    if isinstance(expected, str):
        return expected.strip().lower() in ("true", "yes", "1")
    return bool(expected)


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | str:
    """The compiled pattern, or why it does not compile."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        return f"regex does not compile: {exc}"


# ---- the operators' tests


def _equals(actual: Any, expected: Any) -> Verdict:
    return same(actual, expected), f"expected {show(expected)}, got {show(actual)}", actual


def _not_equals(actual: Any, expected: Any) -> Verdict:
    return not same(actual, expected), f"expected anything but {show(expected)}", actual


def _contains(actual: Any, expected: Any) -> Verdict:
    if isinstance(actual, str):
        return str(expected) in actual, f"{show(actual)} does not contain {show(expected)}", actual
    if isinstance(actual, list):
        if isinstance(expected, Mapping):  # a list of records contains one with these fields
            found = any(isinstance(item, Mapping) and _subset(item, expected) for item in actual)
        else:
            found = any(same(item, expected) for item in actual)
        return found, f"{show(expected)} is not among {show(actual)}", actual
    if isinstance(actual, Mapping):
        if isinstance(expected, Mapping):
            return _subset(actual, expected), f"{show(actual)} does not include {show(expected)}", actual
        return str(expected) in actual, f"{show(actual)} has no key {show(expected)}", actual
    return False, f"{show(actual)} is not a string, list or mapping", actual


def _not_contains(actual: Any, expected: Any) -> Verdict:
    if actual is None:
        return True, "", actual
    found, _, _ = _contains(actual, expected)
    return not found, f"{show(actual)} contains {show(expected)}", actual


def _matches(actual: Any, expected: Any) -> Verdict:
    if actual is None:
        return False, f"nothing at this path to match {show(expected)}", actual
    pattern = _regex(str(expected))
    if isinstance(pattern, str):
        raise CheckError(pattern)
    text = actual if isinstance(actual, str) else show(actual)
    return pattern.search(text) is not None, f"{show(actual)} does not match {show(expected)}", actual


def _regex_problem(expected: Any) -> tuple[str, str] | None:
    pattern = _regex(str(expected))
    return (pattern, _REGEX_HINT) if isinstance(pattern, str) else None


def _one_of(actual: Any, expected: Any) -> Verdict:
    options = expected if isinstance(expected, list) else [expected]
    return any(same(actual, o) for o in options), f"{show(actual)} is not one of {show(options)}", actual


def _exists(actual: Any, expected: Any) -> Verdict:
    present = actual is not None
    want = _flag(expected)
    return present == want, ("nothing at this path" if want else f"found {show(actual)}"), present


def _length(actual: Any, expected: Any) -> Verdict:
    if not isinstance(actual, (str, list, Mapping)):
        return False, f"{show(actual)} has no length", None
    size = len(actual)
    return same(size, expected), f"expected length {show(expected)}, got {size}", size


def _compare(wanted: Callable[[Any, Any], bool], word: str) -> Callable[[Any, Any], Verdict]:
    def test(actual: Any, expected: Any) -> Verdict:
        a, e = _number(actual), _number(expected)
        if a is not None and e is not None:
            return wanted(a, e), f"{show(actual)} is not {word} {show(expected)}", actual
        if isinstance(actual, str) and isinstance(expected, str):  # ISO 8601 times compare as text
            return wanted(actual, expected), f"{show(actual)} is not {word} {show(expected)}", actual
        return False, f"cannot compare {show(actual)} with {show(expected)}", actual

    return test


# ---- the table


#: Every operator, by name, in the order the schema and messages list them.
OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("equals", 'The value at the path equals this one: 1 equals 1.0, and "403" equals 403.', _equals),
    Operator("not_equals", "The value at the path is anything but this one (compared as equals compares).",
             _not_equals),
    Operator("contains", "A string contains this text; a list holds this item (or a mapping with these "
             "fields); a mapping has this key (or these fields).", _contains),
    Operator("not_contains", "The value does not contain this, as contains means it; nothing at the path "
             "passes too.", _not_contains),
    Operator("matches", "The value, as text, matches this regular expression (Python syntax, searched "
             "anywhere in it).", _matches, {"type": "string"}, problem=_regex_problem, rule="regex"),
    Operator("one_of", "The value at the path equals one of these.", _one_of,
             {"anyOf": [{"type": "array"}, _TEMPLATE]}),
    Operator("exists", "true: something is at the path; false: nothing is.", _exists, {"type": "boolean"}),
    Operator("length", "The string, list or mapping at the path has this many characters, items or keys.",
             _length, {"anyOf": [{"type": "integer", "minimum": 0}, _TEMPLATE]}),
    Operator("greater_than", "The number at the path is greater than this one; two texts (ISO 8601 times) "
             "compare as text.", _compare(gt, "greater than")),
    Operator("less_than", "The number at the path is less than this one; two texts (ISO 8601 times) compare "
             "as text.", _compare(lt, "less than")),
)}
