"""Record files on disk: atomic, durable writes that a crash never leaves half done, the default path,
and reading a record back with an error that says what is wrong.

A crash never leaves a half-written record: the file is always the previous whole record or the new
one, valid JSON that validates against `schemas/record.schema.json`. Two ways in: every step of the
write (the temporary file's write, flush, fsync, the rename) made to fail in turn, with records drawn
by hypothesis; and a real process writing records as fast as it can, killed with SIGKILL at arbitrary
moments.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from engine_helpers import ROOT, WAIT, run_so_far
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import RECORD_SCHEMA as SCHEMA

from runner.engine.record_files import default_path, read_record, write_record, write_text
from runner.errors import UsageError


def test_atomic_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "runs" / "x.json"
    write_text(target, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_default_path() -> None:
    path = default_path("kms-basics", datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC), "abcd1234")
    assert str(path) == "runs/kms-basics-20260301T120005Z-abcd1234.json"


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
    write_record(path, run_so_far(old_steps, "old"))
    before = path.read_bytes()
    with monkeypatch.context() as patch:
        if stage is not None:
            failing(stage, patch)
        try:
            write_record(path, run_so_far(new_steps, note))
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
    write_text(tmp_path / "r.json", "{}\n")
    assert synced == [False, True]  # the file's data, then the directory entry


WRITER = """
import sys
from runner.engine.record_files import write_record
sys.path.insert(0, {tests!r})
from engine_helpers import run_so_far
small, big = run_so_far(1, "small"), run_so_far(400, "big" * 50)
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
        process.wait(timeout=WAIT)
        assert process.stdout is not None
        process.stdout.close()
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["vars"]["note"] in ("small", "big" * 50)


def test_a_record_read_back_is_its_json(tmp_path: Path) -> None:
    path = write_record(tmp_path / "r.json", run_so_far(2, "n"))
    data = read_record(path)
    assert data["run_id"] == "abcd1234" and len(data["ledger"]) == 2


@pytest.mark.parametrize(("text", "wanted"), [
    (None, "r.json: no such file (pass the record labrunner run wrote: it prints where)"),
    ('{"version": 1,\n "lab": }', "r.json:2:9: not JSON (Expecting value); pass the record labrunner run wrote"),
    ('{"lab": "demo"}', "r.json: not a labrunner run record (expected the JSON written by labrunner run)"),
    ('["a", "list"]', "r.json: not a labrunner run record"),
    ('{"version": 2, "lab": "l", "run_id": "r", "target": {}, "status": "passed", "tasks": []}',
     "r.json: record version 2 is not supported (expected 1)"),
])
def test_a_file_that_is_not_a_record_is_a_usage_error_that_says_why(tmp_path: Path, text: str | None,
                                                                    wanted: str) -> None:
    path = tmp_path / "r.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(UsageError) as error:
        read_record(path)
    assert wanted in str(error.value) and str(error.value).startswith(str(tmp_path))


@pytest.mark.parametrize(("umask", "shared_mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_shared_outputs_honour_the_umask_and_records_stay_owner_only(tmp_path: Path, umask: int,
                                                                      shared_mode: int) -> None:
    previous = os.umask(umask)
    try:
        shared = write_text(tmp_path / "junit.xml", "<testsuites/>\n", shared=True)
        record = write_record(tmp_path / "record.json", run_so_far(1, "x"))
        replaced = write_text(tmp_path / "record.json", "{}\n")  # a rewrite keeps it owner-only
    finally:
        os.umask(previous)
    assert shared.stat().st_mode & 0o777 == shared_mode
    assert record.stat().st_mode & 0o777 == 0o600 and replaced.stat().st_mode & 0o777 == 0o600


def test_every_file_written_is_named_by_its_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What every command prints after writing (record, JUnit, Gradescope, CSV, report, autograder zip): the
    path it returns, absolute, so that it can be opened from any folder."""
    monkeypatch.chdir(tmp_path)
    assert write_text("out/../out/junit.xml", "<x/>", shared=True) == tmp_path / "out" / "junit.xml"
