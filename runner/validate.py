"""Validate a lab completely before anything touches an account.

Second stage of the pipeline: load (`loader`) -> **validate** -> model (`model.build`). Layers run cheap
to costly and every layer reports all it finds:
1. structure: the file loads as one YAML mapping (syntax, duplicate keys, tags, size, encoding);
2. the JSON Schema generated from the registry (`runner.schema`), with jsonschema's errors turned into
   messages that name the key, the fix and a did-you-mean;
3. meaning: actions exist and fit their section, botocore's own validation of static `aws.*`
   parameters, templates and the variables they name, JMESPath and regexes, ids, durations, retries,
   files. Each rule is one method of `_Semantics`; it skips what layer 2 already reported.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import durations, fastschema, model, registry, templates
from runner.errors import LabError, Problem, did_you_mean, suggestion
from runner.loader import Document, load_file, load_text
from runner.schema import (
    ERROR_CODE_PATTERN,
    ID_PATTERN,
    LAB_PATTERN,
    OPERATORS,
    REGION_PATTERN,
    TEMPLATE_PATTERN,
    VAR_PATTERN,
)

YamlPath = tuple[str | int, ...]
_RETRY_SAFE = "name the error codes that make it safe to repeat in retry.on, or retry a read-only check instead"


#: Python types of the JSON Schema types a value can be checked against without jsonschema.
_PY_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "object": (dict,),
                                          "array": (list,), "null": (type(None),)}
#: Keywords that do not constrain a value.
_ANNOTATIONS = frozenset({"description", "default", "title", "errorMessage", "type"})


def _trivially_valid(value: Any, schema: Any) -> bool:
    """Whether `value` satisfies `schema` by a glance: the schema is empty or only says a simple type.

    Used to skip jsonschema's per-value machinery (most of its time on a large lab) where it could only
    agree; anything else, and every failure, goes through jsonschema so the errors are its own.
    """
    if not isinstance(schema, dict) or not schema.keys() <= _ANNOTATIONS:
        return False
    wanted = schema.get("type")
    if wanted is None:
        return True
    for name in [wanted] if isinstance(wanted, str) else wanted:
        if name == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True
        elif name in _PY_TYPES and isinstance(value, _PY_TYPES[name]):
            return True
    return False


def _properties(validator: Any, properties: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """jsonschema's `properties` keyword, skipping the values that `_trivially_valid` accepts."""
    if not isinstance(instance, dict):
        return
    for name, subschema in properties.items():
        if name in instance and not _trivially_valid(instance[name], subschema):
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)


@functools.lru_cache(maxsize=1)
def _validator_class() -> Any:
    import jsonschema

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"properties": _properties})


@functools.lru_cache(maxsize=1)
def _schema_validator() -> Any:
    """A validator for the lab schema without its per-action parameter rules (see `_params_validator`)."""
    from runner.schema import lean

    return _validator_class()(lean())


@functools.cache
def _params_validator(action: str) -> Any:
    """A validator for one higher-level action's `params`, as the lab schema's `if action: x` branch has it.

    Validating each step's params against its own action's schema, instead of the whole document against
    an `allOf` of one `if`/`then` per action, gives the same errors at a fraction of the cost.
    """
    from runner.schema import params_schema

    return _validator_class()(params_schema(action))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a lab is loaded and checked.

    Loading builds tens of thousands of small containers that hold no cycles; the collector would scan
    them again and again as they are made (a quarter of the time on a large lab). Reference counting
    still frees everything; the collector resumes, and runs normally, afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_file(path: str | os.PathLike[str], display: str | None = None) -> tuple[model.Lab | None, list[Problem]]:
    """Load and validate a lab file; returns the model (when valid) and every problem found."""
    shown = display or str(path)
    with _gc_paused():
        try:
            doc = load_file(str(path), shown)
        except LabError as exc:
            return None, list(exc.problems)
        return _finish(doc, Path(path).resolve().parent)


def validate_text(text: str, path: str = "<lab>",
                  lab_dir: Path | None = None) -> tuple[model.Lab | None, list[Problem]]:
    """Validate a lab given as text; files it names are looked up in `lab_dir` (default: the current one)."""
    with _gc_paused():
        try:
            doc = load_text(text, path)
        except LabError as exc:
            return None, list(exc.problems)
        return _finish(doc, lab_dir or Path.cwd())


def load_lab(path: str | os.PathLike[str], display: str | None = None) -> model.Lab:
    """The model of a valid lab; raises `LabError` with every problem otherwise."""
    lab, problems = validate_file(path, display)
    if problems or lab is None:
        raise LabError(problems)
    return lab


