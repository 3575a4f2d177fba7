"""The record of a run: typed, immutable results of every step, turned into JSON and written atomically.

A leaf of the engine: the step executor (`steps.py`) and the loop (`loop.py`) build these dataclasses;
`console.py`, `junit.py` and the record file only read them. Every output goes through one
`Redactor`, so a secret (`Plaintext`, `SecretAccessKey`, `SessionToken`, `Password`, `PrivateKey`, and
any value once seen under such a key) never reaches a file or the terminal. `docs/record.md` and
`schemas/record.schema.json` describe the JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from runner.errors import UsageError
from runner.secret_keys import REDACTED, is_secret_key

RECORD_VERSION = 1
StepStatus = Literal["passed", "failed", "error", "skipped"]
#: `running`: the run has not finished (the record is rewritten as it goes: see `ledger.py`); a record
#: left `running` is one whose process died.
RunStatus = Literal["passed", "failed", "error", "interrupted", "running"]
#: A ledger entry: `pending` (the resource may exist), `done` (removed, or already gone), `failed`.
LedgerState = Literal["pending", "done", "failed"]
#: A result bigger than this (as JSON) is kept in the record as a preview only.
MAX_RESULT_CHARS = 256 * 1024
#: The summary of a task left out by `--task`.
NOT_SELECTED = "skipped: not selected (--task)"
#: Secrets shorter than this are only redacted under their key, not wherever the text appears.
_MIN_SECRET_LENGTH = 8
#: A value marked secret by the lab is redacted wherever it appears from this length; shorter ones only
#: where a whole value equals it (replacing every "ab" in every text would make output unreadable).
_MIN_MARKED_LENGTH = 4
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
    evidence: tuple[StepRecord, ...] = ()  # grading: run only when the checks failed
    credited_by: str | None = None  # grading: "checks" or "evidence" when passed, else None


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
    after a crash (`ledger.py`). `seq` is the registration order; cleanups replay last-in-first-out.
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
            found.extend(task.evidence)
        found.extend(self.cleanup)
        return found


class Redactor:
    """Removes secrets from anything about to be shown or written.

    Values under a secret key (`is_secret_key`) are replaced by "***"; so is any text, anywhere, equal to
    or containing a secret value seen before (`learn`): a saved `SecretAccessKey` stays hidden in later
    params. Values the lab marks secret (`secrets:`) are added with `add_secret`, with their base64 form.

    Every writer of run output uses one: `redactor(data)` for JSON-ready data, `redactor.text(s)` for a
    line of text. The run's own instance (`Runner.redactor`) knows the values met during the run.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._exact: set[str] = set()  # short marked secrets: redacted only where a whole value equals one
        #: Grows whenever a new secret is known: output redacted under an older generation may show it.
        self.generation = 0
        self._sorted: list[str] = []
        self._sorted_at = 0

    def learn(self, value: Any) -> None:
        for key, found in _walk_items(value):
            if is_secret_key(key) and isinstance(found, str) and len(found) >= _MIN_SECRET_LENGTH \
                    and found != REDACTED and found not in self._secrets:
                self._secrets.add(found)
                self.generation += 1

    def add_secret(self, value: Any) -> None:
        """Treat every string (and number) inside `value` as a secret, raw and base64-encoded."""
        for _, found in _walk_items(value):
            if isinstance(found, bool) or not isinstance(found, (str, int, float)):
                continue
            text = str(found)
            if not text or text == REDACTED or text in self._exact or text in self._secrets:
                continue  # known already (the engine tells it the marked values before every step)
            self.generation += 1
            if len(text) < _MIN_MARKED_LENGTH:
                self._exact.add(text)
                continue
            self._secrets.add(text)
            # A lab may pass a secret through `b64encode` (KMS Plaintext, HTTP basic auth).
            self._secrets.add(base64.b64encode(text.encode()).decode("ascii").rstrip("="))

    def text(self, value: str) -> str:
        if value in self._exact:
            return REDACTED
        if "ignature=" in value or "ecurity-Token=" in value:
            # A presigned URL is a working credential until it expires: keep the URL, drop the proof.
            value = _SIGNED_QUERY.sub(lambda m: f"{m.group(1)}={REDACTED}", value)
        for secret in self._longest_first():
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def _longest_first(self) -> list[str]:
        # Longest first, so a secret containing another is replaced whole; sorted once per generation,
        # not for each of the thousands of strings a record holds.
        if self._sorted_at != self.generation:
            self._sorted = sorted(self._secrets, key=len, reverse=True)
            self._sorted_at = self.generation
        return self._sorted

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if key is not None and is_secret_key(key) and value is not None:
            return REDACTED
        # The common leaves and containers first, by exact type: an `isinstance` against an abstract
        # class such as Mapping is slow, and a record holds thousands of values.
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is dict:
            return {str(k): self(v, str(k)) for k, v in value.items()}
        if self._exact and not isinstance(value, (bool, str)) and isinstance(value, (int, float)) \
                and str(value) in self._exact:
            return REDACTED
        if isinstance(value, Mapping):
            return {str(k): self(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a record's parts: as mappings
            return {f.name: self(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
        return value


_SIGNED_QUERY = re.compile(
    r"(X-Amz-Signature|X-Amz-Security-Token|x-amz-security-token|Signature)=[^&\s\"'<>]+")


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


#: What orjson needs to write what `json.dumps(default=str)` writes: datetimes and dataclasses through
#: `default` (orjson would format them its own way), keys that are not strings as text.
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def json_text(value: Any, *, indent: bool = False) -> str:
    """JSON text of `value`: compact, or indented by two spaces; what has no JSON form becomes `str()` of it.

    orjson writes it (the record of a run is rewritten at each checkpoint, and Python's encoder indents
    about 20 times slower than orjson: most of the final record's cost). Its text is `json.dumps`'s with
    `ensure_ascii=False` and the same separators, except that a float may be written in another form of
    the same number (`0.00001` for `1e-05`), and NaN and infinities are `null`: valid JSON, which `NaN`
    is not. What orjson refuses (integers beyond 64 bits, lone surrogates) goes through `json.dumps`.
    """
    try:
        return orjson.dumps(value, default=str, option=(_ORJSON | orjson.OPT_INDENT_2) if indent else _ORJSON).decode()
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        if indent:
            return json.dumps(value, default=str, ensure_ascii=False, indent=2)
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def bounded(value: Any, limit: int = MAX_RESULT_CHARS) -> Any:
    """`value`, or a preview of it when its (compact) JSON is longer than `limit` characters."""
    text = json_text(value)
    if len(text) <= limit:
        return value
    return {"truncated": True, "size": len(text), "preview": text[:4096]}


class RecordJson:
    """A run's record as redacted JSON, for all the record files the run writes.

    A run rewrites its record at every checkpoint (`ledger.Checkpoint`). What already finished does not
    change (the records are frozen), so each step is turned into JSON once, and each finished task into
    compact text once; only what is new is made again, unless the redactor has learned a secret since
    (`Redactor.generation`), which may have to hide something in an old one. The dicts handed out are
    shared between writes: callers only serialise them.
    """

    def __init__(self) -> None:
        self._steps: dict[int, tuple[StepRecord, int, dict[str, Any]]] = {}
        self._tasks: dict[int, tuple[TaskRecord, int, str]] = {}

    def step(self, record: StepRecord, redact: Redactor) -> dict[str, Any]:
        made = self._steps.get(id(record))
        if made is not None and made[0] is record and made[1] == redact.generation:
            return made[2]
        data = step_to_json(record, redact)
        self._steps[id(record)] = (record, redact.generation, data)  # the record is kept: its id stays its own
        return data

    def task(self, task: TaskRecord, redact: Redactor) -> dict[str, Any]:
        return {f.name: [self.step(s, redact) for s in getattr(task, f.name)] if f.name in _STEP_SECTIONS
                else redact(getattr(task, f.name), f.name) for f in dataclasses.fields(task)}

    def data(self, record: RunRecord, redact: Redactor) -> dict[str, Any]:
        """The record as JSON-ready data."""
        data: dict[str, Any] = {}
        for item in dataclasses.fields(record):
            value = getattr(record, item.name)
            if item.name == "tasks":
                data["tasks"] = [self.task(task, redact) for task in value]
            elif item.name == "cleanup":
                data["cleanup"] = [self.step(s, redact) for s in value]
            else:
                data[item.name] = redact(value, item.name)
        return data

    def compact(self, record: RunRecord, redact: Redactor) -> str:
        """`json_text(self.data(record))`, reusing the text of finished tasks."""
        fields = []
        for item in dataclasses.fields(record):
            value = getattr(record, item.name)
            if item.name == "tasks":
                text = "[" + ",".join(self._task_text(task, redact) for task in value) + "]"
            elif item.name == "cleanup":
                text = json_text([self.step(s, redact) for s in value])
            else:
                text = json_text(redact(value, item.name))
            fields.append(f"{json_text(item.name)}:{text}")
        return "{" + ",".join(fields) + "}"

    def _task_text(self, task: TaskRecord, redact: Redactor) -> str:
        made = self._tasks.get(id(task))
        if made is not None and made[0] is task and made[1] == redact.generation:
            return made[2]
        text = json_text(self.task(task, redact))
        self._tasks[id(task)] = (task, redact.generation, text)
        return text


def step_to_json(record: StepRecord, redact: Redactor) -> dict[str, Any]:
    """One step's record as JSON-ready data: secrets redacted, a large result bounded."""
    data = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    data["result"] = bounded(data["result"])
    redacted: dict[str, Any] = redact(data)
    return redacted


_STEP_SECTIONS = ("steps", "checks", "evidence")


def to_json(record: RunRecord, redact: Redactor | None = None) -> dict[str, Any]:
    """The record as JSON-ready data, secrets redacted, large results bounded."""
    return RecordJson().data(record, redact or Redactor())


def read_json(path: str | os.PathLike[str], hint: str) -> Any:
    """A JSON file the user named (a record); a `UsageError` that says what is wrong and, with `hint`,
    what to pass instead: missing, unreadable, or not JSON (with the line and column)."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file ({hint})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read it ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}); {hint}") from None


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
    _fsync_directory(target.parent)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable: without it a power cut can bring back the old file (POSIX only)."""
    if os.name != "posix":
        return
    try:
        handle = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the file itself is already synced
    finally:
        os.close(handle)


def record_text(record: RunRecord, redact: Redactor | None = None, *, made: RecordJson | None = None,
                compact: bool = False) -> str:
    """The record file's text; `compact` (one line) for the checkpoints of a run in progress.

    Indented JSON is for people reading the finished record; the checkpoints are compact, which lets
    them reuse the text of finished tasks (`made`, the JSON of earlier writes of the same run).
    """
    made = made or RecordJson()
    redact = redact or Redactor()
    text = made.compact(record, redact) if compact else json_text(made.data(record, redact), indent=True)
    return text + "\n"


def write_record(path: str | os.PathLike[str], record: RunRecord, redact: Redactor | None = None, *,
                 made: RecordJson | None = None, compact: bool = False) -> Path:
    """Write the record atomically (`record_text`, `write_text`)."""
    return write_text(path, record_text(record, redact, made=made, compact=compact))
