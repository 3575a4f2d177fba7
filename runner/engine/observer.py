"""What the run loop tells whoever watches it (the terminal, a test): events, never decisions.

A leaf of the engine. `loop.py` and `steps.py` call an `Observer`; `console.py` implements one that
prints. Observers must not raise and must not change the run.
"""

from __future__ import annotations

from typing import Any, Protocol

from runner.engine.record import RunRecord, StepRecord, TaskRecord
from runner.engine.retrying import Waiting
from runner.model import Step, Task


class Observer(Protocol):
    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None: ...

    def task_started(self, task: Task) -> None: ...

    def step_started(self, step: Step) -> None: ...

    def step_waiting(self, step: Step, summary: str, waiting: Waiting) -> None: ...

    def step_finished(self, record: StepRecord) -> None: ...

    def task_finished(self, record: TaskRecord) -> None: ...

    def cleanup_started(self, count: int) -> None: ...

    def run_finished(self, record: RunRecord) -> None: ...


class NullObserver:
    """Watches nothing: the default for library use and tests."""

    def run_started(self, lab: Any, target: Any, run_id: str, seed: int) -> None:
        pass

    def task_started(self, task: Task) -> None:
        pass

    def step_started(self, step: Step) -> None:
        pass

    def step_waiting(self, step: Step, summary: str, waiting: Waiting) -> None:
        pass

    def step_finished(self, record: StepRecord) -> None:
        pass

    def task_finished(self, record: TaskRecord) -> None:
        pass

    def cleanup_started(self, count: int) -> None:
        pass

    def run_finished(self, record: RunRecord) -> None:
        pass
