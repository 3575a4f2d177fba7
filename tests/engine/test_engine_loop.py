"""The run loop with stubbed clients: ordering, skipping, cleanup, interrupts and run statuses."""

from __future__ import annotations

from pathlib import Path

from testkit import FakeTime, StubTarget, lab_from

from runner.engine.loop import Runner, RunOptions
from runner.engine.record import RunRecord
from runner.engine.retrying import TimeLimit

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


SLOW = """\
lab: slow
title: Slow
tasks:
  - id: one
    title: One
    steps:
      - id: wait
        action: aws.s3.head_bucket
        params: {Bucket: b1}
        retry: {timeout: 5m, interval: 10s}
      - id: after
        action: aws.s3.list_buckets
  - id: two
    title: Two
    steps:
      - id: later
        action: aws.s3.list_buckets
"""


def test_a_time_limit_stops_the_run_at_the_next_step_and_says_why(tmp_path: Path, stub_target: StubTarget) -> None:
    s3 = stub_target.stub("s3")
    for _ in range(7):  # attempts at 0, 10, ... 60 s: the retry stops at the run's deadline, not at 5 minutes
        s3.add_client_error("head_bucket", "404", "Not Found", http_status_code=404)
    limit = TimeLimit(60, "the run took longer than a minute")
    record = run(tmp_path, stub_target, SLOW, time_limit=limit)
    one, two = record.tasks
    wait, after = one.steps
    assert (wait.status, wait.attempts, wait.waited_s) == ("error", 7, 60.0)
    assert wait.error is not None and wait.error.kind == "time_limit"
    assert wait.summary == ("404: Not Found (after 7 attempts, 60s waiting); not retried further: the run took "
                            "longer than a minute")
    assert after.status == "skipped"
    assert (one.status, one.summary) == ("error", "not run: the run took longer than a minute")
    assert (two.status, two.summary, two.score) == ("error", "not run: the run took longer than a minute", 0)
    assert (record.status, record.error) == ("error", "the run took longer than a minute: 2 tasks not run")


def test_past_its_deadline_a_step_is_not_run(tmp_path: Path, fake_time: FakeTime) -> None:
    from engine_helpers import context

    from runner.engine.context import render_vars
    from runner.engine.retrying import Deadline
    from runner.engine.steps import StepRunner

    lab = lab_from(tmp_path, SLOW)
    steps = StepRunner(clock=fake_time.clock, sleep=fake_time.sleep)
    steps.deadline = Deadline(fake_time.clock() - 1, "time is up")
    finished = steps.run(lab.tasks[1].steps[0], render_vars(context(lab, StubTarget())))
    record = finished.record
    assert (record.status, record.summary, record.attempts) == ("error", "not run: time is up", 0)
    assert record.error is not None and (record.error.kind, record.error.message) == ("time_limit", "time is up")


def test_a_run_within_its_time_limit_is_not_touched(tmp_path: Path, stub_target: StubTarget) -> None:
    s3 = stub_target.stub("s3")
    s3.add_response("head_bucket", {})
    s3.add_response("list_buckets", {"Buckets": []})
    s3.add_response("list_buckets", {"Buckets": []})
    record = run(tmp_path, stub_target, SLOW, time_limit=TimeLimit(60, "too slow"))
    assert record.status == "passed" and record.error is None
