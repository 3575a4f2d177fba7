"""Helpers for the engine's tests: run contexts, and records holding secrets (fakes are in tests/testkit.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from runner.engine.context import RunContext, RunInfo
from runner.engine.record import (
    AssertionRecord,
    ErrorInfo,
    LedgerEntry,
    RunRecord,
    RunStatus,
    StepRecord,
    TargetRecord,
    TaskRecord,
)
from runner.engine.redaction import Redactor
from runner.engine.targets import Target
from runner.model import Lab

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#: Generous: these bound a hang (a thread, a process), they never measure speed.
WAIT = 120.0


def context(lab: Lab, target: Target, seed: int = 1, started: datetime | None = None) -> RunContext:
    started = started or datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    return RunContext.create(lab, RunInfo("run1234", started), target, seed)


def make_record() -> RunRecord:
    """A failed run whose steps hold secrets: in results, params, saved values, assertions and errors."""
    creds = StepRecord(
        key="assume", action="aws.sts.assume_role", section="steps", status="passed", location="lab.yaml:5:7",
        attempts=1, params={"RoleArn": "arn:aws:iam::1:role/r", "Password": "hunter2"},
        result={"Credentials": {"AccessKeyId": "AKIA", "SecretAccessKey": SECRET, "SessionToken": "tok" * 5}},
        saved={"secret": SECRET},
    )
    leak = StepRecord(
        key="use", action="aws.s3.list_buckets", section="steps", status="failed", location="lab.yaml:9:7",
        attempts=3, waited_s=4.0, params={"Note": f"key={SECRET}"},
        assertions=(AssertionRecord("Owner.ID", "equals", SECRET, "someone", False, "expected ...", "hint!"),),
        error=ErrorInfo("aws", f"denied for {SECRET}", "AccessDenied", 403), summary=f"AccessDenied: {SECRET}",
    )
    skipped = StepRecord(key="t.checks[0]", action="aws.s3.head_bucket", section="checks", status="skipped",
                         location="lab.yaml:12:7", summary="skipped: step 'use' failed")
    task = TaskRecord("t", "T", "failed", 2, 0, (creds, leak), (skipped,), 1.5, "use: AccessDenied")
    return RunRecord(lab="demo", title="Demo", file="lab.yaml", run_id="abcd1234", mode="run",
                     target=TargetRecord("emulator", "us-east-1", "123456789012"), seed=3,
                     started="2026-03-01T12:00:00Z", finished="2026-03-01T12:00:02Z", status="failed",
                     vars={"password_hint": "x"}, tasks=(task,), points=2, duration_s=2.0)


def redactor_for(record: RunRecord) -> Redactor:
    """A redactor that has seen every step's result and params, as the run's own has."""
    redact = Redactor()
    for step in record.steps():
        redact.learn(step.result)
        redact.learn(step.params)
    return redact


def run_so_far(steps: int, note: str, status: RunStatus = "running") -> RunRecord:
    """A run in progress after `steps` steps, each of which made a bucket and registered its deletion;
    `note` (in its vars) tells one such record from another."""
    records = tuple(StepRecord(key=f"s{i}", action="aws.s3.create_bucket", section="steps", status="passed",
                               location=f"lab.yaml:{i + 5}:7", attempts=1, params={"Bucket": f"b{i}", "Note": note},
                               result={"Location": f"/b{i}"}) for i in range(steps))
    task = TaskRecord("t", "T", "passed", 1, 1, records, (), 0.5, None)
    ledger = tuple(LedgerEntry(seq=i, key=f"s{i}.cleanup", action="aws.s3.delete_bucket", params={"Bucket": f"b{i}"},
                               registered_by=f"s{i}", task="t", location="lab.yaml:9:9") for i in range(steps))
    return RunRecord(lab="demo", title="Demo", file="lab.yaml", run_id="abcd1234", mode="run",
                     target=TargetRecord("endpoint", "us-east-1", None, endpoint="http://127.0.0.1:1"), seed=3,
                     started="2026-03-01T12:00:00Z", finished="2026-03-01T12:00:02Z", status=status,
                     vars={"note": note}, tasks=(task,), ledger=ledger, points=1, score=1)