def _finish(doc: Document, lab_dir: Path) -> tuple[model.Lab | None, list[Problem]]:
    problems = validate_document(doc, lab_dir)
    if problems:
        return None, problems
    lab = model.build(doc)
    return lab, []


def validate_document(doc: Document, lab_dir: Path) -> list[Problem]:
    if not isinstance(doc.data, dict):
        what = "empty" if doc.data is None else f"a {_kind(doc.data)}"
        return [Problem(doc.path, 1, 1, f"a lab is a YAML mapping, but this file is {what}",
                        "a lab starts with 'lab:', 'title:' and 'tasks:' (see docs/authoring.md)", rule="structure")]
    reporter = _Reporter(doc)
    _check_schema(doc, reporter)
    _Semantics(doc, lab_dir, reporter).run()
    return reporter.sorted()


# --------------------------------------------------------------------------------------------------
# Reporting


@dataclass
class _Reporter:
    doc: Document
    problems: list[Problem] = field(default_factory=list)
    flagged: set[YamlPath] = field(default_factory=set)  # paths layer 2 reported: layer 3 skips them
    seen: set[tuple[int, int, str]] = field(default_factory=set)

    def add(self, path: YamlPath, message: str, hint: str = "", *, key: bool = False, rule: str = "invalid",
            line_offset: int = 0) -> None:
        self.flagged.add(path)
        mark = self.doc.mark(path, key=key)
        task, step = self.context(path)
        signature = (mark.line + line_offset, mark.column, message)
        if signature in self.seen:
            return
        self.seen.add(signature)
        self.problems.append(Problem(self.doc.path, mark.line + line_offset, mark.column, message, hint,
                                     task=task, step=step, rule=rule))

    def context(self, path: YamlPath) -> tuple[str | None, str | None]:
        data = self.doc.data
        task: str | None = None
        step: str | None = None
        if len(path) >= 2 and path[0] == "tasks" and isinstance(path[1], int):
            tasks = data.get("tasks")
            raw = tasks[path[1]] if isinstance(tasks, list) and path[1] < len(tasks) else None
            task = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{path[1] + 1}"
            if len(path) >= 4 and path[2] in ("steps", "checks", "evidence") and isinstance(path[3], int):
                step = _step_name(raw.get(path[2]) if isinstance(raw, dict) else None, str(path[2]), path[3])
        elif len(path) >= 2 and path[0] == "cleanup" and isinstance(path[1], int):
            step = _step_name(data.get("cleanup"), "cleanup", path[1])
        return task, step

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line, p.column, p.message))


def _step_name(steps: Any, section: str, index: int) -> str:
    raw = steps[index] if isinstance(steps, list) and index < len(steps) else None
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return str(raw["id"])
    return f"{section}[{index}]"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------------------------------
# Layer 2: the JSON Schema


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
def _lab_fits() -> Callable[[Any], bool] | None:
    from runner.schema import lean

    return fastschema.compile_schema(lean())


@functools.cache
def _params_fit(action: str) -> Callable[[Any], bool] | None:
    from runner.schema import params_schema

    return fastschema.compile_schema(params_schema(action))


def _check_schema(doc: Document, report: _Reporter) -> None:
    # The compiled yes/no check first (`fastschema`): jsonschema, which says what is wrong and where,
    # only runs where the answer is no.
    fits = _lab_fits()
    if fits is None or not fits(doc.data):
        for error in _schema_validator().iter_errors(doc.data):
            _report_schema_error(doc, report, error)
    builtins = registry.builtin_actions()
    for path, step in _all_steps(doc.data):
        action, params = step.get("action"), step.get("params")
        if isinstance(action, str) and action in builtins and isinstance(params, dict):
            fits = _params_fit(action)
            if fits is not None and fits(params):
                continue
            for error in _params_validator(action).iter_errors(params):
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


