"""A rule of validation's meaning layer (`semantics.py`) that needs the whole lab: alternatives' saves.

An alternative (a task's other valid route) replaces the task's steps for the rest of the lab when
`labrunner verify` runs it, so it must save every value that later tasks' steps take from the task's own
steps. `check_route_saves` reports each one missing, who uses it and who saves it now, to the shared
`Reporter` (`reporter.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner import templates
from runner.loader import Document
from runner.loader import Path as YamlPath
from runner.validate.reporter import Reporter, step_label

#: name -> (where a later step uses it, that step's label, where the task's step saves it, its label)
Uses = dict[str, tuple[YamlPath, str, YamlPath, str]]


@dataclass(frozen=True)
class Route:
    """One alternative of a task, read: its name, where it is, and the names its steps save."""

    name: str
    path: YamlPath
    task_id: Any
    task_path: YamlPath
    saves: set[str]


def check_route_saves(doc: Document, report: Reporter, routes: list[Route]) -> None:
    """Every value a later task's step takes from an alternative's task, and the alternative does not save."""
    tasks = doc.data.get("tasks")
    if not routes or not isinstance(tasks, list):
        return
    needed: dict[YamlPath, Uses] = {}
    for route in routes:
        if route.task_path not in needed:
            needed[route.task_path] = later_uses(tasks, int(route.task_path[1]))
        for name, (used_at, user, saved_at, saver) in sorted(needed[route.task_path].items()):
            if name in route.saves:
                continue
            report.add(route.path, f"alternative '{route.name}' of task '{route.task_id}' does not save "
                       f"'{name}', which {user} uses at line {doc.mark(used_at).line}",
                       f"save '{name}' in one of its steps, as {saver} does at line {doc.mark(saved_at).line}",
                       key=True, rule="alternative-saves")


def later_uses(tasks: list[Any], index: int) -> Uses:
    """The names task `index`'s steps save that a later task's step uses before any step saves them again."""
    provided: dict[str, tuple[YamlPath, str]] = {}
    for i, raw in enumerate(_steps(tasks[index])):
        path: YamlPath = ("tasks", index, "steps", i)
        for name in saves_of(raw):
            provided[name] = (path, step_label(raw, path))
    uses: Uses = {}
    for t in range(index + 1, len(tasks)):
        for i, raw in enumerate(_steps(tasks[t])):
            path = ("tasks", t, "steps", i)
            saves = saves_of(raw)
            expect = raw.get("expect")
            used = _variables([*(raw.get(k) for k in ("params", "when", "expect", "save")),
                               list(expect) if isinstance(expect, dict) else None])  # mapping form: keys too
            if isinstance(raw.get("cleanup"), dict):
                used |= _variables(raw["cleanup"]) - saves  # a cleanup sees its own step's saves
            for name in sorted(used & provided.keys()):
                uses.setdefault(name, (path, f"{step_label(raw, path)} of task '{tasks[t].get('id')}'",
                                       *provided[name]))
            for name in saves:
                provided.pop(name, None)  # later uses of the name take this step's value
    return uses


def saves_of(raw: dict[str, Any]) -> set[str]:
    """The names a step's `save` defines."""
    save = raw.get("save")
    return set(save) if isinstance(save, dict) else set()


def _steps(task: Any) -> list[dict[str, Any]]:
    steps = task.get("steps") if isinstance(task, dict) else None
    # `{}` stands in for a malformed entry (the schema layer reported it), so indices stay the YAML's.
    return [raw if isinstance(raw, dict) else {} for raw in steps] if isinstance(steps, list) else []


def _variables(value: Any) -> set[str]:
    """The variables the templates inside `value` read (a template that does not parse reads none here:
    `semantics.Semantics.check_templates` reports it)."""
    names: set[str] = set()
    for _, text in templates.strings(value):
        if templates.is_template(text):
            try:
                names |= templates.analyze(text).variables
            except templates.TemplateError:
                continue
    return names
