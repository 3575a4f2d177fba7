"""`labrunner cleanup`'s replay: newest first, "already gone" counts as done, what cannot run is
`failed` with the reason, and the record is rewritten after every entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.engine.record import ErrorInfo, StepRecord
from runner.engine.redaction import Redactor
from runner.engine.replay import Replayed, is_gone, replay
from runner.engine.steps import Prepared


@pytest.mark.parametrize(("code", "action", "gone"), [
    ("NoSuchBucket", "aws.s3.delete_bucket", True),
    ("NoSuchEntity", "aws.iam.delete_role", True),
    ("NotFoundException", "aws.kms.delete_alias", True),
    ("TrailNotFoundException", "aws.cloudtrail.delete_trail", True),
    ("KMS.NotFoundException", "aws.s3.put_object", True),  # S3 prefixes the codes KMS gives it
    ("404", "aws.s3.delete_object", True),
    ("KMSInvalidStateException", "aws.kms.schedule_key_deletion", True),  # already pending deletion
    ("KMSInvalidStateException", "aws.kms.disable_key", False),
    ("AccessDenied", "aws.s3.delete_bucket", False),
    ("BucketNotEmpty", "aws.s3.delete_bucket", False),
    (None, "aws.s3.delete_bucket", False),
    ("", "aws.s3.delete_bucket", False),
])
def test_which_errors_mean_already_gone(code: str | None, action: str, gone: bool) -> None:
    assert is_gone(code, action) is gone


def entry(seq: int, bucket: str, state: str = "pending", action: str = "aws.s3.delete_bucket") -> dict[str, Any]:
    return {"seq": seq, "key": f"{bucket}.cleanup", "action": action, "params": {"Bucket": bucket},
            "registered_by": bucket, "task": "t", "location": "lab.yaml:9:9", "state": state}


def target(answers: dict[str, str | None], ran: list[str]) -> Callable[[Prepared], StepRecord]:
    """Runs a bucket's deletion as a target would: `answers` gives None (removed) or an error code."""
    def execute(prepared: Prepared) -> StepRecord:
        bucket = prepared.params["Bucket"]
        ran.append(bucket)
        code = answers[bucket]
        error = ErrorInfo("aws", f"{code} for {bucket}", code, 403) if code else None
        return StepRecord(key=prepared.step.key, action=prepared.step.action, section="cleanup",
                          status="failed" if code else "passed", location=str(prepared.step.location),
                          error=error, summary=f"{code}: nope" if code else None,
                          registered_by=prepared.registered_by)
    return execute


def test_replay_runs_pending_entries_newest_first_and_marks_each(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    data: dict[str, Any] = {"file": "lab.yaml", "cleanup": [], "ledger": [
        entry(0, "removed"), entry(1, "by-hand", "failed"), entry(2, "denied"), entry(3, "finished", "done"),
        {**entry(4, "secret"), "params": {"Bucket": "***"}}, entry(5, "typo", action="aws.s3.delete_bukket")]}
    ran: list[str] = []
    seen_on_disk: list[list[str]] = []

    def on_done(done: Replayed) -> None:  # the record on disk already says so
        seen_on_disk.append([e["state"] for e in json.loads(path.read_text())["ledger"]])

    answers: dict[str, str | None] = {"removed": None, "by-hand": "NoSuchBucket", "denied": "AccessDenied"}
    results = replay(data, path, target(answers, ran), Redactor(), on_done=on_done)
    assert [(r.entry["seq"], r.state) for r in results] == [(5, "failed"), (4, "failed"), (2, "failed"),
                                                            (1, "done"), (0, "done")]
    assert ran == ["denied", "by-hand", "removed"]  # neither the redacted entry nor the unknown action ran
    why = {r.entry["seq"]: r.why for r in results}
    assert "redacted" in why[4] and "by hand" in why[4] and "delete_bukket" in why[5]
    assert (why[2], why[1], why[0]) == ("AccessDenied: nope", "already gone (NoSuchBucket)", "removed")
    assert [r.record is not None for r in results] == [False, False, True, True, True]
    assert seen_on_disk[0] == ["pending", "failed", "pending", "done", "pending", "failed"]
    written = json.loads(path.read_text())
    assert [e["state"] for e in written["ledger"]] == ["done", "done", "failed", "done", "failed", "failed"]
    assert [s["key"] for s in written["cleanup"]] == ["denied.cleanup", "by-hand.cleanup", "removed.cleanup"]
    # run again: only what failed is tried, and a bucket removed by hand meanwhile is done
    again = replay(written, path, target({"denied": "NoSuchBucket"}, ran), Redactor())
    assert [(r.entry["seq"], r.state) for r in again] == [(5, "failed"), (4, "failed"), (2, "done")]
    assert ran[3:] == ["denied"]