def _report_schema_error(doc: Document, report: _Reporter, error: Any, prefix: YamlPath = ()) -> None:
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
        report.add(path, f"{_name(path)}: {schema['errorMessage']}", f"got {_show(error.instance)}", rule="schema")
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
        report.add(path, f"{_name(path)} must be {expected}, not {_kind(error.instance)}",
                   f"write {expected} here", rule="type")
        return
    if kind == "enum":
        options = [str(o) for o in schema.get("enum", [])]
        hint = suggestion(str(error.instance), options) or "use one of: " + ", ".join(options)
        report.add(path, f"{_name(path)}: {_show(error.instance)} is not one of {', '.join(options)}", hint,
                   rule="enum")
        return
    if kind == "pattern":
        noun, hint = _PATTERNS.get(str(schema.get("pattern")), ("of the expected form", "see docs/authoring.md"))
        if "propertyNames" in error.schema_path and isinstance(error.instance, str):
            # A bad name in `vars` or `save`: point at the key itself.
            report.add((*path, error.instance), f"{_show(error.instance)} is not {noun}", hint, key=True,
                       rule="pattern")
        else:
            report.add(path, f"{_name(path)}: {_show(error.instance)} is not {noun}", hint, rule="pattern")
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
        branch = _schema_validator().schema["$defs"][branch["$ref"].rsplit("/", 1)[-1]]
    if branch.get("pattern") == TEMPLATE_PATTERN:
        # The run-time alternative to a typed value: what the author meant only when it is a template.
        return isinstance(instance, str) and templates.is_template(instance)
    if "enum" in branch:
        return instance in branch["enum"] or all(type(v) is type(instance) for v in branch["enum"])
    wanted = branch.get("type")
    if wanted is None:
        return True
    names = [wanted] if isinstance(wanted, str) else wanted
    return any(_kind(instance) == _KIND_OF_TYPE.get(name) or (name == "integer" and isinstance(instance, int)
               and not isinstance(instance, bool)) for name in names)


_KIND_OF_TYPE = {"string": "string", "number": "number", "boolean": "boolean", "array": "list",
                 "object": "mapping", "null": "null"}


def _narrow(doc: Document, report: _Reporter, error: Any, prefix: YamlPath) -> bool:
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


# --------------------------------------------------------------------------------------------------
# Layer 3: meaning


@dataclass(frozen=True)
class _StepRef:
    raw: dict[str, Any]
    path: YamlPath
    section: str  # steps, checks, cleanup (lab-level), step-cleanup
    task: str | None


