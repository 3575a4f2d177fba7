"""What `labrunner verify` concludes: each case's grade of each task against what the case expects.

One `Cell` per case, phase and task. A cell agrees, disagrees (and then names the check behind it:
the one that failed where full marks were expected, or what credited the task where 0 was), is
dependent (a task after a left-out one that needed it: its steps failed, a value it needs is missing,
or it has no steps of its own), is skipped (the case, or the cell, means nothing), or is not run (the
case stops before the task). `cases.py` says what is expected; `case_run.py` did the grading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from runner.engine.record import StepRecord, TaskRecord
from runner.model import Lab, Task
from runner.verify.case_run import CaseRun
from runner.verify.cases import Case, Expect, Phase

Verdict = Literal["agrees", "disagrees", "dependent", "skipped", "not-run"]
NO_CHECKS = "the task has no checks: no grade ever scores it"
#: What the grade mode says of a check that needs a value an earlier check did not save.
_NEEDS = "not checked: needs"


@dataclass(frozen=True)
class Cell:
    case: Case
    phase: Phase
    task: Task
    expect: Expect
    verdict: Verdict
    graded: TaskRecord | None = None
    reason: str = ""  # disagrees: the check behind it; otherwise why the cell is what it is

    @property
    def row(self) -> str:
        """The matrix row: the case, and the phase when the case has two."""
        return self.case.title + (" (after clean-up)" if self.phase == "after-clean-up" else "")


def judge(lab: Lab, run: CaseRun) -> list[Cell]:
    """Every cell of one case that ran (or was skipped: then `run` holds no grades)."""
    case = run.case
    cells = []
    for phase in case.phases:
        for index, task in enumerate(lab.tasks):
            cells.append(_cell(case, phase, task, case.expect(lab, index), run))
    return cells


def skipped(lab: Lab, case: Case) -> list[Cell]:
    """The cells of a case that means nothing: each skipped, with the case's reason."""
    assert case.skip is not None
    return [Cell(case, phase, task, "none", "skipped", reason=case.skip) for phase in case.phases for task in lab.tasks]


def _cell(case: Case, phase: Phase, task: Task, expect: Expect, run: CaseRun) -> Cell:
    if expect == "none":
        return Cell(case, phase, task, expect, "not-run", reason=f"the case stops at task {case.task}")
    if not task.checks:
        return Cell(case, phase, task, expect, "skipped", reason=NO_CHECKS)
    graded = run.grades.get(phase, {}).get(task.id)
    if graded is None:
        why = run.error or "it was not graded"
        return Cell(case, phase, task, expect, "disagrees", reason=f"the case did not get this far: {why}")
    full = graded.status == "passed"
    steps = run.steps.get(task.id)
    if expect == "zero":
        if full:
            return Cell(case, phase, task, expect, "disagrees", graded, credit(graded))
        return Cell(case, phase, task, expect, "agrees", graded)
    if full:
        return Cell(case, phase, task, expect, "agrees", graded)
    if expect == "full-or-dependent":
        needed = _dependence(task, steps, graded)
        if needed is not None:
            return Cell(case, phase, task, expect, "dependent", graded, needed)
    failed = _failed_step(steps)
    if failed is not None and phase == "as-it-goes":
        reason = f"its own steps failed, so the case could not be graded: {_says(failed, 'step')}"
    else:
        reason = shortfall(graded)
    return Cell(case, phase, task, expect, "disagrees", graded, reason)


def credit(graded: TaskRecord) -> str:
    """What gave a task its marks: its checks (named), or its evidence once they failed (named)."""
    if graded.credited_by == "evidence":
        return "its checks failed, and its evidence credited it: " + _names(graded.evidence)
    return "every check passed: " + _names(graded.checks)


def shortfall(graded: TaskRecord) -> str:
    """Why a task did not get its marks: its first failed check, and its first failed evidence."""
    check = next((s for s in graded.checks if s.failed), None)
    parts = [_says(check, "check")] if check is not None else [graded.summary or graded.status]
    evidence = next((s for s in graded.evidence if s.failed), None)
    if evidence is not None:
        parts.append(f"and no evidence: {_says(evidence, 'evidence')}")
    return "; ".join(parts)


def _dependence(task: Task, steps: TaskRecord | None, graded: TaskRecord) -> str | None:
    """Why a task after a left-out one lost its marks because it needed that task, or None."""
    failed = _failed_step(steps)
    if failed is not None:
        return f"needs the left-out task: {_says(failed, 'step')}"
    needs = next((s for s in graded.checks if (s.summary or "").startswith(_NEEDS)), None)
    if needs is not None:
        return f"needs the left-out task: {_says(needs, 'check')}"
    if not task.steps:
        return "it has no steps of its own: what it grades comes from earlier tasks"
    return None


def _failed_step(steps: TaskRecord | None) -> StepRecord | None:
    return next((s for s in steps.steps if s.failed), None) if steps is not None else None


def _names(steps: Sequence[StepRecord]) -> str:
    return ", ".join(f"'{_label(step)}'" for step in steps)


def _label(step: StepRecord) -> str:
    return step.id or step.title or step.key


def _says(step: StepRecord, kind: str) -> str:
    return f"{kind} '{_label(step)}' {step.status}: {step.summary or step.status}"


def disagreements(cells: Sequence[Cell]) -> list[Cell]:
    return [cell for cell in cells if cell.verdict == "disagrees"]
