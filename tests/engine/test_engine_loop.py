"""The run loop with stubbed clients: ordering, skipping, cleanup, interrupts and run statuses."""

from __future__ import annotations

from pathlib import Path

from testkit import FakeTime, StubTarget, lab_from

from runner.engine.loop import Runner, RunOptions
from runner.engine.record import RunRecord

LAB = """\
lab: loop
title: Loop
vars:
  bucket: b1
tasks:
  - id: one
    title: One
    points: 2
    steps:
      - id: first
        action: aws.s3.create_bucket
        params: {Bucket: "{{ bucket }}"}
        save: {where: Location}
        cleanup:
          id: undo-first
          action: aws.s3.delete_bucket
          params: {Bucket: "{{ bucket }}"}
      - id: second
        action: aws.s3.put_bucket_versioning
        params: {Bucket: "{{ bucket }}", VersioningConfiguration: {Status: Enabled}}
        cleanup:
          id: undo-second
          action: aws.s3.put_bucket_versioning
          params: {Bucket: "{{ bucket }}", VersioningConfiguration: {Status: Suspended}}
  - id: two
    title: Two
    steps:
      - id: third
        action: aws.s3.list_buckets
cleanup:
  - id: lab-cleanup
    when: "{{ where is defined }}"
    action: aws.s3.head_bucket
    params: {Bucket: "{{ bucket }}"}
"""


def run(tmp_path: Path, target: StubTarget, text: str = LAB, **options: object) -> RunRecord:
    fake = FakeTime()
    return Runner(lab_from(tmp_path, text), target, RunOptions(seed=1, **options),  # type: ignore[arg-type]
                  clock=fake.clock, sleep=fake.sleep, wall=fake.wall).run()


def test_cleanups_run_last_in_first_out_then_the_labs(tmp_path: Path, stub_target: StubTarget) -> None:
    s3 = stub_target.stub("s3")
    s3.add_response("create_bucket", {"Location": "/b1"})
    s3.add_response("put_bucket_versioning", {})
    s3.add_response("list_buckets", {"Buckets": []})
    s3.add_response("put_bucket_versioning", {}, {"Bucket": "b1", "VersioningConfiguration": {"Status": "Suspended"}})
    s3.add_response("delete_bucket", {}, {"Bucket": "b1"})
    s3.add_response("head_bucket", {}, {"Bucket": "b1"})
    record = run(tmp_path, stub_target)
    assert record.status == "passed" and record.score == record.points == 3
    assert [s.key for s in record.cleanup] == ["undo-second", "undo-first", "lab-cleanup"]
    assert record.cleanup[0].registered_by == "second"
    assert record.started == "2026-03-01T12:00:00Z" and record.seed == 1


def test_a_failure_skips_the_rest_and_a_failed_cleanup_does_not_stop_the_others(
        tmp_path: Path, stub_target: StubTarget) -> None:
    s3 = stub_target.stub("s3")
    s3.add_response("create_bucket", {"Location": "/b1"})
    s3.add_client_error("put_bucket_versioning", "AccessDenied", "no")
    s3.add_client_error("delete_bucket", "BucketNotEmpty", "full")
    s3.add_response("head_bucket", {})
    record = run(tmp_path, stub_target)
    assert record.status == "failed"
    assert [t.status for t in record.tasks] == ["failed", "skipped"]
    assert record.tasks[0].summary == "second: AccessDenied: no"
    assert [(s.key, s.status) for s in record.cleanup] == [("undo-first", "failed"), ("lab-cleanup", "passed")]


def test_lab_cleanup_when_false_is_skipped(tmp_path: Path, stub_target: StubTarget) -> None:
    stub_target.stub("s3").add_client_error("create_bucket", "BucketAlreadyExists", "taken")
    record = run(tmp_path, stub_target)
    assert [(s.key, s.status) for s in record.cleanup] == [("lab-cleanup", "skipped")]


def test_task_selection(tmp_path: Path, stub_target: StubTarget) -> None:
    stub_target.stub("s3").add_response("list_buckets", {"Buckets": []})
    record = run(tmp_path, stub_target, tasks=("two",))
    assert [t.status for t in record.tasks] == ["skipped", "passed"]
    assert record.points == 1 and record.score == 1 and record.status == "passed"


def test_a_var_that_cannot_render_is_a_run_error(tmp_path: Path, stub_target: StubTarget) -> None:
    text = LAB.replace("bucket: b1", "bucket: \"{{ random_digits(0) }}\"")
    record = run(tmp_path, stub_target, text)
    assert record.status == "error" and record.error is not None and record.error.startswith("var 'bucket'")
    assert all(t.status == "skipped" for t in record.tasks)


def test_interrupt_during_cleanup_stops_cleaning_and_says_so(tmp_path: Path, stub_target: StubTarget,
                                                            monkeypatch: object) -> None:
    from runner.engine import steps

    s3 = stub_target.stub("s3")
    s3.add_response("create_bucket", {"Location": "/b1"})
    s3.add_response("put_bucket_versioning", {})
    s3.add_response("list_buckets", {"Buckets": []})
    real = steps.StepRunner.execute

    def execute(self: steps.StepRunner, prepared: steps.Prepared, ctx: object, **kw: object) -> object:
        if prepared.step.key == "undo-second":
            raise KeyboardInterrupt
        return real(self, prepared, ctx, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(steps.StepRunner, "execute", execute)  # type: ignore[attr-defined]
    record = run(tmp_path, stub_target)
    assert record.status == "interrupted"
    assert [(s.key, s.status) for s in record.cleanup] == [
        ("undo-second", "error"), ("undo-first", "skipped"), ("lab-cleanup", "skipped")]
    assert record.error == "interrupted during cleanup: some resources may remain"
