"""The ledger: the run's record, rewritten as the run goes, so that nothing the run makes is ever lost.

The record file is the ledger. `Checkpoint` writes it (atomically and durably, `record.write_text`)
when the run starts (status `running`) and each time a step registers a cleanup; other progress (steps,
tasks, cleanups that ran) at most every `min_interval`, since each write costs an fsync. Each
registered cleanup is kept in the record's `ledger` as a rendered step (`LedgerEntry`: action, rendered
parameters, `ignore_errors`, which step registered it, `pending`/`done`/`failed`), so that after a
crash or `kill -9`, `labrunner cleanup RECORD` (`replay`) can run the pending ones, newest first, and
mark each done as it goes: running it again does nothing.

`--resume RECORD` reads the same record (`plan_resume`): seed, vars, saved values and pending cleanups
are restored, and the tasks that passed and whose resources still stand are kept.

Used by `cli.py` (which owns the files) and `loop.py` (which builds the entries); imports `steps.py`
and `record.py`, never the loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runner import registry
from runner.actions.aws import prepare_params
from runner.engine.record import (
    AssertionRecord,
    ErrorInfo,
    LedgerEntry,
    LedgerState,
    RecordJson,
    Redactor,
    RunRecord,
    StepRecord,
    TaskRecord,
    default_path,
    json_text,
    read_json,
    record_text,
    step_to_json,
    write_record,
    write_text,
)
from runner.engine.steps import Prepared
from runner.errors import UsageError
from runner.model import Lab, Location, Retry, Step
from runner.secret_keys import REDACTED

#: Test hook (documented in docs/reliability.md, never for users): SIGKILL the run right after the
#: record shows this many executed steps and checks, to prove a crash loses nothing.
KILL_AFTER_ENV = "LABRUNNER_TEST_KILL_AFTER_STEP"
#: Error codes saying a resource is already gone: a cleanup meeting one has nothing left to do.
_GONE_EXACT = frozenset({"NotFound", "404", "NoSuchEntity", "ResourceNotFoundException"})
#: KMS refuses to schedule deletion of a key already pending deletion: for that cleanup it means done.
_GONE_FOR_ACTION = {"aws.kms.schedule_key_deletion": frozenset({"KMSInvalidStateException"})}


def is_gone(code: str | None, action: str = "") -> bool:
    """Whether an error code means the thing a cleanup removes no longer exists."""
    if not code:
        return False
    base = code.rsplit(".", 1)[-1]
    return (base in _GONE_EXACT or base.startswith("NoSuch") or base.endswith("NotFound")
            or base.endswith("NotFoundException") or base in _GONE_FOR_ACTION.get(action, ()))


# ---- what identifies a lab, for --resume


def _sha(value: Any) -> str:
    text = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(text).hexdigest()


def lab_digest(lab: Lab) -> dict[str, Any]:
    """sha256 of the lab file, of its vars, and of each task as written (what `--resume` compares)."""
    data: Mapping[str, Any] = lab.document.data if lab.document is not None else {}
    try:
        file_sha = _sha(Path(lab.path).read_bytes())
    except OSError:
        file_sha = ""
    raw_tasks = data.get("tasks")
    tasks = {str(t.get("id")): _sha(t) for t in raw_tasks or () if isinstance(t, dict)}
    return {"file": file_sha, "vars": _sha(data.get("vars") or {}), "tasks": tasks}


# ---- ledger entries


def entry_for(seq: int, prepared: Prepared, state: LedgerState = "pending") -> LedgerEntry:
    step = prepared.step
    retry = dataclasses.asdict(step.retry) if step.retry is not None else None
    return LedgerEntry(seq=seq, key=step.key, action=step.action, params=prepared.params,
                       registered_by=prepared.registered_by, task=step.task_id, location=str(step.location),
                       id=step.id, title=step.title, ignore_errors=step.ignore_errors,
                       expect_error=step.expect_error, retry=retry, state=state)


def ledger_of(cleanups: Sequence[tuple[Prepared | StepRecord, Any]],
              states: Mapping[int, LedgerState]) -> tuple[LedgerEntry, ...]:
    """The ledger of the cleanups registered so far (`states` by `id()` of each `Prepared`).

    A cleanup that was skipped by its `when`, or could not be rendered, when it was registered has
    nothing to replay and is not listed (the record's `cleanup` shows it).
    """
    return tuple(entry_for(seq, item, states.get(id(item), "pending"))
                 for seq, (item, _) in enumerate(cleanups) if isinstance(item, Prepared))


def _location(text: str, fallback: str) -> Location:
    rest, _, column = text.rpartition(":")
    file, _, line = rest.rpartition(":")
    if file and line.isdigit() and column.isdigit():
        return Location(file, int(line), int(column))
    return Location(fallback, 1, 1)


def _retry(raw: Mapping[str, Any]) -> Retry:
    return Retry(timeout=float(raw["timeout"]), interval=float(raw["interval"]), backoff=float(raw["backoff"]),
                 max_interval=float(raw["max_interval"]), on=tuple(raw.get("on") or ()))


def prepared_from(entry: Mapping[str, Any], lab_file: str = "<lab>") -> Prepared:
    """A ledger entry (as JSON) ready to execute again; `registry.UnknownAction` if its action is gone."""
    spec = registry.resolve(str(entry["action"]))
    params = entry.get("params") or {}
    retry = entry.get("retry")
    step = Step(
        key=str(entry["key"]), section="cleanup", task_id=entry.get("task"), action=spec.name, params=params,
        location=_location(str(entry.get("location") or ""), lab_file), id=entry.get("id"),
        title=entry.get("title"), ignore_errors=tuple(entry.get("ignore_errors") or ()),
        expect_error=tuple(entry.get("expect_error") or ()),
        retry=_retry(retry) if retry else None,
    )
    call_params = prepare_params(spec.operation, params) if spec.operation is not None else dict(params)
    return Prepared(step, spec, params, call_params, (), registered_by=entry.get("registered_by"))


def _contains_redacted(value: Any) -> bool:
    if isinstance(value, str):
        return REDACTED in value
    if isinstance(value, Mapping):
        return any(_contains_redacted(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_redacted(v) for v in value)
    return False


# ---- writing the record as the run goes


def executed_steps(record: RunRecord) -> int:
    """Steps, checks and cleanups that ran (what the test hook counts)."""
    ran = [s for task in record.tasks for s in (*task.steps, *task.checks)] + list(record.cleanup)
    return sum(1 for step in ran if step.status != "skipped")


class WriteBehind:
    """Writes record files on a thread of its own, newest first, while the run goes on.

    A checkpoint's text is made in line (from the JSON of what finished, made once: `RecordJson`); what
    is left, writing the file and two fsyncs, is system calls, which hold the run up but not the
    interpreter. Here the run hands the text over and goes on to its next step, whose request is in
    flight while the thread waits on the disk. The thread holds the interpreter's lock only between
    those calls, so it does not slow the run down in turn. Should several texts queue up, only the
    newest is written: each is the whole run so far.

    The window in which a crash loses a resource is unchanged: from AWS making it to its record being on
    disk, the time of one write. `settle` waits until everything handed over is written; the thread
    is not a daemon, so the interpreter also waits for it before exiting.
    """

    def __init__(self, write: Callable[[Path, str], object] = write_text) -> None:
        self._write = write
        self._changed = threading.Condition()
        self._next: tuple[Path, str] | None = None
        self._writing = False
        self._failure: BaseException | None = None

    def hand_over(self, path: Path, text: str) -> None:
        with self._changed:
            self._raise_failure()
            self._next = (path, text)
            if not self._writing:
                self._writing = True
                threading.Thread(target=self._drain, name="labrunner-record", daemon=False).start()

    def settle(self) -> None:
        """Wait until every record handed over is on disk; raise what made a write fail."""
        with self._changed:
            while self._writing:
                self._changed.wait()
            self._raise_failure()

    def _drain(self) -> None:
        while True:
            with self._changed:
                job, self._next = self._next, None
                if job is None:
                    self._writing = False
                    self._changed.notify_all()
                    return
            try:
                self._write(*job)
            except BaseException as exc:  # handed to the run at its next checkpoint or at `settle`
                with self._changed:
                    self._failure = self._failure or exc

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure


class Checkpoint:
    """Writes the record of a run in progress; `loop.Runner` calls it, `cli.py` calls `finish`.

    `force` is set when a cleanup was registered: those writes always happen, so the ledger never
    misses a resource. Other progress is written at most every `min_interval` seconds (a lab of
    thousands of steps does not rewrite its record thousands of times); a cleanup that ran but is not
    yet marked `done` is harmless, since replaying it meets "already gone". The writes of a run in
    progress are made behind it (`WriteBehind`); `finish` waits for them, then writes the last record.
    """

    def __init__(self, path: str | os.PathLike[str] | None, redactor: Redactor, *,
                 lab_digest: Mapping[str, Any] | None = None, resumed_from: str | None = None,
                 min_interval: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 folder: str | os.PathLike[str] = "runs") -> None:
        self.path = Path(path) if path is not None else None
        self.folder = folder  # where the record goes when no path is given (`record.default_path`)
        self.redactor = redactor
        self.lab_digest = lab_digest
        self.resumed_from = resumed_from
        self.min_interval = min_interval
        self.clock = clock
        self.last: RunRecord | None = None
        self._written_at: float | None = None
        self._made = RecordJson()  # the JSON of what finished, made once for all the writes
        self._behind = WriteBehind()
        hook = os.environ.get(KILL_AFTER_ENV, "")
        self.kill_after = int(hook) if hook.isdigit() else None

    def _complete(self, record: RunRecord) -> RunRecord:
        return replace(record, lab_digest=self.lab_digest, resumed_from=self.resumed_from)

    def _where(self, record: RunRecord) -> Path:
        if self.path is None:
            from datetime import datetime

            started = datetime.strptime(record.started, "%Y-%m-%dT%H:%M:%SZ")
            self.path = default_path(record.lab, started, record.run_id, self.folder)
        return self.path

    def due(self, force: bool = False) -> bool:
        """Whether a record handed over now would be written (the loop builds one only then)."""
        return (force or self.kill_after is not None or self._written_at is None
                or self.clock() - self._written_at >= self.min_interval)

    def __call__(self, record: RunRecord, force: bool = False) -> None:
        record = self._complete(record)
        self.last = record
        if not self.due(force):
            return
        self._behind.hand_over(self._where(record), record_text(record, self.redactor, made=self._made, compact=True))
        self._written_at = self.clock()
        if self.kill_after is not None and executed_steps(record) >= self.kill_after:
            self._behind.settle()  # "killed right after step N" means after its record is on disk
            os.kill(os.getpid(), signal.SIGKILL)

    def settle(self) -> None:
        """Wait until every record handed over is written (`WriteBehind.settle`)."""
        self._behind.settle()

    def interrupted(self, why: str) -> RunRecord | None:
        """The last record kept, marked interrupted: for a Ctrl-C that arrived where the loop cannot catch it."""
        if self.last is None:
            return None
        return replace(self.last, status="interrupted", error=why)

    def finish(self, record: RunRecord) -> Path:
        record = self._complete(record)
        self.last = record
        with contextlib.suppress(OSError):  # the last record replaces one that failed; if it fails too, that is raised
            self._behind.settle()
        return write_record(self._where(record), record, self.redactor, made=self._made)


# ---- reading a record back


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A record file as JSON; a `UsageError` that says what is wrong when it is not one."""
    where = Path(path)
    data = read_json(where, "pass the record labrunner run wrote: it prints where")
    required = ("version", "lab", "run_id", "target", "status", "tasks")
    if not isinstance(data, dict) or any(key not in data for key in required):
        raise UsageError(f"{where}: not a labrunner run record (expected the JSON written by labrunner run)")
    if data.get("version") != 1:
        raise UsageError(f"{where}: record version {data.get('version')!r} is not supported (expected 1)")
    return data


def _fields(kind: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in raw.items() if k in names}


def step_from_json(raw: Mapping[str, Any]) -> StepRecord:
    values = _fields(StepRecord, raw)
    values["assertions"] = tuple(AssertionRecord(**_fields(AssertionRecord, a)) for a in raw.get("assertions") or ())
    values["error"] = ErrorInfo(**_fields(ErrorInfo, raw["error"])) if raw.get("error") else None
    values["saved"] = dict(raw.get("saved") or {})
    return StepRecord(**values)


def task_from_json(raw: Mapping[str, Any]) -> TaskRecord:
    values = _fields(TaskRecord, raw)
    for section in ("steps", "checks", "evidence"):
        if section in values:
            values[section] = tuple(step_from_json(s) for s in raw.get(section) or ())
    return TaskRecord(**values)


# ---- --resume


@dataclass(frozen=True)
class Resume:
    """What `--resume` restores into a new run (`loop.RunOptions.resume`)."""

    previous_run: str
    seed: int
    vars: Mapping[str, Any]  # the recorded vars, except redacted ones (rendered again, or given by --var)
    tasks: Mapping[str, TaskRecord]  # kept tasks: recorded as they passed, not run again
    saved: Mapping[str, Any]  # values the kept tasks saved
    cleanups: tuple[Prepared, ...]  # the old run's pending cleanups, oldest first: this run does them
    notes: tuple[str, ...] = ()  # what was decided and why, for the terminal


def plan_resume(lab: Lab, data: Mapping[str, Any], digest: Mapping[str, Any], *, source: str = "") -> Resume:
    """Decide what a resumed run keeps from a record; `UsageError` when it cannot resume at all.

    A task is kept when it passed, the lab's text for it is unchanged, and nothing may have removed
    what it made: none of the cleanups its steps registered has run, no lab-level cleanup ran, and the
    run was not on the embedded emulator (whose state died with it). The first task not kept and
    every later one run again.
    """
    where = source or "the record"
    run_id = str(data.get("run_id"))
    if data.get("lab") != lab.name:
        raise UsageError(f"--resume: {where} is a run of lab '{data.get('lab')}', not '{lab.name}'")
    if data.get("mode", "run") != "run":
        raise UsageError(f"--resume: {where} is a {data.get('mode')}, not a run; grade again instead")
    if data.get("status") == "passed":
        raise UsageError(f"--resume: run {run_id} passed; there is nothing to continue")
    old_digest = data.get("lab_digest") or {}
    if old_digest.get("vars") != digest.get("vars"):
        raise UsageError(f"--resume: the lab's vars changed since run {run_id} (or its record predates "
                         "--resume): the names it made would not match; run the lab afresh")
    notes: list[str] = []
    ledger = [e for e in data.get("ledger") or () if isinstance(e, dict)]
    target_kind = (data.get("target") or {}).get("kind")
    survived = target_kind != "emulator"
    if not survived:
        notes.append("the embedded emulator stopped with that run, so nothing it made remains: every task "
                     "runs again, with the same seed and vars")
    lab_cleanup_ran = any(c.get("registered_by") is None and c.get("status") == "passed"
                          for c in data.get("cleanup") or ())
    if survived and lab_cleanup_ran:
        notes.append("that run's lab-level cleanup ran, so every task runs again")
    old_tasks = {t.get("id"): t for t in data.get("tasks") or () if isinstance(t, dict)}
    kept: dict[str, TaskRecord] = {}
    saved: dict[str, Any] = {}
    for task in lab.tasks:
        old = old_tasks.get(task.id)
        if not survived or lab_cleanup_ran or old is None or old.get("status") != "passed":
            break
        if (old_digest.get("tasks") or {}).get(task.id) != (digest.get("tasks") or {}).get(task.id):
            notes.append(f"task '{task.id}' changed in the lab since run {run_id}: it runs again")
            break
        undone = [e for e in ledger if e.get("task") == task.id and e.get("state") != "pending"]
        if undone:
            notes.append(f"task '{task.id}' passed but its cleanup ran: it runs again")
            break
        record = task_from_json(old)
        kept[task.id] = replace(record, summary=f"passed in run {run_id} (resumed)")
        for step in (*record.steps, *record.checks):
            saved.update({k: v for k, v in step.saved.items() if not _contains_redacted(v)})
    replayable = [e for e in sorted(ledger, key=_seq)
                  if survived and e.get("state") in ("pending", "failed") and not _contains_redacted(e.get("params"))]
    cleanups = tuple(prepared_from(e, str(data.get("file") or "<lab>")) for e in replayable)
    lab_vars = {k: v for k, v in (data.get("vars") or {}).items() if not _contains_redacted(v)}
    if kept:
        notes.insert(0, f"kept from run {run_id}: {', '.join(kept)} (passed)")
    return Resume(previous_run=run_id, seed=int(data.get("seed") or 0), vars=lab_vars, tasks=kept, saved=saved,
                  cleanups=cleanups, notes=tuple(notes))


def _seq(entry: Mapping[str, Any]) -> int:
    value = entry.get("seq")
    return value if isinstance(value, int) else 0


# ---- labrunner cleanup


def pending(data: Mapping[str, Any]) -> list[int]:
    """Indexes into `data['ledger']` of the entries still to run, newest registration first."""
    ledger = data.get("ledger") or []
    waiting = [i for i, e in enumerate(ledger) if isinstance(e, dict) and e.get("state") in ("pending", "failed")]
    return sorted(waiting, key=lambda i: _seq(ledger[i]), reverse=True)


@dataclass(frozen=True)
class Replayed:
    entry: Mapping[str, Any]
    state: LedgerState
    record: StepRecord | None
    why: str


def replay(data: dict[str, Any], path: str | os.PathLike[str], execute: Callable[[Prepared], StepRecord],
           redactor: Redactor, on_done: Callable[[Replayed], None] | None = None) -> list[Replayed]:
    """Run the record's pending cleanups newest first, rewriting the record after each one.

    An entry whose action meets an "already gone" error (`is_gone`) is done; one whose parameters were
    redacted (a secret) cannot be replayed and stays `failed`. The record's `cleanup` list grows by
    each step run here, so it shows what the cleanup command did.
    """
    results: list[Replayed] = []
    ledger: list[dict[str, Any]] = data.setdefault("ledger", [])
    for index in pending(data):
        entry = ledger[index]
        record: StepRecord | None = None
        if _contains_redacted(entry.get("params")):
            state: LedgerState = "failed"
            why = "a parameter was a secret and is redacted in the record; remove this resource by hand"
        else:
            try:
                prepared = prepared_from(entry, str(data.get("file") or "<lab>"))
            except registry.UnknownAction as exc:
                state, why = "failed", exc.message
            else:
                record = execute(prepared)
                code = record.error.code if record.error is not None else None
                if record.status == "passed":
                    state, why = "done", "removed" if not record.ignored_error else f"ignored {record.ignored_error}"
                elif is_gone(code, prepared.step.action):
                    state, why = "done", f"already gone ({code})"
                else:
                    state, why = "failed", record.summary or record.status
        entry["state"] = state
        if record is not None:
            data.setdefault("cleanup", []).append(step_to_json(record, redactor))
        write_text(path, json_text(data, indent=True) + "\n")
        done = Replayed(entry, state, record, why)
        results.append(done)
        if on_done is not None:
            on_done(done)
    return results


def describe_entries(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per ledger entry: what it removes."""
    lines = []
    for entry in entries:
        params = entry.get("params") or {}
        shown = ", ".join(f"{k}={v}" for k, v in params.items() if isinstance(v, (str, int))) \
            if isinstance(params, Mapping) else ""
        lines.append(f"{entry.get('action')}({shown})  [registered by {entry.get('registered_by')}]")
    return lines
