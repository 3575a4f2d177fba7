"""Grading cannot change an account: every mutating operation the KMS lab uses is refused before it is sent.

The list of operations comes from the lab itself (every step, step cleanup and lab cleanup whose action
is not read-only), so a new step in the lab is covered without touching this test. Each is put through
grade mode against a student's real account on the emulator: refused with `ReadOnlyViolation`, the
account's state unchanged, and CloudTrail's history shows no write arrived.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grading_helpers import (
    IMAGE,
    KMS_LAB,
    REGION,
    assume,
    cloudtrail_statements,
    key_policy,
    make_grader,
    session_clients,
)

from runner import registry
from runner.engine.context import RunContext, RunInfo, render_vars
from runner.engine.steps import StepRunner
from runner.engine.targets import Target, new_session
from runner.grading.guard import CODE, GuardedStepRunner, guard
from runner.model import Step
from runner.validate import load_lab

ACCOUNT = "320000000001"


def every_step(lab: Any) -> Iterator[Step]:
    for task in lab.tasks:
        for step in (*task.steps, *task.checks, *task.evidence):
            while step is not None:
                yield step
                step = step.cleanup
    yield from lab.cleanup


def student_state(emulator: Any) -> dict[str, Any]:
    """A student half-way through the lab: key, alias, bucket with the encrypted image, logging trail (and the
    Grader role the instructor asked for)."""
    make_grader(emulator, ACCOUNT)
    creds = assume(emulator, ACCOUNT)
    kms, s3, trail = session_clients(emulator, creds, "kms", "s3", "cloudtrail")
    role = f"arn:aws:iam::{ACCOUNT}:role/Student"
    key = kms.create_key(Description="KMS Key for S3 data",
                         Policy=json.dumps(key_policy(ACCOUNT, users=[role], admins=[role])))["KeyMetadata"]
    kms.create_alias(AliasName="alias/myFirstKey", TargetKeyId=key["KeyId"])
    bucket = f"mycloudtrailbucket{secrets.randbelow(10**6):06d}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    policy = {"Version": "2012-10-17", "Statement": cloudtrail_statements(bucket, ACCOUNT, "myCustomTrail")}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    trail.create_trail(Name="myCustomTrail", S3BucketName=bucket)
    trail.start_logging(Name="myCustomTrail")
    s3.put_object(Bucket=bucket, Key="Eiffel.jpg", Body=IMAGE.read_bytes(), ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key["Arn"])
    return {"bucket": bucket, "key_id": key["KeyId"], "key_arn": key["Arn"], "clients": (kms, s3, trail)}


def snapshot(state: dict[str, Any]) -> dict[str, Any]:
    kms, s3, trail = state["clients"]
    bucket = state["bucket"]
    return {
        "key": kms.describe_key(KeyId=state["key_id"])["KeyMetadata"]["KeyState"],
        "policy": kms.get_key_policy(KeyId=state["key_id"], PolicyName="default")["Policy"],
        "aliases": sorted(a["AliasName"] for a in kms.list_aliases()["Aliases"]),
        "trails": [(t["Name"], t["S3BucketName"]) for t in trail.describe_trails()["trailList"]],
        "logging": trail.get_trail_status(Name="myCustomTrail")["IsLogging"],
        "selectors": trail.get_event_selectors(TrailName="myCustomTrail").get("EventSelectors"),
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "objects": sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])),
        "bucket_policy": s3.get_bucket_policy(Bucket=bucket)["Policy"],
    }


def writes(emulator: Any) -> int:
    return sum(1 for record in emulator.recorder.history(ACCOUNT, REGION) if not record.get("readOnly"))


def grader_context(emulator: Any, lab: Any, state: dict[str, Any]) -> RunContext:
    creds = assume(emulator, ACCOUNT, "Grader")
    session = new_session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"], region_name=REGION)
    target = guard(Target("endpoint", REGION, session, emulator.endpoint))
    ctx = RunContext.create(lab, RunInfo("feedf00d", datetime.now(UTC), "grade"), target, seed=7)
    ctx = render_vars(ctx, {"bucket": state["bucket"]})
    # What the lab's steps save, with the student's real values: every rendered call is a real one.
    saved = {name for step in every_step(lab) for name in step.save if step.section not in ("checks", "evidence")}
    values = {"key_id": state["key_id"], "key_arn": state["key_arn"]}
    assert saved <= set(values), f"give the test a real value for {sorted(saved - set(values))}"
    return ctx.with_variables(values)


def test_every_mutating_operation_of_the_kms_lab_is_refused_in_grade_mode(emulator: Any, tmp_path: Path) -> None:
    lab = load_lab(KMS_LAB)
    # Every one is attempted: `when` (which picks a region's form of a call) is set aside.
    mutating = [replace(s, when=None) for s in every_step(lab) if not registry.resolve(s.action).read_only]
    assert {s.action for s in mutating} >= {"aws.kms.create_key", "aws.kms.schedule_key_deletion", "kms.key_users",
                                            "s3.upload_file", "s3.empty_bucket", "aws.cloudtrail.delete_trail"}
    state = student_state(emulator)
    before, written = snapshot(state), writes(emulator)
    ctx = grader_context(emulator, lab, state)

    # Grade mode as `labrunner grade` runs it: refused before the action runs.
    graded = GuardedStepRunner()
    for step in mutating:
        record = graded.run(step, ctx).record
        assert (record.status, record.error and record.error.code) == ("error", CODE), (step.key, record.summary)
        assert step.action in record.summary or "read-only" in record.summary

    # The layer underneath, alone: the guarded clients refuse every write at the botocore level, including
    # the ones higher-level actions make inside (PutKeyPolicy in kms.key_users, PutObject in s3.upload_file).
    plain = StepRunner()
    outcomes: dict[str, str] = {}
    for step in mutating:
        record = plain.run(step, ctx).record
        code = record.error.code if record.error else None
        outcomes[step.key] = str(code)
        if code != CODE:
            # Only a higher-level action gets past the guard, and it sends no write: its edit is already in
            # place, or the grader role may not even read what it would change (the role's policy is read-only).
            assert not step.action.startswith("aws."), (step.key, record.summary)
            assert record.status == "passed" or code in ("AccessDenied", "AccessDeniedException"), record.summary
    higher_level = sum(1 for s in mutating if not s.action.startswith("aws."))
    assert sum(1 for c in outcomes.values() if c == CODE) >= len(mutating) - higher_level, outcomes

    assert snapshot(state) == before
    assert writes(emulator) == written, "a write reached the emulator"
