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

import copy
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol

from runner.engine.context import RunContext, RunInfo, VarError, render_vars
from runner.engine.ledger import Resume, ledger_of
from runner.engine.observer import NullObserver, Observer
from runner.engine.record import (
    NOT_SELECTED,
    ErrorInfo,
    LedgerState,
    Redactor,
    RunRecord,
    RunStatus,
    StepRecord,
    StepStatus,
    TargetRecord,
    TaskRecord,
)
from runner.engine.retrying import Clock, Sleep
from runner.engine.steps import Prepared, StepRunner, base_record, learn_marked
from runner.engine.targets import Target
from runner.model import Lab, Step, Task

Wall = Callable[[], datetime]


class Checkpointer(Protocol):
    """Keeps the record of a run in progress (`ledger.Checkpoint` writes it to the record file)."""

    def due(self, force: bool) -> bool:
        """Whether it would keep a record now: the loop builds one only then (`force`: a cleanup was registered)."""
        ...

    def __call__(self, record: RunRecord, force: bool) -> None:
        """Keep the record of the run so far (status `running`)."""
        ...


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
    since: datetime | None = None  # grading: the start of the lab's window (`run.since`)
    resume: Resume | None = None  # --resume: what an earlier run's record restores (`ledger.plan_resume`)


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
    started: datetime  # the wall clock, to the second, as the record shows it
    begin: float  # the run's clock, for its duration
    tasks: list[TaskRecord] = field(default_factory=list)
    cleanups: list[tuple[Prepared | StepRecord, RunContext]] = field(default_factory=list)
    status: RunStatus | None = None
    error: str | None = None
    # For the ledger (`ledger.py`): the task in progress, the cleanups that ran.
    current: tuple[Task, dict[str, list[StepRecord]], float] | None = None
    cleaned: dict[int, LedgerState] = field(default_factory=dict)


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
                 observer: Observer | None = None, redactor: Redactor | None = None,
                 checkpoint: Checkpointer | None = None) -> None:
        self.lab = lab
        self.checkpoint = checkpoint  # writes the record as the run goes (`ledger.Checkpoint`)
        self.redactor = redactor or Redactor()
        self.target = target
        self.options = options or RunOptions()
        self.clock = clock
        self.wall = wall
        self.observer: Observer = observer or NullObserver()
        self.steps = StepRunner(clock=clock, sleep=sleep, observer=self.observer)

    def run(self) -> RunRecord:
        progress = self._start()
        try:
            self._run_tasks(progress)
        except KeyboardInterrupt:
            progress.status, progress.error = "interrupted", "interrupted by the user (Ctrl-C)"
        return self._finish(progress)

    # ---- the run's lifecycle: `run` and `TaskByTask` both go through these

    def _start(self) -> _Progress:
        """The run's context and its first record (written at once, forced: the ledger starts here)."""
        options = self.options
        run_id = options.run_id or secrets.token_hex(4)
        seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
        started = self.wall().astimezone(UTC).replace(microsecond=0)
        begin = self.clock()
        ctx = RunContext.create(self.lab, RunInfo(run_id, started, options.mode, options.since), self.target,
                                seed, redactor=self.redactor)
        progress = _Progress(ctx, started, begin)
        if options.resume is not None:  # the earlier run's pending cleanups: this run does them too
            progress.cleanups.extend((prepared, ctx) for prepared in options.resume.cleanups)
        self.observer.run_started(self.lab, self.target, run_id, seed)
        self._checkpoint(progress, force=True)
        return progress

    def _render_vars(self, progress: _Progress) -> bool:
        """The lab's vars into the context; False (the run is an `error`) when one does not render."""
        try:
            progress.ctx = render_vars(progress.ctx, self.options.overrides)
        except VarError as exc:
            progress.status, progress.error = "error", str(exc)
            return False
        learn_marked(progress.ctx)  # before anything is written: the lab's `secrets` are redacted everywhere
        if self.options.resume is not None:
            progress.ctx = progress.ctx.with_variables(self.options.resume.saved)
        self._checkpoint(progress)
        return True

    def _next_task(self, task: Task, progress: _Progress) -> TaskRecord:
        """Run one task and add its record; `_Interrupted` (its record added) when Ctrl-C stopped it."""
        try:
            record, progress.ctx = self._run_task(task, progress)
        except _Interrupted as stop:
            progress.tasks.append(stop.record)
            progress.ctx = stop.ctx
            raise
        progress.tasks.append(record)
        self._checkpoint(progress)
        return record

    def _finish(self, progress: _Progress) -> RunRecord:
        """Every registered cleanup (newest first), then the lab's; the final record, with its ledger."""
        cleanup = self._run_cleanups(progress)
        record = replace(self._record(progress, cleanup), ledger=ledger_of(progress.cleanups, progress.cleaned))
        self.observer.run_finished(record)
        return record

    # ---- tasks

    def _run_tasks(self, progress: _Progress) -> None:
        if not self._render_vars(progress):
            for task in self.lab.tasks:
                progress.tasks.append(self._skip_task(task, "skipped: the run could not start"))
            return
        blocked: str | None = None
        tasks = list(self.lab.tasks)
        for index, task in enumerate(tasks):
            if self.options.tasks and task.id not in self.options.tasks:
                if self.options.mode == "grade" and any(t in self.options.tasks for t in
                                                        (later.id for later in tasks[index + 1:])):
                    progress.ctx = self._saves_only(task, progress.ctx)
                progress.tasks.append(self._skip_task(task, NOT_SELECTED))
                continue
            if self.options.resume is not None and task.id in self.options.resume.tasks:
                progress.tasks.append(self.options.resume.tasks[task.id])  # passed in the earlier run
                self.observer.task_finished(progress.tasks[-1])
                continue
            if blocked is not None:
                progress.tasks.append(self._skip_task(task, blocked))
                self.observer.task_finished(progress.tasks[-1])
                continue
            try:
                record = self._next_task(task, progress)
            except _Interrupted:
                for later in tasks[index + 1:]:
                    progress.tasks.append(self._skip_task(later, "skipped: the run was interrupted"))
                raise KeyboardInterrupt from None
            # A grade scores every task: one missing task says nothing about the next.
            if record.status != "passed" and not self.options.keep_going and self.options.mode != "grade":
                blocked = f"skipped: task '{task.id}' failed (use --keep-going to run later tasks anyway)"

    def _saves_only(self, task: Task, ctx: RunContext) -> RunContext:
        """Grading some tasks: an earlier task's saving checks still run, unrecorded, because a selected
        task's checks may use what they save (checks find resources by names, or by earlier checks)."""
        quiet = copy.copy(self.steps)
        quiet.observer = NullObserver()
        for check in task.checks:
            if check.save:
                ctx = quiet.run(check, ctx).context
        return ctx

    def _skip_task(self, task: Task, why: str) -> TaskRecord:
        return TaskRecord(id=task.id, title=task.title, status="skipped", points=task.points, score=0,
                          steps=_skipped(task.steps if self.options.mode != "grade" else (), why),
                          checks=_skipped(task.checks, why), summary=why)

    def _run_task(self, task: Task, progress: _Progress) -> tuple[TaskRecord, RunContext]:
        self.observer.task_started(task)
        begin = self.clock()
        ctx = progress.ctx
        done: dict[str, list[StepRecord]] = {"steps": [], "checks": [], "evidence": []}
        progress.current = (task, done, begin)
        failed_step: StepRecord | None = None
        current: Step | None = None
        grading = self.options.mode == "grade"
        try:
            # Grading runs the checks alone (steps are left out of its record), never the work. A failed
            # step skips the rest of the task; only steps register cleanups (checks are read-only).
            for section, items in (("steps", () if grading else task.steps), ("checks", task.checks)):
                for step in items:
                    if failed_step is not None:
                        done[section].append(base_record(step, "skipped", summary=(
                            f"skipped: step '{failed_step.key}' failed")))
                        continue
                    current = step
                    finished = self.steps.run(step, ctx)
                    current = None
                    ctx = finished.context
                    done[section].append(finished.record)
                    if finished.cleanup is not None:
                        progress.cleanups.append((finished.cleanup, ctx))
                    if section == "steps" and finished.record.failed:
                        failed_step = finished.record
                    self._checkpoint(progress, force=finished.cleanup is not None)
            if grading and task.evidence and _task_status(done["checks"]) != "passed":
                # The checks failed: maybe the student already cleaned up. Every evidence step runs,
                # so the record shows all the proof that was, and was not, found.
                for step in task.evidence:
                    current = step
                    finished = self.steps.run(step, ctx)
                    current = None
                    ctx = finished.context
                    done["evidence"].append(finished.record)
        except KeyboardInterrupt:
            if current is not None:
                section = current.section if current.section in ("checks", "evidence") else "steps"
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
        evidence = done.get("evidence", [])
        credited_by: str | None = None
        if self.options.mode == "grade" and summary is None:
            if not task.checks:
                status, summary = "skipped", "skipped: the task has no checks to grade"
            elif status == "passed":
                credited_by = "checks"
            elif evidence and all(r.status == "passed" for r in evidence):
                first = next(r for r in everything if r.failed)
                status, credited_by = "passed", "evidence"
                summary = f"credited by evidence ({first.key}: {first.summary or first.status})"
        if summary is None and status != "passed":
            first = next(r for r in everything if r.failed)
            summary = f"{first.key}: {first.summary or first.status}"
        return TaskRecord(
            id=task.id, title=task.title, status=status, points=task.points,
            score=task.points if status == "passed" else 0, steps=tuple(done["steps"]),
            checks=tuple(done["checks"]), duration_s=round(self.clock() - begin, 3), summary=summary,
            evidence=tuple(evidence), credited_by=credited_by,
        )

    # ---- cleanup

    def _run_cleanups(self, progress: _Progress) -> tuple[StepRecord, ...]:
        registered = list(reversed(progress.cleanups))
        # Grading changes nothing, so the lab's cleanup does not run.
        lab_cleanup = self.lab.cleanup if self.options.mode != "grade" else ()
        self.observer.cleanup_started(len(registered) + len(lab_cleanup))
        records: list[StepRecord] = []
        pending: list[tuple[Prepared | StepRecord | Step, RunContext | None]] = [*registered]
        pending += [(step, None) for step in lab_cleanup]
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
                    progress.cleaned[id(item)] = "done" if record.status == "passed" else "failed"
                    # Not forced: replaying a cleanup that ran is harmless ("already gone" counts as done).
                    self._checkpoint(progress, cleanup=records)
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

    def _checkpoint(self, progress: _Progress, *, force: bool = False,
                    cleanup: list[StepRecord] | None = None) -> None:
        """Hand the record so far, status `running`, to `checkpoint`: a crash then loses nothing it lists."""
        if self.checkpoint is None or not self.checkpoint.due(force):
            return
        tasks = list(progress.tasks)
        if progress.current is not None and all(t.id != progress.current[0].id for t in tasks):
            task, done, begin = progress.current
            partial = self._task_record(task, done, begin, summary="in progress when this record was written")
            tasks.append(replace(partial, status="error", score=0))  # never `passed` before it ends
        snapshot = self._record(replace(progress, tasks=tasks), tuple(cleanup or ()))
        self.checkpoint(replace(snapshot, status="running", ledger=ledger_of(progress.cleanups, progress.cleaned)),
                        force)

    def _record(self, progress: _Progress, cleanup: tuple[StepRecord, ...]) -> RunRecord:
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
            started=progress.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            finished=self.wall().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            status=status, vars=lab_vars, tasks=tuple(progress.tasks), cleanup=cleanup,
            score=sum(t.score for t in progress.tasks), points=sum(t.points for t in selected),
            duration_s=round(self.clock() - progress.begin, 3), error=progress.error,
            since=progress.ctx.run.since.strftime("%Y-%m-%dT%H:%M:%SZ") if progress.ctx.run.mode == "grade" else None,
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


