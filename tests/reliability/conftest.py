"""Fixtures for the reliability tests: the emulator's region, the environment of an endpoint target, and
the processes a test starts (the emulator itself is tests/conftest.py's).

The helpers the tests use are in `reliability_helpers.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reliability_helpers import REGION, Live

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY


@pytest.fixture(scope="module")
def emulator_region(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.module, "REGION", REGION))


@pytest.fixture
def endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint target takes credentials from the environment: the emulator's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", EMULATOR_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture
def live() -> Iterator[list[Live]]:
    """Processes started by a test; killed at its end if still running."""
    started: list[Live] = []
    yield started
    for process in started:
        process.kill()
