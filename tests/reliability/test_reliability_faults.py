"""Faults: with 20% throttling and 5% server errors injected by the emulator, a lab still passes and
cleans up (botocore's standard retry mode, then the runner's own retries). The KMS lab's own test
(`tests/labs/test_kms_lab.py`) does the same for the whole KMS lab.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from reliability_helpers import LABS

from runner.commands.main import main


@pytest.mark.parametrize("seed", [11, 12])
def test_a_lab_passes_and_cleans_up_under_injected_faults(tmp_path: Path, seed: int) -> None:
    record = tmp_path / "record.json"
    out = io.StringIO()
    code = main(["run", str(LABS / "resources.yaml"), "--faults", f"throttle=0.2,error=0.05,seed={seed}",
                 "--record", str(record)], out)
    assert code == 0, out.getvalue()
    data = json.loads(record.read_text())
    assert data["status"] == "passed"
    assert {entry["state"] for entry in data["ledger"]} == {"done"}
