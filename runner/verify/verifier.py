"""Verify one lab: plan its cases, run them side by side, each in its own account, and judge them.

Cases are independent (each has an account of its own), so a `pools.Pool` runs them as many at a time
as it has room for, the longest first; `on_case` hears of each as it ends. A case that cannot run at
all fails alone. `cases.py` plans, `case_run.py` runs one case, `pools.py` runs them side by side,
`judge.py` judges; `matrix.py` and `junit.py` report a `Verdict`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from runner.model import Lab
from runner.verify.case_run import CaseRun
from runner.verify.cases import Case, plan
from runner.verify.judge import Cell, disagreements, judge, skipped
from runner.verify.pools import Pool


@dataclass(frozen=True)
class Verdict:
    """A lab's verify: its cases, what each did, every cell, and how long it all took."""

    lab: Lab
    cases: tuple[Case, ...]
    runs: tuple[CaseRun, ...]
    cells: tuple[Cell, ...]
    seconds: float

    @property
    def disagreements(self) -> list[Cell]:
        return disagreements(self.cells)

    @property
    def passed(self) -> bool:
        return not self.disagreements


def verify(lab: Lab, pool: Pool, on_case: Callable[[CaseRun], None] | None = None) -> Verdict:
    begin = time.monotonic()
    cases = plan(lab)
    runnable = [(number, case) for number, case in enumerate(cases) if case.skip is None]
    # The longest first (they run the most tasks), so that the short ones fill in around them.
    runnable.sort(key=lambda item: -item[1].stop)
    runs: dict[str, CaseRun] = {}
    for run in pool.run(lab, runnable):
        runs[run.case.name] = run
        if on_case is not None:
            on_case(run)
    cells: list[Cell] = []
    for case in cases:
        cells += judge(lab, runs[case.name]) if case.name in runs else skipped(lab, case)
    ordered = tuple(runs[case.name] for case in cases if case.name in runs)
    return Verdict(lab, tuple(cases), ordered, tuple(cells), time.monotonic() - begin)
