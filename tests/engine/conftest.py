"""Fixtures for the engine's tests: a fake clock, stubbed clients, and one emulator per test process.

moto's state is process-global, so end-to-end tests share one emulator and use unique names (the
seed and `random_id` give every run its own bucket, key alias and trail) instead of wiping it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_helpers import FakeTime, StubTarget

from runner.emulator import Emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    # Log files appear only when a test's fake sleep asks for them (deliver_logs_now), never on a timer.
    with Emulator(log_delay=3600) as emu:
        yield emu


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def stub_target() -> Iterator[StubTarget]:
    target = StubTarget()
    yield target
    target.verify()
