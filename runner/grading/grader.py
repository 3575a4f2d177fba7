"""Grade one account: the engine's loop in grade mode (`mode.GRADE`), which makes the target read-only.

`grade` is what both a single grade and each student of a class go through; `options` is how both
ask for one. What a grade runs, credits and refuses is the mode's (`mode.py`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from runner.engine.console import Console
from runner.engine.loop import Runner, RunOptions
from runner.engine.observer import Observer
from runner.engine.record import RunRecord, TaskRecord
from runner.engine.redaction import Redactor
from runner.engine.targets import Target
from runner.grading.mode import GRADE, Grade
from runner.model import Lab


def options(tasks: tuple[str, ...], overrides: dict[str, Any], since: datetime,
            run_id: str | None = None) -> RunOptions:
    return RunOptions(tasks=tasks, keep_going=True, mode=GRADE, overrides=overrides, since=since, run_id=run_id)


def grade(lab: Lab, target: Target, opts: RunOptions, *, observer: Observer | None = None,
          redactor: Redactor | None = None, student: str | None = None, **runner_options: Any) -> RunRecord:
    """Grade the account behind `target` (which becomes read-only) and return the record."""
    if not isinstance(opts.mode, Grade):
        raise ValueError("grade() needs grade mode's options (grader.options)")
    record = Runner(lab, target, opts, observer=observer, redactor=redactor, **runner_options).run()
    return replace(record, student=student) if student is not None else record


class GradeConsole(Console):
    """The run console, worded for a grade: what is graded, the window, and how a task was credited."""

    def __init__(self, out: Any, redactor: Redactor | None = None, since: datetime | None = None,
                 **options: Any) -> None:
        super().__init__(out, redactor, **options)
        self.since = since

    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None:
        self._task_count = len(lab.tasks)
        if self.level == "quiet":
            return
        self.line(("labrunner grade", "heading"), f" {lab.name}: {lab.title}")
        window = f"  |  evidence since {self.since:%Y-%m-%dT%H:%M:%SZ}" if self.since else ""
        self.line(f"  target {target.describe()} (read-only)  |  grade {run_id}{window}")

    def task_finished(self, record: TaskRecord) -> None:
        if record.credited_by == "evidence":  # said even when quiet: its checks' failures were
            self.line(f"  task {record.id} ", ("passed", "passed"),
                       f" by evidence ({record.score:g}/{record.points:g} points): "
                       "its checks failed, but CloudTrail shows it was done")
            return
        super().task_finished(record)
