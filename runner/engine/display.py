"""The texts a person reads, rendered: the titles and descriptions of a lab and its tasks, and the titles
and hints (`message`) of steps and expectations are templates, like every other string of a lab.

Used by `loop.py` (a lab's and its tasks' texts, once the vars are rendered) and `steps.py` (a step's,
with what it sees when it runs). The console, the record and every output made from it (JUnit,
Gradescope, HTML) then show what was rendered. A text whose template cannot render at that moment (a
lab-level cleanup's title naming a value no step saved) is shown as written: a title is never a
reason for a step to fail.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from runner import templates
from runner.engine.context import RunContext
from runner.model import Lab, Step, Task


def text(value: Any, ctx: RunContext) -> Any:
    """`value` rendered when it is a template that renders, else as it is."""
    if not isinstance(value, str) or not templates.is_template(value):
        return value
    try:
        return str(ctx.render(value))
    except templates.TemplateError:
        return value


def lab(shown: Lab, ctx: RunContext) -> Lab:
    """The lab with its texts rendered with the vars and builtins: its title and description, its tasks',
    and its steps' titles and hints (a step's that names what an earlier step saves is rendered again when
    the step runs, by `step`; one that never runs, a task skipped, shows what the vars give)."""

    def steps(items: tuple[Step, ...]) -> tuple[Step, ...]:
        return tuple(step(item, ctx) for item in items)

    def task(shown_task: Task) -> Task:
        changes: dict[str, Any] = {"title": text(shown_task.title, ctx),
                                   "description": text(shown_task.description, ctx)}
        for name in (f.name for f in fields(shown_task)):  # steps, checks, evidence...: every list of steps
            value = getattr(shown_task, name)
            if isinstance(value, tuple) and value and isinstance(value[0], Step):
                changes[name] = steps(value)
        return replace(shown_task, **changes)

    return replace(shown, title=text(shown.title, ctx), description=text(shown.description, ctx),
                   tasks=tuple(task(t) for t in shown.tasks), cleanup=steps(shown.cleanup))


def step(shown: Step, ctx: RunContext) -> Step:
    """The step with its title and hint rendered with what it sees (its cleanup's when it is registered)."""
    cleanup = step(shown.cleanup, ctx) if shown.cleanup is not None else None
    if not _templated(shown.title) and not _templated(shown.message) and cleanup is shown.cleanup:
        return shown  # the common case, untouched: no copy per step
    return replace(shown, title=text(shown.title, ctx), message=text(shown.message, ctx), cleanup=cleanup)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and templates.is_template(value)
