"""Live terminal output of a run: an `Observer` (see `observer.py`) that prints, and decides nothing.

What a person watching sees, at one of three levels (`quiet`: only the result and what failed;
`normal`; `verbose`: also every AWS request with its parameters and response, as `calls.py` reports
them, and the params and result of a step that made none):
- each task as it starts; each step as it starts, then its status and duration; a cleanup is named
  by what it does to what (`resources.cleanup_phrase`: "delete bucket my-bucket"), not by its step;
- a step that waits (`retry`): on a terminal, one live line rewritten in place (`terminal.LiveLine`)
  saying what it waits for, the time elapsed and left, the attempt, and what the last attempt saw;
  elsewhere (CI, a pipe), one line when the wait starts, then "still waiting" at most every 30 s,
  then the outcome;
- for a step that failed: where it is in the YAML, every failed expectation with expected and
  actual, the error, and the lab's hint (a task's advice that failed says "not followed", with its
  message: it is worth no points, and `quiet` leaves it out);
- at the end, the result, and what the run made with what became of each (`resources.made`), with
  its page in the AWS console when the target is AWS.
All text goes through the run's `Redactor`, then `safe_text.escape_controls` (what an account holds,
such as a tag or an error message, must not move the cursor or recolour the terminal) and
`workflow_commands.inert` (nor be read as a command by GitHub Actions); colour
(`terminal.Style`) is added last, to the words that carry a status.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal, TextIO

from runner.durations import format_duration
from runner.engine.assertions import failed_lines
from runner.engine.observer import Wait
from runner.engine.record import NOT_SELECTED, RunRecord, StepRecord, TaskRecord
from runner.engine.redaction import Redactor
from runner.engine.resources import cleanup_phrase, made
from runner.engine.terminal import LiveLine, Style
from runner.model import Step, Task
from runner.safe_text import escape_controls
from runner.workflow_commands import inert

Level = Literal["quiet", "normal", "verbose"]
LEVELS: tuple[Level, ...] = ("quiet", "normal", "verbose")

_STATUS = {"passed": "passed", "failed": "FAILED", "error": "ERROR", "skipped": "skipped",
           "interrupted": "INTERRUPTED", "running": "running"}
_ADVICE_NOT_FOLLOWED = "not followed (advice, no points)"
#: What opens a step's line: `-` a step or cleanup, `?` a check, `*` advice.
_PREFIX = {"checks": "?", "advice": "*"}
#: Without a terminal, a wait in progress is reported at most this often (seconds).
STILL_WAITING_EVERY = 30.0
#: How much of one request's parameters or response `verbose` shows.
SHOWN_LIMIT = 2000
_INDENT = "      "

duration = format_duration
Part = str | tuple[str, str]  # text, or (text, the role it is painted in)


class Console:
    """Prints a run as it happens to `out`.

    `live`: `out` is a terminal, where a wait is one line rewritten in place (`terminal.LiveLine`).
    `links(service)`: whether what the run made in that service has an AWS console page to name
    (`Target.on_aws`).
    """

    def __init__(self, out: TextIO, redactor: Redactor | None = None, *, style: Style | None = None,
                 live: LiveLine | None = None, level: Level = "normal",
                 links: Callable[[str], bool] | None = None) -> None:
        self.out = out
        self.redact = redactor or Redactor()
        self.style = style or Style()
        self.live = live
        self.level = level
        self.links = links
        #: Hear of a wait every second of its pauses: a terminal's line ticks, and elsewhere "still
        #: waiting" comes every 30 s even when the lab pauses longer between attempts.
        self.tick: float | None = None if level == "quiet" else 1.0
        self._lock = threading.RLock()  # botocore reports requests from other threads (S3 transfers)
        self._open = False  # the current line holds a step awaiting its status
        self._live_shown = False  # ... and it is the live line of its wait
        self._head = ""  # the line that names the current step, as printed when it started
        self._step_name = ""
        self._task_number = 0
        self._task_count = 0
        self._task_header: list[Part] | None = None  # quiet: printed before the task's first failure
        self._reported_at: float | None = None  # a wait's elapsed time when last printed (no terminal)
        self._requests = 0  # AWS requests reported since the current step started

    # ---- writing

    def _safe(self, text: str, *, one_line: bool = False) -> str:
        return inert(escape_controls(self.redact.text(text), multiline=not one_line))

    def _render(self, parts: tuple[Part, ...]) -> str:
        if not self.style.colour:  # the common case, made safe in one piece: it runs twice a step
            return self._safe("".join(part[0] if isinstance(part, tuple) else part for part in parts))
        return "".join(self.style.paint(self._safe(part[0]), part[1]) if isinstance(part, tuple)
                       else self._safe(part) for part in parts)

    def _write(self, text: str) -> None:
        with self._lock:
            self.out.write(text)
            self.out.flush()

    def line(self, *parts: Part) -> None:
        """A line of its own: first ends a step's line left open (its status comes on a later line)."""
        with self._lock:
            if self._open:
                self._write("\n")
                self._open = False
            self._write(self._render(parts) + "\n")

    def line_break(self) -> str:
        """What a message to the same terminal on another stream (stderr) starts with, so as not to land at
        the end of a step's line: a newline when one is open there, which is then done with.

        Called from a signal handler, so it writes nothing itself: a write to `out` could land inside one.
        """
        if self.live is not None and self._open:
            self._open = self._live_shown = False
            return "\n"
        return ""

    @property
    def _quiet(self) -> bool:
        return self.level == "quiet"

    # ---- the Observer protocol

    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None:
        self._task_count = len(lab.tasks)
        if self._quiet:
            return
        self.line(("labrunner run", "heading"), f" {lab.name}: {lab.title}")
        self.line(f"  target {target.describe()}  |  run {run_id}  |  seed {seed} (--seed {seed} replays names)")

    def task_started(self, task: Task) -> None:
        self._task_number += 1
        points = f", {task.points:g} point{'s' if task.points != 1 else ''}"
        header: list[Part] = [(f"[{self._task_number}/{self._task_count}] {task.id}", "heading"),
                              f": {task.title}{points}"]
        if self._quiet:
            self._task_header = header
            return
        self.line(*header)

    def step_started(self, step: Step, params: Any) -> None:
        with self._lock:
            self._requests = 0
            self._reported_at = None
            if self._quiet:
                return
            if self._open:
                self._write("\n")
            self._step_name = self._label(step.section, step.title, step.id, step.key, step.action, params)
            self._head = f"  {_prefix(step.section)} {self._step_name} ({step.action}) ... "
            self._write(self._render((self._head,)))
            self._open = True

    def step_waiting(self, step: Step, wait: Wait) -> None:
        if self._quiet:
            return
        progress = wait.progress
        elapsed, left = format_duration(progress.elapsed, whole=True), format_duration(progress.left, whole=True)
        with self._lock:
            if self.live is not None:
                # A line too wide is cut at its end, so what changes comes first and what the wait is
                # for (fixed, and in the lab) last: on 80 columns the ticking clock must stay in view.
                text = (f"  {_prefix(step.section)} {self._step_name}: {elapsed} elapsed, {left} left, attempt "
                        f"{progress.attempt}: {wait.seen}; waiting for {wait.goal}")
                self._write(self.live.show(self._safe(text, one_line=True),
                                           lambda shown: self.style.paint(shown, "waiting")))
                self._open = self._live_shown = True
                return
            seen = self._safe(wait.seen, one_line=True)
            if self._reported_at is None:
                total = format_duration(progress.elapsed + progress.left, whole=True)
                said = f"waiting up to {total} for {wait.goal}; attempt {progress.attempt}: {seen}"
                if self._open:
                    self._write(self.style.paint(self._safe(said, one_line=True), "waiting") + "\n")
                    self._open = False
                else:
                    self.line((_INDENT + said, "waiting"))
                self._reported_at = progress.elapsed
            elif progress.elapsed - self._reported_at >= STILL_WAITING_EVERY:
                self.line((f"{_INDENT}still waiting for {self._step_name}, {elapsed} elapsed, {left} left; "
                            f"attempt {progress.attempt}: {seen}", "waiting"))
                self._reported_at = progress.elapsed

    def step_finished(self, record: StepRecord) -> None:
        advice = record.section == "advice"
        # Advice is worth no points: a failed one is advice to read, not a failure.
        status = _ADVICE_NOT_FOLLOWED if advice and record.failed else _STATUS[record.status]
        timing = "" if record.status == "skipped" else f" {duration(record.duration_s)}"
        attempts = f", {record.attempts} attempts" if record.attempts > 1 else ""
        ignored = f" (ignored {record.ignored_error})" if record.ignored_error else ""
        reason = ""
        if record.status == "skipped" and record.summary:
            reason = f" ({record.summary.removeprefix('skipped: ')})"
        outcome: tuple[Part, ...] = ((status, "hint" if advice else record.status),
                                     f"{timing}{attempts}{ignored}{reason}")
        with self._lock:
            if self._quiet:
                if record.failed and not advice:
                    if self._task_header is not None:
                        self.line(*self._task_header)
                        self._task_header = None
                    self.line(self._full_name(record), *outcome)
                    self._details(record)
                return
            if self.level == "verbose" and self._requests == 0 and record.status != "skipped":
                self._shown_exchange(record)  # a step that made no AWS request: its own params and result
            if self._open and self._live_shown and self.live is not None:  # the wait's line becomes the outcome
                self._write(self.live.clear() + self._render((self._head, *outcome)) + "\n")
            elif self._open:
                self._write(self._render(outcome) + "\n")
            else:
                self.line(self._full_name(record), *outcome)
            self._open = self._live_shown = False
            if record.failed:
                self._details(record)

    def _full_name(self, record: StepRecord) -> str:
        label = self._label(record.section, record.title, record.id, record.key, record.action, record.params)
        return f"  {_prefix(record.section)} {label} ({record.action}) ... "

    def _details(self, record: StepRecord) -> None:
        self.line((f"{_INDENT}at {record.location}", "muted"))
        failed = failed_lines(record.assertions, indent=_INDENT)
        for line in failed:
            self.line(line)
        if record.error is not None:
            code = f"{record.error.code}: " if record.error.code else ""
            self.line(f"{_INDENT}{record.error.kind} error: {code}{record.error.message}")
        elif not failed and record.summary:
            self.line(f"{_INDENT}{record.summary}")
        if record.hint:
            self.line((f"{_INDENT}{'advice' if record.section == 'advice' else 'hint'}: {record.hint}", "hint"))

    def task_finished(self, record: TaskRecord) -> None:
        if record.status == "skipped":
            if not self._quiet:
                self.line(f"  task {record.id} ", ("skipped", "skipped"),
                           f" ({(record.summary or '').removeprefix('skipped: ')})")
            return
        self._task_header = None
        if self._quiet and record.status not in ("failed", "error"):
            return
        self.line(f"  task {record.id} ", (_STATUS[record.status], record.status),
                   f" ({record.score:g}/{record.points:g} points, {duration(record.duration_s)})")

    def cleanup_started(self, count: int) -> None:
        if count and not self._quiet:
            self.line(("cleanup", "heading"), f" ({count} step{'s' if count != 1 else ''}, last registered first)")

    def run_finished(self, record: RunRecord) -> None:
        passed = sum(1 for t in record.tasks if t.status == "passed")
        ran = sum(1 for t in record.tasks if t.summary != NOT_SELECTED)
        left = [r for r in record.cleanup if r.failed]
        self.line(("result:", "heading"), " ", (_STATUS[record.status], record.status),
                   f": {passed} of {ran} tasks passed, {record.score:g}/{record.points:g} points, "
                   f"{duration(record.duration_s)}")
        if record.error:
            self.line(f"  {record.error}")
        if left:
            names = ", ".join(self._label(r.section, r.title, r.id, r.key, r.action, r.params) for r in left)
            self.line(("  " + f"{len(left)} cleanup step(s) failed: resources may remain ({names})", "failed"))
        self.made(((e.action, e.params, e.state) for e in record.ledger), record.target.region,
                  record.target.account)

    def made(self, cleanups: Iterable[tuple[str, Any, str]], region: str, account: str | None) -> None:
        """What a run made, from its cleanups `(action, params, ledger state)`, and what became of each
        (`resources.made`); when quiet, only what is left."""
        found = made(cleanups, region=region, account=account, links=self.links)
        if self._quiet:
            found = [m for m in found if not m.gone]
        if not found:
            return
        self.line(("made by this run:", "heading"))
        names = [self._safe(f"{m.label} {m.name}", one_line=True) for m in found]  # measured as shown
        width = max(len(name) for name in names)
        for m, name in zip(found, names, strict=True):
            link = f"  {m.link}" if m.link else ""
            self.line(f"  {name.ljust(width)}  ", (m.state, "passed" if m.gone else "failed"), link)

    # ---- verbose: AWS requests (`calls.py` reports them) and steps that made none

    def request(self, operation: str, params: Any) -> None:
        if self.level != "verbose":
            return
        with self._lock:
            self._requests += 1
            self.line((f"{_INDENT}> {operation} {self._shown(params)}", "muted"))

    def response(self, operation: str, status: int | None, body: Any) -> None:
        if self.level != "verbose":
            return
        code = f" {status}" if status is not None else ""
        self.line((f"{_INDENT}< {operation}{code} {self._shown(body)}", "muted"))

    def _shown_exchange(self, record: StepRecord) -> None:
        self.line((f"{_INDENT}> {record.action} {self._shown(record.params)}", "muted"))
        if record.result is not None:
            self.line((f"{_INDENT}< {record.action} {self._shown(record.result)}", "muted"))

    def _shown(self, value: Any) -> str:
        """A value on one line, as the record would show it (the run's `Redactor`), cut to `SHOWN_LIMIT`."""
        text = json.dumps(self.redact(value), ensure_ascii=False, default=str, separators=(", ", ": "))
        if len(text) > SHOWN_LIMIT:
            text = f"{text[:SHOWN_LIMIT]}... ({len(text) - SHOWN_LIMIT} more characters)"
        return escape_controls(text, multiline=False)

    # ---- names

    @staticmethod
    def _label(section: str, title: str | None, step_id: str | None, key: str, action: str, params: Any) -> str:
        """How a line names a step: its title or id; a cleanup by what it does to what; else its key."""
        label = title or step_id
        if label is None and section == "cleanup":
            label = cleanup_phrase(action, params)
        return label or key


def _prefix(section: str) -> str:
    return _PREFIX.get(section, "-")
