"""The cases `labrunner verify` runs for a lab, and what each expects of every task: plain data, no I/O.

- `untouched`: nothing is done; every task must score 0;
- `reference`: the lab's own steps; every task must earn full marks right after its steps, and again
  after the lab's clean-up, when only evidence remains;
- `leave-out/<task>`: the lab's steps without that task's: it must score 0 and every task before it
  keep full marks; a later task keeps full marks or depends on the left-out one (`judge.py` tells);
- `alternative/<task>/<name>`: the route replaces the task's steps; the tasks up to it keep full
  marks, as they go and after clean-up (later tasks are not run: they would only repeat the reference);
- `mistake/<task>/<name>`: the mistake replaces the task's steps; it must score 0 and the tasks before
  it keep full marks (its after-clean-up grade would judge the lab's clean-up, not the mistake).
A case with no meaning (a task with no steps cannot be left out) is planned with the reason it is skipped.
`case_run.py` runs a case, `judge.py` holds the grades against `Case.expect`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from runner.model import Lab, Step, Task

Kind = Literal["untouched", "reference", "leave-out", "alternative", "mistake"]
#: What a case expects of a task: full marks, 0, full marks unless it needs the left-out task, nothing
#: (the case does not run that far).
Expect = Literal["full", "zero", "full-or-dependent", "none"]
#: When a case grades: right after each task's steps, and after the clean-up.
Phase = Literal["as-it-goes", "after-clean-up"]


@dataclass(frozen=True)
class Case:
    """One history of an account: which steps run for which task, how far, and when it is graded."""

    name: str  # unique in the lab: what JUnit and the pytest plugin call it
    kind: Kind
    title: str  # what the matrix calls it
    task: str | None = None  # the task the case is about
    routes: Mapping[str, tuple[Step, ...]] = field(default_factory=lambda: MappingProxyType({}))
    stop: int = 0  # the case runs the lab's first `stop` tasks
    phases: tuple[Phase, ...] = ("as-it-goes",)
    skip: str | None = None  # why the case means nothing (then it is not run)

    def expect(self, lab: Lab, index: int) -> Expect:
        """What the case expects of the lab's task at `index`."""
        if self.kind == "untouched":
            return "zero"
        if index >= self.stop:
            return "none"
        if self.kind in ("reference", "alternative"):
            return "full"
        about = next(i for i, task in enumerate(lab.tasks) if task.id == self.task)
        if index < about:
            return "full"
        return "zero" if index == about else "full-or-dependent"


def plan(lab: Lab) -> list[Case]:
    """Every case of the lab, in the order the matrix lists them."""
    count = len(lab.tasks)
    cases = [Case("untouched", "untouched", "untouched account"),
             Case("reference", "reference", "reference", stop=count, phases=("as-it-goes", "after-clean-up"))]
    for task in lab.tasks:
        cases.append(Case(f"leave-out/{task.id}", "leave-out", f"leave out {task.id}", task.id,
                          MappingProxyType({task.id: ()}), count,
                          skip=None if task.steps else "the task has no steps to leave out"))
    for index, task in enumerate(lab.tasks):
        cases += _routes(task, index, "alternative", task.alternatives, ("as-it-goes", "after-clean-up"))
        cases += _routes(task, index, "mistake", task.mistakes, ("as-it-goes",))
    return cases


def _routes(task: Task, index: int, kind: Kind, routes: Mapping[str, tuple[Step, ...]],
            phases: tuple[Phase, ...]) -> list[Case]:
    return [Case(f"{kind}/{task.id}/{name}", kind, f"{kind} {task.id}/{name}", task.id,
                 MappingProxyType({task.id: steps}), index + 1, phases) for name, steps in routes.items()]
