"""Test doubles and lab builders every test folder may use: fake time, a target of stubbed boto3 clients,
a target in a fresh emulator account, labs from text, and the environment of a `labrunner` process (with
one that writes to a pseudo-terminal). On sys.path for every test because tests/conftest.py sits beside it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from runner.emulator import DEFAULT_ACCOUNT, EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY
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
#: Generous: bounds a hung process, never measures speed.
PROCESS_WAIT = 120.0


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


def child_env(**extra: str) -> dict[str, str]:
    """A `labrunner` process's environment: the emulator's credentials, an ordinary terminal, and no AWS,
    labrunner or colour settings of this one's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LABRUNNER_")) and k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(AWS_ACCESS_KEY_ID=EMULATOR_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=EMULATOR_SECRET_KEY,
               AWS_EC2_METADATA_DISABLED="true", PYTHONUNBUFFERED="1", TERM="xterm-256color", **extra)
    return env


def labrunner_on_a_terminal(args: list[str], cwd: Path, columns: int = 100, interrupt_at: str | None = None,
                            **env: str) -> tuple[int, str]:
    """`labrunner ARGS` as a new process writing to a pseudo-terminal `columns` wide: its exit status and
    every byte it wrote, as the terminal received them (its line discipline writes a newline as CR LF).

    `interrupt_at`: press Ctrl-C (SIGINT) once the terminal shows this text.
    """
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "runner", *args], stdin=subprocess.DEVNULL, stdout=follower,
                               stderr=follower, cwd=cwd, env=child_env(**env))
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + PROCESS_WAIT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
            if interrupt_at is not None and interrupt_at.encode() in b"".join(chunks):
                process.send_signal(signal.SIGINT)
                interrupt_at = None
        code = process.wait(timeout=PROCESS_WAIT)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return code, b"".join(chunks).decode("utf-8")
#: What a culture-aware comparison skips (soft hyphen, zero-width characters, word joiner, invisible operators).
_IGNORABLE = re.compile("[\u00ad\u200b-\u200d\u2060-\u2064]")


def github_reads_a_command(line: str) -> bool:
    """Whether GitHub's runner reads `line` of a step's output as a workflow command (actions/runner's
    ActionCommand: `::` at the start once whitespace is trimmed, or `##[` anywhere), comparing as a
    culture-aware comparison does, blind to characters it ignores. For tests of what a student can print."""
    seen = _IGNORABLE.sub("", line)
    return seen.lstrip().startswith("::") or "##[" in seen
