"""Grade mode (`runner.grading.mode.GRADE`), asked directly: each decision the loop leaves to it."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from runner.engine.loop import Runner, RunOptions
from runner.engine.modes import Credit
from runner.engine.observer import NullObserver
from runner.engine.record import StepRecord, StepStatus, TaskRecord
from runner.engine.steps import base_record
from runner.engine.targets import Target
from runner.grading.grader import grade, options
from runner.grading.guard import CODE, GuardedStepRunner, guard_client
from runner.grading.mode import GRADE, NO_CHECKS
from runner.grading.sharing import SharedReads
from runner.model import Lab, Step
from runner.validate import load_lab

LAB = """\
lab: graded
title: Graded
vars:
  alias: alias/graded
tasks:
  - id: key
    title: A key with an alias
    steps:
      - id: create-key
        action: aws.kms.create_key
    checks:
      - id: find-key
        action: aws.kms.describe_key
        params: {KeyId: "{{ alias }}"}
        save: {key_id: KeyMetadata.KeyId}
      - id: key-enabled
        action: aws.kms.describe_key
        params: {KeyId: "{{ key_id }}"}
        expect:
          - path: KeyMetadata.KeyState
            equals: Enabled
    evidence:
      - id: key-created
        action: cloudtrail.lookup_events
        params: {event_name: CreateKey}
        expect:
          - {path: count, greater_than: 0}
      - id: alias-created
        action: cloudtrail.lookup_events
        params: {event_name: CreateAlias, contains: ["{{ alias }}"]}
        expect:
          - {path: count, greater_than: 0}
  - id: nothing-to-check
    title: Nothing to check
    steps:
      - id: list-keys
        action: aws.kms.list_keys
"""

@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    path = tmp_path / "lab.yaml"
    path.write_text(textwrap.dedent(LAB), encoding="utf-8")
    return load_lab(path)


def offline_target() -> Target:
    """A target whose clients are never asked to send anything (the guard refuses first)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return Target("endpoint", "us-east-1", session, "http://127.0.0.1:9")


def records(steps: tuple[Step, ...], *statuses: StepStatus) -> list[StepRecord]:
    return [base_record(step, status, summary=f"{step.key} {status}") for step, status in
            zip(steps, statuses, strict=True)]


def done(checks: list[StepRecord], evidence: list[StepRecord] | None = None) -> dict[str, list[StepRecord]]:
    return {"steps": [], "checks": checks, "evidence": evidence or []}


def test_a_grade_runs_a_task_checks_alone(lab: Lab) -> None:
    task = lab.tasks[0]
    assert GRADE.sections(task) == (("checks", task.checks), ("advice", task.advice))
    assert GRADE.name == "grade" and not GRADE.cleans_up and GRADE.shows_window


def test_evidence_runs_only_when_the_checks_did_not_pass(lab: Lab) -> None:
    task = lab.tasks[0]
    assert GRADE.evidence(task, records(task.checks, "passed", "skipped")) == ()
    assert GRADE.evidence(task, records(task.checks, "passed", "failed")) == task.evidence
    assert GRADE.evidence(task, records(task.checks, "error", "passed")) == task.evidence
    assert GRADE.evidence(lab.tasks[1], []) == ()  # no checks, no evidence: nothing to run


def test_an_unselected_task_runs_its_saving_checks_for_the_later_ones(lab: Lab) -> None:
    task = lab.tasks[0]
    assert GRADE.for_later_tasks(task) == (task.checks[0],)
    assert GRADE.for_later_tasks(lab.tasks[1]) == ()


def test_passing_checks_credit_the_task(lab: Lab) -> None:
    task = lab.tasks[0]
    assert GRADE.credit(task, done(records(task.checks, "passed", "skipped"))) == Credit("passed",
                                                                                         credited_by="checks")


def test_failed_checks_are_credited_only_by_evidence_that_all_passed(lab: Lab) -> None:
    task = lab.tasks[0]
    checks = records(task.checks, "passed", "failed")
    assert GRADE.credit(task, done(checks, records(task.evidence, "passed", "passed"))) == Credit(
        "passed", "credited by evidence (key-enabled: key-enabled failed)", "evidence")
    assert GRADE.credit(task, done(checks, records(task.evidence, "passed", "failed"))) == Credit(
        "failed", "key-enabled: key-enabled failed")
    assert GRADE.credit(task, done(records(task.checks, "error", "passed"))) == Credit(
        "error", "find-key: find-key error")


def test_a_task_with_no_checks_is_not_graded_and_counts_for_no_points(lab: Lab) -> None:
    assert GRADE.credit(lab.tasks[1], done([])) == Credit("skipped", NO_CHECKS, counts=False)


def test_a_missing_task_blocks_nothing_even_without_keep_going() -> None:
    failed = TaskRecord(id="make", title="Make", status="failed", points=1, score=0)
    assert GRADE.blocked_by(failed, keep_going=False) is None


def test_the_target_is_made_read_only_and_shares_its_reads_before_anything_runs() -> None:
    target = offline_target()
    GRADE.prepare(target)
    assert guard_client in target.client_hooks
    assert any(isinstance(getattr(hook, "__self__", None), SharedReads) for hook in target.client_hooks)
    with pytest.raises(ClientError) as refused:
        target.client("kms").create_key()
    assert refused.value.response["Error"]["Code"] == CODE


def test_steps_run_through_the_guarded_step_runner() -> None:
    observer = NullObserver()
    runner = GRADE.step_runner(clock=lambda: 5.0, sleep=lambda _: None, observer=observer)
    assert isinstance(runner, GuardedStepRunner) and runner.observer is observer and runner.clock() == 5.0


def test_a_runner_in_grade_mode_is_guarded_and_skips_a_task_as_a_grade_would_run_it(lab: Lab) -> None:
    target = offline_target()
    runner = Runner(lab, target, options((), {}, datetime(2026, 3, 1, tzinfo=UTC)))
    assert guard_client in target.client_hooks and isinstance(runner.steps, GuardedStepRunner)
    record = runner.skip_task(lab.tasks[0], "skipped: because")
    assert record.steps == ()
    assert [(r.key, r.status) for r in record.checks] == [("find-key", "skipped"), ("key-enabled", "skipped")]


def test_grade_refuses_options_that_are_not_grade_mode_before_touching_the_target(lab: Lab) -> None:
    target = offline_target()
    with pytest.raises(ValueError, match="grade mode"):
        grade(lab, target, RunOptions())
    assert target.client_hooks == []
