"""Fixtures every test folder shares: the embedded emulator, boto3 clients on it, the environment that
points an endpoint target at it, fake time, stubbed targets.

moto's state is process-global, so every emulator in a test process shares one set of accounts. A
test that needs an empty emulator asks for `emu` (wiped first); tests that share a module's state ask
for `emulator` and keep to their own accounts or unique names. A test module may set `REGION` (the
emulator's default region; default us-east-1) and `LOG_DELAY` (seconds before CloudTrail log files
are delivered; default an hour, so that files appear only when a test asks with `deliver_logs_now`).
Emulators are started once per process for each (region, delay) asked for, and stopped at the end.
Being in tests/, this file also puts tests/ on sys.path, so every folder can import `testkit.py` (fakes
and lab builders), `consumers.py` (the consumers' own schemas) and `aws_cli.py` (the AWS CLI in process).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, settings
from testkit import FakeTime, StubTarget

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator
from runner.emulator.server import DEFAULT_REGION

# No test may depend on wall-clock speed (CI shares two cores; benchmarks measure speed): hypothesis's
# per-example deadline and its too-slow health check are both timings, so neither applies anywhere.
settings.register_profile("labrunner", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("labrunner")

#: No test outlasts it: log files appear only when a test asks for them.
NEVER = 3600.0

Client = Any
ClientFactory = Callable[..., Client]


@pytest.fixture(scope="session")
def emulators() -> Iterator[Callable[[str, float], Emulator]]:
    started: dict[tuple[str, float], Emulator] = {}

    def emulator_for(region: str, log_delay: float) -> Emulator:
        if (region, log_delay) not in started:
            started[(region, log_delay)] = Emulator(log_delay=log_delay, region=region).start()
        return started[(region, log_delay)]

    yield emulator_for
    for emulator in started.values():
        emulator.stop()


@pytest.fixture(scope="module")
def emulator_region(request: pytest.FixtureRequest) -> str:
    """The module's REGION; a folder's conftest.py may choose another default for its modules."""
    return str(getattr(request.module, "REGION", DEFAULT_REGION))


@pytest.fixture(scope="module")
def emulator(emulators: Callable[[str, float], Emulator], emulator_region: str,
             request: pytest.FixtureRequest) -> Emulator:
    """The emulator for this module's region and LOG_DELAY; its state is whatever earlier tests left."""
    return emulators(emulator_region, getattr(request.module, "LOG_DELAY", NEVER))


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The module's emulator, emptied: every account of it, whatever ran before in this process."""
    emulator.reset()
    return emulator


@pytest.fixture
def aws(emu: Emulator, emulator_region: str) -> ClientFactory:
    """aws("s3") -> a boto3 client on the emptied emulator; keyword arguments override the defaults."""

    def make(service: str, **overrides: Any) -> Client:
        options: dict[str, Any] = {
            "endpoint_url": emu.endpoint,
            "region_name": emulator_region,
            "aws_access_key_id": EMULATOR_ACCESS_KEY,
            "aws_secret_access_key": EMULATOR_SECRET_KEY,
            "config": Config(retries={"max_attempts": 1}),
        }
        options.update(overrides)
        return boto3.client(service, **options)

    return make


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def stub_target() -> Iterator[StubTarget]:
    target = StubTarget()
    yield target
    target.verify()


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint target uses the standard credential chain: point it at the emulator's account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
