"""JMESPath as a lab writes it: JMESPath's functions plus `from_json`, each expression compiled once,
checked before a run (syntax, function names and how many arguments each takes) and searched at run time.

A leaf module. The validator asks `problem` (through `value_checks`), the engine `search`es results for
`expect` paths and `save` (`engine.assertions`, `engine.steps`). jmespath.py compiles a call to a
function it does not have, and takes its arguments unchecked, until the expression runs: `problem`
walks the parsed expression so that `lower(@)` is a lab error, not a failure halfway through a run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import jmespath
from jmespath import exceptions, functions

from runner import json_text
from runner.errors import did_you_mean

#: What a run-time error in a path most often means, and the fix.
NULL_HINT = ("a key that is missing is null, and JMESPath's functions refuse null: give a default, for "
             "example length(Messages || `[]`)")


class LabFunctions(functions.Functions):  # type: ignore[misc]  # jmespath ships no type hints
    """JMESPath's functions, and `from_json`: the value of JSON held in a string (an SNS message in an SQS
    body, a policy document), null for null."""

    @functions.signature({"types": ["string", "null"]})  # type: ignore[untyped-decorator]
    def _func_from_json(self, text: str | None) -> Any:
        if text is None:
            return None
        try:
            return json_text.loads(text)
        except json_text.JSONNestingError as exc:
            raise exceptions.JMESPathError(f"from_json() was given {exc}") from None
        except ValueError as exc:
            raise exceptions.JMESPathError(f"from_json() was given text that is not JSON ({exc})") from None


OPTIONS = jmespath.Options(custom_functions=LabFunctions())
#: Every function a path may call: name -> (least, most) arguments; most is None for variadic ones.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    name: (len(entry["signature"]), None if entry["signature"] and entry["signature"][-1].get("variadic")
           else len(entry["signature"]))
    for name, entry in LabFunctions.FUNCTION_TABLE.items()
}


@functools.lru_cache(maxsize=4096)
def compiled(expression: str) -> Any:
    """jmespath's ParsedResult for `expression` (raises jmespath's errors)."""
    return jmespath.compile(expression)


def search(expression: str, data: Any) -> Any:
    """The value of `expression` over `data`; raises `exceptions.JMESPathError` (a type error, bad JSON)."""
    return compiled(expression).search(data, options=OPTIONS)


def _calls(node: Any) -> Iterator[tuple[str, int]]:
    """Every function call in a parsed expression: its name and how many arguments it is given."""
    if not isinstance(node, dict):
        return
    children = node.get("children") or []
    if node.get("type") == "function_expression":
        yield str(node.get("value")), len(children)
    for child in children:  # a literal's JSON is its `value`, never a child: it is not walked
        yield from _calls(child)


def _column(expression: str, name: str) -> int:
    found = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}\s*\(", expression)
    return found.start() + 1 if found else 1


@functools.lru_cache(maxsize=4096)
def problem(expression: str) -> tuple[str, str] | None:
    """Why `expression` cannot run: (what is wrong, quoting it with the column; how to fix it), or None."""
    try:
        parsed = compiled(expression)
    except exceptions.ParseError as exc:
        return (f"'{expression}' does not compile: {exc.msg} at column {exc.lex_position + 1}",
                "see https://jmespath.org for the syntax")
    except exceptions.JMESPathError as exc:
        return f"'{expression}' does not compile: {exc}", "see https://jmespath.org for the syntax"
    for name, given in _calls(parsed.parsed):
        column = _column(expression, name)
        if name not in FUNCTIONS:
            guess = did_you_mean(name, FUNCTIONS, cutoff=0.8)  # not `floor` for `lower`
            return (f"'{expression}' calls {name}(), which JMESPath does not have, at column {column}",
                    f"did you mean '{guess}'?" if guess else "JMESPath's functions: " + ", ".join(sorted(FUNCTIONS)))
        least, most = FUNCTIONS[name]
        if given < least or (most is not None and given > most):
            wanted = f"{least} or more" if most is None else str(least)
            return (f"'{expression}' gives {name}() {given} argument{'s' if given != 1 else ''}, but it takes "
                    f"{wanted}, at column {column}", "see https://jmespath.org/specification.html#built-in-functions")
    return None
