"""The lab JSON Schema, generated from the action registry (never edited by hand).

`schemas/lab.schema.json` is this module's output, committed so that editors running the YAML language
server give completion and errors (labs carry a `# yaml-language-server: $schema=` modeline); a test
regenerates it and fails when the committed copy is stale. `labrunner schema` prints it.
"""

from __future__ import annotations

import json
from typing import Any

from runner import regions, registry
from runner.durations import PATTERN as DURATION_PATTERN
from runner.operators import OPERATORS

SCHEMA_ID = "https://labrunner.dev/schemas/lab.schema.json"
FRAGMENT_ID = "https://labrunner.dev/schemas/fragment.schema.json"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
LAB_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
AWS_ACTION_PATTERN = r"^aws\.[a-z0-9-]+\.[a-z0-9_]+$"
TEMPLATE_PATTERN = r"\{\{[\s\S]*\}\}"
#: An AWS error code, or the HTTP status boto3 gives as the code when an error has no body (HeadObject's 404).
ERROR_CODE_PATTERN = r"^(?:[A-Za-z][A-Za-z0-9_.:-]*|[1-5][0-9][0-9])$"
REGION_PATTERN = regions.PATTERN
INCLUDE_DESCRIPTION = ("A YAML file, relative to the lab's folder, holding a list of steps (or, in tasks, of "
                       "tasks) that are spliced in here.")


