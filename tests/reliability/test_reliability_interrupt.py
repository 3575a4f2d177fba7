"""Ctrl-C and SIGTERM: the current step stops (even in a retry's sleep), every cleanup runs, the record
says `interrupted`, the exit status is 130; a second Ctrl-C skips the remaining cleanups and the record
is still written, its ledger naming what is left for `labrunner cleanup`.

Each run is a real `labrunner run` process; the test waits for the terminal to show that the check is
retrying (or that the cleanup is) before it sends a signal, so nothing depends on timing.
"""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from reliability_helpers import LABS, Live, clients, leftovers, record_when
from testkit import RECORD_SCHEMA as SCHEMA

from runner.commands.main import main
from runner.emulator import Emulator

LAB = LABS / "interrupt.yaml"


def start(live: list[Live], emu: Emulator, record: Path, seed: int, *extra: str) -> Live:
    process = Live("run", LAB, "--target", emu.endpoint, "--seed", str(seed), "--record", record, *extra)
    live.append(process)
    return process


def interrupted(run: Live, record: Path) -> tuple[dict[str, Any], str]:
    """The finished run's record and output, checked as every interrupted run must be."""
    code, output = run.finish()
    assert code == 130, output
    assert "Traceback" not in output
    data = json.loads(record.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "interrupted"
    return data, output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_retry_stops_cleans_up_and_exits_130(emulator: Emulator, tmp_path: Path, live: list[Live],
                                                          signum: int) -> None:
    record = tmp_path / "record.json"
    run = start(live, emulator, record, 5000 + signum)
    run.wait_for("waiting up to")  # the check is polling: the signal lands in its sleep or its call
    running = record_when(record, lambda data: len(data["ledger"]) == 2)
    tag = running["vars"]["tag"]
    assert running["status"] == "running" and len(running["ledger"]) == 2
    run.process.send_signal(signum)
    data, _ = interrupted(run, record)
    assert data["error"] == ("interrupted by the user (Ctrl-C)" if signum == signal.SIGINT
                             else "interrupted by SIGTERM")
    check = data["tasks"][0]["checks"][0]
    assert check["status"] == "error" and check["error"]["kind"] == "interrupted"
    assert [c["status"] for c in data["cleanup"]] == ["passed", "passed"]
    assert {e["state"] for e in data["ledger"]} == {"done"}
    assert leftovers(emulator, tag) == {}


def test_a_second_ctrl_c_skips_the_remaining_cleanup_and_still_saves_the_record(
        emulator: Emulator, endpoint_env: None, tmp_path: Path, live: list[Live]) -> None:
    record = tmp_path / "record.json"
    run = start(live, emulator, record, 5100, "--var", "slow_cleanup=true")
    run.wait_for("waiting up to")
    tag = json.loads(record.read_text())["vars"]["tag"]
    run.process.send_signal(signal.SIGINT)
    cleaning = run.wait_for("cleanup (2 steps")
    run.wait_for("waiting up to", after=cleaning)  # the bucket is not empty: its deletion waits
    run.process.send_signal(signal.SIGINT)
    data, output = interrupted(run, record)
    assert [(c["key"], c["status"]) for c in data["cleanup"]] == [
        ("make-bucket.cleanup", "error"), ("make-key.cleanup", "skipped")]
    assert {e["key"]: e["state"] for e in data["ledger"]} == {
        "make-key.cleanup": "pending", "make-bucket.cleanup": "pending"}
    assert "labrunner cleanup" in output

    # What was left is removed later, once the bucket can go.
    clients(emulator)["s3"].delete_object(Bucket=f"{tag}-bucket", Key="kept.txt")
    out = io.StringIO()
    assert main(["cleanup", str(record)], out) == 0, out.getvalue()
    assert leftovers(emulator, tag) == {}
