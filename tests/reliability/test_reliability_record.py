"""A crash never leaves a half-written record: the file is always the previous whole record or the new
one, valid JSON that validates against `schemas/record.schema.json`.

Two ways in: every step of the write (the temporary file's write, flush, fsync, the rename) made to
fail in turn, with records drawn by hypothesis; and a real process writing records as fast as it can,
killed with SIGKILL at arbitrary moments.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import ROOT, WAIT

from runner.engine import record_files
from runner.engine.record import LedgerEntry, RunRecord, StepRecord, TargetRecord, TaskRecord
from runner.engine.record_files import write_record

SCHEMA = json.loads((ROOT / "schemas" / "record.schema.json").read_text())


def make_record(steps: int, note: str, status: str = "running") -> RunRecord:
    records = tuple(StepRecord(key=f"s{i}", action="aws.s3.create_bucket", section="steps", status="passed",
                               location=f"lab.yaml:{i + 5}:7", attempts=1, params={"Bucket": f"b{i}", "Note": note},
                               result={"Location": f"/b{i}"}) for i in range(steps))
    task = TaskRecord("t", "T", "passed", 1, 1, records, (), 0.5, None)
    ledger = tuple(LedgerEntry(seq=i, key=f"s{i}.cleanup", action="aws.s3.delete_bucket", params={"Bucket": f"b{i}"},
                               registered_by=f"s{i}", task="t", location="lab.yaml:9:9") for i in range(steps))
    return RunRecord(lab="demo", title="Demo", file="lab.yaml", run_id="abcd1234", mode="run",
                     target=TargetRecord("endpoint", "us-east-1", None, endpoint="http://127.0.0.1:1"), seed=3,
                     started="2026-03-01T12:00:00Z", finished="2026-03-01T12:00:02Z", status=status,  # type: ignore[arg-type]
                     vars={"note": note}, tasks=(task,), ledger=ledger, points=1, score=1)


class Boom(Exception):
    """Stands for the process dying at that point."""


def failing(stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make one stage of `write_text` fail, the way a crash would cut it short."""
    if stage == "replace":
        monkeypatch.setattr(os, "replace", _raiser)
    elif stage == "fsync":
        monkeypatch.setattr(os, "fsync", _raiser)
    elif stage == "write":
        real = os.fdopen

        def half_written(fd: int, *args: Any, **kwargs: Any) -> Any:
            stream = real(fd, *args, **kwargs)
            original = stream.write

            def write(text: str) -> int:
                original(text[: len(text) // 2])
                raise Boom
            stream.write = write
            return stream
        monkeypatch.setattr(os, "fdopen", half_written)


def _raiser(*args: Any, **kwargs: Any) -> None:
    raise Boom


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old_steps=st.integers(0, 30), new_steps=st.integers(0, 30), note=st.text(max_size=40),
       stage=st.sampled_from(["write", "fsync", "replace", None]))
def test_an_interrupted_write_leaves_the_previous_record_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              old_steps: int, new_steps: int, note: str,
                                                              stage: str | None) -> None:
    path = tmp_path / "runs" / "record.json"
    write_record(path, make_record(old_steps, "old"))
    before = path.read_bytes()
    with monkeypatch.context() as patch:
        if stage is not None:
            failing(stage, patch)
        try:
            write_record(path, make_record(new_steps, note))
        except Boom:
            assert stage is not None
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    if stage is None:
        assert data["vars"] == {"note": note} and len(data["ledger"]) == new_steps
    else:
        assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]  # no temporary file left behind


def test_the_rename_is_made_durable_by_syncing_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    real: Callable[[int], None] = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else True)
        real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    record_files.write_text(tmp_path / "r.json", "{}\n")
    assert synced == [False, True]  # the file's data, then the directory entry


WRITER = """
import sys
from runner.engine.record_files import write_record
sys.path.insert(0, {tests!r})
from test_reliability_record import make_record
small, big = make_record(1, "small"), make_record(400, "big" * 50)
write_record({path!r}, small)
print("ready", flush=True)
while True:
    write_record({path!r}, big)
    write_record({path!r}, small)
"""


@pytest.mark.parametrize("moment", [0.0, 0.01, 0.05, 0.1, 0.3])
def test_sigkill_while_writing_never_leaves_half_a_record(tmp_path: Path, moment: float) -> None:
    path = tmp_path / "record.json"
    script = WRITER.format(tests=str(Path(__file__).parent), path=str(path))
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        time.sleep(moment)  # somewhere in the middle of a write; which one does not matter
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["vars"]["note"] in ("small", "big" * 50)


# ---- records written behind the run (`ledger.WriteBehind`, `ledger.Checkpoint`)


def test_records_written_behind_the_run_end_as_the_newest_each_written_whole(tmp_path: Path) -> None:
    from runner.engine.checkpoint import Checkpoint
    from runner.engine.redaction import Redactor

    checkpoint = Checkpoint(tmp_path / "r.json", Redactor(), min_interval=0)
    for steps in range(25):  # faster than the thread can write them all: some are skipped, never reordered
        checkpoint(make_record(steps, f"n{steps}"), force=True)
    checkpoint.settle()
    data = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["vars"] == {"note": "n24"} and len(data["ledger"]) == 24
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_the_run_never_waits_for_the_disk_and_only_the_newest_text_is_written(tmp_path: Path) -> None:
    from runner.engine.write_behind import WriteBehind

    started, release = threading.Event(), threading.Event()
    written: list[str] = []

    def slow_disk(path: Path, text: str) -> None:
        started.set()
        release.wait(WAIT)
        written.append(text)

    behind = WriteBehind(slow_disk)
    behind.hand_over(tmp_path / "r.json", "first")
    assert started.wait(WAIT)  # the disk holds the first write...
    behind.hand_over(tmp_path / "r.json", "second")  # ...and the run goes on: these return at once
    behind.hand_over(tmp_path / "r.json", "third")
    assert written == []
    release.set()
    behind.settle()
    assert written == ["first", "third"]  # "second" was replaced while it waited: each is the whole run


def test_a_failed_write_behind_the_run_is_raised_in_the_run(tmp_path: Path) -> None:
    from runner.engine.write_behind import WriteBehind

    def full_disk(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    behind = WriteBehind(full_disk)
    behind.hand_over(tmp_path / "r.json", "{}")
    with pytest.raises(OSError, match="No space left"):
        behind.settle()
    behind.settle()  # raised once: the run decides what to do about it


def test_finish_waits_for_the_writes_behind_and_writes_the_final_record_last(tmp_path: Path) -> None:
    from runner.engine.checkpoint import Checkpoint
    from runner.engine.redaction import Redactor

    path = tmp_path / "r.json"
    checkpoint = Checkpoint(path, Redactor(), min_interval=0)
    for steps in range(10):
        checkpoint(make_record(steps, "running"), force=True)
    checkpoint.finish(make_record(10, "final", status="passed"))
    data = json.loads(path.read_text())
    assert data["status"] == "passed" and data["vars"] == {"note": "final"}
    assert path.read_text().startswith("{\n  ")  # the final record is the indented one
