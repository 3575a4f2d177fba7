"""The typed record: frozen, every step listed in the order it ran, and what a step is called."""

from __future__ import annotations

import dataclasses

import pytest
from engine_helpers import make_record

from runner.engine.record import StepRecord, TaskRecord


def step(key: str, section: str = "steps", status: str = "passed", **fields: object) -> StepRecord:
    return StepRecord(key=key, action="aws.s3.list_buckets", section=section, status=status,  # type: ignore[arg-type]
                      location="lab.yaml:1:1", **fields)  # type: ignore[arg-type]


def test_steps_lists_each_task_s_steps_checks_and_evidence_then_the_cleanups() -> None:
    first = TaskRecord("a", "A", "passed", 1, 1, (step("a1"), step("a2")), (step("a3", "checks"),),
                       evidence=(step("a4", "checks"),))
    second = TaskRecord("b", "B", "failed", 1, 0, (step("b1"),), (step("b2", "checks"),))
    record = dataclasses.replace(make_record(), tasks=(first, second),
                                 cleanup=(step("b1.cleanup", "cleanup"), step("lab-cleanup", "cleanup")))
    assert [s.key for s in record.steps()] == ["a1", "a2", "a3", "a4", "b1", "b2", "b1.cleanup", "lab-cleanup"]


def test_a_step_is_called_by_its_title_its_id_or_what_registered_it() -> None:
    assert step("t.steps[0]", title="Make the bucket", id="make").label == "Make the bucket"
    assert step("make", id="make").label == "make"
    assert step("make.cleanup", "cleanup", registered_by="make").label == "cleanup of make"
    assert step("t.steps[3]").label == "t.steps[3]"


@pytest.mark.parametrize(("status", "failed"), [("passed", False), ("skipped", False), ("failed", True),
                                                ("error", True)])
def test_failed_means_a_mismatch_or_an_error(status: str, failed: bool) -> None:
    assert step("s", status=status).failed is failed


def test_records_are_frozen() -> None:
    record = make_record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "passed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.tasks[0].steps[0].status = "failed"  # type: ignore[misc]
