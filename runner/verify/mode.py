"""The run mode of `labrunner verify`'s cases: the lab's steps run as `labrunner run` runs them, but a
case may run other steps for a task (an alternative, a mistake, none), and nothing but steps.

One `Verify` per case (what it holds is the case's routes, never a run's state); `case_run.py` drives it
task by task (`loop.TaskByTask`) and grades each task in between, through `runner.grading` on a
read-only target: a case's checks are the grade's, never run here. Beside `RUN` (`engine/modes.py`) and
`GRADE` (`grading/mode.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from runner.engine.modes import Credit, Done, Run, first_failure, task_status
from runner.engine.record import TaskRecord
from runner.model import Step, Task


class Verify(Run):
    """A case's steps: the lab's, with some tasks' replaced (`routes`: task id -> the steps it runs)."""

    def __init__(self, routes: Mapping[str, tuple[Step, ...]] | None = None) -> None:
        self.routes = MappingProxyType(dict(routes or {}))

    def sections(self, task: Task) -> tuple[tuple[str, tuple[Step, ...]], ...]:
        # Only steps: the case's grades, read-only, judge the task (its checks would only repeat them).
        return (("steps", self.routes.get(task.id, task.steps)),)

    def credit(self, task: Task, done: Done) -> Credit:
        steps = done["steps"]
        status = task_status(steps)
        return Credit(status, None if status == "passed" else first_failure(steps))

    def blocked_by(self, record: TaskRecord, keep_going: bool) -> None:
        return None  # a task after a failed one still runs: it is reported as dependent if it needed it
