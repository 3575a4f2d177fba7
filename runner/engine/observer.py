"""What the run loop tells whoever watches it (the terminal, a test): events, never decisions.

A leaf of the engine. `loop.py` and `steps.py` call an `Observer`; `console.py` implements one that
prints. Observers must not raise and must not change the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from runner.engine.record import RunRecord, StepRecord, TaskRecord
from runner.engine.retrying import Waiting
from runner.model import Step, Task


@dataclass(frozen=True)
class Wait:
    """A step between attempts: what would end the wait, what the last attempt saw, how the wait goes."""

    goal: str  # "count greater_than 0", "error DisabledException", "success"
    seen: str  # "3 log files read, 0 events found", or why the attempt failed
    progress: Waiting


class Observer(Protocol):
    @property
    def tick(self) -> float | None:
        """How often, in seconds, it wants to hear how a wait goes during a pause (None: after each attempt)."""
        ...

    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None: ...

    def task_started(self, task: Task) -> None: ...

    def step_started(self, step: Step, params: Any) -> None:
        """A step is about to be called with `params` (rendered)."""
        ...

    def step_waiting(self, step: Step, wait: Wait) -> None: ...

    def step_finished(self, record: StepRecord) -> None: ...

    def task_finished(self, record: TaskRecord) -> None: ...

    def cleanup_started(self, count: int) -> None: ...

    def run_finished(self, record: RunRecord) -> None: ...


class NullObserver:
    """Watches nothing: the default for library use and tests."""

    tick: float | None = None

    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None:
        pass

    def task_started(self, task: Task) -> None:
        pass

    def step_started(self, step: Step, params: Any) -> None:
        pass

    def step_waiting(self, step: Step, wait: Wait) -> None:
        pass

    def step_finished(self, record: StepRecord) -> None:
        pass

    def task_finished(self, record: TaskRecord) -> None:
        pass

    def cleanup_started(self, count: int) -> None:
        pass

    def run_finished(self, record: RunRecord) -> None:
        pass
