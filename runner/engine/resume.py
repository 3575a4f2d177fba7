"""`--resume RECORD`: what identifies a lab, and what a resumed run keeps from an earlier run's record.

`lab_digest` hashes the lab file, its vars and each task; every record keeps it (`checkpoint.py`).
`plan_resume` compares it with the lab as it is now and decides (`Resume`): seed, vars, saved values and
pending cleanups are restored (`ledger.prepared_from`), and the tasks that passed and whose resources
still stand are kept. `loop.py` runs what it decided.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runner.engine.ledger import prepared_from, seq_of
from runner.engine.record import TaskRecord
from runner.engine.record_json import task_from_json
from runner.engine.redaction import contains_redacted
from runner.engine.steps import Prepared
from runner.errors import UsageError
from runner.model import Lab


def _sha(value: Any) -> str:
    text = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(text).hexdigest()


def lab_digest(lab: Lab) -> dict[str, Any]:
    """sha256 of the lab file, of its vars, and of each task as written (what `--resume` compares)."""
    data: Mapping[str, Any] = lab.document.data if lab.document is not None else {}
    try:
        file_sha = _sha(Path(lab.path).read_bytes())
    except OSError:
        file_sha = ""
    raw_tasks = data.get("tasks")
    tasks = {str(t.get("id")): _sha(t) for t in raw_tasks or () if isinstance(t, dict)}
    return {"file": file_sha, "vars": _sha(data.get("vars") or {}), "tasks": tasks}


@dataclass(frozen=True)
class Resume:
    """What `--resume` restores into a new run (`loop.RunOptions.resume`)."""

    previous_run: str
    seed: int
    vars: Mapping[str, Any]  # the recorded vars, except redacted ones (rendered again, or given by --var)
    tasks: Mapping[str, TaskRecord]  # kept tasks: recorded as they passed, not run again
    saved: Mapping[str, Any]  # values the kept tasks saved
    cleanups: tuple[Prepared, ...]  # the old run's pending cleanups, oldest first: this run does them
    notes: tuple[str, ...] = ()  # what was decided and why, for the terminal


def plan_resume(lab: Lab, data: Mapping[str, Any], digest: Mapping[str, Any], *, source: str = "") -> Resume:
    """Decide what a resumed run keeps from a record; `UsageError` when it cannot resume at all.

    A task is kept when it passed, the lab's text for it is unchanged, and nothing may have removed
    what it made: none of the cleanups its steps registered has run, no lab-level cleanup ran, and the
    run was not on the embedded emulator (whose state died with it). The first task not kept and
    every later one run again.
    """
    where = source or "the record"
    run_id = str(data.get("run_id"))
    if data.get("lab") != lab.name:
        raise UsageError(f"--resume: {where} is a run of lab '{data.get('lab')}', not '{lab.name}'")
    if data.get("mode", "run") != "run":
        raise UsageError(f"--resume: {where} is a {data.get('mode')}, not a run; grade again instead")
    if data.get("status") == "passed":
        raise UsageError(f"--resume: run {run_id} passed; there is nothing to continue")
    old_digest = data.get("lab_digest") or {}
    if old_digest.get("vars") != digest.get("vars"):
        raise UsageError(f"--resume: the lab's vars changed since run {run_id} (or its record predates "
                         "--resume): the names it made would not match; run the lab afresh")
    notes: list[str] = []
    ledger = [e for e in data.get("ledger") or () if isinstance(e, dict)]
    target_kind = (data.get("target") or {}).get("kind")
    survived = target_kind != "emulator"
    if not survived:
        notes.append("the embedded emulator stopped with that run, so nothing it made remains: every task "
                     "runs again, with the same seed and vars")
    lab_cleanup_ran = any(c.get("registered_by") is None and c.get("status") == "passed"
                          for c in data.get("cleanup") or ())
    if survived and lab_cleanup_ran:
        notes.append("that run's lab-level cleanup ran, so every task runs again")
    old_tasks = {t.get("id"): t for t in data.get("tasks") or () if isinstance(t, dict)}
    kept: dict[str, TaskRecord] = {}
    saved: dict[str, Any] = {}
    for task in lab.tasks:
        old = old_tasks.get(task.id)
        if not survived or lab_cleanup_ran or old is None or old.get("status") != "passed":
            break
        if (old_digest.get("tasks") or {}).get(task.id) != (digest.get("tasks") or {}).get(task.id):
            notes.append(f"task '{task.id}' changed in the lab since run {run_id}: it runs again")
            break
        undone = [e for e in ledger if e.get("task") == task.id and e.get("state") != "pending"]
        if undone:
            notes.append(f"task '{task.id}' passed but its cleanup ran: it runs again")
            break
        record = task_from_json(old)
        kept[task.id] = replace(record, summary=f"passed in run {run_id} (resumed)")
        for step in (*record.steps, *record.checks):
            saved.update({k: v for k, v in step.saved.items() if not contains_redacted(v)})
    replayable = [e for e in sorted(ledger, key=seq_of)
                  if survived and e.get("state") in ("pending", "failed") and not contains_redacted(e.get("params"))]
    cleanups = tuple(prepared_from(e, str(data.get("file") or "<lab>")) for e in replayable)
    lab_vars = {k: v for k, v in (data.get("vars") or {}).items() if not contains_redacted(v)}
    if kept:
        notes.insert(0, f"kept from run {run_id}: {', '.join(kept)} (passed)")
    return Resume(previous_run=run_id, seed=int(data.get("seed") or 0), vars=lab_vars, tasks=kept, saved=saved,
                  cleanups=cleanups, notes=tuple(notes))
