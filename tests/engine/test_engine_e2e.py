"""Labs run end to end on the embedded emulator, over HTTP with boto3, then the emulator is inspected.

The fake sleep delivers CloudTrail log files instead of waiting for them, so no test takes real time
for a retry; the wall clock stays real because log files are filed by the emulator's own date.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from testkit import DATA, FakeTime
from testkit import RECORD_SCHEMA as SCHEMA

from runner.emulator import Emulator
from runner.engine.loop import Runner, RunOptions
from runner.engine.record import RunRecord, StepRecord
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor
from runner.engine.targets import Target
from runner.validate import load_lab

pytestmark = pytest.mark.e2e


def run(name: str, emulator: Emulator, fake_time: FakeTime, **options: Any) -> tuple[RunRecord, Target]:
    fake_time.on_sleep.append(emulator.deliver_logs_now)
    target = Target.for_emulator(emulator, "us-east-1")
    lab = load_lab(DATA / name)
    record = Runner(lab, target, RunOptions(**options), clock=fake_time.clock, sleep=fake_time.sleep).run()
    jsonschema.validate(to_json(record), SCHEMA)
    return record, target


def step(record: RunRecord, key: str) -> StepRecord:
    return next(s for s in record.steps() if s.key == key)


def test_every_feature_runs_green(emulator: Emulator, fake_time: FakeTime) -> None:
    record, target = run("features.yaml", emulator, fake_time, seed=11)
    failed = [f"{s.key}: {s.summary}" for s in record.steps() if s.failed]
    assert record.status == "passed", failed
    assert record.score == record.points == 25
    assert [t.status for t in record.tasks] == ["passed"] * 3
    assert step(record, "only-on-aws").status == "skipped"
    assert step(record, "only-with-objects").status == "passed"
    assert step(record, "key-use-logged").attempts == 2  # the log file arrived during the pause
    assert fake_time.naps == [20]
    # Cleanups ran last-in-first-out, then the lab's own.
    assert [s.key for s in record.cleanup] == [
        "create-trail.cleanup", "create-alice.cleanup", "create-alias.cleanup", "create-key.cleanup", "upload.cleanup",
        "create-bucket.cleanup", "key-pending-deletion", "bucket-gone"]
    assert all(s.status == "passed" for s in record.cleanup)
    # The record never holds a data key.
    data_key = step(record, "data-key")
    assert data_key.result["Plaintext"] == "***"
    assert record.vars["objects"] == 3 and record.vars["decoded"] == "labrunner"
    assert record.target.account == "123456789012"
    # Nothing is left behind.
    bucket, alias, trail = (record.vars[name] for name in ("bucket", "alias", "trail"))
    assert_cleaned_up(target, bucket, alias)
    trails = target.client("cloudtrail").describe_trails()["trailList"]
    assert trail not in [t["Name"] for t in trails]


def test_the_seed_replays_names(emulator: Emulator, fake_time: FakeTime) -> None:
    first, _ = run("features-broken.yaml", emulator, fake_time, seed=99, tasks=("later",))
    second, _ = run("features-broken.yaml", emulator, FakeTime(), seed=99, tasks=("later",))
    assert first.vars == second.vars and first.run_id != second.run_id
    assert first.tasks[0].status == "skipped" and first.tasks[1].status == "passed"


def assert_cleaned_up(target: Target, bucket: str, alias: str) -> None:
    s3, kms = target.client("s3"), target.client("kms")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert f"alias/{alias}" not in aliases


def test_a_failing_step_fails_its_task_and_everything_is_cleaned_up(emulator: Emulator,
                                                                     fake_time: FakeTime) -> None:
    record, target = run("features-broken.yaml", emulator, fake_time, seed=5)
    assert record.status == "failed"
    make, later = record.tasks
    assert (make.status, make.score, later.status) == ("failed", 0, "skipped")
    wrong = step(record, "wrong-usage")
    assert wrong.status == "failed"
    assert wrong.summary == "KeyMetadata.KeyUsage equals: expected 'SIGN_VERIFY', got 'ENCRYPT_DECRYPT'"
    assert wrong.location.endswith("features-broken.yaml:42:9")
    first, second = wrong.assertions
    assert (first.passed, first.expected, first.actual) == (False, "SIGN_VERIFY", "ENCRYPT_DECRYPT")
    assert first.message == 'Choose "Sign and verify" as the key usage.'
    assert second.passed  # every assertion is evaluated and recorded
    assert step(record, "never-runs").status == "skipped"
    assert step(record, "never-checked").summary == "skipped: step 'wrong-usage' failed"
    assert later.summary and "task 'make' failed" in later.summary
    assert [s.status for s in record.cleanup] == ["passed"] * 5
    assert_cleaned_up(target, record.vars["bucket"], record.vars["alias"])
    key_id = step(record, "create-key").saved["key_id"]
    state = target.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
    assert state == "PendingDeletion"  # what "cleaned up" means for a KMS key


def test_keep_going_runs_later_tasks(emulator: Emulator, fake_time: FakeTime) -> None:
    record, _ = run("features-broken.yaml", emulator, fake_time, seed=6, keep_going=True)
    assert [t.status for t in record.tasks] == ["failed", "passed"]
    assert record.status == "failed"


def test_interrupt_still_cleans_up(emulator: Emulator, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.engine import steps

    real_attempt = steps.StepRunner._attempt

    def interrupting(self: steps.StepRunner, prepared: steps.Prepared, ctx: Any) -> steps.Outcome:
        if prepared.step.key == "create-alias":
            raise KeyboardInterrupt
        return real_attempt(self, prepared, ctx)

    monkeypatch.setattr(steps.StepRunner, "_attempt", interrupting)
    record, target = run("features-broken.yaml", emulator, fake_time, seed=7)
    assert record.status == "interrupted"
    alias = step(record, "create-alias")
    assert alias.status == "error" and alias.error is not None and alias.error.kind == "interrupted"
    assert step(record, "wrong-usage").summary == "skipped: interrupted"
    assert record.tasks[1].summary == "skipped: the run was interrupted"
    assert [s.key for s in record.cleanup] == ["create-key.cleanup", "upload.cleanup", "create-bucket.cleanup",
                                               "forget-nothing"]
    assert all(s.status == "passed" for s in record.cleanup)
    assert_cleaned_up(target, record.vars["bucket"], record.vars["alias"])


def test_record_and_junit_of_a_failed_run(emulator: Emulator, fake_time: FakeTime, tmp_path: Path) -> None:
    from consumers import assert_valid_junit

    from runner.engine import junit
    from runner.engine.record_files import write_record

    record, _ = run("features-broken.yaml", emulator, fake_time, seed=8)
    path = write_record(tmp_path / "runs" / "r.json", record, Redactor())
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    root = assert_valid_junit(junit.render(record))
    assert root.get("failures") == "1" and sum(int(s.get("skipped")) for s in root.iter("testsuite")) == 3
    case = root.find(f".//testcase[@classname='{record.lab}.make'][failure]")
    assert case is not None and case.get("name") == "wrong-usage (aws.kms.describe_key)"
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert "KeyMetadata.KeyUsage equals: expected \"SIGN_VERIFY\", actual \"ENCRYPT_DECRYPT\"" in failure.text
    assert len(root.findall(f".//testcase[@classname='{record.lab}.cleanup']")) == 5
