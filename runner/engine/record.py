"""The record of a run: typed, immutable results of every step, turned into JSON and written atomically.

A leaf of the engine: the step executor (`steps.py`) and the loop (`loop.py`) build these dataclasses;
`console.py`, `junit.py` and the record file only read them. Every output goes through one
`Redactor`, so a secret (`Plaintext`, `SecretAccessKey`, `SessionToken`, `Password`, `PrivateKey`, and
any value once seen under such a key) never reaches a file or the terminal. `docs/record.md` and
`schemas/record.schema.json` describe the JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from runner.actions.aws import REDACTED, SECRET_KEYS

RECORD_VERSION = 1
StepStatus = Literal["passed", "failed", "error", "skipped"]
RunStatus = Literal["passed", "failed", "error", "interrupted"]
#: A result bigger than this (as JSON) is kept in the record as a preview only.
MAX_RESULT_CHARS = 256 * 1024
#: The summary of a task left out by `--task`.
NOT_SELECTED = "skipped: not selected (--task)"
#: Secrets shorter than this are only redacted under their key, not wherever the text appears.
_MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class ErrorInfo:
    """Why a step did not pass, when it is not an assertion: an AWS error, a template, a crash."""

    kind: str  # "aws" (the action failed), "render", "params", "crash", "interrupted", "expect_error"
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


@dataclass(frozen=True)
class TargetRecord:
    kind: str  # emulator, aws, endpoint
    region: str
    account: str | None = None
    partition: str = "aws"
    endpoint: str | None = None
    caller_arn: str | None = None


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

    def steps(self) -> list[StepRecord]:
        """Every step, check and cleanup, in the order they ran."""
        found: list[StepRecord] = []
        for task in self.tasks:
            found.extend(task.steps)
            found.extend(task.checks)
        found.extend(self.cleanup)
        return found


class Redactor:
    """Removes secrets from anything about to be shown or written.

    Values under a secret key are replaced by "***"; so is any text, anywhere, equal to or containing a
    secret value seen before (`learn`): a saved `SecretAccessKey` stays hidden in later params.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def learn(self, value: Any) -> None:
        for key, found in _walk_items(value):
            if key in SECRET_KEYS and isinstance(found, str) and len(found) >= _MIN_SECRET_LENGTH \
                    and found != REDACTED:
                self._secrets.add(found)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if key is not None and key in SECRET_KEYS and value is not None:
            return REDACTED
        if isinstance(value, Mapping):
            return {str(k): self(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def _walk_items(value: Any) -> list[tuple[str | None, Any]]:
    found: list[tuple[str | None, Any]] = []
    stack: list[tuple[str | None, Any]] = [(None, value)]
    while stack:
        key, item = stack.pop()
        found.append((key, item))
        if isinstance(item, Mapping):
            stack.extend((str(k), v) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((None, v) for v in item)
    return found


def bounded(value: Any, limit: int = MAX_RESULT_CHARS) -> Any:
    """`value`, or a preview of it when its JSON is longer than `limit` characters."""
    text = json.dumps(value, default=str)
    if len(text) <= limit:
        return value
    return {"truncated": True, "size": len(text), "preview": text[:4096]}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(record: RunRecord, redact: Redactor | None = None) -> dict[str, Any]:
    """The record as JSON-ready data, secrets redacted, large results bounded."""
    redact = redact or Redactor()
    data: dict[str, Any] = _plain(record)

    def step(raw: dict[str, Any]) -> dict[str, Any]:
        raw["result"] = bounded(raw["result"])
        return raw

    for task in data["tasks"]:
        task["steps"] = [step(s) for s in task["steps"]]
        task["checks"] = [step(s) for s in task["checks"]]
    data["cleanup"] = [step(s) for s in data["cleanup"]]
    redacted: dict[str, Any] = redact(data)
    return redacted


def default_path(lab: str, started: datetime, run_id: str, directory: str | os.PathLike[str] = "runs") -> Path:
    """`runs/<lab>-<UTC timestamp>-<run_id>.json`."""
    return Path(directory) / f"{lab}-{started:%Y%m%dT%H%M%SZ}-{run_id}.json"


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write a file atomically: a temporary file beside it, then `os.replace` (readers never see half)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def write_record(path: str | os.PathLike[str], record: RunRecord, redact: Redactor | None = None) -> Path:
    data = to_json(record, redact)
    return write_text(path, json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
