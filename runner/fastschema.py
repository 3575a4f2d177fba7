"""A yes/no JSON Schema check, compiled once, for the common case: a lab that is valid.

jsonschema evaluates a schema keyword by keyword, building a validator object at every level, so that
it can say what is wrong and where. Most labs are valid, and for them that machinery is most of the
time spent validating (a third of `labrunner run`'s start on the KMS lab). `compile_schema` turns a
schema into nested Python closures that only answer "valid?"; the validator asks jsonschema for the
errors only when the answer is no (`value_checks.SchemaCheck`), so every message is still jsonschema's.

It knows the keywords the lab and action schemas use (`SUPPORTED`), with Draft 2020-12's meaning;
`compile_schema` returns None for a schema with any other keyword, and the caller then uses
jsonschema alone. A property test checks that both agree on thousands of generated labs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that only annotate: they never make a value invalid.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
                          "errorMessage", "deprecated", "readOnly", "writeOnly"})
SUPPORTED = _ANNOTATIONS | {
    "type", "enum", "const", "properties", "additionalProperties", "required", "propertyNames", "minProperties",
    "maxProperties", "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern",
    "minimum", "maximum", "anyOf", "oneOf", "allOf", "not", "if", "then", "else", "$ref",
}


class _Unsupported(Exception):
    pass


def compile_schema(schema: Any) -> Check | None:
    """A function telling whether a value is valid against `schema`; None if the schema uses a keyword
    outside `SUPPORTED` (or a `$ref` other than `#/$defs/name`)."""
    try:
        return _Compiler(schema).compile(schema)
    except _Unsupported:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    # 2020-12: a number with a zero fractional part is an integer (1.0 is), a boolean is not.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": _is_integer,
}


def json_equal(one: Any, other: Any) -> bool:
    """Equality as JSON Schema means it (`enum`, `const`, `uniqueItems`): true is not 1, 1 is 1.0."""
    if isinstance(one, bool) or isinstance(other, bool):
        return isinstance(one, bool) and isinstance(other, bool) and one == other
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(json_equal(one[k], other[k]) for k in one)
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(json_equal(a, b) for a, b in zip(one, other, strict=True))
    if _is_number(one) and _is_number(other):
        return bool(one == other)
    return type(one) is type(other) and bool(one == other)


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.made: dict[int, Check] = {}  # schemas are compiled once each: inlined `$ref`s make cycles

    def compile(self, schema: Any) -> Check:
        if schema is True or schema == {}:
            return lambda _: True
        if schema is False:
            return lambda _: False
        if not isinstance(schema, Mapping):
            raise _Unsupported(schema)
        key = id(schema)
        if key in self.made:
            return self.made[key]
        checks: list[Check] = []

        def check(value: Any) -> bool:
            return all(one(value) for one in checks)

        self.made[key] = check  # before compiling the parts, so a cycle finds it
        unknown = schema.keys() - SUPPORTED
        if unknown:
            raise _Unsupported(unknown)
        for keyword, value in schema.items():
            if keyword not in _ANNOTATIONS and keyword not in ("then", "else", "additionalProperties"):
                checks.append(self._keyword(keyword, value, schema))
        if "additionalProperties" in schema:
            checks.append(self._additional(schema))
        return check

    def _keyword(self, keyword: str, value: Any, schema: Mapping[str, Any]) -> Check:
        if keyword == "type":
            tests = [_TYPES[name] for name in ([value] if isinstance(value, str) else value)]
            return lambda v: any(test(v) for test in tests)
        if keyword == "enum":
            options = list(value)
            return lambda v: any(json_equal(v, option) for option in options)
        if keyword == "const":
            return lambda v: json_equal(v, value)
        if keyword == "properties":
            parts = [(name, self.compile(sub)) for name, sub in value.items()]
            return lambda v: not isinstance(v, dict) or all(name not in v or sub(v[name]) for name, sub in parts)
        if keyword == "required":
            names = list(value)
            return lambda v: not isinstance(v, dict) or all(name in v for name in names)
        if keyword == "propertyNames":
            sub = self.compile(value)
            return lambda v: not isinstance(v, dict) or all(sub(name) for name in v)
        if keyword in ("minProperties", "maxProperties", "minItems", "maxItems", "minLength", "maxLength"):
            kind = dict if keyword.endswith("Properties") else list if keyword.endswith("Items") else str
            least = keyword.startswith("min")
            return lambda v: not isinstance(v, kind) or (len(v) >= value if least else len(v) <= value)
        if keyword == "items":
            sub = self.compile(value)
            return lambda v: not isinstance(v, list) or all(sub(item) for item in v)
        if keyword == "uniqueItems":
            if not value:
                return lambda _: True
            return lambda v: not isinstance(v, list) or not any(
                json_equal(v[i], v[j]) for i in range(len(v)) for j in range(i + 1, len(v)))
        if keyword == "pattern":
            pattern = re.compile(value)
            return lambda v: not isinstance(v, str) or pattern.search(v) is not None
        if keyword == "minimum":
            return lambda v: not _is_number(v) or v >= value
        if keyword == "maximum":
            return lambda v: not _is_number(v) or v <= value
        if keyword in ("anyOf", "oneOf", "allOf"):
            subs = [self.compile(sub) for sub in value]
            if keyword == "anyOf":
                return lambda v: any(sub(v) for sub in subs)
            if keyword == "allOf":
                return lambda v: all(sub(v) for sub in subs)
            return lambda v: sum(1 for sub in subs if sub(v)) == 1
        if keyword == "not":
            sub = self.compile(value)
            return lambda v: not sub(v)
        if keyword == "if":
            condition = self.compile(value)
            then = self.compile(schema.get("then", True))
            otherwise = self.compile(schema.get("else", True))
            return lambda v: then(v) if condition(v) else otherwise(v)
        if keyword == "$ref":
            return self._ref(value)
        raise _Unsupported(keyword)

    def _additional(self, schema: Mapping[str, Any]) -> Check:
        known = frozenset(schema.get("properties") or {})
        sub = self.compile(schema["additionalProperties"])
        return lambda v: not isinstance(v, dict) or all(sub(v[name]) for name in v if name not in known)

    def _ref(self, reference: Any) -> Check:
        prefix = "#/$defs/"
        definitions = self.root.get("$defs") if isinstance(self.root, Mapping) else None
        if not isinstance(reference, str) or not reference.startswith(prefix) or not isinstance(definitions, Mapping):
            raise _Unsupported(reference)
        name = reference[len(prefix):]
        if name not in definitions:
            raise _Unsupported(reference)
        target = definitions[name]
        resolved: list[Check] = []

        def check(value: Any) -> bool:
            if not resolved:  # compiled on first use: a definition may refer to itself
                resolved.append(self.compile(target))
            return resolved[0](value)

        return check