class _Semantics:
    """Every rule of the lab format that a schema cannot express."""

    def __init__(self, doc: Document, lab_dir: Path, report: _Reporter) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.lab_dir = lab_dir
        self.report = report
        self.step_ids: dict[str, YamlPath] = {}
        # Where each saved variable is first defined, to explain "defined later" mistakes.
        self.saved_by: dict[str, tuple[YamlPath, str]] = {}
        self.explained: dict[tuple[str, Any], tuple[str, str]] = {}

    def add(self, path: YamlPath, message: str, hint: str = "", **kwargs: Any) -> None:
        self.report.add(path, message, hint, **kwargs)

    def flagged(self, path: YamlPath) -> bool:
        return path in self.report.flagged

    def run(self) -> None:
        defined = set(templates.BUILTIN_NAMES)
        defined = self.check_vars(defined)
        self.collect_saves()
        self.check_secrets()
        tasks = self.data.get("tasks")
        task_ids: dict[str, YamlPath] = {}
        check_defined = set(defined)  # checks run alone when grading: they see vars and earlier checks' saves
        evidence_saved: set[str] = set()  # evidence runs only when grading, after a task's checks failed
        for t, task in enumerate(tasks if isinstance(tasks, list) else []):
            if not isinstance(task, dict):
                continue
            tpath: YamlPath = ("tasks", t)
            task_id = task.get("id")
            if isinstance(task_id, str):
                if task_id in task_ids:
                    first = self.doc.mark((*task_ids[task_id], "id"))
                    self.add((*tpath, "id"), f"duplicate task id '{task_id}' (first at line {first.line})",
                             "give every task its own id", rule="duplicate-id")
                else:
                    task_ids[task_id] = tpath
            for i, raw in enumerate(self.entries(task, "steps", tpath)):
                ref = _StepRef(raw, (*tpath, "steps", i), "steps", task_id)
                defined = self.check_step(ref, defined)
            before_checks = set(check_defined)
            for i, raw in enumerate(self.entries(task, "checks", tpath)):
                ref = _StepRef(raw, (*tpath, "checks", i), "checks", task_id)
                check_defined = self.check_step(ref, check_defined, run_defined=defined)
                defined |= check_defined
            evidence_saved = self.check_evidence(task, tpath, task_id, before_checks, evidence_saved, defined)
        everything = defined | set(self.saved_by)
        for i, raw in enumerate(self.entries(self.data, "cleanup", ())):
            # Lab-level cleanup runs however far the run got: it may name anything any step saves
            # (guard with `when: "{{ name is defined }}"`).
            self.check_step(_StepRef(raw, ("cleanup", i), "cleanup", None), everything)

    def check_evidence(self, task: dict[str, Any], tpath: YamlPath, task_id: Any, before_checks: set[str],
                       evidence_saved: set[str], run_defined: set[str]) -> set[str]:
        """A task's evidence: read-only, and it sees vars, builtins, what checks of earlier tasks saved and
        what earlier evidence saved (a failed check saves nothing, so not this task's checks' saves).
        Returns the names evidence has saved so far, for later tasks' evidence."""
        items = list(self.entries(task, "evidence", tpath))
        if items and not task.get("checks"):
            self.add((*tpath, "evidence"), "evidence without checks is never used",
                     "grading turns to evidence only when a task's checks fail; add checks to the task",
                     key=True, rule="evidence")
        defined = before_checks | evidence_saved
        saved = set(evidence_saved)
        for i, raw in enumerate(items):
            ref = _StepRef(raw, (*tpath, "evidence", i), "evidence", task_id if isinstance(task_id, str) else None)
            after = self.check_step(ref, defined, run_defined=run_defined)
            saved |= after - defined
            defined = after
        return saved

    def entries(self, parent: dict[str, Any], key: str, base: YamlPath) -> Iterator[dict[str, Any]]:
        """The mappings in a list of steps; `{}` stands in for a malformed entry (layer 2 reported it)."""
        items = parent.get(key)
        for item in items if isinstance(items, list) else []:
            yield item if isinstance(item, dict) else {}

    # ---- vars

    def check_vars(self, defined: set[str]) -> set[str]:
        raw = self.data.get("vars")
        if not isinstance(raw, dict):
            return defined
        names = list(raw)
        for index, (name, value) in enumerate(raw.items()):
            path: YamlPath = ("vars", name)
            if name in templates.BUILTIN_NAMES:
                self.add(path, f"var '{name}' hides the builtin '{name}'", "rename the var", key=True,
                         rule="shadowed-name")
            later = set(names[index + 1:])
            self.check_templates(value, path, defined, later_vars=later)
            defined = defined | {name}
        return defined

    def check_secrets(self) -> None:
        """`secrets:` names vars or saved values: a name that is neither would protect nothing."""
        names = self.data.get("secrets")
        if not isinstance(names, list) or self.flagged(("secrets",)):
            return
        lab_vars = self.data.get("vars")
        known = [*(lab_vars if isinstance(lab_vars, dict) else {}), *self.saved_by]
        for i, name in enumerate(names):
            if isinstance(name, str) and name not in known:
                self.add(("secrets", i), f"secret '{name}' is not a var or a saved value",
                         suggestion(name, known) or "list the names of vars (or of `save` names) whose values "
                         "must never be shown", rule="secrets")

    def collect_saves(self) -> None:
        def visit(raw: Any, path: YamlPath) -> None:
            if not isinstance(raw, dict):
                return
            save = raw.get("save")
            if isinstance(save, dict):
                label = _step_label(raw, path)
                for name in save:
                    self.saved_by.setdefault(name, (path, label))
            if isinstance(raw.get("cleanup"), dict):
                visit(raw["cleanup"], (*path, "cleanup"))

        tasks = self.data.get("tasks")
        for t, task in enumerate(tasks if isinstance(tasks, list) else []):
            if isinstance(task, dict):
                for section in ("steps", "checks"):
                    for i, raw in enumerate(self.entries(task, section, ())):
                        visit(raw, ("tasks", t, section, i))
        for i, raw in enumerate(self.entries(self.data, "cleanup", ())):
            visit(raw, ("cleanup", i))

    # ---- steps

    def check_step(self, ref: _StepRef, defined: set[str], run_defined: set[str] | None = None) -> set[str]:
        raw, path = ref.raw, ref.path
        if not raw:
            return defined
        self.check_step_id(raw, path)
        spec = self.check_action(raw, path, ref.section)
        self.check_params(raw, path, spec)
        self.check_expectations(raw, path)
        self.check_retry(raw, path, spec)
        if raw.get("paginate") and spec is not None and not spec.can_paginate:
            self.add((*path, "paginate"), f"{spec.name} cannot paginate",
                     "remove 'paginate'; only list operations with a botocore paginator can", rule="paginate")
        if "expect_error" in raw and "ignore_errors" in raw:
            both = set(model.codes(raw.get("expect_error"))) & set(model.codes(raw.get("ignore_errors")))
            if both:
                self.add((*path, "ignore_errors"), f"{', '.join(sorted(both))} is both expected and ignored",
                         "keep the code in one of expect_error or ignore_errors", rule="error-codes")
        # Templates: params, when, expectations see what is defined before the step.
        self.check_templates(raw.get("params"), (*path, "params"), defined, run_defined=run_defined,
                             section=ref.section)
        self.check_templates(raw.get("when"), (*path, "when"), defined, run_defined=run_defined,
                             section=ref.section)
        self.check_templates(raw.get("expect"), (*path, "expect"), defined, run_defined=run_defined,
                             section=ref.section)
        self.check_templates(raw.get("expect"), (*path, "expect"), defined, run_defined=run_defined,
                             section=ref.section, keys=True)  # mapping form: its paths are templates too
        saves = self.check_save(raw, path)
        after = defined | saves
        cleanup = raw.get("cleanup")
        if cleanup is not None:
            if ref.section in ("checks", "evidence"):
                self.add((*path, "cleanup"), f"{'a check' if ref.section == 'checks' else 'evidence'} "
                         "cannot register a cleanup",
                         "checks are read-only proof; move the cleanup to the step that made the resource",
                         key=True, rule="check-cleanup")
            elif isinstance(cleanup, dict):
                self.check_step(_StepRef(cleanup, (*path, "cleanup"), "step-cleanup", ref.task), after)
        return after

    def check_step_id(self, raw: dict[str, Any], path: YamlPath) -> None:
        step_id = raw.get("id")
        if not isinstance(step_id, str):
            return
        if step_id in self.step_ids:
            first = self.doc.mark((*self.step_ids[step_id], "id"))
            self.add((*path, "id"), f"duplicate step id '{step_id}' (first at line {first.line})",
                     "step ids are unique in the lab; rename one", rule="duplicate-id")
        else:
            self.step_ids[step_id] = path

    def check_action(self, raw: dict[str, Any], path: YamlPath, section: str) -> registry.ActionSpec | None:
        name = raw.get("action")
        if not isinstance(name, str):
            return None
        try:
            spec = registry.resolve(name)
        except registry.UnknownAction as exc:
            self.add((*path, "action"), exc.message, exc.hint, rule="unknown-action")
            return None
        if section in ("checks", "evidence") and not spec.read_only:
            self.add((*path, "action"), f"{section} must be read-only, but {name} changes the account",
                     "move it to the task's steps, or use a Get/Describe/List/Head/Lookup operation",
                     rule="check-not-read-only")
        return spec

    def check_params(self, raw: dict[str, Any], path: YamlPath, spec: registry.ActionSpec | None) -> None:
        params = raw.get("params")
        ppath: YamlPath = (*path, "params")
        if spec is None or self.flagged(ppath):
            return
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return
        if spec.operation is not None:
            for where, message, hint in botocore_problems(spec.operation, params):
                self.add((*ppath, *where), message, hint, key=message.startswith("unknown parameter"),
                         rule="aws-params")
        for name in spec.files:
            value = params.get(name)
            if isinstance(value, str) and not templates.is_template(value):
                self.check_file(value, (*ppath, name))

    def check_file(self, relative: str, path: YamlPath) -> None:
        problem = file_problem(self.lab_dir, relative)
        if problem:
            self.add(path, *problem, rule="file")

    def check_expectations(self, raw: dict[str, Any], path: YamlPath) -> None:
        expect = raw.get("expect")
        epath: YamlPath = (*path, "expect")
        if isinstance(expect, dict):
            for key in expect:
                self.check_jmespath(str(key), (*epath, key), key_mark=True)
        elif isinstance(expect, list):
            for i, entry in enumerate(expect):
                if not isinstance(entry, dict) or self.flagged((*epath, i)):
                    continue
                here: YamlPath = (*epath, i)
                if isinstance(entry.get("path"), str):
                    self.check_jmespath(entry["path"], (*here, "path"))
                ops = [op for op in OPERATORS if op in entry]
                if len(ops) != 1:
                    found = ", ".join(ops) if ops else "none"
                    self.add(here, f"an expectation needs exactly one operator; found {found}",
                             "use one of: " + ", ".join(OPERATORS) + "; split it into several entries",
                             rule="operator")
                    continue
                op = ops[0]
                value = entry[op]
                if op == "matches" and isinstance(value, str) and not templates.is_template(value):
                    try:
                        re.compile(value)
                    except re.error as exc:
                        self.add((*here, op), f"regex does not compile: {exc}",
                                 "fix the pattern (quote it in YAML and escape backslashes)", rule="regex")
                if op == "one_of" and not self.flagged((*here, op)) and not isinstance(value, list) and not (
                        isinstance(value, str) and templates.is_template(value)):
                    self.add((*here, op), "one_of takes a list of values", "write [a, b, ...]", rule="operator")

    def check_jmespath(self, expression: str, path: YamlPath, *, key_mark: bool = False) -> None:
        if templates.is_template(expression):
            return  # compiled after rendering
        message = jmespath_problem(expression)
        if message:
            self.add(path, f"JMESPath {message}", "see https://jmespath.org for the syntax", key=key_mark,
                     rule="jmespath")

    def check_retry(self, raw: dict[str, Any], path: YamlPath, spec: registry.ActionSpec | None) -> None:
        retry = raw.get("retry")
        rpath: YamlPath = (*path, "retry")
        if not isinstance(retry, dict) or self.flagged(rpath):
            return
        values: dict[str, float] = {}
        for key in ("timeout", "interval", "max_interval"):
            if key in retry and not self.flagged((*rpath, key)):
                try:
                    values[key] = durations.parse_duration(retry[key])
                except ValueError as exc:
                    self.add((*rpath, key), str(exc), "for example 30s or 5m", rule="duration")
        timeout = values.get("timeout", model.DEFAULT_TIMEOUT)
        interval = values.get("interval", model.DEFAULT_INTERVAL)
        max_interval = values.get("max_interval", max(model.DEFAULT_MAX_INTERVAL, interval))
        if "timeout" in values and timeout <= 0:
            self.add((*rpath, "timeout"), "retry.timeout must be more than zero", "for example 5m", rule="retry")
        if "interval" in values and interval <= 0:
            self.add((*rpath, "interval"), "retry.interval must be more than zero", "for example 10s", rule="retry")
        if interval > timeout > 0:
            shown = f"{interval:g}s" if "interval" in values else f"default {interval:g}s"
            self.add((*rpath, "interval" if "interval" in values else "timeout"),
                     f"retry.interval ({shown}) is longer than retry.timeout ({timeout:g}s): the step would run "
                     "once", "shorten the interval or lengthen the timeout", rule="retry")
        if "max_interval" in values and max_interval < interval:
            self.add((*rpath, "max_interval"), f"retry.max_interval ({max_interval:g}s) is shorter than "
                     f"retry.interval ({interval:g}s)", "raise max_interval or lower interval", rule="retry")
        if timeout > 24 * 3600:
            self.add((*rpath, "timeout"), "retry.timeout is over a day", "a lab step should give up sooner",
                     rule="retry")
        if spec is not None and not spec.read_only and not retry.get("on"):
            self.add(rpath, f"{spec.name} changes the account, so it may only retry on named error codes",
                     _RETRY_SAFE, key=True, rule="retry-mutating")

    def check_save(self, raw: dict[str, Any], path: YamlPath) -> set[str]:
        save = raw.get("save")
        if not isinstance(save, dict):
            return set()
        names = set()
        for name, expression in save.items():
            spath: YamlPath = (*path, "save", name)
            if name in templates.BUILTIN_NAMES:
                self.add(spath, f"save '{name}' hides the builtin '{name}'", "choose another name", key=True,
                         rule="shadowed-name")
            if isinstance(expression, str):
                self.check_jmespath(expression, spath)
            names.add(name)
        return names

    # ---- templates

    def check_templates(self, value: Any, path: YamlPath, defined: set[str], *, later_vars: set[str] | None = None,
                        run_defined: set[str] | None = None, section: str = "", keys: bool = False) -> None:
        """Check every template string inside `value` (with `keys`, the keys of a mapping instead)."""
        if keys:
            found = [((*path, k), k) for k in value if isinstance(k, str)] if isinstance(value, dict) else []
        else:
            found = templates.strings(value, path)
        context: Any = None
        for where, text in found:
            if not templates.is_template(text):
                continue
            try:
                info = templates.analyze(text)
            except templates.TemplateError as exc:
                # The error's line is within the template; a literal block's text starts a line down.
                offset = exc.line - 1 + (1 if where in self.doc.literal_blocks else 0)
                self.add(where, exc.message, exc.hint, rule="template", line_offset=offset, key=keys)
                continue
            for name in sorted(info.variables - defined):
                if context is None:
                    # What explains an undefined name is computed once per name and context: an aliased
                    # template can appear thousands of times.
                    context = (frozenset(defined), frozenset(later_vars or ()),
                               frozenset(run_defined) if run_defined is not None else None, section)
                explained = self.explained.get((name, context))
                if explained is None:
                    explained = self.undefined(name, defined, later_vars, run_defined, section)
                    self.explained[(name, context)] = explained
                self.add(where, *explained, rule="undefined", key=keys)
            for namespace, attribute in info.attributes:
                known = templates.NAMESPACES[namespace]
                if attribute not in known:
                    guess = did_you_mean(attribute, known)
                    self.add(where, f"'{namespace}.{attribute}' is not defined",
                             f"did you mean '{namespace}.{guess}'?" if guess
                             else f"{namespace} has: " + ", ".join(known), rule="undefined", key=keys)
            for kind, used, table in (("filter", info.filters, templates.ENV.filters),
                                      ("test", info.tests, templates.ENV.tests)):
                for name in sorted(used - set(table)):
                    self.add(where, f"unknown {kind} '{name}'",
                             suggestion(name, table) or f"see the Jinja2 list of builtin {kind}s", rule="template",
                             key=keys)
            for function, args in info.calls:
                if function in templates.FILE_FUNCTIONS and args and isinstance(args[0], str):
                    self.check_file(args[0], where)

    def undefined(self, name: str, defined: set[str], later_vars: set[str] | None,
                  run_defined: set[str] | None, section: str) -> tuple[str, str]:
        message = f"undefined variable '{name}'"
        if later_vars and name in later_vars:
            return message, f"'{name}' is defined after this var; move it above"
        if run_defined is not None and name in run_defined and section in ("checks", "evidence"):
            return (f"{'check' if section == 'checks' else 'evidence'} uses '{name}', which only a step saves",
                    "checks run alone when grading; find the resource by the names in vars, "
                    "or save it in an earlier check")
        if name in self.saved_by:
            where, label = self.saved_by[name]
            line = self.doc.mark(where).line
            return message, f"'{name}' is saved by {label} at line {line}, which runs later; reorder the steps"
        visible = [n for n in defined if not n.startswith("_")]
        return message, suggestion(name, visible) or "define it in vars or save it in an earlier step"


