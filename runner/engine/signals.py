"""Ctrl-C and SIGTERM during a run: stop the step, clean up, save the record; twice: skip the cleanup.

`labrunner run` (`runner.commands.run`) installs `Interrupts` around `Runner.run` (main thread only;
the previous handlers come back afterwards) and wraps the console in `Interrupts.watch`, an observer
that tells it which phase the loop is in. The loop already turns a `KeyboardInterrupt` into an
`interrupted` run whose cleanups still run, and a `KeyboardInterrupt` during a cleanup into "skip the
rest"; this module decides when a signal becomes one:

- during the tasks, the first signal raises at once (stopping the current call, or a retry's sleep);
- during the cleanup, the first signal (if none came before) only marks the run interrupted, and the
  next one raises inside the running cleanup step, so the loop skips the rest; a signal that arrives
  between two cleanup steps is held until the next step starts, where the loop can catch it;
- while the record is being written (`closing`), signals are noted and never raise: the record is
  always saved.
SIGTERM is treated as Ctrl-C, so `kill` and CI cancellations clean up too.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Literal

from runner.engine.observer import Wait
from runner.engine.record import RunRecord, StepRecord, TaskRecord
from runner.model import Step, Task

Phase = Literal["tasks", "stopping", "cleanup", "closing"]
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def to_stderr(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stderr must not stop the cleanup
        pass


class Interrupts:
    """Counts SIGINT/SIGTERM and raises `KeyboardInterrupt` where the run loop can act on it."""

    def __init__(self, notify: Callable[[str], None] = to_stderr) -> None:
        self.notify = notify
        self.count = 0
        self.phase: Phase = "tasks"
        self.skip_cleanup = False  # a second signal asked to skip the remaining cleanups
        self._in_step = False
        self.names: list[str] = []

    @property
    def interrupted(self) -> bool:
        return self.count > 0

    @property
    def reason(self) -> str:
        name = self.names[0] if self.names else "SIGINT"
        return f"interrupted by {'the user (Ctrl-C)' if name == 'SIGINT' else name}"

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        self.count += 1
        try:
            self.names.append(signal.Signals(signum).name)
        except ValueError:
            self.names.append(str(signum))
        if self.phase == "closing":
            self.notify("interrupted: saving the record first")
            return
        if self.phase == "tasks":
            self.phase = "stopping"
            self.notify("interrupted: stopping the current step, then cleaning up "
                        "(press Ctrl-C again to skip the cleanup)")
            raise KeyboardInterrupt
        if self.count == 1:  # the first signal, during a cleanup that was running anyway
            self.notify("interrupted: finishing the cleanup (press Ctrl-C again to skip it)")
            return
        if not self.skip_cleanup:
            self.skip_cleanup = True
            self.notify("interrupted again: skipping the remaining cleanup; "
                        "`labrunner cleanup RECORD` removes what is left")
        if self.phase == "cleanup" and self._in_step:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupts]:
        """Handle SIGINT and SIGTERM while the block runs (only the main thread can)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self.handle) for s in SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def watch(self, inner: Any) -> Watch:
        return Watch(inner, self)


class Watch:
    """An observer that forwards every event to `inner` and tells `Interrupts` the loop's phase.

    Unlike other observers it may raise: a held second Ctrl-C is raised when the next cleanup step
    starts, inside the loop's handler for it.
    """

    def __init__(self, inner: Any, interrupts: Interrupts) -> None:
        self._inner = inner
        self._interrupts = interrupts

    def __getattr__(self, name: str) -> Any:  # events added to the Observer protocol later
        return getattr(self._inner, name)

    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None:
        self._inner.run_started(lab, target, run_id, seed)

    def task_started(self, task: Task) -> None:
        self._inner.task_started(task)

    @property
    def tick(self) -> float | None:
        tick: float | None = self._inner.tick
        return tick

    def step_started(self, step: Step, params: Any) -> None:
        interrupts = self._interrupts
        if interrupts.phase == "cleanup":
            interrupts._in_step = True
            if interrupts.skip_cleanup:
                raise KeyboardInterrupt
        self._inner.step_started(step, params)

    def step_waiting(self, step: Step, wait: Wait) -> None:
        self._inner.step_waiting(step, wait)

    def step_finished(self, record: StepRecord) -> None:
        self._interrupts._in_step = False
        self._inner.step_finished(record)

    def task_finished(self, record: TaskRecord) -> None:
        self._inner.task_finished(record)

    def cleanup_started(self, count: int) -> None:
        self._interrupts.phase = "cleanup"
        self._inner.cleanup_started(count)

    def run_finished(self, record: RunRecord) -> None:
        self._interrupts.phase = "closing"
        self._inner.run_finished(record)
