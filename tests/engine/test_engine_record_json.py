"""The record as JSON and back: bounded results, checkpoints that reuse what finished, `json_text`
against `json.dumps`, typed records rebuilt from their JSON."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

from engine_helpers import SECRET, make_record
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.engine.record import AssertionRecord, ErrorInfo, StepRecord, TaskRecord
from runner.engine.record_files import write_record
from runner.engine.record_json import (
    RecordJson,
    bounded,
    json_text,
    step_from_json,
    step_to_json,
    task_from_json,
    to_json,
)
from runner.engine.redaction import Redactor


def test_bounded_keeps_a_large_result_as_a_preview() -> None:
    big = {"items": ["x" * 1000] * 1000}
    assert bounded(big)["truncated"] is True and bounded({"a": 1}) == {"a": 1}


def test_to_json_is_plain_data() -> None:
    data = to_json(make_record())
    assert json.loads(json.dumps(data)) == data


def test_checkpoints_reuse_what_finished_yet_hide_a_secret_learned_later(tmp_path: Path) -> None:
    from dataclasses import replace

    record = make_record()
    made, redact = RecordJson(), Redactor()  # the secret is not known yet: the first write shows it
    first = made.compact(record, redact)
    assert json.loads(first) == to_json(record, redact) and SECRET in first
    second = made.compact(replace(record, status="running", finished="2026-03-01T12:00:03Z"), redact)
    assert json.loads(second)["status"] == "running" and json.loads(second)["tasks"] == json.loads(first)["tasks"]
    redact.learn(record.tasks[0].steps[0].result)  # now it is: every later write hides it, old tasks too
    third = made.compact(record, redact)
    assert SECRET not in third and json.loads(third) == to_json(record, redact)
    assert third == json.dumps(to_json(record, redact), default=str, ensure_ascii=False, separators=(",", ":"))
    write_record(tmp_path / "r.json", record, redact, made=made, compact=True)
    assert (tmp_path / "r.json").read_text() == third + "\n"


_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text()
            | st.datetimes(timezones=st.sampled_from([None, UTC])))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(value=_VALUES, indent=st.booleans())
def test_json_text_is_what_json_dumps_writes(value: object, indent: bool) -> None:
    layout: dict[str, object] = {"indent": 2} if indent else {"separators": (",", ":")}
    assert json_text(value, indent=indent) == json.dumps(value, default=str, ensure_ascii=False, **layout)


@settings(max_examples=200, deadline=None)
@given(value=st.recursive(st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
                          lambda inner: st.lists(inner, max_size=4), max_leaves=20))
def test_json_text_writes_the_same_numbers(value: object) -> None:
    assert json.loads(json_text(value)) == value


def test_json_text_takes_what_orjson_refuses_and_writes_nan_as_null() -> None:
    assert json_text({"n": 2**70, "s": "\ud800"}) == json.dumps({"n": 2**70, "s": "\ud800"}, ensure_ascii=False,
                                                              separators=(",", ":"))
    assert json_text([float("nan"), float("inf")]) == "[null,null]"


def test_a_step_and_a_task_read_back_are_the_records_written() -> None:
    step = StepRecord(key="check", action="aws.s3.head_bucket", section="checks", status="failed",
                      location="lab.yaml:7:9", id="check", task="t", attempts=3, duration_s=1.5, waited_s=1.0,
                      params={"Bucket": "b1"}, result={"Tags": [1, 2]},
                      assertions=(AssertionRecord("Status", "equals", "Enabled", "Disabled", False,
                                                  "expected 'Enabled'", "turn it on", "lab.yaml:9:11"),),
                      error=ErrorInfo("aws", "denied", "AccessDenied", 403), saved={"where": "/b1"},
                      summary="AccessDenied", hint="ask", ignored_error=None, registered_by=None)
    data = json.loads(json_text(step_to_json(step, Redactor())))
    assert step_from_json(data) == step
    assert step_from_json({**data, "added_in_a_later_version": 1}) == step  # unknown keys are left out
    task = TaskRecord("t", "T", "failed", 2, 0, (step,), (step,), 1.5, "why", evidence=(step,), credited_by=None)
    assert task_from_json(json.loads(json_text(RecordJson().task(task, Redactor())))) == task
