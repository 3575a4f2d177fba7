"""The KMS lab graded end to end against the emulator, as an instructor would grade real students.

A scripted student does the lab by hand with the AWS CLI, as an assumed role in their own account, and
is graded after each task (read-only, as the Grader role): full marks. A student who skipped the Insights
selectors loses exactly that task's points. After the students clean up, a whole-lab grade still
credits the earlier tasks from CloudTrail's event history.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from grading_helpers import KMS_TASKS, CliStudent, grade_student, tasks_of

from runner.emulator import Emulator

pytestmark = pytest.mark.e2e

# Accounts of this module only: moto's state is shared by every emulator in a process.
DILIGENT, SKIPPER = "310000000001", "310000000002"
POINTS = {"create-key": 15, "create-trail": 20, "upload-encrypted": 15, "open-image": 15, "find-in-logs": 10,
          "key-users": 10, "delete-key": 10, "clean-up": 5}


def test_a_student_graded_task_by_task_gets_full_marks_and_evidence_credits_them_after_clean_up(
    emulator: Emulator, tmp_path: Path
) -> None:
    student = CliStudent(emulator, DILIGENT, tmp_path)
    earned = 0.0
    for task in KMS_TASKS:
        student.do(task)
        code, record, output = grade_student(emulator, DILIGENT, tmp_path, "--task", task)
        graded = tasks_of(record)[task]
        assert (graded["status"], graded["score"]) == ("passed", POINTS[task]), (task, output)
        assert graded["credited_by"] == "checks"
        assert record["mode"] == "grade" and record["points"] == POINTS[task]
        # Grading runs no step and registers no cleanup.
        assert all(t["steps"] == [] for t in record["tasks"]) and record["cleanup"] == []
        earned += graded["score"]
    assert earned == 100

    # The student has cleaned up: the trail and the bucket are gone, the key waits for deletion.
    code, record, output = grade_student(emulator, DILIGENT, tmp_path)
    tasks = tasks_of(record)
    assert code == 0, output
    assert record["score"] == record["points"] == 100
    assert {t: tasks[t]["credited_by"] for t in KMS_TASKS} == {
        "create-key": "checks", "create-trail": "evidence", "upload-encrypted": "evidence",
        "open-image": "evidence", "find-in-logs": "evidence", "key-users": "checks", "delete-key": "checks",
        "clean-up": "checks"}
    # The failing checks are still recorded beside the evidence that credited the task.
    trail = tasks["create-trail"]
    assert [c["status"] for c in trail["checks"]] == ["failed"] * 4
    assert {e["id"] for e in trail["evidence"] if e["status"] == "passed"} == {
        "trail-created", "data-events-selected", "insights-selected", "logging-started"}
    assert trail["summary"].startswith("credited by evidence")


def test_a_student_who_skipped_insights_loses_exactly_that_task(emulator: Emulator, tmp_path: Path) -> None:
    student = CliStudent(emulator, SKIPPER, tmp_path, insights=False, in_process=True)
    for task in KMS_TASKS[:2]:
        student.do(task)
    code, record, output = grade_student(emulator, SKIPPER, tmp_path, "--task", "create-trail",
                                         "--gradescope", str(tmp_path / "gs"))
    assert code == 1
    trail = tasks_of(record)["create-trail"]
    assert trail["status"] == "failed" and trail["score"] == 0
    failed = [c for c in trail["checks"] if c["status"] != "passed"]
    assert [c["id"] for c in failed] == ["insights"]
    assert "Insights events" in failed[0]["hint"]
    # No CloudTrail evidence can stand in for what was never done.
    assert [e["id"] for e in trail["evidence"] if e["status"] != "passed"] == ["insights-selected"]
    results = (tmp_path / "gs" / f"{SKIPPER}.json").read_text()
    assert "Turn on Insights events" in results and "ApiErrorRateInsight" in results

    for task in KMS_TASKS[2:]:
        student.do(task)
    code, record, output = grade_student(emulator, SKIPPER, tmp_path)
    tasks = tasks_of(record)
    assert code == 1, output
    assert {t: tasks[t]["status"] for t in KMS_TASKS} == {t: "failed" if t == "create-trail" else "passed"
                                                          for t in KMS_TASKS}
    assert record["score"] == 100 - POINTS["create-trail"]
