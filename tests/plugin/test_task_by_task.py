"""`TaskByTask`, the loop's per-task API the plugin drives: the same run as `Runner.run`, one task at a time."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from plugin_helpers import BROKEN_LAB, GOOD_LAB, write
from testkit import RECORD_SCHEMA

from runner.commands.main import main
from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator
from runner.engine.checkpoint import Checkpoint
from runner.engine.ledger import pending
from runner.engine.loop import Runner, RunOptions, TaskByTask
from runner.engine.record import RunRecord
from runner.engine.redaction import Redactor
from runner.engine.resume import lab_digest
from runner.engine.targets import Target
from runner.validate import load_lab


@pytest.fixture(scope="module")
def target(emulator: Emulator) -> Target:
    return Target.for_emulator(emulator, "us-east-1")


def test_tasks_one_at_a_time_make_the_same_record_as_a_whole_run(tmp_path: Path, target: Target) -> None:
    lab = load_lab(write(tmp_path, {"lab.yaml": BROKEN_LAB}) / "lab.yaml")
    whole = Runner(lab, target, RunOptions(seed=11)).run()
    stepwise = TaskByTask(Runner(lab, target, RunOptions(seed=11)))
    first = stepwise.run_task(lab.tasks[0])
    assert first.status == "passed"
    assert "bucket" in stepwise.progress.ctx.variables
    assert stepwise.run_task(lab.tasks[1]).status == "failed"
    stepwise.skip_task(lab.tasks[2], "skipped: task 'check-bucket' failed")
    record = stepwise.finish()
    assert [(t.id, t.status, t.score) for t in record.tasks] == [(t.id, t.status, t.score) for t in whole.tasks]
    assert [(c.key, c.status) for c in record.cleanup] == [(c.key, c.status) for c in whole.cleanup]
    assert (record.status, record.score, record.points) == (whole.status, whole.score, whole.points)
    assert stepwise.finish() is record  # once: cleanups never run twice


def test_saved_values_carry_over_and_unrun_tasks_are_skipped(tmp_path: Path, target: Target) -> None:
    lab = load_lab(write(tmp_path, {"lab.yaml": GOOD_LAB}) / "lab.yaml")
    stepwise = TaskByTask(Runner(lab, target))
    assert stepwise.run_task(lab.tasks[0]).status == "passed"
    record = stepwise.finish("skipped: not selected (pytest)")
    assert [(t.id, t.status, t.summary) for t in record.tasks] == [
        ("make-bucket", "passed", None), ("find-bucket", "skipped", "skipped: not selected (pytest)")]
    assert [c.status for c in record.cleanup] == ["passed"]


def test_a_var_that_does_not_render_skips_every_task(tmp_path: Path, target: Target) -> None:
    text = GOOD_LAB.replace('bucket: "good-{{ random_digits(8) }}"', 'bucket: "{{ 1 / 0 }}"')
    lab = load_lab(write(tmp_path, {"lab.yaml": text}) / "lab.yaml")
    stepwise = TaskByTask(Runner(lab, target))
    assert stepwise.error is not None and "bucket" in stepwise.error
    assert stepwise.run_task(lab.tasks[0]).summary == "skipped: the run could not start"
    record = stepwise.finish()
    assert record.status == "error" and record.error == stepwise.error


def _shape(record: RunRecord, force: bool) -> tuple[Any, ...]:
    """What a checkpoint says, without its clocks and run id."""
    return (force, record.status, [(t.id, t.status, t.summary) for t in record.tasks],
            [(e.seq, e.key, e.action, e.params, e.state) for e in record.ledger],
            [(c.key, c.status) for c in record.cleanup])


class Shapes(list[tuple[Any, ...]]):
    """A checkpointer that keeps the shape of every record handed to it."""

    def due(self, force: bool) -> bool:
        return True

    def __call__(self, record: RunRecord, force: bool) -> None:
        self.append(_shape(record, force))


def test_tasks_one_at_a_time_checkpoint_as_a_whole_run_does(tmp_path: Path, target: Target) -> None:
    lab = load_lab(write(tmp_path, {"lab.yaml": BROKEN_LAB}) / "lab.yaml")
    whole = Shapes()
    Runner(lab, target, RunOptions(seed=11), checkpoint=whole).run()
    written = Shapes()
    stepwise = TaskByTask(Runner(lab, target, RunOptions(seed=11), checkpoint=written))
    stepwise.run_task(lab.tasks[0])
    stepwise.run_task(lab.tasks[1])
    stepwise.skip_task(lab.tasks[2], "skipped: task 'check-bucket' failed (use --keep-going to run later tasks "
                                     "anyway)")
    stepwise.finish()
    assert written == whole
    assert any(force and ledger for force, _, _, ledger, _ in written)  # the cleanup's registration, forced


def test_a_run_killed_after_its_first_task_leaves_a_ledger_that_labrunner_cleanup_replays(
        tmp_path: Path, target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = load_lab(write(tmp_path, {"lab.yaml": GOOD_LAB}) / "lab.yaml")
    path = tmp_path / "record.json"
    # As `labrunner run` makes it, but writing every checkpoint (the default waits a second between
    # writes that register no cleanup), so the file shows the finished task too.
    checkpoint = Checkpoint(path, Redactor(), lab_digest=lab_digest(lab), min_interval=0)
    stepwise = TaskByTask(Runner(lab, target, RunOptions(seed=12), checkpoint=checkpoint))
    checkpoint.settle()  # records are written behind the run: wait for them, as a crash a moment later would
    assert json.loads(path.read_text())["status"] == "running"  # written before any task
    assert stepwise.run_task(lab.tasks[0]).status == "passed"
    bucket = stepwise.progress.ctx.variables["bucket"]
    checkpoint.settle()

    data = json.loads(path.read_text())  # the run stops here: no `finish`, as when pytest is killed
    jsonschema.validate(data, RECORD_SCHEMA)
    assert data["status"] == "running" and data["lab_digest"] == lab_digest(lab)
    assert [(t["id"], t["status"]) for t in data["tasks"]] == [("make-bucket", "passed")]
    assert [(e["action"], e["params"], e["state"]) for e in data["ledger"]] == [
        ("aws.s3.delete_bucket", {"Bucket": bucket}, "pending")]
    assert pending(data) == [0]

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", EMULATOR_ACCESS_KEY)  # an endpoint target's credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    out = io.StringIO()
    assert main(["cleanup", str(path), "--target", str(target.endpoint)], out) == 0, out.getvalue()
    names = {b["Name"] for b in target.client("s3").list_buckets()["Buckets"]}
    assert bucket not in names
    assert [e["state"] for e in json.loads(path.read_text())["ledger"]] == ["done"]
