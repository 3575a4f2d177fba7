"""The run loop: vars, then tasks in order (steps, then checks), then every cleanup, then the record.

Called by `cli.py` (and by tests directly) with a validated `Lab` and an open `Target`; each step is
run by `steps.py`. The rules of LAB-FORMAT.md:
- a task's steps run in order and stop at the first that fails; its checks then all run (each is
  independent proof); a task passes when every step and check passed or was skipped by `when`;
- after a failed task the later tasks are skipped, unless `keep_going`;
- a step's `cleanup` is rendered and registered when the step succeeds; at the end, however the run
  went (passed, failed, interrupted), the registered cleanups run last-in-first-out, then the lab's
  `cleanup` with every value saved so far; one cleanup failing does not stop the others;
- Ctrl-C (KeyboardInterrupt) stops the tasks, still runs the cleanups, and the run is `interrupted`.
The loop keeps its progress in `_Progress` (what has run, what to clean up) so that a later stage
can persist it for `--resume`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from runner.engine.context import RunContext, RunInfo, VarError, render_vars
from runner.engine.observer import NullObserver, Observer
from runner.engine.record import (
    NOT_SELECTED,
    ErrorInfo,
    Redactor,
    RunRecord,
    RunStatus,
    StepRecord,
    StepStatus,
    TargetRecord,
    TaskRecord,
)
from runner.engine.retrying import Clock, Sleep
from runner.engine.steps import Prepared, StepRunner, base_record
from runner.engine.targets import Target
from runner.model import Lab, Step, Task

Wall = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunOptions:
    tasks: tuple[str, ...] = ()  # only these task ids; empty: every task
    keep_going: bool = False
    mode: str = "run"
    overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    seed: int | None = None
    run_id: str | None = None


class _Interrupted(Exception):
    """Carries what a task had done when Ctrl-C arrived."""

    def __init__(self, record: TaskRecord, ctx: RunContext) -> None:
        super().__init__("interrupted")
        self.record = record
        self.ctx = ctx


@dataclass
class _Progress:
    """The loop's own state: the context so far, finished tasks, and the cleanups to run."""

    ctx: RunContext
    tasks: list[TaskRecord] = field(default_factory=list)
    cleanups: list[tuple[Prepared | StepRecord, RunContext]] = field(default_factory=list)
    status: RunStatus | None = None
    error: str | None = None


def _skipped(steps: tuple[Step, ...], why: str) -> tuple[StepRecord, ...]:
    return tuple(base_record(step, "skipped", summary=why) for step in steps)


def _task_status(records: list[StepRecord]) -> StepStatus:
    if any(r.status == "failed" for r in records):
        return "failed"
    if any(r.status == "error" for r in records):
        return "error"
    return "passed"


