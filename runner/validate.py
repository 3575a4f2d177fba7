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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import durations, model, registry, templates, value_checks
from runner.errors import LabError, Problem, brief, did_you_mean, kind_of, suggestion
from runner.loader import Document, load_file, load_text
from runner.operators import OPERATORS
from runner.schema import (
    ERROR_CODE_PATTERN,
    ID_PATTERN,
    LAB_PATTERN,
    REGION_PATTERN,
    TEMPLATE_PATTERN,
    VAR_PATTERN,
    lean,
)

YamlPath = tuple[str | int, ...]
_RETRY_SAFE = "name the error codes that make it safe to repeat in retry.on, or retry a read-only check instead"


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
        what = "empty" if doc.data is None else f"a {kind_of(doc.data)}"
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
def _lab_check() -> value_checks.SchemaCheck:
    """The lab schema without its per-action parameter rules (`value_checks.params_check` applies those)."""
    return value_checks.SchemaCheck(lean())


def _check_schema(doc: Document, report: _Reporter) -> None:
    for error in _lab_check().errors(doc.data):
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
        branch = _lab_check().schema["$defs"][branch["$ref"].rsplit("/", 1)[-1]]
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
            for where, message, hint in value_checks.botocore_problems(spec.operation, params):
                self.add((*ppath, *where), message, hint, key=message.startswith("unknown parameter"),
                         rule="aws-params")
        for name in spec.files:
            value = params.get(name)
            if isinstance(value, str) and not templates.is_template(value):
                self.check_file(value, (*ppath, name))

    def check_file(self, relative: str, path: YamlPath) -> None:
        problem = value_checks.file_problem(self.lab_dir, relative)
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
                operator = OPERATORS[ops[0]]
                value, vpath = entry[operator.name], (*here, operator.name)
                if operator.problem is None or self.flagged(vpath) or (
                        isinstance(value, str) and templates.is_template(value)):
                    continue  # a templated value is checked once rendered
                unusable = operator.problem(value)
                if unusable:
                    self.add(vpath, *unusable, rule=operator.rule)

    def check_jmespath(self, expression: str, path: YamlPath, *, key_mark: bool = False) -> None:
        if templates.is_template(expression):
            return  # compiled after rendering
        message = value_checks.jmespath_problem(expression)
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


__all__ = ["load_lab", "validate_document", "validate_file", "validate_text"]
