"""The ledger: every cleanup a run registered, kept in its record as a rendered step, and read back.

The record file is the ledger. Each registered cleanup is a `LedgerEntry` (`record.py`): action,
rendered parameters, `ignore_errors`, which step registered it, `pending`/`done`/`failed`. `loop.py`
builds the entries (`ledger_of`); after a crash, `replay.py` (`labrunner cleanup RECORD`) and
`resume.py` (`--resume RECORD`) turn the pending ones back into steps that run (`prepared_from`).
Imports `steps.py` and `record.py`, never the loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner import registry
from runner.actions.aws import prepare_params
from runner.engine.record import LedgerEntry, LedgerState, StepRecord
from runner.engine.resources import cleanup_phrase
from runner.engine.steps import Prepared
from runner.model import Location, Retry, Step


def entry_for(seq: int, prepared: Prepared, state: LedgerState = "pending") -> LedgerEntry:
    """A rendered cleanup as the ledger keeps it; `prepared_from` turns it back into one that runs."""
    step = prepared.step
    retry = dataclasses.asdict(step.retry) if step.retry is not None else None
    return LedgerEntry(seq=seq, key=step.key, action=step.action, params=prepared.params,
                       registered_by=prepared.registered_by, task=step.task_id, location=str(step.location),
                       id=step.id, title=step.title, ignore_errors=step.ignore_errors,
                       expect_error=step.expect_error, retry=retry, state=state)


def ledger_of(cleanups: Sequence[tuple[Prepared | StepRecord, Any]],
              states: Mapping[int, LedgerState]) -> tuple[LedgerEntry, ...]:
    """The ledger of the cleanups registered so far (`states` by `id()` of each `Prepared`).

    A cleanup that was skipped by its `when`, or could not be rendered, when it was registered has
    nothing to replay and is not listed (the record's `cleanup` shows it).
    """
    return tuple(entry_for(seq, item, states.get(id(item), "pending"))
                 for seq, (item, _) in enumerate(cleanups) if isinstance(item, Prepared))


def _location(text: str, fallback: str) -> Location:
    rest, _, column = text.rpartition(":")
    file, _, line = rest.rpartition(":")
    if file and line.isdigit() and column.isdigit():
        return Location(file, int(line), int(column))
    return Location(fallback, 1, 1)


def _retry(raw: Mapping[str, Any]) -> Retry:
    return Retry(timeout=float(raw["timeout"]), interval=float(raw["interval"]), backoff=float(raw["backoff"]),
                 max_interval=float(raw["max_interval"]), on=tuple(raw.get("on") or ()))


def prepared_from(entry: Mapping[str, Any], lab_file: str = "<lab>") -> Prepared:
    """A ledger entry (as JSON) ready to execute again; `registry.UnknownAction` if its action is gone."""
    spec = registry.resolve(str(entry["action"]))
    params = entry.get("params") or {}
    retry = entry.get("retry")
    step = Step(
        key=str(entry["key"]), section="cleanup", task_id=entry.get("task"), action=spec.name, params=params,
        location=_location(str(entry.get("location") or ""), lab_file), id=entry.get("id"),
        title=entry.get("title"), ignore_errors=tuple(entry.get("ignore_errors") or ()),
        expect_error=tuple(entry.get("expect_error") or ()),
        retry=_retry(retry) if retry else None,
    )
    call_params = prepare_params(spec.operation, params) if spec.operation is not None else dict(params)
    return Prepared(step, spec, params, call_params, (), registered_by=entry.get("registered_by"))


def seq_of(entry: Mapping[str, Any]) -> int:
    """A ledger entry's registration order (0 when the record lacks it)."""
    value = entry.get("seq")
    return value if isinstance(value, int) else 0


def pending(data: Mapping[str, Any]) -> list[int]:
    """Indexes into `data['ledger']` of the entries still to run, newest registration first."""
    ledger = data.get("ledger") or []
    waiting = [i for i, e in enumerate(ledger) if isinstance(e, dict) and e.get("state") in ("pending", "failed")]
    return sorted(waiting, key=lambda i: seq_of(ledger[i]), reverse=True)


def describe_entries(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per ledger entry: what it does to what (`resources.cleanup_phrase`), and its action."""
    return [f"{cleanup_phrase(str(entry.get('action')), entry.get('params')) or entry.get('key')} "
            f"({entry.get('action')})" for entry in entries]