class Runner:
    """Runs one lab on one target. `clock`, `sleep` and `wall` are injectable for tests."""

    def __init__(self, lab: Lab, target: Target, options: RunOptions | None = None, *,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep, wall: Wall = utc_now,
                 observer: Observer | None = None, redactor: Redactor | None = None) -> None:
        self.lab = lab
        self.redactor = redactor or Redactor()
        self.target = target
        self.options = options or RunOptions()
        self.clock = clock
        self.wall = wall
        self.observer: Observer = observer or NullObserver()
        self.steps = StepRunner(clock=clock, sleep=sleep, observer=self.observer)

    def run(self) -> RunRecord:
        options = self.options
        run_id = options.run_id or secrets.token_hex(4)
        seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
        started = self.wall().astimezone(UTC).replace(microsecond=0)
        begin = self.clock()
        ctx = RunContext.create(self.lab, RunInfo(run_id, started, options.mode), self.target, seed,
                                redactor=self.redactor)
        progress = _Progress(ctx)
        self.observer.run_started(self.lab, self.target, run_id, seed)
        try:
            self._run_tasks(progress, options.overrides)
        except KeyboardInterrupt:
            progress.status, progress.error = "interrupted", "interrupted by the user (Ctrl-C)"
        cleanup = self._run_cleanups(progress)
        record = self._record(progress, cleanup, started, begin)
        self.observer.run_finished(record)
        return record

    # ---- tasks

    def _run_tasks(self, progress: _Progress, overrides: Mapping[str, Any]) -> None:
        try:
            progress.ctx = render_vars(progress.ctx, overrides)
        except VarError as exc:
            progress.status, progress.error = "error", str(exc)
            for task in self.lab.tasks:
                progress.tasks.append(self._skip_task(task, "skipped: the run could not start"))
            return
        blocked: str | None = None
        tasks = list(self.lab.tasks)
        for index, task in enumerate(tasks):
            if self.options.tasks and task.id not in self.options.tasks:
                progress.tasks.append(self._skip_task(task, NOT_SELECTED))
                continue
            if blocked is not None:
                progress.tasks.append(self._skip_task(task, blocked))
                self.observer.task_finished(progress.tasks[-1])
                continue
            try:
                record, progress.ctx = self._run_task(task, progress)
            except _Interrupted as stop:
                progress.tasks.append(stop.record)
                progress.ctx = stop.ctx
                for later in tasks[index + 1:]:
                    progress.tasks.append(self._skip_task(later, "skipped: the run was interrupted"))
                raise KeyboardInterrupt from None
            progress.tasks.append(record)
            if record.status != "passed" and not self.options.keep_going:
                blocked = f"skipped: task '{task.id}' failed (use --keep-going to run later tasks anyway)"

    def _skip_task(self, task: Task, why: str) -> TaskRecord:
        return TaskRecord(id=task.id, title=task.title, status="skipped", points=task.points, score=0,
                          steps=_skipped(task.steps, why), checks=_skipped(task.checks, why), summary=why)

    def _run_task(self, task: Task, progress: _Progress) -> tuple[TaskRecord, RunContext]:
        self.observer.task_started(task)
        begin = self.clock()
        ctx = progress.ctx
        done: dict[str, list[StepRecord]] = {"steps": [], "checks": []}
        failed_step: StepRecord | None = None
        current: Step | None = None
        try:
            for step in task.steps:
                if failed_step is not None:
                    done["steps"].append(base_record(step, "skipped", summary=(
                        f"skipped: step '{failed_step.key}' failed")))
                    continue
                current = step
                finished = self.steps.run(step, ctx)
                current = None
                ctx = finished.context
                done["steps"].append(finished.record)
                if finished.cleanup is not None:
                    progress.cleanups.append((finished.cleanup, ctx))
                if finished.record.failed:
                    failed_step = finished.record
            for check in task.checks:
                if failed_step is not None:
                    done["checks"].append(base_record(check, "skipped", summary=(
                        f"skipped: step '{failed_step.key}' failed")))
                    continue
                current = check
                finished = self.steps.run(check, ctx)
                current = None
                ctx = finished.context
                done["checks"].append(finished.record)
        except KeyboardInterrupt:
            if current is not None:
                section = "checks" if current.section == "checks" else "steps"
                done[section].append(base_record(current, "error", error=ErrorInfo("interrupted", "interrupted"),
                                                 summary="interrupted"))
            seen = {r.key for r in done["steps"]} | {r.key for r in done["checks"]}
            done["steps"] += _skipped(tuple(s for s in task.steps if s.key not in seen), "skipped: interrupted")
            done["checks"] += _skipped(tuple(s for s in task.checks if s.key not in seen), "skipped: interrupted")
            record = self._task_record(task, done, begin, summary="interrupted")
            self.observer.task_finished(record)
            raise _Interrupted(record, ctx) from None
        record = self._task_record(task, done, begin)
        self.observer.task_finished(record)
        return record, ctx

    def _task_record(self, task: Task, done: dict[str, list[StepRecord]], begin: float,
                     summary: str | None = None) -> TaskRecord:
        everything = done["steps"] + done["checks"]
        status = "error" if summary == "interrupted" else _task_status(everything)
        if summary is None and status != "passed":
            first = next(r for r in everything if r.failed)
            summary = f"{first.key}: {first.summary or first.status}"
        return TaskRecord(
            id=task.id, title=task.title, status=status, points=task.points,
            score=task.points if status == "passed" else 0, steps=tuple(done["steps"]),
            checks=tuple(done["checks"]), duration_s=round(self.clock() - begin, 3), summary=summary,
        )

    # ---- cleanup

    def _run_cleanups(self, progress: _Progress) -> tuple[StepRecord, ...]:
        registered = list(reversed(progress.cleanups))
        self.observer.cleanup_started(len(registered) + len(self.lab.cleanup))
        records: list[StepRecord] = []
        pending: list[tuple[Prepared | StepRecord | Step, RunContext | None]] = [*registered]
        pending += [(step, None) for step in self.lab.cleanup]
        ctx = progress.ctx
        for index, (item, registered_ctx) in enumerate(pending):
            try:
                if isinstance(item, StepRecord):  # skipped (`when`) or unrenderable when it was registered
                    self.observer.step_finished(item)
                    records.append(item)
                elif isinstance(item, Prepared):
                    assert registered_ctx is not None
                    record, _ = self.steps.execute(item, registered_ctx)
                    records.append(record)
                else:
                    finished = self.steps.run(item, ctx)
                    ctx = finished.context
                    records.append(finished.record)
            except KeyboardInterrupt:
                # A second Ctrl-C: stop cleaning up, and say what was left behind.
                step = item.step if isinstance(item, Prepared) else item if isinstance(item, Step) else None
                if step is not None:
                    records.append(base_record(step, "error", error=ErrorInfo("interrupted", "interrupted"),
                                               summary="interrupted during cleanup"))
                for rest, _ in pending[index + 1:]:
                    rest_step = rest.step if isinstance(rest, Prepared) else rest if isinstance(rest, Step) else None
                    if rest_step is not None:
                        records.append(base_record(rest_step, "skipped", summary="skipped: cleanup interrupted"))
                progress.status = "interrupted"
                progress.error = "interrupted during cleanup: some resources may remain"
                break
        return tuple(records)

    # ---- the record

    def _record(self, progress: _Progress, cleanup: tuple[StepRecord, ...], started: datetime,
                begin: float) -> RunRecord:
        status: RunStatus
        if progress.status is not None:
            status = progress.status
        elif any(t.status in ("failed", "error") for t in progress.tasks) or any(r.failed for r in cleanup):
            status = "failed"
        else:
            status = "passed"
        selected = [t for t in progress.tasks if t.summary != NOT_SELECTED]
        lab_vars = {name: progress.ctx.variables[name] for name in self.lab.vars if name in progress.ctx.variables}
        return RunRecord(
            lab=self.lab.name, title=self.lab.title, file=str(self.lab.path), run_id=progress.ctx.run.id,
            mode=progress.ctx.run.mode, target=self._target_record(), seed=progress.ctx.seed,
            started=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            finished=self.wall().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            status=status, vars=lab_vars, tasks=tuple(progress.tasks), cleanup=cleanup,
            score=sum(t.score for t in progress.tasks), points=sum(t.points for t in selected),
            duration_s=round(self.clock() - begin, 3), error=progress.error,
        )

    def _target_record(self) -> TargetRecord:
        identity = self.target.known_identity
        if identity is None and self.target.kind == "emulator":
            try:  # cheap and always there on the emulator; elsewhere the record never makes a call
                identity = self.target.identity()
            except Exception:
                identity = None
        return TargetRecord(
            kind=self.target.kind, region=self.target.region, partition=self.target.partition,
            endpoint=self.target.endpoint, account=identity.account if identity else None,
            caller_arn=identity.arn if identity else None,
        )


def run_lab(lab: Lab, target: Target, options: RunOptions | None = None, **kwargs: Any) -> RunRecord:
    """Run a lab on a target; see `Runner` for the keyword arguments."""
    return Runner(lab, target, options, **kwargs).run()