def _step_label(raw: dict[str, Any], path: YamlPath) -> str:
    if isinstance(raw.get("id"), str):
        return f"step '{raw['id']}'"
    return f"the {raw.get('action', 'step')} step"


# --------------------------------------------------------------------------------------------------
# Checks shared with the engine (which re-checks templated values after rendering)


@functools.lru_cache(maxsize=4096)
def jmespath_problem(expression: str) -> str | None:
    import jmespath
    from jmespath import exceptions

    try:
        jmespath.compile(expression)
    except exceptions.ParseError as exc:
        return f"'{expression}' does not compile: {exc.msg} at column {exc.lex_position + 1}"
    except exceptions.JMESPathError as exc:
        return f"'{expression}' does not compile: {exc}"
    return None


def file_problem(lab_dir: Path, relative: str) -> tuple[str, str] | None:
    """Why a file named by a lab cannot be used, or None."""
    if os.path.isabs(relative):
        return f"file '{relative}' is an absolute path", "name files relative to the lab file, inside its folder"
    base = lab_dir.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        return f"file '{relative}' is outside the lab's folder", "keep the files a lab uses beside it"
    if not target.is_file():
        nearby = [p.name for p in target.parent.iterdir()] if target.parent.is_dir() else []
        return f"file '{relative}' does not exist", suggestion(target.name, nearby) or f"looked in {target.parent}"
    return None


