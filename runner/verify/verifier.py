"""Verify one lab: plan its cases, run them side by side, each in its own account, and judge them.

Cases are independent (each has an account of its own), so a `pools.Pool` runs them as many at a time
as it has room for, the longest first; `on_case` hears of each as it ends. A case that cannot run at
all fails alone. Several labs: `start` hands every lab's cases to the pool at once, `finish` hears of
one lab's, lab by lab, so the output keeps the labs' order while no worker waits between them.
`cases.py` plans, `case_run.py` runs one case, `pools.py` runs them side by side, `judge.py` judges;
`matrix.py` and `junit.py` report a `Verdict`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
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


@dataclass(frozen=True)
class Started:
    """A lab's cases, handed to a pool: they run while the labs before it are still being reported."""

    lab: Lab
    cases: tuple[Case, ...]
    runs: Iterator[CaseRun]


def start(lab: Lab, pool: Pool) -> Started:
    cases = plan(lab)
    runnable = [(number, case) for number, case in enumerate(cases) if case.skip is None]
    # The longest first (they run the most tasks), so that the short ones fill in around them.
    runnable.sort(key=lambda item: -item[1].stop)
    return Started(lab, tuple(cases), pool.run(lab, runnable))


def finish(started: Started, on_case: Callable[[CaseRun], None] | None = None) -> Verdict:
    """Hear of each of the lab's cases as it ends, and judge them. The verdict's `seconds` run from here:
    the time that this lab adds to a verify of several, whose cases ran side by side."""
    begin = time.monotonic()
    lab, cases = started.lab, started.cases
    runs: dict[str, CaseRun] = {}
    for run in started.runs:
        runs[run.case.name] = run
        if on_case is not None:
            on_case(run)
    cells: list[Cell] = []
    for case in cases:
        cells += judge(lab, runs[case.name]) if case.name in runs else skipped(lab, case)
    ordered = tuple(runs[case.name] for case in cases if case.name in runs)
    return Verdict(lab, cases, ordered, tuple(cells), time.monotonic() - begin)


def verify(lab: Lab, pool: Pool, on_case: Callable[[CaseRun], None] | None = None) -> Verdict:
    """One lab's verify, on its own."""
    return finish(start(lab, pool), on_case)
