"""Layer 2 of validation: the lab JSON Schema, with jsonschema's errors turned into problems that name the
key, say how to fix it and guess what was meant.

The document is checked against `runner.schema.lean()` and each step's `params` against its own
action's schema (`value_checks.params_check`), each a compiled yes/no first; jsonschema's errors are
translated here, narrowing a failed `anyOf` to the branch the author meant. Problems go to the
`Reporter` (`reporter.py`); the meaning layer (`semantics.py`) runs next.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from runner import durations, registry, templates, value_checks
from runner.errors import brief, kind_of, suggestion
from runner.loader import Document
from runner.loader import Path as YamlPath
from runner.schema import (
    ERROR_CODE_PATTERN,
    ID_PATTERN,
    LAB_PATTERN,
    REGION_PATTERN,
    TEMPLATE_PATTERN,
    VAR_PATTERN,
    lean,
)
from runner.validate.reporter import Reporter

_SCHEMA_TYPES = {"string": "a string", "number": "a number", "integer": "a whole number", "boolean": "true or false",
                 "array": "a list", "object": "a mapping", "null": "null"}


def _what(path: YamlPath) -> str:
    """A human name for the mapping at `path`, for messages."""
    if not path:
        return "the lab"
    last = path[-1]
    if isinstance(last, int):
        parent = path[-2] if len(path) >= 2 else ""
        return {"tasks": "a task", "steps": "a step", "checks": "a check", "cleanup": "a cleanup step",
                "expect": "an expectation"}.get(str(parent), "an entry")
    return {"retry": "retry", "params": "params", "cleanup": "a cleanup step", "extra_args": "extra_args"}.get(
        str(last), f"'{last}'")


def _action_at(doc: Document, path: YamlPath) -> str | None:
    """The action of the step that `path` is inside the params of, if any."""
    if "params" not in path:
        return None
    index = len(path) - 1 - list(reversed(path)).index("params")
    node: Any = doc.data
    for part in path[:index]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    action = node.get("action") if isinstance(node, dict) else None
    return action if isinstance(action, str) else None


@functools.lru_cache(maxsize=1)
def lab_check() -> value_checks.SchemaCheck:
    """The lab schema without its per-action parameter rules (`value_checks.params_check` applies those)."""
    return value_checks.SchemaCheck(lean())


def check_schema(doc: Document, report: Reporter) -> None:
    """Report every schema error in the document, and in each higher-level step's params."""
    for error in lab_check().errors(doc.data):
        _report_schema_error(doc, report, error)
    builtins = registry.builtin_actions()
    for path, step in _all_steps(doc.data):
        action, params = step.get("action"), step.get("params")
        if isinstance(action, str) and action in builtins and isinstance(params, dict):
            for error in value_checks.params_check(action).errors(params):
                _report_schema_error(doc, report, error, (*path, "params"))


def _all_steps(data: dict[str, Any]) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    """Every step mapping in a lab (steps, checks, lab cleanup, and each step's cleanup), with its path."""
    def with_cleanups(step: Any, path: YamlPath) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
        while isinstance(step, dict):
            yield path, step
            step, path = step.get("cleanup"), (*path, "cleanup")

    tasks = data.get("tasks")
    for t, task in enumerate(tasks if isinstance(tasks, list) else []):
        if isinstance(task, dict):
            for section in ("steps", "checks", "evidence"):
                items = task.get(section)
                for i, step in enumerate(items if isinstance(items, list) else []):
                    yield from with_cleanups(step, ("tasks", t, section, i))
    cleanup = data.get("cleanup")
    for i, step in enumerate(cleanup if isinstance(cleanup, list) else []):
        yield from with_cleanups(step, ("cleanup", i))