_BOTOCORE_PATH = re.compile(r"\.?([A-Za-z0-9_\-:]+)|\[(\d+)\]")


def _parse_botocore_name(name: str) -> YamlPath:
    parts: list[str | int] = []
    for match in _BOTOCORE_PATH.finditer(name):
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return tuple(parts)


def _placeholders(shape: Any, value: Any) -> tuple[Any, set[YamlPath]]:
    """Params as botocore should see them before rendering, and the paths of templated values.

    A templated string stands for a value of any type until it is rendered; a mapping or list given
    for a string parameter (a policy document) is sent as JSON, so it stands for a string.
    """
    templated: set[YamlPath] = set()

    def walk(shape: Any, value: Any, path: YamlPath) -> Any:
        if isinstance(value, str) and templates.is_template(value):
            templated.add(path)
            return value
        if shape is None:
            return value
        kind = shape.type_name
        if kind == "string" and isinstance(value, (dict, list)):
            return "{}"
        if kind == "structure" and isinstance(value, dict):
            return {k: walk(shape.members.get(k), v, (*path, k)) for k, v in value.items()}
        if kind == "list" and isinstance(value, list):
            return [walk(shape.member, v, (*path, i)) for i, v in enumerate(value)]
        if kind == "map" and isinstance(value, dict):
            return {k: walk(shape.value, v, (*path, k)) for k, v in value.items()}
        return value

    return walk(shape, value, ()), templated


