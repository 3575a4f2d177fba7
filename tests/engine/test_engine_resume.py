"""--resume: what identifies a lab, which tasks an earlier run's record keeps, what it hands over, and
when it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from testkit import lab_from

from runner.engine.record import StepRecord, TaskRecord
from runner.engine.record_json import RecordJson, json_text
from runner.engine.redaction import Redactor
from runner.engine.resume import lab_digest, plan_resume
from runner.errors import UsageError
from runner.model import Lab

LAB = """\
lab: resume
title: Resume
vars:
  bucket: b-1
tasks:
  - id: one
    title: One
    steps:
      - id: make
        action: aws.s3.create_bucket
        params: {Bucket: "{{ bucket }}"}
        cleanup:
          action: aws.s3.delete_bucket
          params: {Bucket: "{{ bucket }}"}
  - id: two
    title: Two
    steps:
      - id: version
        action: aws.s3.put_bucket_versioning
        params: {Bucket: "{{ bucket }}", VersioningConfiguration: {Status: Enabled}}
"""


def task_json(task_id: str, status: str, saved: dict[str, Any] | None = None) -> dict[str, Any]:
    step = StepRecord(key=f"{task_id}.steps[0]", action="aws.s3.create_bucket", section="steps",
                      status=status, location="lab.yaml:9:9", task=task_id, saved=saved or {})  # type: ignore[arg-type]
    task = TaskRecord(task_id, task_id.title(), status, 1, 1 if status == "passed" else 0, (step,))  # type: ignore[arg-type]
    made: dict[str, Any] = json.loads(json_text(RecordJson().task(task, Redactor())))
    return made


def entry(seq: int, task: str, state: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"seq": seq, "key": f"{task}.cleanup.{seq}", "action": "aws.s3.delete_bucket",
            "params": params or {"Bucket": "b-1"}, "registered_by": f"{task}.steps[0]", "task": task,
            "location": "lab.yaml:12:11", "state": state}


def record_of(lab: Lab, /, **changes: Any) -> dict[str, Any]:
    """An earlier run of `lab` on an endpoint: task one passed (it saved a value and a secret), task two
    failed; the ledger holds their cleanups, out of order, one with a redacted parameter."""
    data = {"version": 1, "lab": "resume", "run_id": "0ld0ld00", "mode": "run", "status": "failed", "seed": 42,
            "file": "lab.yaml", "target": {"kind": "endpoint", "region": "us-east-1"},
            "vars": {"bucket": "b-1", "token": "***"}, "lab_digest": lab_digest(lab),
            "tasks": [task_json("one", "passed", {"where": "/b-1", "secret": "***"}), task_json("two", "failed")],
            "ledger": [entry(3, "two", "failed"), entry(0, "one", "pending"),
                       entry(2, "two", "pending", {"Bucket": "***"})],
            "cleanup": []}
    return {**data, **changes}


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return lab_from(tmp_path, LAB)


def test_the_digest_of_a_task_changes_only_with_its_text(tmp_path: Path) -> None:
    before = lab_digest(lab_from(tmp_path, LAB))
    after = lab_digest(lab_from(tmp_path, LAB.replace("Status: Enabled", "Status: Suspended")))
    assert before["vars"] == after["vars"] and before["tasks"]["one"] == after["tasks"]["one"]
    assert before["tasks"]["two"] != after["tasks"]["two"] and before["file"] != after["file"]
    assert lab_digest(lab_from(tmp_path, LAB)) == before
    assert lab_digest(lab_from(tmp_path, LAB.replace("bucket: b-1", "bucket: b-2")))["vars"] != before["vars"]


def test_a_run_whose_resources_stand_keeps_its_passed_tasks_and_hands_over_its_cleanups(lab: Lab) -> None:
    resume = plan_resume(lab, record_of(lab), lab_digest(lab), source="r.json")
    assert list(resume.tasks) == ["one"] and resume.tasks["one"].summary == "passed in run 0ld0ld00 (resumed)"
    assert resume.saved == {"where": "/b-1"} and resume.vars == {"bucket": "b-1"}  # never a redacted value
    assert (resume.previous_run, resume.seed) == ("0ld0ld00", 42)
    # oldest first, as they were registered; a redacted one cannot be replayed
    assert [p.step.key for p in resume.cleanups] == ["one.cleanup.0", "two.cleanup.3"]
    assert resume.notes == ("kept from run 0ld0ld00: one (passed)",)


@pytest.mark.parametrize(("changes", "note"), [
    ({"target": {"kind": "emulator", "region": "us-east-1"}}, "the embedded emulator stopped with that run"),
    ({"cleanup": [{"registered_by": None, "status": "passed"}]}, "that run's lab-level cleanup ran"),
    ({"ledger": [entry(0, "one", "done")]}, "task 'one' passed but its cleanup ran: it runs again"),
])
def test_a_task_whose_resources_may_be_gone_runs_again(lab: Lab, changes: dict[str, Any], note: str) -> None:
    resume = plan_resume(lab, record_of(lab, **changes), lab_digest(lab))
    assert resume.tasks == {} and any(note in n for n in resume.notes)
    if "target" in changes:
        assert resume.cleanups == () and resume.seed == 42  # the names are made again from the same seed


def test_a_task_changed_in_the_lab_since_runs_again(tmp_path: Path) -> None:
    data = record_of(lab_from(tmp_path, LAB))
    changed = lab_from(tmp_path, LAB.replace("title: One", "title: The first"))
    resume = plan_resume(changed, data, lab_digest(changed))
    assert resume.tasks == {} and resume.notes == ("task 'one' changed in the lab since run 0ld0ld00: it runs again",)
    assert [p.step.key for p in resume.cleanups] == ["one.cleanup.0", "two.cleanup.3"]  # still this run's to do


@pytest.mark.parametrize(("changes", "message"), [
    ({"lab": "other"}, "--resume: r.json is a run of lab 'other', not 'resume'"),
    ({"mode": "grade"}, "--resume: r.json is a grade, not a run; grade again instead"),
    ({"status": "passed"}, "--resume: run 0ld0ld00 passed; there is nothing to continue"),
    ({"lab_digest": None}, "--resume: the lab's vars changed since run 0ld0ld00 (or its record predates --resume)"),
])
def test_a_record_that_cannot_be_resumed_is_refused_with_the_reason(lab: Lab, changes: dict[str, Any],
                                                                     message: str) -> None:
    with pytest.raises(UsageError) as error:
        plan_resume(lab, record_of(lab, **changes), lab_digest(lab), source="r.json")
    assert str(error.value).startswith(message)
