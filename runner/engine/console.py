"""Live terminal output of a run: an `Observer` (see `observer.py`) that prints, and decides nothing.

Each task as it starts; each step as it starts and then its status and duration; between attempts of
a retried step, why the attempt failed, the pause and the time left; for a step that failed, where it
is in the YAML, every failed expectation with expected and actual, the error and the lab's hint (a
task's advice that failed says "not followed", with its message: it is worth no points).
Everything printed goes through the run's `Redactor`, then `safe_text.escape_controls`: what an account
holds (a key, a tag, an error message) cannot move the cursor or retitle the terminal. Plain ASCII, so
logs and CI consoles read it.
"""

from __future__ import annotations

from typing import Any, TextIO

from runner.durations import format_duration
from runner.engine.assertions import failed_lines
from runner.engine.record import NOT_SELECTED, RunRecord, StepRecord, TaskRecord
from runner.engine.redaction import Redactor
from runner.engine.retrying import Waiting
from runner.model import Step, Task
from runner.safe_text import escape_controls

_STATUS = {"passed": "passed", "failed": "FAILED", "error": "ERROR", "skipped": "skipped",
           "interrupted": "INTERRUPTED"}

_ADVICE_NOT_FOLLOWED = "not followed (advice, no points)"
#: What opens a step's line: `-` a step or cleanup, `?` a check, `*` advice.
_PREFIX = {"checks": "?", "advice": "*"}


duration = format_duration


class Console:
    """Prints a run as it happens to `out`."""

    def __init__(self, out: TextIO, redactor: Redactor | None = None) -> None:
        self.out = out
        self.redact = redactor or Redactor()
        self._open = False  # a step's line is waiting for its status
        self._task_number = 0
        self._task_count = 0

    def _write(self, text: str) -> None:
        self.out.write(escape_controls(self.redact.text(text)))
        self.out.flush()

    def _line(self, text: str) -> None:
        if self._open:
            self._write("\n")
            self._open = False
        self._write(text + "\n")

    # ---- the Observer protocol

    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None:
        self._task_count = len(lab.tasks)
        self._line(f"labrunner run {lab.name}: {lab.title}")
        self._line(f"  target {target.describe()}  |  run {run_id}  |  seed {seed} (--seed {seed} replays names)")

    def task_started(self, task: Task) -> None:
        self._task_number += 1
        points = f", {task.points:g} point{'s' if task.points != 1 else ''}"
        self._line(f"[{self._task_number}/{self._task_count}] {task.id}: {task.title}{points}")

    def step_started(self, step: Step) -> None:
        if self._open:
            self._write("\n")
        self._write(f"  {self._prefix(step)} {self._name(step.label, step.key, step.action)} ... ")
        self._open = True

    def step_waiting(self, step: Step, summary: str, waiting: Waiting) -> None:
        self._line(f"      attempt {waiting.attempt} not yet: {summary}")
        self._line(f"      retrying in {duration(waiting.pause)} ({duration(waiting.remaining)} left after that)")
        self._write(f"  {self._prefix(step)} {self._name(step.label, step.key, step.action)} ... ")
        self._open = True

    def step_finished(self, record: StepRecord) -> None:
        # Advice is worth no points: a failed one is advice to read, not a failure.
        status = _ADVICE_NOT_FOLLOWED if record.section == "advice" and record.failed else _STATUS[record.status]
        timing = "" if record.status == "skipped" else f" {duration(record.duration_s)}"
        attempts = f", {record.attempts} attempts" if record.attempts > 1 else ""
        ignored = f" (ignored {record.ignored_error})" if record.ignored_error else ""
        reason = ""
        if record.status == "skipped" and record.summary:
            reason = f" ({record.summary.removeprefix('skipped: ')})"
        if self._open:
            self._write(f"{status}{timing}{attempts}{ignored}{reason}\n")
            self._open = False
        else:
            prefix = _PREFIX.get(record.section, "-")
            name = self._name(record.label, record.key, record.action)
            self._line(f"  {prefix} {name} ... {status}{timing}{attempts}{ignored}{reason}")
        if record.failed:
            self._details(record)

    def _details(self, record: StepRecord) -> None:
        self._line(f"      at {record.location}")
        failed = failed_lines(record.assertions, indent="      ")
        for line in failed:
            self._line(line)
        if record.error is not None:
            code = f"{record.error.code}: " if record.error.code else ""
            self._line(f"      {record.error.kind} error: {code}{record.error.message}")
        elif not failed and record.summary:
            self._line(f"      {record.summary}")
        if record.hint:
            self._line(f"      {'advice' if record.section == 'advice' else 'hint'}: {record.hint}")

    def task_finished(self, record: TaskRecord) -> None:
        status = _STATUS[record.status]
        if record.status == "skipped":
            self._line(f"  task {record.id} skipped ({(record.summary or '').removeprefix('skipped: ')})")
            return
        self._line(f"  task {record.id} {status} ({record.score:g}/{record.points:g} points, "
                   f"{duration(record.duration_s)})")

    def cleanup_started(self, count: int) -> None:
        if count:
            self._line(f"cleanup ({count} step{'s' if count != 1 else ''}, last registered first)")

    def run_finished(self, record: RunRecord) -> None:
        passed = sum(1 for t in record.tasks if t.status == "passed")
        ran = sum(1 for t in record.tasks if t.summary != NOT_SELECTED)
        left = [r for r in record.cleanup if r.failed]
        self._line(f"result: {_STATUS[record.status]}: {passed} of {ran} tasks passed, "
                   f"{record.score:g}/{record.points:g} points, {duration(record.duration_s)}")
        if record.error:
            self._line(f"  {record.error}")
        if left:
            self._line(f"  {len(left)} cleanup step(s) failed: resources may remain "
                       f"({', '.join(r.label for r in left)})")

    @staticmethod
    def _name(label: str, key: str, action: str) -> str:
        if label == action:  # an unnamed step: its key says where it is
            label = f"cleanup of {key.removesuffix('.cleanup')}" if key.endswith(".cleanup") else key
        return f"{label} ({action})"

    @staticmethod
    def _prefix(step: Step) -> str:
        return _PREFIX.get(step.section, "-")
