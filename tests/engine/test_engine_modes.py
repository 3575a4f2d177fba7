"""`labrunner run`'s mode (`runner.engine.modes.RUN`), asked directly: each decision the loop leaves to it."""

from __future__ import annotations

from pathlib import Path

from testkit import FakeTime, StubTarget, lab_from

from runner.engine.loop import Runner, RunOptions
from runner.engine.modes import RUN, Credit
from runner.engine.observer import NullObserver
from runner.engine.record import StepRecord, StepStatus, TaskRecord
from runner.engine.steps import StepRunner, base_record
from runner.model import Lab, Step

LAB = """\
lab: modes
title: Modes
tasks:
  - id: make
    title: Make
    steps:
      - id: create
        action: aws.s3.create_bucket
        params: {Bucket: b1}
      - id: version
        action: aws.s3.put_bucket_versioning
        params: {Bucket: b1, VersioningConfiguration: {Status: Enabled}}
    checks:
      - id: look
        action: aws.s3.head_bucket
        params: {Bucket: b1}
        save: {region: BucketRegion}
      - id: list
        action: aws.s3.list_buckets
"""


def lab(tmp_path: Path) -> Lab:
    return lab_from(tmp_path, LAB)


def done(steps: list[StepRecord], checks: list[StepRecord]) -> dict[str, list[StepRecord]]:
    return {"steps": steps, "checks": checks, "evidence": []}


def records(steps: tuple[Step, ...], *statuses: StepStatus) -> list[StepRecord]:
    return [base_record(step, status, summary=f"{step.key} {status}") for step, status in
            zip(steps, statuses, strict=True)]


def task_record(status: StepStatus) -> TaskRecord:
    return TaskRecord(id="make", title="Make", status=status, points=1, score=1 if status == "passed" else 0)


def test_a_run_does_each_task_steps_then_checks(tmp_path: Path) -> None:
    task = lab(tmp_path).tasks[0]
    assert RUN.sections(task) == (("steps", task.steps), ("checks", task.checks), ("advice", task.advice))
    assert RUN.name == "run" and RUN.cleans_up and not RUN.shows_window


def test_a_run_never_runs_evidence_nor_part_of_an_unselected_task(tmp_path: Path) -> None:
    task = lab(tmp_path).tasks[0]
    assert RUN.evidence(task, records(task.checks, "failed", "failed")) == ()
    assert RUN.for_later_tasks(task) == ()  # though its first check saves a value


def test_a_run_passes_a_task_whose_every_step_and_check_passed_or_was_skipped(tmp_path: Path) -> None:
    task = lab(tmp_path).tasks[0]
    work = done(records(task.steps, "passed", "skipped"), records(task.checks, "passed", "passed"))
    assert RUN.credit(task, work) == Credit("passed")


def test_a_failure_outranks_an_error_and_the_summary_names_the_first_of_either(tmp_path: Path) -> None:
    task = lab(tmp_path).tasks[0]
    work = done(records(task.steps, "passed", "error"), records(task.checks, "failed", "passed"))
    assert RUN.credit(task, work) == Credit("failed", "version: version error")
    work = done(records(task.steps, "passed", "passed"), records(task.checks, "passed", "error"))
    assert RUN.credit(task, work) == Credit("error", "list: list error")


def test_a_failed_task_blocks_the_later_ones_unless_keep_going() -> None:
    assert RUN.blocked_by(task_record("failed"), keep_going=False) == (
        "skipped: task 'make' failed (use --keep-going to run later tasks anyway)")
    assert RUN.blocked_by(task_record("error"), keep_going=False) is not None
    assert RUN.blocked_by(task_record("failed"), keep_going=True) is None
    assert RUN.blocked_by(task_record("passed"), keep_going=False) is None


def test_a_run_steps_run_through_the_plain_step_runner_and_its_target_is_left_alone(tmp_path: Path) -> None:
    fake, observer, target = FakeTime(), NullObserver(), StubTarget()
    runner = RUN.step_runner(clock=fake.clock, sleep=fake.sleep, observer=observer)
    assert type(runner) is StepRunner
    assert (runner.clock, runner.sleep, runner.observer) == (fake.clock, fake.sleep, observer)
    RUN.prepare(target)
    assert target.client_hooks == []


def test_the_loop_skips_a_task_as_the_mode_would_have_run_it(tmp_path: Path) -> None:
    task = lab(tmp_path).tasks[0]
    record = Runner(lab(tmp_path), StubTarget(), RunOptions()).skip_task(task, "skipped: because")
    assert [(r.key, r.status, r.summary) for r in (*record.steps, *record.checks)] == [
        (step.key, "skipped", "skipped: because") for step in (*task.steps, *task.checks)]
    assert (record.status, record.score, record.summary) == ("skipped", 0, "skipped: because")