def _report_schema_error(doc: Document, report: Reporter, error: Any, prefix: YamlPath = ()) -> None:
    """Turn one jsonschema error (about the value at `prefix`) into a problem that says how to fix it."""
    path: YamlPath = (*prefix, *error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    # The semantic layer explains a bad action name better (did-you-mean across services and operations).
    if path and path[-1] == "action" and isinstance(error.instance, str):
        return
    action = _action_at(doc, path)
    in_params = action is not None and "params" in path
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            what = f"unknown parameter '{key}' for {action}" if in_params else f"unknown key '{key}' in {_what(path)}"
            hint = suggestion(key, allowed) or ("allowed: " + ", ".join(allowed) if allowed else "remove it")
            report.add((*path, key), what, hint, key=True, rule="unknown-key")
        return
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        for key in missing:
            if in_params:
                report.add(path, f"missing required parameter '{key}' for {action}",
                           f"add '{key}:' under params", rule="missing-key")
            else:
                report.add(path, f"missing required key '{key}' in {_what(path)}", f"add '{key}:'",
                           rule="missing-key")
        return
    if kind == "oneOf" and len(path) >= 2 and path[-2] == "expect" and isinstance(path[-1], int):
        return  # "exactly one operator": the semantic layer says which operators it found
    if kind in ("anyOf", "oneOf") and _narrow(doc, report, error, prefix):
        return
    if "errorMessage" in schema and kind in ("anyOf", "oneOf", "pattern", "type"):
        report.add(path, f"{_name(path)}: {schema['errorMessage']}", f"got {brief(error.instance)}", rule="schema")
        return
    if kind in ("anyOf", "oneOf") and error.context:
        import jsonschema.exceptions

        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            _report_schema_error(doc, report, best, prefix)
            return
    if kind == "type":
        wanted = schema.get("type")
        names = [wanted] if isinstance(wanted, str) else list(wanted or [])
        expected = " or ".join(_SCHEMA_TYPES.get(n, n) for n in names)
        report.add(path, f"{_name(path)} must be {expected}, not {kind_of(error.instance)}",
                   f"write {expected} here", rule="type")
        return
    if kind == "enum":
        options = [str(o) for o in schema.get("enum", [])]
        hint = suggestion(str(error.instance), options) or "use one of: " + ", ".join(options)
        report.add(path, f"{_name(path)}: {brief(error.instance)} is not one of {', '.join(options)}", hint,
                   rule="enum")
        return
    if kind == "pattern":
        noun, hint = _PATTERNS.get(str(schema.get("pattern")), ("of the expected form", "see docs/authoring.md"))
        if "propertyNames" in error.schema_path and isinstance(error.instance, str):
            # A bad name in `vars` or `save`: point at the key itself.
            report.add((*path, error.instance), f"{brief(error.instance)} is not {noun}", hint, key=True,
                       rule="pattern")
        else:
            report.add(path, f"{_name(path)}: {brief(error.instance)} is not {noun}", hint, rule="pattern")
        return
    if kind == "minItems":
        needed = schema.get("minItems")
        report.add(path, f"{_name(path)} needs at least {needed} entr{'y' if needed == 1 else 'ies'}",
                   "add one" if path == ("tasks",) else "add one, or remove the key", rule="schema")
        return
    if kind == "minLength":
        report.add(path, f"{_name(path)} must not be empty", "write a value", rule="schema")
        return
    if kind in ("minimum", "exclusiveMinimum", "maximum"):
        report.add(path, f"{_name(path)}: {error.message}", "change the number", rule="schema")
        return
    if kind == "propertyNames":
        report.add(path, f"{_name(path)}: {error.message}",
                   "names are letters, digits and _, not starting with a digit", rule="pattern")
        return
    report.add(path, f"{_name(path)}: {error.message}", "see docs/authoring.md", rule="schema")


def _fits(branch: dict[str, Any], instance: Any) -> bool:
    """Whether a value is of the kind an anyOf/oneOf branch describes (its type, enum or const)."""
    if "$ref" in branch:
        branch = lab_check().schema["$defs"][branch["$ref"].rsplit("/", 1)[-1]]
    if isinstance(branch.get("anyOf"), list):
        return any(isinstance(b, dict) and _fits(b, instance) for b in branch["anyOf"])
    if branch.get("pattern") == TEMPLATE_PATTERN:
        # The run-time alternative to a typed value: what the author meant only when it is a template.
        return isinstance(instance, str) and templates.is_template(instance)
    if "enum" in branch:
        return instance in branch["enum"] or all(type(v) is type(instance) for v in branch["enum"])
    wanted = branch.get("type")
    if wanted is None:
        return True
    names = [wanted] if isinstance(wanted, str) else wanted
    return any(kind_of(instance) == _KIND_OF_TYPE.get(name) or (name == "integer" and isinstance(instance, int)
               and not isinstance(instance, bool)) for name in names)


_KIND_OF_TYPE = {"string": "string", "number": "number", "boolean": "boolean", "array": "list",
                 "object": "mapping", "null": "null"}


def _narrow(doc: Document, report: Reporter, error: Any, prefix: YamlPath) -> bool:
    """Report a failed anyOf/oneOf as the errors of the one branch the value's kind fits, if only one does.

    `params: {buckt: x}` fails "an object, or a template string"; the author meant the object, so the
    useful message is the object branch's "unknown parameter 'buckt'", not "must be a string".
    """
    branches = error.schema.get(error.validator) if isinstance(error.schema, dict) else None
    if not isinstance(branches, list):
        return False
    fitting = [i for i, b in enumerate(branches) if isinstance(b, dict) and _fits(b, error.instance)]
    if len(fitting) != 1:
        return False
    inner = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == fitting[0]]
    if not inner:
        return False
    for sub in inner:
        _report_schema_error(doc, report, sub, prefix)
    return True


def _name(path: YamlPath) -> str:
    if not path:
        return "the lab"
    last = path[-1]
    if isinstance(last, int):
        return f"entry {last + 1} of '{path[-2]}'" if len(path) >= 2 else f"entry {last + 1}"
    return f"'{last}'"


#: What a value failing each schema pattern should have been, and how to write one.
_PATTERNS: dict[str, tuple[str, str]] = {
    LAB_PATTERN: ("a valid lab name", "use lowercase letters, digits and '-', starting with a letter or digit"),
    ID_PATTERN: ("a valid id", "use letters, digits, '-', '_' and '.', starting with a letter or digit"),
    REGION_PATTERN: ("an AWS region code", "write a region such as us-west-2"),
    VAR_PATTERN: ("a valid variable name", "use letters, digits and '_', not starting with a digit"),
    durations.PATTERN: ("a duration", durations.HOW),
    ERROR_CODE_PATTERN: ("an error code", "write the code AWS returns, such as NoSuchBucket or AccessDenied "
                                          "(one word, no spaces)"),
}