class TaskByTask:
    """One run whose caller decides when each task runs: create it, `run_task` each task, then `finish`.

    For callers that report task by task (the pytest plugin makes one test item per task). It drives
    the same lifecycle as `Runner.run` (`_start`, each task, `_finish`), so the record is the same and
    the runner's `checkpoint` writes it, with its ledger, as the run goes. The caller runs tasks in lab
    order and calls `finish` however it stops, so that nothing is left behind. Choosing, skipping and
    resuming tasks is the caller's: `RunOptions.tasks` and `keep_going` are not read, and `resume` is
    refused (the earlier run's passed tasks would be the caller's to skip).
    """

    def __init__(self, runner: Runner) -> None:
        if runner.options.resume is not None:
            raise ValueError("TaskByTask cannot resume a run: use Runner.run")
        self.runner = runner
        self.record: RunRecord | None = None
        self.progress = runner._start()
        runner._render_vars(self.progress)

    @property
    def error(self) -> str | None:
        """Why the run as a whole stopped (a var did not render, Ctrl-C), else None."""
        return self.progress.error

    def run_task(self, task: Task) -> TaskRecord:
        if self.progress.status is not None:
            return self.skip_task(task, "skipped: the run could not start" if self.progress.status == "error"
                                  else "skipped: the run was interrupted")
        try:
            return self.runner._next_task(task, self.progress)
        except _Interrupted:
            self.progress.status, self.progress.error = "interrupted", "interrupted by the user (Ctrl-C)"
            raise KeyboardInterrupt from None

    def skip_task(self, task: Task, why: str) -> TaskRecord:
        record = self.runner._skip_task(task, why)
        self.progress.tasks.append(record)
        return record

    def finish(self, not_run: str = NOT_SELECTED) -> RunRecord:
        """Clean up and build the record (once); tasks that never ran are `skipped` with `not_run`."""
        if self.record is None:
            ran = {record.id: record for record in self.progress.tasks}
            self.progress.tasks = [ran.get(task.id) or self.runner._skip_task(task, not_run)
                                   for task in self.runner.lab.tasks]
            self.record = self.runner._finish(self.progress)
        return self.record


def run_lab(lab: Lab, target: Target, options: RunOptions | None = None, **kwargs: Any) -> RunRecord:
    """Run a lab on a target; see `Runner` for the keyword arguments."""
    return Runner(lab, target, options, **kwargs).run()