def _templatable(schema: dict[str, Any]) -> dict[str, Any]:
    """Let a non-string parameter also be given as a `{{ expression }}` rendered at run time."""
    schema = dict(schema)
    if schema.get("type") == "object" and "properties" in schema:
        schema["properties"] = {k: _templatable(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = _templatable(schema["items"])
    kind = schema.get("type")
    if kind is None and "$ref" not in schema and "enum" not in schema:
        return schema
    if kind == "string":
        return schema
    described = {k: schema.pop(k) for k in ("description",) if k in schema}
    return {"anyOf": [schema, {"$ref": "#/$defs/template"}], **described}


def _step_schema(actions: dict[str, registry.ActionSpec]) -> dict[str, Any]:
    names = list(actions)
    per_action = [
        {
            "if": {"properties": {"action": {"const": name}}, "required": ["action"]},
            "then": {"properties": {"params": _templatable(dict(spec.params))}},
        }
        for name, spec in actions.items()
    ]
    return {
        "type": "object",
        "description": "One action with its parameters, assertions and retry policy.",
        "required": ["action"],
        "additionalProperties": False,
        "properties": {
            "action": {
                "description": "A higher-level action, or aws.<service>.<operation> for any boto3 call.",
                "anyOf": [
                    {"enum": names},
                    {"type": "string", "pattern": AWS_ACTION_PATTERN},
                ],
                "errorMessage": "an action is one of the higher-level actions or aws.<service>.<operation>",
            },
            "params": {"type": "object", "description": "The action's parameters; strings are templates."},
            "id": {"type": "string", "pattern": ID_PATTERN, "description": "Unique in the lab."},
            "title": {"type": "string"},
            "save": {
                "type": "object",
                "description": "name: JMESPath over the result; each name becomes a variable.",
                "propertyNames": {"pattern": VAR_PATTERN},
                "additionalProperties": {"type": "string"},
            },
            "expect": {"$ref": "#/$defs/expect"},
            "expect_error": {"$ref": "#/$defs/error_codes"},
            "ignore_errors": {"$ref": "#/$defs/error_codes"},
            "retry": {"$ref": "#/$defs/retry"},
            "when": {"type": ["string", "boolean"], "description": "Skip the step when this renders falsy."},
            "cleanup": {"$ref": "#/$defs/step"},
            "message": {"type": "string", "description": "Shown to a student when this check fails."},
            "paginate": {"type": "boolean", "description": "aws.* list operations: merge every page."},
            "loop": {
                "anyOf": [{"type": "array"}, {"$ref": "#/$defs/template"}],
                "description": "Run the step once for each item of this list ({{ item }} in its templates); "
                               "each item is recorded as the step's key with [index], and a saved name "
                               "holds the list of every item's value.",
                "errorMessage": "loop takes a list, or a template that gives one, such as \"{{ movies }}\"",
            },
        },
        "allOf": per_action,
    }


def generate() -> dict[str, Any]:
    """The lab JSON Schema for the actions registered now."""
    actions = registry.builtin_actions()
    expectation = {
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            "path": {"type": "string", "description": "JMESPath over the result."},
            "message": {"type": "string"},
            **{name: op.json_schema() for name, op in OPERATORS.items()},
        },
        "oneOf": [{"required": [op]} for op in OPERATORS],
        "errorMessage": "an expectation has a path and exactly one operator: " + ", ".join(OPERATORS),
    }
    # A task's alternatives and mistakes: named lists of steps, each run by `labrunner verify` in place of
    # the task's steps.
    routes = {
        "type": "object",
        "propertyNames": {"pattern": ID_PATTERN},
        "additionalProperties": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step_entry"}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "labrunner lab",
        "description": "A hands-on lab: tasks of steps, each an action with parameters and assertions.",
        "type": "object",
        "required": ["lab", "title", "tasks"],
        "additionalProperties": False,
        "properties": {
            "lab": {"type": "string", "pattern": LAB_PATTERN, "description": "Lab name: lowercase, digits, -."},
            "title": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "region": {"type": "string", "pattern": REGION_PATTERN},
            "vars": {
                "type": "object",
                "description": "Rendered once, in order; a later var may use an earlier one.",
                "propertyNames": {"pattern": VAR_PATTERN},
                "properties": {"include": {
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                    "description": "A YAML file (or a list of them), relative to the lab's folder, holding vars "
                                   "that are merged in here; the lab's own vars win."}},
            },
            "tasks": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/task_entry"}},
            "cleanup": {"type": "array", "items": {"$ref": "#/$defs/step_entry"}},
            "secrets": {
                "type": "array",
                "items": {"type": "string", "pattern": VAR_PATTERN},
                "uniqueItems": True,
                "description": "Names of vars (or saved values) whose values are secrets: never shown in the "
                               "record, JUnit, Gradescope output or the terminal.",
            },
        },
        "$defs": {
            "task": {
                "type": "object",
                "required": ["id", "title"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": ID_PATTERN},
                    "title": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "points": {"type": "number", "minimum": 0, "default": 1},
                    "steps": {"type": "array", "items": {"$ref": "#/$defs/step_entry"}},
                    "checks": {"type": "array", "items": {"$ref": "#/$defs/step_entry"}},
                    "evidence": {
                        "type": "array",
                        "items": {"$ref": "#/$defs/step_entry"},
                        "description": "Grading only: read-only steps (CloudTrail events) that credit the task "
                                       "when its checks fail because the student already cleaned up.",
                    },
                    "advice": {
                        "type": "array",
                        "items": {"$ref": "#/$defs/step_entry"},
                        "description": "Read-only checks of good practice the instructions do not ask for: run "
                                       "after the checks, shown with their message when they fail, worth no "
                                       "points, never changing the task's status or score.",
                    },
                    "alternatives": {
                        **routes,
                        "description": "Other valid ways to do the task: name -> steps. Only `labrunner verify` "
                                       "runs them, each in place of the task's steps: each must keep full marks.",
                    },
                    "mistakes": {
                        **routes,
                        "description": "Typical mistakes: name -> steps. Only `labrunner verify` runs them, each "
                                       "in place of the task's steps: each must make the task score 0.",
                    },
                },
            },
            "step": _step_schema(actions),
            # Where a list of steps or tasks may take `- include: FILE` (runner/includes.py splices them in
            # before validating, so the validator's own schema, `lean`, has the plain entries).
            "step_entry": {"anyOf": [{"$ref": "#/$defs/step"}, {"$ref": "#/$defs/include"}]},
            "task_entry": {"anyOf": [{"$ref": "#/$defs/task"}, {"$ref": "#/$defs/include"}]},
            "include": {
                "type": "object",
                "required": ["include"],
                "additionalProperties": False,
                "properties": {"include": {"type": "string", "description": INCLUDE_DESCRIPTION}},
            },
            "expect": {
                "anyOf": [
                    {"type": "object", "description": "path: expected value"},
                    {"type": "array", "items": {"$ref": "#/$defs/expectation"}},
                ],
                "errorMessage": "expect is a mapping of path: value, or a list of {path, <operator>: value}",
            },
            "expectation": expectation,
            "retry": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "timeout": {"$ref": "#/$defs/duration"},
                    "interval": {"$ref": "#/$defs/duration"},
                    "backoff": {"type": "number", "minimum": 1},
                    "max_interval": {"$ref": "#/$defs/duration"},
                    "on": {"$ref": "#/$defs/error_codes"},
                },
            },
            "duration": {
                "anyOf": [
                    {"type": "number", "minimum": 0},
                    {"type": "string", "pattern": DURATION_PATTERN},
                ],
                "errorMessage": "a duration is a number of seconds or a string such as 500ms, 30s, 5m, 1h",
            },
            "error_codes": {
                "anyOf": [
                    {"$ref": "#/$defs/error_code"},
                    {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/error_code"}},
                ],
                "errorMessage": "error codes are a code such as NoSuchBucket, or a list of them",
            },
            "error_code": {
                "anyOf": [
                    {"type": "string", "pattern": ERROR_CODE_PATTERN},
                    {"type": "integer", "minimum": 100, "maximum": 599,
                     "description": "An HTTP status: the code boto3 gives an error without a body (HEAD)."},
                ],
                "errorMessage": "an error code is a code such as NoSuchBucket, or an HTTP status such as 404",
            },
            "template": {"type": "string", "pattern": TEMPLATE_PATTERN},
        },
    }


