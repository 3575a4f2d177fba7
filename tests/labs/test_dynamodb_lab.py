"""The DynamoDB lab end to end on the embedded emulator: its run, what it sends, and what it leaves.

Its grader (untouched account, reference, each task left out, its alternatives and mistakes) is held by
`labrunner verify labs/*.yaml` in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import run, statuses, task

from runner.emulator import Emulator

LAB = Path(__file__).resolve().parents[2] / "labs" / "dynamodb-basics.yaml"
REGION = "us-west-2"

pytestmark = pytest.mark.e2e


def test_the_lab_passes_and_leaves_no_table(emu: Emulator, tmp_path: Path, aws: Callable[..., Any]) -> None:
    code, record, output = run([str(LAB), "--target", emu.endpoint, "--region", REGION], tmp_path)
    assert code == 0, output
    assert statuses(record) == dict.fromkeys(("create-table", "add-index", "clean-up"), "passed")
    assert record["score"] == record["points"] == 100
    steps = task(record, "create-table")["steps"]
    songs = [s for s in steps if s["id"].startswith("put-song")]
    # One step per song, each with its own id and title.
    assert [(s["id"], s["title"]) for s in songs] == [
        ("put-song[0]", "Write Call Me Today by No One You Know"), ("put-song[1]", "Write Howdy by No One You Know"),
        ("put-song[2]", "Write Happy Day by Acme Band"), ("put-song[3]", "Write PartiQL Rocks by Acme Band")]
    # The year, a number in vars, went as the string DynamoDB's N wants, and came back as one.
    read = next(s for s in steps if s["id"] == "read-one-song")
    assert read["result"]["Item"]["Year"] == {"N": "2015"}
    assert aws("dynamodb").list_tables()["TableNames"] == []
