"""The record: redaction everywhere, atomic writes, JUnit, and the live console's wording."""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.engine import junit
from runner.engine.console import Console, duration
from runner.engine.record import AssertionRecord, ErrorInfo, RunRecord, StepRecord, TargetRecord, TaskRecord
from runner.engine.record_files import default_path, write_record, write_text
from runner.engine.record_json import bounded, to_json
from runner.engine.redaction import Redactor

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "record.schema.json").read_text())
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def make_record() -> RunRecord:
    creds = StepRecord(
        key="assume", action="aws.sts.assume_role", section="steps", status="passed", location="lab.yaml:5:7",
        attempts=1, params={"RoleArn": "arn:aws:iam::1:role/r", "Password": "hunter2"},
        result={"Credentials": {"AccessKeyId": "AKIA", "SecretAccessKey": SECRET, "SessionToken": "tok" * 5}},
        saved={"secret": SECRET},
    )
    leak = StepRecord(
        key="use", action="aws.s3.list_buckets", section="steps", status="failed", location="lab.yaml:9:7",
        attempts=3, waited_s=4.0, params={"Note": f"key={SECRET}"},
        assertions=(AssertionRecord("Owner.ID", "equals", SECRET, "someone", False, "expected ...", "hint!"),),
        error=ErrorInfo("aws", f"denied for {SECRET}", "AccessDenied", 403), summary=f"AccessDenied: {SECRET}",
    )
    skipped = StepRecord(key="t.checks[0]", action="aws.s3.head_bucket", section="checks", status="skipped",
                         location="lab.yaml:12:7", summary="skipped: step 'use' failed")
    task = TaskRecord("t", "T", "failed", 2, 0, (creds, leak), (skipped,), 1.5, "use: AccessDenied")
    return RunRecord(lab="demo", title="Demo", file="lab.yaml", run_id="abcd1234", mode="run",
                     target=TargetRecord("emulator", "us-east-1", "123456789012"), seed=3,
                     started="2026-03-01T12:00:00Z", finished="2026-03-01T12:00:02Z", status="failed",
                     vars={"password_hint": "x"}, tasks=(task,), points=2, duration_s=2.0)


def redactor_for(record: RunRecord) -> Redactor:
    redact = Redactor()
    for step in record.steps():
        redact.learn(step.result)
        redact.learn(step.params)
    return redact


def test_secrets_never_reach_the_record(tmp_path: Path) -> None:
    record = make_record()
    path = write_record(tmp_path / "r.json", record, redactor_for(record))
    text = path.read_text()
    assert SECRET not in text and "hunter2" not in text and "toktok" not in text
    data = json.loads(text)
    jsonschema.validate(data, SCHEMA)
    step = data["tasks"][0]["steps"][0]
    assert step["params"]["Password"] == "***" and step["saved"]["secret"] == "***"
    assert data["tasks"][0]["steps"][1]["params"]["Note"] == "key=***"


def test_secrets_never_reach_junit_or_the_terminal() -> None:
    record = make_record()
    redact = redactor_for(record)
    xml = junit.render(record, redact)
    assert SECRET not in xml
    out = io.StringIO()
    console = Console(out, redact)
    for step in record.steps():
        console.step_finished(step)
    assert SECRET not in out.getvalue() and "***" in out.getvalue()


def test_junit_structure() -> None:
    root = ET.fromstring(junit.render(make_record()))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    cases = root.findall(".//testcase")
    assert [c.get("classname") for c in cases] == ["t", "t", "t"]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "AccessDenied"
    assert failure.text is not None and "at lab.yaml:9:7" in failure.text and "3 attempts" in failure.text
    assert cases[1].get("file") == "lab.yaml" and cases[1].get("line") == "9"


def test_atomic_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "runs" / "x.json"
    write_text(target, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_default_path_and_bounded() -> None:
    from datetime import UTC, datetime

    path = default_path("kms-basics", datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC), "abcd1234")
    assert str(path) == "runs/kms-basics-20260301T120005Z-abcd1234.json"
    big = {"items": ["x" * 1000] * 1000}
    assert bounded(big)["truncated"] is True and bounded({"a": 1}) == {"a": 1}


def test_to_json_is_plain_data() -> None:
    data = to_json(make_record())
    assert json.loads(json.dumps(data)) == data


def test_console_wording() -> None:
    out = io.StringIO()
    console = Console(out)
    record = make_record()
    console.step_finished(record.tasks[0].steps[1])
    text = out.getvalue()
    assert "use (aws.s3.list_buckets) ... FAILED" in text and ", 3 attempts" in text
    assert "at lab.yaml:9:7" in text
    assert "Owner.ID equals: expected 'wJalrX" in text and "actual 'someone'" in text and "hint: hint!" in text
    assert "aws error: AccessDenied: denied for" in text
    assert [duration(s) for s in (0.04, 12.34, 290, 3725)] == ["0.04s", "12.3s", "4m50s", "1h02m"]


def test_presigned_url_signatures_and_session_tokens_are_redacted_but_the_url_stays() -> None:
    from runner.engine.redaction import Redactor

    url = ("http://127.0.0.1:4566/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261129"
           "&X-Amz-Date=20261129T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
           "&X-Amz-Security-Token=FwoGZXIvYXdzEJr%2Fsecret&X-Amz-Signature=0123abcd")
    shown = Redactor()({"url": url, "note": f"open {url} now"})
    for text in (shown["url"], shown["note"]):
        assert "0123abcd" not in text and "FwoGZXIvYXdzEJr" not in text
        assert "X-Amz-Signature=***" in text and "X-Amz-Security-Token=***" in text
        assert text.count("X-Amz-Expires=300") == 1


def test_checkpoints_reuse_what_finished_yet_hide_a_secret_learned_later(tmp_path: Path) -> None:
    from dataclasses import replace

    from runner.engine.record_json import RecordJson

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


def test_the_redactor_s_generation_moves_only_when_it_learns_something_new() -> None:
    redact = Redactor()
    redact.add_secret({"password": "correct horse"})
    redact.learn({"SecretAccessKey": SECRET})
    known = redact.generation
    redact.add_secret("correct horse")  # the engine repeats the lab's marked values before every step
    redact.learn({"SecretAccessKey": SECRET, "Other": "plain"})
    assert redact.generation == known  # so the record's cached JSON stays valid
    redact.add_secret("battery staple")
    assert redact.generation > known and redact.text("a battery staple") == "a ***"


_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text()
            | st.datetimes(timezones=st.sampled_from([None, UTC])))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(value=_VALUES, indent=st.booleans())
def test_json_text_is_what_json_dumps_writes(value: object, indent: bool) -> None:
    from runner.engine.record_json import json_text

    layout: dict[str, object] = {"indent": 2} if indent else {"separators": (",", ":")}
    assert json_text(value, indent=indent) == json.dumps(value, default=str, ensure_ascii=False, **layout)


@settings(max_examples=200, deadline=None)
@given(value=st.recursive(st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
                          lambda inner: st.lists(inner, max_size=4), max_leaves=20))
def test_json_text_writes_the_same_numbers(value: object) -> None:
    from runner.engine.record_json import json_text

    assert json.loads(json_text(value)) == value


def test_json_text_takes_what_orjson_refuses_and_writes_nan_as_null() -> None:
    from runner.engine.record_json import json_text

    assert json_text({"n": 2**70, "s": "\ud800"}) == json.dumps({"n": 2**70, "s": "\ud800"}, ensure_ascii=False,
                                                              separators=(",", ":"))
    assert json_text([float("nan"), float("inf")]) == "[null,null]"
