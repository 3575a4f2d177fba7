"""A run killed with SIGKILL at any point loses nothing: its record lists what it made, and
`labrunner cleanup RECORD` removes all of it, once, and does nothing the second time.

The run is a real `labrunner run` process against a emulator emulator; the test-only hook
`LABRUNNER_TEST_KILL_AFTER_STEP=N` makes it SIGKILL itself right after its record shows N executed
steps (5 steps and 1 check make resources and prove them; 7 and above are during its cleanup).
"""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from reliability_helpers import LABS, clients, labrunner, leftovers
from testkit import RECORD_SCHEMA as SCHEMA

from runner.commands.main import main
from runner.emulator import Emulator
from runner.engine.checkpoint import KILL_AFTER_ENV

LAB = LABS / "resources.yaml"


def cleanup(record: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["cleanup", str(record), *extra], out)
    return code, out.getvalue()


def killed_run(emu: Emulator, tmp_path: Path, after: int, seed: int) -> tuple[Path, dict[str, Any]]:
    record = tmp_path / "record.json"
    done = labrunner("run", LAB, "--target", emu.endpoint, "--seed", str(seed), "--record", record,
                     **{KILL_AFTER_ENV: str(after)})
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    data = json.loads(record.read_text())  # a whole record, never half of one
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "running"
    return record, data


@pytest.mark.parametrize("after", [1, 2, 3, 4, 5, 6, 7, 9])
def test_cleanup_after_sigkill_leaves_nothing(emulator: Emulator, endpoint_env: None, tmp_path: Path,
                                              after: int) -> None:
    record, data = killed_run(emulator, tmp_path, after, seed=1000 + after)
    tag = data["vars"]["tag"]
    assert leftovers(emulator, tag), "the run made something before it was killed"
    registered = len(data["ledger"])
    assert registered >= 1

    code, output = cleanup(record)
    assert code == 0, output
    assert leftovers(emulator, tag) == {}
    after_cleanup = json.loads(record.read_text())
    jsonschema.validate(after_cleanup, SCHEMA)
    assert {entry["state"] for entry in after_cleanup["ledger"]} == {"done"}

    again, output = cleanup(record)  # idempotent: nothing left to do, and it says so
    assert again == 0 and "nothing to clean up" in output
    assert json.loads(record.read_text()) == after_cleanup


def test_cleanup_treats_already_gone_as_done(emulator: Emulator, endpoint_env: None, tmp_path: Path) -> None:
    record, data = killed_run(emulator, tmp_path, 2, seed=2001)
    tag = data["vars"]["tag"]
    s3 = clients(emulator)["s3"]
    s3.delete_object(Bucket=f"{tag}-bucket", Key="hello.txt")  # someone removed part of it by hand
    s3.delete_bucket(Bucket=f"{tag}-bucket")
    code, output = cleanup(record)
    assert code == 0, output
    assert "already gone (NoSuchBucket)" in output


def test_resume_after_sigkill_continues_from_the_first_task_not_passed(
        emulator: Emulator, endpoint_env: None, tmp_path: Path) -> None:
    record, data = killed_run(emulator, tmp_path, 3, seed=3001)  # storage passed; key made, alias not yet
    tag = data["vars"]["tag"]
    second = tmp_path / "second.json"
    out = io.StringIO()
    code = main(["run", str(LAB), "--resume", str(record), "--record", str(second)], out)
    output = out.getvalue()
    assert code == 0, output
    assert f"resume: kept from run {data['run_id']}: storage (passed)" in output
    resumed = json.loads(second.read_text())
    jsonschema.validate(resumed, SCHEMA)
    assert resumed["resumed_from"] == data["run_id"] and resumed["seed"] == data["seed"]
    assert resumed["vars"] == data["vars"]
    tasks = {t["id"]: t for t in resumed["tasks"]}
    assert tasks["storage"]["summary"] == f"passed in run {data['run_id']} (resumed)"
    assert [t["status"] for t in resumed["tasks"]] == ["passed", "passed", "passed"]
    # The first run's bucket, object and key are cleaned up by the resumed run, with its own.
    assert {e["state"] for e in resumed["ledger"]} == {"done"}
    assert len(resumed["ledger"]) == len(data["ledger"]) + 3  # a new key and alias, and the trail
    assert leftovers(emulator, tag) == {}


def test_resume_refuses_another_lab(emulator: Emulator, endpoint_env: None, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    record, _data = killed_run(emulator, tmp_path, 1, seed=4001)
    other = tmp_path / "other.yaml"
    other.write_text(LAB.read_text().replace("lab: reliability-resources", "lab: something-else"))
    code = main(["run", str(other), "--resume", str(record)], io.StringIO())
    assert code == 2
    assert "is a run of lab 'reliability-resources', not 'something-else'" in capsys.readouterr().err
    assert cleanup(record)[0] == 0
