"""Helpers for the engine's tests: fake time, a target of stubbed boto3 clients, labs from text, records."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from runner.emulator import DEFAULT_ACCOUNT
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
from runner.engine.targets import Identity, Target
from runner.model import Lab
from runner.validate import load_lab

DATA = Path(__file__).resolve().parent.parent / "data" / "labs"
ACCOUNT = DEFAULT_ACCOUNT
CALLER = f"arn:aws:iam::{ACCOUNT}:user/student"
ROOT = Path(__file__).resolve().parents[2]
RECORD_SCHEMA = json.loads((ROOT / "schemas" / "record.schema.json").read_text())
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#: Generous: these bound a hang (a thread, a process), they never measure speed.
WAIT = 120.0


class FakeTime:
    """A monotonic clock and a sleep that only moves it forward; `naps` lists every pause."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = 1000.0
        self.naps: list[float] = []
        self.wall_start = start or datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
        self.on_sleep: list[Any] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.naps.append(seconds)
        self.now += seconds
        for hook in self.on_sleep:
            hook()

    def wall(self) -> datetime:
        return self.wall_start + timedelta(seconds=self.now - 1000.0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StubTarget(Target):
    """A target whose clients are botocore Stubbers: `stub("s3").add_response(...)`."""

    def __init__(self, region: str = "us-east-1", kind: str = "aws") -> None:
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name=region)
        super().__init__(kind, region, session)  # type: ignore[arg-type]
        self._stubbers: dict[tuple[str, str], Stubber] = {}
        self._identity = Identity(ACCOUNT, CALLER, "AIDASTUDENT")

    def stub(self, service: str, region: str | None = None) -> Stubber:
        key = (service, region or self.region)
        if key not in self._stubbers:
            stubber = Stubber(super().client(service, key[1]))
            stubber.activate()
            self._stubbers[key] = stubber
        return self._stubbers[key]

    def client(self, service: str, region: str | None = None) -> Any:
        self.stub(service, region)
        return super().client(service, region)

    def verify(self) -> None:
        for stubber in self._stubbers.values():
            stubber.assert_no_pending_responses()


def write_lab(tmp_path: Path, text: str, name: str = "lab.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def lab_from(tmp_path: Path, text: str) -> Lab:
    return load_lab(write_lab(tmp_path, text))


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
