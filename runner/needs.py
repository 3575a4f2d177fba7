"""What a task needs from the tasks before it: the values their steps and checks save that its own
templates name.

`labrunner run --task X` (`runner.commands.run`) runs the tasks X needs as well, and says so: a run
of X alone would stop at the first template naming a value a skipped task saves. Below the engine and
the commands; reads the model and `templates`' analysis only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runner import templates
from runner.model import Lab, Step, Task


@dataclass(frozen=True)
class Need:
    """A task another task needs: `task` saves `name`, which `by` uses."""

    task: str
    name: str
    by: str


def _texts(step: Step) -> Iterator[Any]:
    yield step.params
    yield step.when
    yield step.title
    yield step.message
    yield step.loop
    yield from step.save.values()
    for expectation in step.expect:
        yield expectation.path
        yield expectation.expected
        yield expectation.message


def used(step: Step) -> set[str]:
    """Every variable a step's templates name (its cleanup's too)."""
    names: set[str] = set()
    for value in _texts(step):
        for _, text in templates.strings(value):
            if templates.is_template(text):
                names |= templates.analyze(text).variables
    return names | (used(step.cleanup) if step.cleanup is not None else set())


def _ran(task: Task) -> tuple[Step, ...]:
    return (*task.steps, *task.checks)  # what `run` runs of a task, and whose saves later tasks see


def needed(lab: Lab, selected: tuple[str, ...]) -> list[Need]:
    """The tasks outside `selected` that a selected task needs (and what those need), in lab order."""
    chosen = set(selected)
    found: list[Need] = []
    tasks = list(lab.tasks)
    for index in reversed(range(len(tasks))):
        task = tasks[index]
        if task.id not in chosen:
            continue
        own: set[str] = set()
        wanted: set[str] = set()
        for step in _ran(task):
            wanted |= used(step) - own
            own |= set(step.save)
        for name in sorted(wanted - set(lab.vars) - templates.BUILTIN_NAMES):
            # The value the task sees is the last one saved before it.
            source = next((earlier for earlier in reversed(tasks[:index])
                           if any(name in step.save for step in _ran(earlier))), None)
            if source is not None and source.id not in chosen:
                chosen.add(source.id)
                found.append(Need(source.id, name, task.id))
    order = {task.id: i for i, task in enumerate(tasks)}
    return sorted(found, key=lambda need: order[need.task])
