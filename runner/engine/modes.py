"""Run modes: what makes one kind of run differ from another, as one object per kind.

`loop.Runner` asks its mode every question on which kinds of run differ, and never compares names: what
the target needs first, the step runner, what a task runs, what runs when its checks fail,
what an unselected task still runs for the selected ones, how a finished task is credited, what a
failed task blocks, whether the lab's `cleanup` runs, and what the record says. A mode answers once
per task, never per step, so the loop's per-step path costs the same in every mode.

This module holds the interface, `RunMode`, and `labrunner run`'s mode, `RUN`; grading's is
`runner.grading.mode.GRADE`. Only `loop.py` asks the questions; callers choose a mode in `RunOptions`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runner.engine.observer import Observer
from runner.engine.record import StepRecord, StepStatus, TaskRecord
from runner.engine.retrying import Clock, Sleep
from runner.engine.steps import StepRunner
from runner.engine.targets import Target
from runner.model import Step, Task

#: What a task has run so far, by section of its record: "steps", "checks", "advice" and "evidence".
Done = Mapping[str, Sequence[StepRecord]]


@dataclass(frozen=True)
class Credit:
    """How a finished task is scored: its status, why (unless it simply passed), and what earned it."""

    status: StepStatus
    summary: str | None = None
    credited_by: str | None = None  # "checks" or "evidence" when a grade credited the task, else None
    counts: bool = True  # False: the task's points are 0 in the record (a grade of a task it cannot grade)


def task_status(records: Sequence[StepRecord]) -> StepStatus:
    """A task's status from its steps' records: a failure outranks an error, which outranks a pass."""
    if any(r.status == "failed" for r in records):
        return "failed"
    if any(r.status == "error" for r in records):
        return "error"
    return "passed"


def first_failure(records: Sequence[StepRecord]) -> str:
    """What a task that did not pass says: its first failed step and why (there is one)."""
    first = next(r for r in records if r.failed)
    return f"{first.key}: {first.summary or first.status}"


class RunMode(ABC):
    """The decisions of one kind of run. A mode holds no state of a run: one instance serves every run."""

    #: `run.mode` in templates and the record's `mode`.
    name: str
    #: Whether the lab's `cleanup` runs at the end; the cleanups that steps registered always run.
    cleans_up: bool
    #: Whether the record shows `since`, the start of the window that actions look back over.
    shows_window: bool
    #: What the record says of a task the run's time limit kept from running: "not run: <reason>".
    not_done = "not run"

    @abstractmethod
    def prepare(self, target: Target) -> None:
        """Make the target fit for the mode before anything runs on it (a guard on its clients)."""

    @abstractmethod
    def step_runner(self, *, clock: Clock, sleep: Sleep, observer: Observer) -> StepRunner:
        """What runs every step of the run."""

    @abstractmethod
    def sections(self, task: Task) -> tuple[tuple[str, tuple[Step, ...]], ...]:
        """What a task runs, in order, by section of its record; a skipped task lists the same steps."""

    @abstractmethod
    def evidence(self, task: Task, checks: Sequence[StepRecord]) -> tuple[Step, ...]:
        """What runs after the task's checks ended with these records (each runs, whatever the others say)."""

    @abstractmethod
    def for_later_tasks(self, task: Task) -> tuple[Step, ...]:
        """What an unselected task still runs, unrecorded, when a later task is selected."""

    @abstractmethod
    def credit(self, task: Task, done: Done) -> Credit:
        """How a task that ran to its end is scored, from what it ran."""

    @abstractmethod
    def blocked_by(self, record: TaskRecord, keep_going: bool) -> str | None:
        """Why the later tasks are skipped after this task's record (their summary), or None: they run."""


class Run(RunMode):
    """`labrunner run`: each task's steps, then its checks; a failed task stops the run unless `keep_going`."""

    name = "run"
    cleans_up = True
    shows_window = False

    def prepare(self, target: Target) -> None:
        return None  # a run may change anything the lab asks for

    def step_runner(self, *, clock: Clock, sleep: Sleep, observer: Observer) -> StepRunner:
        return StepRunner(clock=clock, sleep=sleep, observer=observer)

    def sections(self, task: Task) -> tuple[tuple[str, tuple[Step, ...]], ...]:
        return (("steps", task.steps), ("checks", task.checks), ("advice", task.advice))

    def evidence(self, task: Task, checks: Sequence[StepRecord]) -> tuple[Step, ...]:
        return ()  # evidence credits a grade; a run proves the task by doing it

    def for_later_tasks(self, task: Task) -> tuple[Step, ...]:
        return ()  # a run does not do part of a task: the values a selected task needs come from --var

    def credit(self, task: Task, done: Done) -> Credit:
        # A task passes when every step and check passed or was skipped by `when`; advice never counts.
        everything = [*done["steps"], *done["checks"]]
        status = task_status(everything)
        return Credit(status, None if status == "passed" else first_failure(everything))

    def blocked_by(self, record: TaskRecord, keep_going: bool) -> str | None:
        if record.status == "passed" or keep_going:
            return None
        return f"skipped: task '{record.id}' failed (use --keep-going to run later tasks anyway)"


RUN = Run()
