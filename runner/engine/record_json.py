"""The record as JSON, and back: what every record file holds.

`RecordJson` turns a `RunRecord` (`record.py`) into redacted JSON-ready data (through a
`redaction.Redactor`) and text, making each finished step and task once for all the writes of a run;
`json_text` writes any JSON the run produces; `step_from_json` and `task_from_json` rebuild typed
records from a record file (`--resume`, the benchmark). `record_files.py` puts the text on disk.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import orjson

from runner.engine.record import AssertionRecord, ErrorInfo, RunRecord, StepRecord, TaskRecord
from runner.engine.redaction import Redactor

#: A result bigger than this (as JSON) is kept in the record as a preview only.
MAX_RESULT_CHARS = 256 * 1024


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

    A run rewrites its record at every checkpoint (`checkpoint.Checkpoint`). What already finished does not
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


_STEP_SECTIONS = ("steps", "checks", "evidence", "advice")


def to_json(record: RunRecord, redact: Redactor | None = None) -> dict[str, Any]:
    """The record as JSON-ready data, secrets redacted, large results bounded."""
    return RecordJson().data(record, redact or Redactor())


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


# ---- back: typed records from a record file


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
    for section in _STEP_SECTIONS:
        if section in values:
            values[section] = tuple(step_from_json(s) for s in raw.get(section) or ())
    return TaskRecord(**values)
