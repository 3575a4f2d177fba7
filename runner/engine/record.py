"""The record of a run: typed, immutable results of every step, task and cleanup.

A leaf of the engine: the step executor (`steps.py`) and the loop (`loop.py`) build these dataclasses;
`console.py`, `junit.py` and the record file only read them. `record_json.py` turns them into JSON
(through a `redaction.Redactor`) and back, `record_files.py` writes and reads the file. `docs/record.md`
and `schemas/record.schema.json` describe the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

RECORD_VERSION = 1
StepStatus = Literal["passed", "failed", "error", "skipped"]
#: `running`: the run has not finished (the record is rewritten as it goes: see `checkpoint.py`); a
#: record left `running` is one whose process died.
RunStatus = Literal["passed", "failed", "error", "interrupted", "running"]
#: A ledger entry: `pending` (the resource may exist), `done` (removed, or already gone), `failed`.
LedgerState = Literal["pending", "done", "failed"]
#: The summary of a task left out by `--task`.
NOT_SELECTED = "skipped: not selected (--task)"


@dataclass(frozen=True)
class ErrorInfo:
    """Why a step did not pass, when it is not an assertion: an AWS error, a template, a crash."""

    kind: str  # "aws" (the action failed), "render", "params", "crash", "interrupted", "expect_error",
    # "time_limit" (the run ran out of time before it)
    message: str
    code: str | None = None
    status: int | None = None


@dataclass(frozen=True)
class AssertionRecord:
    path: str
    operator: str
    expected: Any
    actual: Any
    passed: bool
    detail: str = ""  # why it failed, in words: "expected 'Enabled', got 'Disabled'"
    message: str | None = None  # the lab's hint for this expectation
    location: str = ""


@dataclass(frozen=True)
class StepRecord:
    key: str
    action: str
    section: str  # steps, checks, cleanup
    status: StepStatus
    location: str
    id: str | None = None
    title: str | None = None
    task: str | None = None
    attempts: int = 0
    duration_s: float = 0.0
    waited_s: float = 0.0
    params: Any = None
    result: Any = None
    assertions: tuple[AssertionRecord, ...] = ()
    error: ErrorInfo | None = None
    saved: Mapping[str, Any] = field(default_factory=dict)
    summary: str | None = None  # one line on why it failed or was skipped
    hint: str | None = None  # the step's `message`, shown to a student when a check fails
    ignored_error: str | None = None  # an error code in ignore_errors that the step met
    registered_by: str | None = None  # for a step's cleanup: the key of the step that registered it

    @property
    def label(self) -> str:
        if self.title or self.id:
            return str(self.title or self.id)
        return f"cleanup of {self.registered_by}" if self.registered_by else self.key

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "error")


@dataclass(frozen=True)
class TaskRecord:
    id: str
    title: str
    status: StepStatus
    points: float
    score: float
    steps: tuple[StepRecord, ...] = ()
    checks: tuple[StepRecord, ...] = ()
    duration_s: float = 0.0
    summary: str | None = None
    evidence: tuple[StepRecord, ...] = ()  # grading: run only when the checks failed
    credited_by: str | None = None  # grading: "checks" or "evidence" when passed, else None
    advice: tuple[StepRecord, ...] = ()  # after the checks: good practice, never scored


@dataclass(frozen=True)
class TargetRecord:
    kind: str  # emulator, aws, endpoint
    region: str
    account: str | None = None
    partition: str = "aws"
    endpoint: str | None = None
    caller_arn: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """A registered cleanup, rendered when it was registered: what removes one thing the run made.

    Written to the record as soon as it is registered, so `labrunner cleanup RECORD` can replay it
    after a crash (`replay.py`). `seq` is the registration order; cleanups replay last-in-first-out.
    """

    seq: int
    key: str
    action: str
    params: Any
    registered_by: str | None
    task: str | None
    location: str = ""
    id: str | None = None
    title: str | None = None
    ignore_errors: tuple[str, ...] = ()
    expect_error: tuple[str, ...] = ()
    retry: Mapping[str, Any] | None = None  # {timeout, interval, backoff, max_interval, on} in seconds
    state: LedgerState = "pending"


@dataclass(frozen=True)
class RunRecord:
    lab: str
    title: str
    file: str
    run_id: str
    mode: str
    target: TargetRecord
    seed: int
    started: str
    finished: str
    status: RunStatus
    vars: Mapping[str, Any]
    tasks: tuple[TaskRecord, ...]
    cleanup: tuple[StepRecord, ...] = ()
    score: float = 0.0
    points: float = 0.0
    duration_s: float = 0.0
    error: str | None = None  # what stopped the run as a whole (status error or interrupted)
    version: int = RECORD_VERSION
    ledger: tuple[LedgerEntry, ...] = ()  # every registered cleanup and whether it has run
    lab_digest: Mapping[str, Any] | None = None  # sha256 of the lab file, its vars and each task (--resume)
    resumed_from: str | None = None  # the run_id this run continued (--resume)
    student: str | None = None  # grading a class: the student's name (or account id)
    since: str | None = None  # grading: the start of the lab's window for evidence

    def steps(self) -> list[StepRecord]:
        """Every step, check and cleanup, in the order they ran."""
        found: list[StepRecord] = []
        for task in self.tasks:
            found.extend(task.steps)
            found.extend(task.checks)
            found.extend(task.advice)
            found.extend(task.evidence)
        found.extend(self.cleanup)
        return found
