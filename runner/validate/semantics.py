"""Layer 3 of validation: every rule of the lab format that a schema cannot express.

Actions exist and fit their section (checks, evidence and advice read only); botocore's own validation of static `aws.*`
parameters and the files a lab names (`runner.value_checks`); templates and the variables they name,
in the order a run defines them; JMESPath, and the values operators can never use (`runner.operators`);
ids, error codes (`value_checks.error_code_problem`), retries (their timing: `retries.py`), loops, saves
and secrets; the texts a person reads; a task's alternatives and mistakes, whose saves `routes.py`
compares with what later tasks use. Each rule is one method of `Semantics`; it skips what the schema
layer (`schema_errors.py`) already reported to the shared `Reporter`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import jmes, model, operation_kinds, registry, templates, value_checks
from runner.errors import did_you_mean, suggestion
from runner.loader import Document
from runner.loader import Path as YamlPath
from runner.operators import OPERATORS
from runner.validate import retries
from runner.validate.reporter import Reporter, step_label
from runner.validate.routes import Route, check_route_saves, saves_of

_RETRY_SAFE = "name the error codes that make it safe to repeat in retry.on, or retry a read-only check instead"


#: Sections of read-only proof: what they run may not change the account, nor register a cleanup.
_READ_ONLY_SECTIONS = ("checks", "evidence", "advice")


@dataclass(frozen=True)
class _StepRef:
    raw: dict[str, Any]
    path: YamlPath
    section: str  # steps, checks, cleanup (lab-level), step-cleanup
    task: str | None


class Semantics:
    """Every rule of the lab format that a schema cannot express."""

    def __init__(self, doc: Document, lab_dir: Path, report: Reporter) -> None:
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

    def line_of(self, path: YamlPath, seen_from: YamlPath) -> str:
        """Where `path` was written, as a problem at `seen_from` names it: `line 7`, or in another file
        (an include), `shared/steps.yaml line 7`."""
        file, line = self.doc.file_of(path), self.doc.mark(path).line
        return f"line {line}" if file == self.doc.file_of(seen_from) else f"{file} line {line}"

    def flagged(self, path: YamlPath) -> bool:
        return path in self.report.flagged

    def run(self) -> None:
        defined = set(templates.BUILTIN_NAMES)
        defined = self.check_vars(defined)
        # What a person reads is a template too; a lab's and its tasks' texts see the vars and builtins.
        self.check_texts(self.data, (), defined, ("title", "description"))
        self.collect_saves()
        self.check_secrets()
        tasks = self.data.get("tasks")
        task_ids: dict[str, YamlPath] = {}
        vars_defined = set(defined)
        check_defined = set(defined)  # checks run alone when grading: they see vars and earlier checks' saves
        evidence_saved: set[str] = set()  # evidence runs only when grading, after a task's checks failed
        routes: list[Route] = []  # every alternative, for `check_route_saves` once every task is read
        for t, task in enumerate(tasks if isinstance(tasks, list) else []):
            if not isinstance(task, dict):
                continue
            tpath: YamlPath = ("tasks", t)
            self.check_texts(task, tpath, vars_defined, ("title", "description"))
            task_id = task.get("id")
            if isinstance(task_id, str):
                if task_id in task_ids:
                    first = self.line_of((*task_ids[task_id], "id"), (*tpath, "id"))
                    self.add((*tpath, "id"), f"duplicate task id '{task_id}' (first at {first})",
                             "give every task its own id", rule="duplicate-id")
                else:
                    task_ids[task_id] = tpath
            before_steps = set(defined)
            for i, raw in enumerate(self.entries(task, "steps", tpath)):
                ref = _StepRef(raw, (*tpath, "steps", i), "steps", task_id)
                defined = self.check_step(ref, defined)
            before_checks = set(check_defined)
            for i, raw in enumerate(self.entries(task, "checks", tpath)):
                ref = _StepRef(raw, (*tpath, "checks", i), "checks", task_id)
                check_defined = self.check_step(ref, check_defined, run_defined=defined)
                defined |= check_defined
            self.check_advice(task, tpath, task_id, check_defined, defined)
            evidence_saved = self.check_evidence(task, tpath, task_id, before_checks, evidence_saved, defined)
            routes += self.check_routes(task, tpath, task_id, before_steps)
        check_route_saves(self.doc, self.report, routes)
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

    def check_advice(self, task: dict[str, Any], tpath: YamlPath, task_id: Any, check_defined: set[str],
                     run_defined: set[str]) -> None:
        """A task's advice: read-only, after its checks. It sees what the checks see, this task's checks'
        saves included, and what earlier advice of the task saved; what it saves is for that advice only,
        so that no check, and so no score, can depend on advice."""
        defined = set(check_defined)
        for i, raw in enumerate(self.entries(task, "advice", tpath)):
            ref = _StepRef(raw, (*tpath, "advice", i), "advice", task_id if isinstance(task_id, str) else None)
            defined = self.check_step(ref, defined, run_defined=run_defined)

    def check_routes(self, task: dict[str, Any], tpath: YamlPath, task_id: Any,
                     before_steps: set[str]) -> list[Route]:
        """A task's alternatives and mistakes: each a list of steps that replaces the task's steps, so it
        sees what they see. Returns the alternatives, whose saves `check_route_saves` compares."""
        found: list[Route] = []
        for kind in ("alternatives", "mistakes"):
            routes = task.get(kind)
            if not isinstance(routes, dict) or self.flagged((*tpath, kind)):
                continue
            if routes and not task.get("checks"):
                self.add((*tpath, kind), f"{kind} without checks can never be verified",
                         f"labrunner verify grades each of the task's {kind} by the task's checks; add checks",
                         key=True, rule="routes")
            for name, items in routes.items():
                defined = set(before_steps)
                saved: set[str] = set()
                for i, raw in enumerate(items if isinstance(items, list) else []):
                    step = raw if isinstance(raw, dict) else {}
                    owner = task_id if isinstance(task_id, str) else None
                    defined = self.check_step(_StepRef(step, (*tpath, kind, name, i), "steps", owner), defined)
                    saved |= saves_of(step)
                if kind == "alternatives":
                    found.append(Route(str(name), (*tpath, kind, name), task_id, tpath, saved))
        return found

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
                label = step_label(raw, path)
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
        self.check_error_codes(raw, path, spec)
        if "expect_error" in raw and "ignore_errors" in raw:
            both = set(model.codes(raw.get("expect_error"))) & set(model.codes(raw.get("ignore_errors")))
            if both:
                self.add((*path, "ignore_errors"), f"{', '.join(sorted(both))} is both expected and ignored",
                         "keep the code in one of expect_error or ignore_errors", rule="error-codes")
        # Templates: params, when, expectations see what is defined before the step, and with `loop`, `item`.
        inside = self.check_loop(raw, ref, defined, run_defined)
        self.check_templates(raw.get("params"), (*path, "params"), inside, run_defined=run_defined,
                             section=ref.section)
        self.check_templates(raw.get("when"), (*path, "when"), inside, run_defined=run_defined,
                             section=ref.section)
        self.check_texts(raw, path, inside, ("title", "message"), run_defined=run_defined, section=ref.section)
        self.check_templates(raw.get("expect"), (*path, "expect"), inside, run_defined=run_defined,
                             section=ref.section)
        self.check_templates(raw.get("expect"), (*path, "expect"), inside, run_defined=run_defined,
                             section=ref.section, keys=True)  # mapping form: its paths are templates too
        saves = self.check_save(raw, path)
        after = defined | saves
        cleanup = raw.get("cleanup")
        if cleanup is not None:
            if ref.section in _READ_ONLY_SECTIONS:
                what = {"checks": "a check", "evidence": "evidence", "advice": "advice"}[ref.section]
                self.add((*path, "cleanup"), f"{what} cannot register a cleanup",
                         "checks are read-only proof; move the cleanup to the step that made the resource",
                         key=True, rule="check-cleanup")
            elif isinstance(cleanup, dict):
                self.check_step(_StepRef(cleanup, (*path, "cleanup"), "step-cleanup", ref.task),
                                after | (inside - defined))
        return after

    def check_loop(self, raw: dict[str, Any], ref: _StepRef, defined: set[str],
                   run_defined: set[str] | None) -> set[str]:
        """A step's `loop`: what it names is defined before the step; returns what the step's own templates
        see (`item` too). A step's cleanup runs once for each item its step ran for: it cannot loop itself."""
        if "loop" not in raw:
            return defined
        where: YamlPath = (*ref.path, "loop")
        if ref.section == "step-cleanup":
            self.add(where, "a step's cleanup cannot loop", "it already runs once for each item of its step's loop, "
                     "with that item; put loop on the step", key=True, rule="loop")
        self.check_templates(raw["loop"], where, defined, run_defined=run_defined, section=ref.section)
        return defined | {model.LOOP_ITEM}

    def check_step_id(self, raw: dict[str, Any], path: YamlPath) -> None:
        step_id = raw.get("id")
        if not isinstance(step_id, str):
            return
        if step_id in self.step_ids:
            first = self.line_of((*self.step_ids[step_id], "id"), (*path, "id"))
            self.add((*path, "id"), f"duplicate step id '{step_id}' (first at {first})",
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
        if section in _READ_ONLY_SECTIONS and not spec.read_only:
            why = f" ({spec.operation.kind.why})" if spec.operation is not None and spec.repeatable else ""
            self.add((*path, "action"), f"{section} must be read-only, but {name} changes the account{why}",
                     "move it to the task's steps, or use a read-only operation ("
                     + ", ".join(operation_kinds.READ_VERBS) + ")", rule="check-not-read-only")
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

    def check_error_codes(self, raw: dict[str, Any], path: YamlPath, spec: registry.ActionSpec | None) -> None:
        """The codes an `aws.*` step names can match an error of its operation (`value_checks.error_code_problem`)."""
        if spec is None or spec.operation is None:
            return
        retry = raw.get("retry")
        named = [((*path, "expect_error"), raw.get("expect_error")),
                 ((*path, "ignore_errors"), raw.get("ignore_errors")),
                 ((*path, "retry", "on"), retry.get("on") if isinstance(retry, dict) else None)]
        for where, value in named:
            if value is None or self.flagged(where):
                continue
            for index, code in enumerate(value if isinstance(value, list) else [value]):
                problem = value_checks.error_code_problem(spec.operation, str(code))
                if problem:
                    self.add((*where, index) if isinstance(value, list) else where, *problem, rule="error-codes")

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
                templated = isinstance(value, str) and templates.is_template(value)  # checked once rendered
                if operator.problem is not None and not templated and not self.flagged(vpath) and (
                        unusable := operator.problem(value)):
                    self.add(vpath, *unusable, rule=operator.rule)

    def check_jmespath(self, expression: str, path: YamlPath, *, key_mark: bool = False) -> None:
        if templates.is_template(expression):
            return  # compiled after rendering
        found = jmes.problem(expression)
        if found:
            self.add(path, f"JMESPath {found[0]}", found[1], key=key_mark, rule="jmespath")

    def check_retry(self, raw: dict[str, Any], path: YamlPath, spec: registry.ActionSpec | None) -> None:
        retry = raw.get("retry")
        rpath: YamlPath = (*path, "retry")
        if not isinstance(retry, dict) or self.flagged(rpath):
            return
        for key, message, hint, rule in retries.timing_problems(retry, lambda key: self.flagged((*rpath, key))):
            self.add((*rpath, key), message, hint, rule=rule)
        if spec is not None and not spec.repeatable and not retry.get("on"):
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

    def check_texts(self, raw: dict[str, Any], path: YamlPath, defined: set[str], keys: tuple[str, ...],
                    **context: Any) -> None:
        """Titles, descriptions and hints are rendered before a person reads them: their templates too."""
        for key in keys:
            if isinstance(raw.get(key), str):
                self.check_templates(raw[key], (*path, key), defined, **context)

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
        if name == model.LOOP_ITEM:
            return message, f"'{model.LOOP_ITEM}' is the current item of a step with 'loop:'; give this step a loop"
        if later_vars and name in later_vars:
            return message, f"'{name}' is defined after this var; move it above"
        if run_defined is not None and name in run_defined and section in _READ_ONLY_SECTIONS:
            what = {"checks": "check", "evidence": "evidence", "advice": "advice"}[section]
            return (f"{what} uses '{name}', which only a step saves",
                    "checks run alone when grading; find the resource by the names in vars, "
                    "or save it in an earlier check")
        if name in self.saved_by:
            where, label = self.saved_by[name]
            line = self.doc.mark(where).line
            return message, f"'{name}' is saved by {label} at line {line}, which runs later; reorder the steps"
        visible = [n for n in defined if not n.startswith("_")]
        return message, suggestion(name, visible) or "define it in vars or save it in an earlier step"