@functools.cache
def _input_shape(op: Any) -> Any:
    # botocore builds a new OperationModel, and shapes with it, on every `operation_model()` call.
    return op.model.input_shape


def botocore_problems(op: Any, params: dict[str, Any]) -> list[tuple[YamlPath, str, str]]:
    """botocore's own validation of an operation's parameters, with templated values left to run time."""
    from botocore.validate import ParamValidator

    shape = _input_shape(op)
    if shape is None:
        if params:
            return [((k,), f"unknown parameter '{k}' for {op.action}", f"{op.name} takes no parameters")
                    for k in params]
        return []
    prepared, templated = _placeholders(shape, params)
    report = ParamValidator().validate(prepared, shape)
    problems: list[tuple[YamlPath, str, str]] = []
    for kind, name, details in getattr(report, "_errors", []):
        where = _parse_botocore_name(name)
        if any(where[: len(t)] == t for t in templated):
            continue  # checked again after rendering
        if kind == "unknown field":
            unknown = details["unknown_param"]
            valid = details["valid_names"]
            problems.append(((*where, unknown), f"unknown parameter '{unknown}' for {op.action}",
                             suggestion(unknown, valid) or "parameters: " + ", ".join(valid)))
        elif kind == "missing required field":
            required = details["required_name"]
            inside = f" in {name.lstrip('.')}" if name else ""
            problems.append((where, f"missing required parameter '{required}'{inside} for {op.action}",
                             f"add '{required}:'"))
        elif kind == "invalid type":
            names = [t.strip("<>").replace("class ", "").strip("'") for t in details["valid_types"]]
            wanted = _botocore_kind(names)
            got = details["param"]
            problems.append((where, f"parameter {name.lstrip('.')} of {op.action} must be {wanted}, "
                             f"not {_kind(got)}", _type_hint(wanted, got)))
        elif kind in ("invalid range", "invalid length"):
            problems.append((where, f"parameter {name.lstrip('.')} of {op.action}: {kind} "
                             f"(minimum {details.get('min_allowed')})", "change the value"))
        else:
            problems.append((where, f"parameter {name.lstrip('.') or '(input)'} of {op.action}: {kind}",
                             "see 'labrunner actions " + op.action + "'"))
    problems.extend(_enum_problems(shape, prepared, templated, op.action))
    return problems


