"""Grade mode: the engine's loop observing a student's account instead of changing it.

`GRADE` is the `runner.engine.modes.RunMode` that `grader.options` puts in `RunOptions`. Its decisions:
the target is guarded and shares identical reads (`guard.py`, `sharing.py`) and steps run through
`GuardedStepRunner` (once, read-only); a task runs its checks alone, then its advice (never scored), and
its evidence when the checks fail;
every task is scored, whatever an earlier one scored; the lab's `cleanup` never runs; the record shows
the window the grade looked back over (`since`).
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.engine.modes import Credit, Done, RunMode, first_failure, task_status
from runner.engine.observer import Observer
from runner.engine.record import StepRecord, TaskRecord
from runner.engine.retrying import Clock, Sleep
from runner.engine.steps import StepRunner
from runner.engine.targets import Target
from runner.grading.guard import GuardedStepRunner, guard
from runner.grading.sharing import share_reads
from runner.model import Step, Task

#: Nothing can tell whether such a task was done: it is worth 0 in the grade, so that every output (the
#: record's points, JUnit's skipped test, Gradescope's 0/0, the CSV, the report) counts it the same.
#: `labrunner validate` warns about such a task (`runner.validate.cautions`).
NO_CHECKS = "skipped: the task has no checks to grade (it counts for no points)"


class Grade(RunMode):
    """`labrunner grade`: checks only, evidence when they fail, every task scored, nothing changed."""

    name = "grade"
    cleans_up = False  # grading changes nothing, so there is nothing of the lab's to clean up
    shows_window = True
    not_done = "not graded"

    def prepare(self, target: Target) -> None:
        guard(target)
        share_reads(target)

    def step_runner(self, *, clock: Clock, sleep: Sleep, observer: Observer) -> StepRunner:
        return GuardedStepRunner(clock=clock, sleep=sleep, observer=observer)

    def sections(self, task: Task) -> tuple[tuple[str, tuple[Step, ...]], ...]:
        # The student did the work: the lab's steps are neither run nor listed in the record.
        return (("checks", task.checks), ("advice", task.advice))

    def evidence(self, task: Task, checks: Sequence[StepRecord]) -> tuple[Step, ...]:
        # The checks failed: maybe the student already cleaned up, and the evidence shows it was done.
        return task.evidence if task_status(checks) != "passed" else ()

    def for_later_tasks(self, task: Task) -> tuple[Step, ...]:
        # A selected task's checks may use what an earlier task's checks save (they find resources by
        # names, or by what earlier checks found).
        return tuple(check for check in task.checks if check.save)

    def credit(self, task: Task, done: Done) -> Credit:
        if not task.checks:
            return Credit("skipped", NO_CHECKS, counts=False)
        everything = [*done["steps"], *done["checks"]]
        status = task_status(everything)
        if status == "passed":
            return Credit("passed", credited_by="checks")
        evidence = done["evidence"]
        if evidence and all(r.status == "passed" for r in evidence):
            return Credit("passed", f"credited by evidence ({first_failure(everything)})", "evidence")
        return Credit(status, first_failure(everything))

    def blocked_by(self, record: TaskRecord, keep_going: bool) -> None:
        return None  # a grade scores every task: one missing task says nothing about the next


GRADE = Grade()
