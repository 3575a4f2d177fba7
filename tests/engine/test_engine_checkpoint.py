"""Writing the record of a run in progress: every write whole and in order, the final one last and
indented, progress at most every `min_interval` but a registered cleanup always."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from engine_helpers import make_record, run_so_far
from testkit import RECORD_SCHEMA as SCHEMA

from runner.engine.checkpoint import KILL_AFTER_ENV, Checkpoint, executed_steps
from runner.engine.redaction import Redactor


@pytest.fixture(autouse=True)
def no_kill_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KILL_AFTER_ENV, raising=False)


def test_records_written_behind_the_run_end_as_the_newest_each_written_whole(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "r.json", Redactor(), min_interval=0)
    for steps in range(25):  # faster than the thread can write them all: some are skipped, never reordered
        checkpoint(run_so_far(steps, f"n{steps}"), force=True)
    checkpoint.settle()
    data = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["vars"] == {"note": "n24"} and len(data["ledger"]) == 24
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_finish_waits_for_the_writes_behind_and_writes_the_final_record_last(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    checkpoint = Checkpoint(path, Redactor(), min_interval=0)
    for steps in range(10):
        checkpoint(run_so_far(steps, "running"), force=True)
    checkpoint.finish(run_so_far(10, "final", status="passed"))
    data = json.loads(path.read_text())
    assert data["status"] == "passed" and data["vars"] == {"note": "final"}
    assert path.read_text().startswith("{\n  ")  # the final record is the indented one


def test_progress_is_written_at_most_every_min_interval_and_a_registration_always(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "r.json"
    checkpoint = Checkpoint(path, Redactor(), min_interval=1.0, clock=lambda: now[0])

    def on_disk() -> object:
        checkpoint.settle()
        return json.loads(path.read_text())["vars"]["note"]

    assert checkpoint.due()  # the first record is always written
    checkpoint(run_so_far(1, "first"))
    assert on_disk() == "first"
    now[0] = 0.5
    assert not checkpoint.due() and checkpoint.due(force=True)
    checkpoint(run_so_far(2, "progress"))
    assert on_disk() == "first"  # kept for later, not written
    assert checkpoint.last is not None and checkpoint.last.vars == {"note": "progress"}
    checkpoint(run_so_far(3, "registered"), force=True)
    assert on_disk() == "registered"
    now[0] = 1.4
    checkpoint(run_so_far(3, "too soon after the forced write"))
    assert on_disk() == "registered"
    now[0] = 1.6
    checkpoint(run_so_far(4, "later"))
    assert on_disk() == "later"


def test_every_record_carries_the_lab_digest_and_the_run_it_resumed(tmp_path: Path) -> None:
    digest = {"file": "f" * 64, "vars": "v" * 64, "tasks": {"t": "t" * 64}}
    checkpoint = Checkpoint(None, Redactor(), lab_digest=digest, resumed_from="0ld0ld00", folder=tmp_path / "runs")
    checkpoint(run_so_far(1, "running"))
    written = checkpoint.finish(run_so_far(1, "final", status="passed"))
    assert written == tmp_path / "runs" / "demo-20260301T120000Z-abcd1234.json"  # `runs/<lab>-<started>-<id>`
    data = json.loads(written.read_text())
    assert data["lab_digest"] == digest and data["resumed_from"] == "0ld0ld00"
    assert checkpoint.last is not None and checkpoint.last.lab_digest == digest


def test_an_interruption_the_loop_cannot_catch_marks_the_last_record(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "r.json", Redactor())
    assert checkpoint.interrupted("Ctrl-C") is None  # nothing to mark before the first record
    checkpoint(run_so_far(2, "kept"))
    checkpoint.settle()
    marked = checkpoint.interrupted("Ctrl-C while starting")
    assert marked is not None and (marked.status, marked.error) == ("interrupted", "Ctrl-C while starting")
    assert marked.vars == {"note": "kept"} and len(marked.ledger) == 2


def test_executed_steps_counts_steps_checks_and_cleanups_that_ran() -> None:
    record = make_record()  # two steps that ran and a skipped check
    assert executed_steps(record) == 2
    cleanup = replace(record.tasks[0].steps[0], key="undo", section="cleanup", status="failed")
    skipped = replace(cleanup, key="undo-2", status="skipped")
    assert executed_steps(replace(record, cleanup=(cleanup, skipped))) == 3
