"""One emulator per test process (moto's state is process-global), wiped before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from emulator_helpers import REGION, Client, ClientFactory

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    # A delay no test outlasts: log files appear only when a test asks (deliver_logs_now).
    with Emulator(log_delay=3600) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.reset()
    return emulator


@pytest.fixture
def aws(emu: Emulator) -> ClientFactory:
    """aws("s3") -> a boto3 client on the emulator; keyword arguments override the defaults."""

    def make(service: str, **overrides: Any) -> Client:
        options: dict[str, Any] = {
            "endpoint_url": emu.endpoint,
            "region_name": REGION,
            "aws_access_key_id": EMULATOR_ACCESS_KEY,
            "aws_secret_access_key": EMULATOR_SECRET_KEY,
            "config": Config(retries={"max_attempts": 1}),
        }
        options.update(overrides)
        return boto3.client(service, **options)

    return make
