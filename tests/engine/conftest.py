"""Fixtures for the engine's tests: a fake clock and stubbed clients (the emulator is in tests/conftest.py).

moto's state is process-global, so end-to-end tests share one emulator and use unique names (the
seed and `random_id` give every run its own bucket, key alias and trail) instead of wiping it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_helpers import FakeTime, StubTarget


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def stub_target() -> Iterator[StubTarget]:
    target = StubTarget()
    yield target
    target.verify()
