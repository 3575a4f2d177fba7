"""The record of a run in progress, rewritten as the run goes, so that nothing the run makes is lost.

The record file is the ledger (`ledger.py`). `Checkpoint` writes it when the run starts (status
`running`) and each time a step registers a cleanup; other progress (steps, tasks, cleanups that ran)
at most every `min_interval`, since each write costs an fsync. So after a crash or `kill -9` the
record names every resource the run made, for `labrunner cleanup` (`replay.py`) and `--resume`
(`resume.py`).

Called by `loop.Runner` as the run goes and by the command that owns the record file (`finish`). The
text is made by `record_json.py`, written behind the run by `write_behind.py`, the last one in line by
`record_files.py`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.engine.record import RunRecord
from runner.engine.record_files import default_path, write_record
from runner.engine.record_json import RecordJson, record_text
from runner.engine.redaction import Redactor
from runner.engine.write_behind import WriteBehind

#: Test hook (documented in docs/reliability.md, never for users): SIGKILL the run right after the
#: record shows this many executed steps and checks, to prove a crash loses nothing.
KILL_AFTER_ENV = "LABRUNNER_TEST_KILL_AFTER_STEP"


def executed_steps(record: RunRecord) -> int:
    """Steps, checks and cleanups that ran (what the test hook counts)."""
    ran = [s for task in record.tasks for s in (*task.steps, *task.checks)] + list(record.cleanup)
    return sum(1 for step in ran if step.status != "skipped")


class Checkpoint:
    """Writes the record of a run in progress; `loop.Runner` calls it, the command calls `finish`.

    `force` is set when a cleanup was registered: those writes always happen, so the ledger never
    misses a resource. Other progress is written at most every `min_interval` seconds (a lab of
    thousands of steps does not rewrite its record thousands of times); a cleanup that ran but is not
    yet marked `done` is harmless, since replaying it meets "already gone". The writes of a run in
    progress are made behind it (`WriteBehind`); `finish` waits for them, then writes the last record.
    """

    def __init__(self, path: str | os.PathLike[str] | None, redactor: Redactor, *,
                 lab_digest: Mapping[str, Any] | None = None, resumed_from: str | None = None,
                 min_interval: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 folder: str | os.PathLike[str] = "runs") -> None:
        self.path = Path(path) if path is not None else None
        self.folder = folder  # where the record goes when no path is given (`record_files.default_path`)
        self.redactor = redactor
        self.lab_digest = lab_digest
        self.resumed_from = resumed_from
        self.min_interval = min_interval
        self.clock = clock
        self.last: RunRecord | None = None
        self._written_at: float | None = None
        self._made = RecordJson()  # the JSON of what finished, made once for all the writes
        self._behind = WriteBehind()
        hook = os.environ.get(KILL_AFTER_ENV, "")
        self.kill_after = int(hook) if hook.isdigit() else None

    def _complete(self, record: RunRecord) -> RunRecord:
        return replace(record, lab_digest=self.lab_digest, resumed_from=self.resumed_from)

    def _where(self, record: RunRecord) -> Path:
        if self.path is None:
            started = datetime.strptime(record.started, "%Y-%m-%dT%H:%M:%SZ")
            self.path = default_path(record.lab, started, record.run_id, self.folder)
        return self.path

    def due(self, force: bool = False) -> bool:
        """Whether a record handed over now would be written (the loop builds one only then)."""
        return (force or self.kill_after is not None or self._written_at is None
                or self.clock() - self._written_at >= self.min_interval)

    def __call__(self, record: RunRecord, force: bool = False) -> None:
        record = self._complete(record)
        self.last = record
        if not self.due(force):
            return
        self._behind.hand_over(self._where(record), record_text(record, self.redactor, made=self._made, compact=True))
        self._written_at = self.clock()
        if self.kill_after is not None and executed_steps(record) >= self.kill_after:
            self._behind.settle()  # "killed right after step N" means after its record is on disk
            os.kill(os.getpid(), signal.SIGKILL)

    def settle(self) -> None:
        """Wait until every record handed over is written (`WriteBehind.settle`)."""
        self._behind.settle()

    def interrupted(self, why: str) -> RunRecord | None:
        """The last record kept, marked interrupted: for a Ctrl-C that arrived where the loop cannot catch it."""
        if self.last is None:
            return None
        return replace(self.last, status="interrupted", error=why)

    def finish(self, record: RunRecord) -> Path:
        record = self._complete(record)
        self.last = record
        with contextlib.suppress(OSError):  # the last record replaces one that failed; if it fails too, that is raised
            self._behind.settle()
        return write_record(self._where(record), record, self.redactor, made=self._made)
