"""One case of `labrunner verify`: its steps in a fresh account, graded as it goes and after clean-up.

The steps run in the verify run mode (`mode.Verify`) task by task (`loop.TaskByTask`); right after a
task's steps, that task is graded, read-only, through `grading.grader.grade` on a second target in the
same account (the grade mode, its guard and its shared reads, as `labrunner grade` has them), with
only the lab's vars and the `--var` overrides a real grade would have. After the steps the case's
cleanups run (those its steps registered, then the lab's `cleanup`), and a case that asks for it is
graded again. The grades' window starts a minute before the case did. A case's steps and grades
share one `Redactor`, which redacts the requests `Settings.watcher` hears of (`--verbose`), as that
case's records are. `cases.py` says what a case runs; `judge.py` reads what this returns; `pools.py`
runs cases side by side.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.engine import calls
from runner.engine.loop import Runner, RunOptions, TaskByTask
from runner.engine.record import TaskRecord
from runner.engine.redaction import Redactor
from runner.grading import grader
from runner.model import Lab, Task
from runner.verify.accounts import Accounts, Timeline
from runner.verify.cases import Case, Phase
from runner.verify.mode import Verify

NOT_RUN = "skipped: not run in this case"


@dataclass(frozen=True)
class CaseRun:
    """What one case did (`steps`: each task's steps, as run) and how it was graded, phase by phase."""

    case: Case
    account: str | None = None
    steps: Mapping[str, TaskRecord] = field(default_factory=dict)
    grades: Mapping[Phase, Mapping[str, TaskRecord]] = field(default_factory=dict)
    error: str | None = None  # the case could not run to its end
    seconds: float = 0.0


@dataclass(frozen=True)
class Settings:
    """What every case of a verify shares: the `--var` overrides, the seed of the first case, and who
    watches the requests of each case's targets (`--verbose`: each marked with the case's account)."""

    overrides: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    watcher: calls.Watcher | None = None


def run_case(lab: Lab, case: Case, accounts: Accounts, settings: Settings, number: int = 0) -> CaseRun:
    """Run `case` (the `number`th of the lab: with a seed, each case draws its own names) in a fresh account."""
    begin = time.monotonic()
    account, target = accounts.fresh()
    since = datetime.now(UTC) - timedelta(minutes=1)
    steps: dict[str, TaskRecord] = {}
    grades: dict[Phase, dict[str, TaskRecord]] = {}

    graded = accounts.target(account)  # read-only once graded; each grade starts from what is there now
    redactor = Redactor()
    if settings.watcher is not None:
        for watched in (target, graded):
            calls.watch(watched, calls.InAccount(settings.watcher, account, redactor))

    def grade(tasks: tuple[Task, ...]) -> dict[str, TaskRecord]:
        accounts.settle()
        options = grader.options(tuple(t.id for t in tasks), dict(settings.overrides), since)
        record = grader.grade(lab, graded, options, redactor=redactor)
        return {task.id: task for task in record.tasks if any(t.id == task.id for t in tasks)}

    error: str | None = None
    try:
        if case.stop == 0:
            grades["as-it-goes"] = grade(lab.tasks)
        else:
            timeline = Timeline(accounts) if target.emulator is not None else None
            seed = None if settings.seed is None else settings.seed + number
            options = RunOptions(mode=Verify(case.routes), overrides=dict(settings.overrides), seed=seed)
            runner = Runner(lab, target, options, redactor=redactor,
                            clock=timeline.clock if timeline else time.monotonic,
                            sleep=timeline.sleep if timeline else time.sleep)
            by_task = TaskByTask(runner)
            going: dict[str, TaskRecord] = {}
            try:
                for task in lab.tasks[:case.stop]:
                    steps[task.id] = by_task.run_task(task)
                    if task.checks:
                        going.update(grade((task,)))
            finally:
                by_task.finish(NOT_RUN)
            error = by_task.error
            grades["as-it-goes"] = going
            if "after-clean-up" in case.phases:
                grades["after-clean-up"] = grade(lab.tasks[:case.stop])
    except Exception as exc:  # one case's surprise is its own failure: the others go on
        error = f"{type(exc).__name__}: {exc}"
    return CaseRun(case, account, steps, grades, error, time.monotonic() - begin)
