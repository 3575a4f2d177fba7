"""The grading tests' emulator region: the one their students and labs work in."""

from __future__ import annotations

import pytest
from grading_helpers import REGION


@pytest.fixture(scope="module")
def emulator_region(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.module, "REGION", REGION))