def fragment() -> dict[str, Any]:
    """The JSON Schema of a file a lab includes: a list of steps or tasks, or a mapping of vars (for the
    modeline of fragments: `# yaml-language-server: $schema=../schemas/fragment.schema.json`)."""
    lab = generate()
    return {
        "$schema": lab["$schema"],
        "$id": FRAGMENT_ID,
        "title": "labrunner lab fragment",
        "description": "A file a lab includes: a list of steps or of tasks, or a mapping of vars.",
        "anyOf": [
            {"type": "array", "minItems": 1,
             "items": {"anyOf": [{"$ref": "#/$defs/step"}, {"$ref": "#/$defs/task"}, {"$ref": "#/$defs/include"}]}},
            {**lab["properties"]["vars"], "description": "Vars, merged into the lab's where it includes this file."},
        ],
        "$defs": lab["$defs"],
    }


def params_schema(action: str, *, rendered: bool = False) -> dict[str, Any]:
    """The schema of one higher-level action's `params`, standalone: as the lab schema applies it (a value
    may be a template), or, `rendered`, as the action gets them once their templates are rendered."""
    params = dict(registry.builtin_actions()[action].params)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **(params if rendered else _templatable(params)),
            "$defs": generate()["$defs"]}


def lean() -> dict[str, Any]:
    """The lab schema as the validator runs it: the same rules, minus two that cost most to evaluate.

    - each step's `allOf` of one `if action: x / then params: ...` per action: the validator checks each
      step's params against `params_schema(x)` instead;
    - each expectation's `oneOf` (exactly one operator): the validator's meaning layer says which
      operators it found;
    - the `anyOf` naming the actions: the meaning layer resolves every action name (with a
      did-you-mean across services and operations), so here an action need only be a string;
    - `- include: FILE` entries: they are spliced in before the schema is checked (`runner.includes`).
    """
    schema = generate()
    step = dict(schema["$defs"]["step"])
    del step["allOf"]
    action = step["properties"]["action"]
    step["properties"] = {**step["properties"], "action": {"type": "string", "errorMessage": action["errorMessage"]}}
    expectation = dict(schema["$defs"]["expectation"])
    del expectation["oneOf"]
    schema["$defs"] = {**schema["$defs"], "step": step, "expectation": expectation,
                       "step_entry": {"$ref": "#/$defs/step"}, "task_entry": {"$ref": "#/$defs/task"}}
    return _inline_refs(schema)


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace every `$ref` to `#/$defs/x` by the definition itself (a step's cleanup makes it cyclic).

    jsonschema resolves a reference on every use, which is a third of its time on a large lab.
    """
    defs: dict[str, Any] = {}

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return definition(ref.rsplit("/", 1)[-1])
        return {k: (inline(v) if k not in ("enum", "const") else v) for k, v in node.items()}

    def definition(name: str) -> dict[str, Any]:
        if name not in defs:
            placeholder: dict[str, Any] = {}
            defs[name] = placeholder  # a reference back to this definition while inlining it
            placeholder.update(inline(schema["$defs"][name]))
        found: dict[str, Any] = defs[name]
        return found

    root = {k: inline(v) for k, v in schema.items() if k != "$defs"}
    return {**root, "$defs": {name: definition(name) for name in schema["$defs"]}}


def render_json(*, fragment_schema: bool = False) -> str:
    return json.dumps(fragment() if fragment_schema else generate(), indent=2, sort_keys=False) + "\n"
