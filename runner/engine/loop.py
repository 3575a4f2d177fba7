"""The run loop: vars, then tasks in order, then every cleanup, then the record.

Called by the commands and grading (and by tests directly) with a validated `Lab` and an open `Target`; each step is
run by `steps.py`, and whatever differs between a run and a grade is the mode's (`modes.py`): what
a task runs, how it is credited, what a failed task blocks, whether the lab's `cleanup` runs. The
rules the loop itself keeps (docs/authoring.md tells authors the same):
- a task's steps run in order and stop at the first that fails; its checks then all run (each is
  independent proof);
- a step's `cleanup` is rendered and registered when the step succeeds; at the end, however the run
  went (passed, failed, interrupted), the registered cleanups run last-in-first-out, then the lab's
  `cleanup` with every value saved so far; one cleanup failing does not stop the others;
- Ctrl-C (KeyboardInterrupt) stops the tasks, still runs the cleanups, and the run is `interrupted`;
- a run with a time limit (`RunOptions.time_limit`: grading one account of a class) stops at the first
  step boundary past it: the task it was in and every later one are recorded as not done (the mode's
  words), with the limit's reason, and the run is an `error` that says so.
The loop keeps its progress in `Progress` (what has run, what to clean up) so that the ledger can
persist it for `--resume`. `Runner.run` and `TaskByTask` drive the same public lifecycle: `start`,
`render_vars`, `run_task` or `skip_task` for each task, `finish`.
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

from runner.engine import display
from runner.engine.context import RunContext, RunInfo, VarError, render_vars
from runner.engine.ledger import ledger_of
from runner.engine.modes import RUN, Credit, RunMode
from runner.engine.observer import NullObserver, Observer
from runner.engine.record import (
    NOT_SELECTED,
    ErrorInfo,
    LedgerState,
    RunRecord,
    RunStatus,
    StepRecord,
    TargetRecord,
    TaskRecord,
)
from runner.engine.redaction import Redactor
from runner.engine.resume import Resume
from runner.engine.retrying import Clock, Deadline, Sleep, TimeLimit
from runner.engine.steps import TIME_LIMIT, Prepared, base_record, learn_marked
from runner.engine.targets import Target
from runner.model import Lab, Step, Task

Wall = Callable[[], datetime]


class Checkpointer(Protocol):
    """Keeps the record of a run in progress (`checkpoint.Checkpoint` writes it to the record file)."""

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
    mode: RunMode = RUN  # `labrunner run`'s; grading passes `runner.grading.mode.GRADE`
    overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    seed: int | None = None
    run_id: str | None = None
    since: datetime | None = None  # grading: the start of the lab's window (`run.since`)
    resume: Resume | None = None  # --resume: what an earlier run's record restores (`resume.plan_resume`)
    time_limit: TimeLimit | None = None  # grading a class: how long one account's grade may take


class Interrupted(Exception):
    """Ctrl-C stopped a task (`Runner.run_task`); carries what the task had done, already recorded."""

    def __init__(self, record: TaskRecord, ctx: RunContext) -> None:
        super().__init__("interrupted")
        self.record = record
        self.ctx = ctx


@dataclass
class Progress:
    """A run so far, from `Runner.start` to `Runner.finish`: the context, finished tasks, cleanups to run."""

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


class Runner:
    """Runs one lab on one target, as its mode says. `clock`, `sleep` and `wall` are injectable for tests."""

    def __init__(self, lab: Lab, target: Target, options: RunOptions | None = None, *,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep, wall: Wall = utc_now,
                 observer: Observer | None = None, redactor: Redactor | None = None,
                 checkpoint: Checkpointer | None = None) -> None:
        self.lab = lab
        self.checkpoint = checkpoint  # writes the record as the run goes (`checkpoint.Checkpoint`)
        self.redactor = redactor or Redactor()
        self.target = target
        self.options = options or RunOptions()
        self.mode = self.options.mode
        self.clock = clock
        self.wall = wall
        self.observer: Observer = observer or NullObserver()
        self.mode.prepare(target)
        self.steps = self.mode.step_runner(clock=clock, sleep=sleep, observer=self.observer)

    def run(self) -> RunRecord:
        progress = self.start()
        try:
            self._run_tasks(progress)
        except KeyboardInterrupt:
            progress.status, progress.error = "interrupted", "interrupted by the user (Ctrl-C)"
        return self.finish(progress)

    # ---- the run's lifecycle: `run` and `TaskByTask` both go through these

    def start(self) -> Progress:
        """The run's context and its first record (written at once, forced: the ledger starts here)."""
        options = self.options
        run_id = options.run_id or secrets.token_hex(4)
        seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
        started = self.wall().astimezone(UTC).replace(microsecond=0)
        begin = self.clock()
        if options.time_limit is not None:
            self.steps.deadline = Deadline.start(options.time_limit, self.clock)
        ctx = RunContext.create(self.lab, RunInfo(run_id, started, self.mode.name, options.since), self.target,
                                seed, redactor=self.redactor)
        progress = Progress(ctx, started, begin)
        if options.resume is not None:  # the earlier run's pending cleanups: this run does them too
            progress.cleanups.extend((prepared, ctx) for prepared in options.resume.cleanups)
        self._checkpoint(progress, force=True)
        return progress

    def render_vars(self, progress: Progress) -> bool:
        """The lab's vars into the context, then its titles and descriptions (the observer is told the run
        started, with them); False (the run is an `error`) when a var does not render."""
        ctx = progress.ctx
        try:
            progress.ctx = render_vars(progress.ctx, self.options.overrides)
        except VarError as exc:
            self.observer.run_started(self.lab, self.target, ctx.run.id, ctx.seed)
            progress.status, progress.error = "error", str(exc)
            return False
        learn_marked(progress.ctx)  # before anything is written: the lab's `secrets` are redacted everywhere
        self.lab = display.lab(self.lab, progress.ctx)
        self.observer.run_started(self.lab, self.target, ctx.run.id, ctx.seed)
        if self.options.resume is not None:
            progress.ctx = progress.ctx.with_variables(self.options.resume.saved)
        self._checkpoint(progress)
        return True

    def run_task(self, task: Task, progress: Progress) -> TaskRecord:
        """Run one task and add its record; `Interrupted` (its record added) when Ctrl-C stopped it."""
        try:
            record, progress.ctx = self._run_task(self._shown(task), progress)
        except Interrupted as stop:
            progress.tasks.append(stop.record)
            progress.ctx = stop.ctx
            raise
        progress.tasks.append(record)
        self._checkpoint(progress)
        return record

    def skip_task(self, task: Task, why: str) -> TaskRecord:
        """The record of a task that does not run: what it would have run, each `skipped` with `why`."""
        task = self._shown(task)
        sections = dict(self.mode.sections(task))
        return TaskRecord(id=task.id, title=task.title, status="skipped", points=task.points, score=0,
                          steps=_skipped(sections.get("steps", ()), why),
                          checks=_skipped(sections.get("checks", ()), why),
                          advice=_skipped(sections.get("advice", ()), why), summary=why)

    def _shown(self, task: Task) -> Task:
        """The task as this run shows it: its title rendered once the vars are (`render_vars`)."""
        return next((shown for shown in self.lab.tasks if shown.id == task.id), task)

    def finish(self, progress: Progress) -> RunRecord:
        """Every registered cleanup (newest first), then the lab's; the final record, with its ledger."""
        cleanup = self._run_cleanups(progress)
        record = replace(self._record(progress, cleanup), ledger=ledger_of(progress.cleanups, progress.cleaned))
        self.observer.run_finished(record)
        return record

    # ---- tasks

    def _run_tasks(self, progress: Progress) -> None:
        if not self.render_vars(progress):
            for task in self.lab.tasks:
                progress.tasks.append(self.skip_task(task, "skipped: the run could not start"))
            return
        blocked: str | None = None
        tasks = list(self.lab.tasks)
        selected = self.options.tasks
        for index, task in enumerate(tasks):
            if selected and task.id not in selected:
                for_later = self.mode.for_later_tasks(task)
                if for_later and any(later.id in selected for later in tasks[index + 1:]):
                    progress.ctx = self._run_quietly(for_later, progress.ctx)
                progress.tasks.append(self.skip_task(task, NOT_SELECTED))
                continue
            if self.options.resume is not None and task.id in self.options.resume.tasks:
                progress.tasks.append(self.options.resume.tasks[task.id])  # passed in the earlier run
                self.observer.task_finished(progress.tasks[-1])
                continue
            if self.steps.deadline is not None and self.steps.out_of_time():
                progress.tasks.append(replace(self.skip_task(task, self._not_done(self.steps.deadline)),
                                              status="error"))
                self.observer.task_finished(progress.tasks[-1])
                continue
            if blocked is not None:
                progress.tasks.append(self.skip_task(task, blocked))
                self.observer.task_finished(progress.tasks[-1])
                continue
            try:
                record = self.run_task(task, progress)
            except Interrupted:
                for later in tasks[index + 1:]:
                    progress.tasks.append(self.skip_task(later, "skipped: the run was interrupted"))
                raise KeyboardInterrupt from None
            blocked = self.mode.blocked_by(record, self.options.keep_going)
        deadline = self.steps.deadline
        if deadline is not None:
            not_done = sum(1 for t in progress.tasks if t.summary == self._not_done(deadline))
            if not_done:
                progress.status = "error"
                count = f"{not_done} task{'s' if not_done != 1 else ''}"
                progress.error = f"{deadline.reason}: {count} {self.mode.not_done}"

    def _not_done(self, deadline: Deadline) -> str:
        """The summary of a task the time limit kept from running, or from finishing."""
        return f"{self.mode.not_done}: {deadline.reason}"

    def _run_quietly(self, steps: tuple[Step, ...], ctx: RunContext) -> RunContext:
        """Run steps for what they save, unrecorded and unseen by the observer."""
        quiet = copy.copy(self.steps)
        quiet.observer = NullObserver()
        for step in steps:
            for finished in quiet.run_each(step, ctx):
                ctx = finished.context
        return ctx

    def _run_task(self, task: Task, progress: Progress) -> tuple[TaskRecord, RunContext]:
        self.observer.task_started(task)
        begin = self.clock()
        ctx = progress.ctx
        done: dict[str, list[StepRecord]] = {"steps": [], "checks": [], "advice": [], "evidence": []}
        progress.current = (task, done, begin)
        failed_step: StepRecord | None = None
        current: Step | None = None
        sections = self.mode.sections(task)
        try:
            # A failed step skips the rest of the task; only steps register cleanups (checks are read-only).
            for section, items in sections:
                for step in items:
                    if failed_step is not None:
                        done[section].append(base_record(step, "skipped", summary=(
                            f"skipped: step '{failed_step.key}' failed")))
                        continue
                    current = step
                    for finished in self.steps.run_each(step, ctx):  # a step, or each item of its loop
                        ctx = finished.context
                        done[section].append(finished.record)
                        if finished.cleanup is not None:
                            progress.cleanups.append((finished.cleanup, ctx))
                        if section == "steps" and finished.record.failed and failed_step is None:
                            failed_step = finished.record
                        self._checkpoint(progress, force=finished.cleanup is not None)
                    current = None
            # Every evidence step runs, so the record shows all the proof that was, and was not, found.
            for step in self.mode.evidence(task, done["checks"]):
                current = step
                for finished in self.steps.run_each(step, ctx):
                    ctx = finished.context
                    done["evidence"].append(finished.record)
                current = None
        except KeyboardInterrupt:
            if current is not None:
                section = current.section if current.section in ("checks", "advice", "evidence") else "steps"
                done[section].append(base_record(current, "error", error=ErrorInfo("interrupted", "interrupted"),
                                                 summary="interrupted"))
            seen = {r.key for records in done.values() for r in records}
            for section, items in sections:
                done[section] += _skipped(tuple(s for s in items if s.key not in seen), "skipped: interrupted")
            record = self._task_record(task, done, begin, Credit("error", "interrupted"))
            self.observer.task_finished(record)
            raise Interrupted(record, ctx) from None
        credit = self.mode.credit(task, done)
        deadline = self.steps.deadline
        if deadline is not None and any(r.error is not None and r.error.kind == TIME_LIMIT
                                        for records in done.values() for r in records):
            credit = Credit("error", self._not_done(deadline))  # cut short: what did not run could have passed
        record = self._task_record(task, done, begin, credit)
        self.observer.task_finished(record)
        return record, ctx

    def _task_record(self, task: Task, done: dict[str, list[StepRecord]], begin: float, credit: Credit) -> TaskRecord:
        points = task.points if credit.counts else 0
        return TaskRecord(
            id=task.id, title=task.title, status=credit.status, points=points,
            score=points if credit.status == "passed" else 0, steps=tuple(done["steps"]),
            checks=tuple(done["checks"]), duration_s=round(self.clock() - begin, 3), summary=credit.summary,
            evidence=tuple(done["evidence"]), credited_by=credit.credited_by, advice=tuple(done["advice"]),
        )

    # ---- cleanup

    def _run_cleanups(self, progress: Progress) -> tuple[StepRecord, ...]:
        registered = list(reversed(progress.cleanups))
        lab_cleanup = self.lab.cleanup if self.mode.cleans_up else ()
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
                    for finished in self.steps.run_each(item, ctx):
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

    def _checkpoint(self, progress: Progress, *, force: bool = False,
                    cleanup: list[StepRecord] | None = None) -> None:
        """Hand the record so far, status `running`, to `checkpoint`: a crash then loses nothing it lists."""
        if self.checkpoint is None or not self.checkpoint.due(force):
            return
        tasks = list(progress.tasks)
        if progress.current is not None and all(t.id != progress.current[0].id for t in tasks):
            task, done, begin = progress.current
            in_progress = Credit("error", "in progress when this record was written")  # never `passed` before it ends
            tasks.append(self._task_record(task, done, begin, in_progress))
        snapshot = self._record(replace(progress, tasks=tasks), tuple(cleanup or ()))
        self.checkpoint(replace(snapshot, status="running", ledger=ledger_of(progress.cleanups, progress.cleaned)),
                        force)

    def _record(self, progress: Progress, cleanup: tuple[StepRecord, ...]) -> RunRecord:
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
            since=progress.ctx.run.since.strftime("%Y-%m-%dT%H:%M:%SZ") if self.mode.shows_window else None,
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
    the same lifecycle as `Runner.run` (`start`, `render_vars`, each task, `finish`), so the record is
    the same and the runner's `checkpoint` writes it, with its ledger, as the run goes. The caller runs
    tasks in lab order and calls `finish` however it stops, so that nothing is left behind. Choosing,
    skipping and resuming tasks is the caller's: `RunOptions.tasks` and `keep_going` are not read, and
    `resume` is refused (the earlier run's passed tasks would be the caller's to skip).
    """

    def __init__(self, runner: Runner) -> None:
        if runner.options.resume is not None:
            raise ValueError("TaskByTask cannot resume a run: use Runner.run")
        self.runner = runner
        self.record: RunRecord | None = None
        self.progress = runner.start()
        runner.render_vars(self.progress)

    @property
    def error(self) -> str | None:
        """Why the run as a whole stopped (a var did not render, Ctrl-C), else None."""
        return self.progress.error

    def run_task(self, task: Task) -> TaskRecord:
        if self.progress.status is not None:
            return self.skip_task(task, "skipped: the run could not start" if self.progress.status == "error"
                                  else "skipped: the run was interrupted")
        try:
            return self.runner.run_task(task, self.progress)
        except Interrupted:
            self.progress.status, self.progress.error = "interrupted", "interrupted by the user (Ctrl-C)"
            raise KeyboardInterrupt from None

    def skip_task(self, task: Task, why: str) -> TaskRecord:
        record = self.runner.skip_task(task, why)
        self.progress.tasks.append(record)
        return record

    def finish(self, not_run: str = NOT_SELECTED) -> RunRecord:
        """Clean up and build the record (once); tasks that never ran are `skipped` with `not_run`."""
        if self.record is None:
            ran = {record.id: record for record in self.progress.tasks}
            self.progress.tasks = [ran.get(task.id) or self.runner.skip_task(task, not_run)
                                   for task in self.runner.lab.tasks]
            self.record = self.runner.finish(self.progress)
        return self.record


def run_lab(lab: Lab, target: Target, options: RunOptions | None = None, **kwargs: Any) -> RunRecord:
    """Run a lab on a target; see `Runner` for the keyword arguments."""
    return Runner(lab, target, options, **kwargs).run()
