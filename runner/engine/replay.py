"""`labrunner cleanup RECORD`: a record's pending cleanups run again, newest first, after a crash.

Each entry of the ledger (`ledger.py`) still `pending` or `failed` is run (`ledger.prepared_from`);
it is `done` when it passes or meets an error saying the resource is already gone (`is_gone`), and the
record file is rewritten after each one (`record_files.write_text`), so running it again does nothing.
The command that owns the record (the target, the prompt) calls `replay`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner import registry
from runner.engine.ledger import pending, prepared_from
from runner.engine.record import LedgerState, StepRecord
from runner.engine.record_files import write_text
from runner.engine.record_json import json_text, step_to_json
from runner.engine.redaction import Redactor, contains_redacted
from runner.engine.steps import Prepared

#: Error codes saying a resource is already gone: a cleanup meeting one has nothing left to do.
_GONE_EXACT = frozenset({"NotFound", "404", "NoSuchEntity", "ResourceNotFoundException"})
#: KMS refuses to schedule deletion of a key already pending deletion: for that cleanup it means done.
_GONE_FOR_ACTION = {"aws.kms.schedule_key_deletion": frozenset({"KMSInvalidStateException"})}


def is_gone(code: str | None, action: str = "") -> bool:
    """Whether an error code means the thing a cleanup removes no longer exists."""
    if not code:
        return False
    base = code.rsplit(".", 1)[-1]
    return (base in _GONE_EXACT or base.startswith("NoSuch") or base.endswith("NotFound")
            or base.endswith("NotFoundException") or base in _GONE_FOR_ACTION.get(action, ()))


@dataclass(frozen=True)
class Replayed:
    """One entry replayed: its new state, the step that ran (None when none could run), and why."""

    entry: Mapping[str, Any]
    state: LedgerState
    record: StepRecord | None
    why: str


def replay(data: dict[str, Any], path: str | os.PathLike[str], execute: Callable[[Prepared], StepRecord],
           redactor: Redactor, on_done: Callable[[Replayed], None] | None = None) -> list[Replayed]:
    """Run the record's pending cleanups newest first, rewriting the record after each one.

    An entry whose action meets an "already gone" error (`is_gone`) is done; one whose parameters were
    redacted (a secret) cannot be replayed and stays `failed`. The record's `cleanup` list grows by
    each step run here, so it shows what the cleanup command did.
    """
    results: list[Replayed] = []
    ledger: list[dict[str, Any]] = data.setdefault("ledger", [])
    for index in pending(data):
        entry = ledger[index]
        record: StepRecord | None = None
        if contains_redacted(entry.get("params")):
            state: LedgerState = "failed"
            why = "a parameter was a secret and is redacted in the record; remove this resource by hand"
        else:
            try:
                prepared = prepared_from(entry, str(data.get("file") or "<lab>"))
            except registry.UnknownAction as exc:
                state, why = "failed", exc.message
            else:
                record = execute(prepared)
                code = record.error.code if record.error is not None else None
                if record.status == "passed":
                    state, why = "done", "removed" if not record.ignored_error else f"ignored {record.ignored_error}"
                elif is_gone(code, prepared.step.action):
                    state, why = "done", f"already gone ({code})"
                else:
                    state, why = "failed", record.summary or record.status
        entry["state"] = state
        if record is not None:
            data.setdefault("cleanup", []).append(step_to_json(record, redactor))
        write_text(path, json_text(data, indent=True) + "\n")
        done = Replayed(entry, state, record, why)
        results.append(done)
        if on_done is not None:
            on_done(done)
    return results
