"""The emulator the lab tests run on: one per test file, emptied before each test that asks for `emu`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner.emulator import Emulator


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    # A test file sets its region, and its CloudTrail delivery delay when its lab reads the logs.
    region = getattr(request.module, "REGION", "us-east-1")
    with Emulator(log_delay=getattr(request.module, "LOG_DELAY", 3600), region=region) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    # moto's state is process-global: start each test from an empty account, whatever ran before it
    # in this worker (the emulator tests leave their last test's resources behind).
    emulator.reset()
    return emulator
