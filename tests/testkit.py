"""Test doubles and lab builders every test folder may use: fake time, a target of stubbed boto3 clients,
a target in a fresh emulator account, labs from text. On sys.path for every test because
tests/conftest.py sits beside it.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from runner.emulator import DEFAULT_ACCOUNT
from runner.engine.context import Services
from runner.engine.targets import Identity, Target, new_session
from runner.model import Lab
from runner.validate import load_lab

ACCOUNT = DEFAULT_ACCOUNT
CALLER = f"arn:aws:iam::{ACCOUNT}:user/student"
#: The repository.
REPO = Path(__file__).resolve().parents[1]
#: The JSON Schema every record must follow (schemas/record.schema.json).
RECORD_SCHEMA = json.loads((REPO / "schemas" / "record.schema.json").read_text(encoding="utf-8"))
#: Labs written to exercise features (tests/data/labs).
DATA = Path(__file__).resolve().parent / "data" / "labs"


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


def services(target: Target, started: datetime, lab_dir: Path = Path(".")) -> Services:
    """What an action is given to run on `target`, for a run that began at `started`."""
    return Services(target=target, lab_dir=lab_dir, run_started=started)


def fresh_account(emulator: Any, region: str) -> Target:
    """A target in an account of `emulator` no other test uses, as that account's root user (on the
    emulator, an access key of 12 digits signs as the root user of that account)."""
    number = f"{uuid.uuid4().int % 10**12:012d}"
    session = new_session(aws_access_key_id=number, aws_secret_access_key="root", region_name=region)
    return Target("emulator", region, session, emulator.endpoint, emulator)
