"""`pytest --labrunner-verify`: a lab's verify cases as items, run as a user runs pytest."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_helpers import REPO, run_pytest, write

pytestmark = pytest.mark.e2e

VERIFY = REPO / "tests" / "data" / "verify"


def test_each_case_is_an_item_failing_on_its_own_disagreements(tmp_path: Path) -> None:
    folder = write(tmp_path, {"pytest.ini": "[pytest]\n",
                              "labs/good.yaml": (VERIFY / "good.yaml").read_text(),
                              "labs/mistake.yaml": (VERIFY / "mistake-scores.yaml").read_text()})
    result = run_pytest(folder, "-v", "-rs", "--labrunner-verify", "labs")
    assert result.outcome() == "1 failed, 10 passed", result.output
    assert "labs/good.yaml::verify[reference] PASSED" in result.output
    assert "labs/mistake.yaml::verify[mistake/tag-bucket/wrong-team] FAILED" in result.output
    assert ("mistake tag-bucket/wrong-team, task tag-bucket: expected 0, scored 1/1: every check passed: "
            "'team-tagged'") in result.output
    assert "Traceback" not in result.output