_BOTOCORE_KINDS = {"str": "a string", "int": "a whole number", "float": "a number", "decimal.Decimal": "a number",
                   "bool": "true or false", "list": "a list", "tuple": "", "dict": "a mapping",
                   "bytes": "a string", "bytearray": "", "file-like object": "", "datetime.datetime": "a timestamp"}


def _botocore_kind(names: list[str]) -> str:
    """botocore's accepted Python types as the kind of YAML value to write."""
    kinds = [_BOTOCORE_KINDS.get(n, n) for n in names]
    unique = list(dict.fromkeys(k for k in kinds if k))
    return " or ".join(unique) or " or ".join(names)


def _type_hint(wanted: str, got: Any) -> str:
    if isinstance(got, str) and wanted in ("a whole number", "a number", "true or false"):
        return f"write {wanted} without quotes"
    if "a string" in wanted and not isinstance(got, (dict, list)):
        return "quote the value to make it a string"
    return f"write {wanted} here"


def _enum_problems(shape: Any, value: Any, templated: set[YamlPath], action: str) -> list[tuple[YamlPath, str, str]]:
    """Enum values botocore knows but does not check: AWS would reject a misspelt one."""
    found: list[tuple[YamlPath, str, str]] = []

    def walk(shape: Any, value: Any, path: YamlPath) -> None:
        if shape is None or path in templated:
            return
        kind = shape.type_name
        if kind == "string" and isinstance(value, str) and getattr(shape, "enum", None):
            if value not in shape.enum:
                found.append((path, f"{_show(value)} is not a valid {path[-1] if path else 'value'} for {action}",
                              suggestion(value, shape.enum) or "use one of: " + ", ".join(shape.enum)))
        elif kind == "structure" and isinstance(value, dict):
            for k, v in value.items():
                walk(shape.members.get(k), v, (*path, k))
        elif kind == "list" and isinstance(value, list):
            for i, v in enumerate(value):
                walk(shape.member, v, (*path, i))
        elif kind == "map" and isinstance(value, dict):
            for k, v in value.items():
                walk(shape.value, v, (*path, k))

    walk(shape, value, ())
    return found


__all__ = ["botocore_problems", "did_you_mean", "file_problem", "jmespath_problem", "load_lab",
           "validate_document", "validate_file", "validate_text"]
