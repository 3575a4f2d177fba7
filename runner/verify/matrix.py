"""A lab's verify as text: the cases × tasks matrix, then each disagreement with the check behind it.

Reads a `verifier.Verdict` and decides nothing. A cell is the score the task was given: where the
case expected full marks or 0 and got it, the plain score; `!` before a score that disagrees; `dep` a
task that needs the left-out one; `-` a task the case does not run; `n/a` a cell that means nothing
(a task without checks). Plain ASCII; what an account wrote passes through `safe_text.escape_controls`.
"""

from __future__ import annotations

from runner.durations import format_duration
from runner.safe_text import escape_controls
from runner.verify.judge import Cell
from runner.verify.verifier import Verdict

_MARK = {"dependent": "dep", "not-run": "-", "skipped": "n/a"}


def cell_text(cell: Cell) -> str:
    if cell.verdict in _MARK:
        return _MARK[cell.verdict]
    score = f"{cell.graded.score:g}" if cell.graded is not None else "?"
    return f"!{score}" if cell.verdict == "disagrees" else score


def render(verdict: Verdict) -> str:
    lab = verdict.lab
    numbers = [str(i) for i in range(1, len(lab.tasks) + 1)]
    rows: dict[str, list[Cell]] = {}
    for cell in verdict.cells:
        rows.setdefault(cell.row, []).append(cell)
    names = {case.title: case for case in verdict.cases}
    width = max(len(row) for row in rows)
    columns = [max(4, len(n), *(len(cell_text(row[i])) for row in rows.values())) for i, n in enumerate(numbers)]
    lines = [f"{'case':<{width}}  " + " ".join(f"{n:>{w}}" for n, w in zip(numbers, columns, strict=True))]
    for row, cells in rows.items():
        case = names.get(row)
        if case is not None and case.skip is not None:
            lines.append(f"{row:<{width}}  (skipped: {case.skip})")
            continue
        shown = (f"{cell_text(cell):>{w}}" for cell, w in zip(cells, columns, strict=True))
        lines.append(f"{row:<{width}}  " + " ".join(shown))
    lines.append("")
    lines.append("tasks: " + ", ".join(f"{n} {task.id} ({task.points:g})" for n, task in zip(numbers, lab.tasks,
                                                                                            strict=True)))
    lines.append("a cell is the task's score, which the case expects to be full marks or 0; !: it is not; "
                 "dep: it needs the left-out task; -: not run; n/a: no checks")
    found = verdict.disagreements
    if found:
        lines += ["", f"disagreements ({len(found)}):"]
        for cell in found:
            lines.append(f"  {cell.row}, task {cell.task.id}: {describe(cell)}")
    dependent = [cell for cell in verdict.cells if cell.verdict == "dependent"]
    if dependent:
        lines += ["", "dependent:"]
        lines += [f"  {cell.row}, task {cell.task.id}: {cell.reason}" for cell in dependent]
    return escape_controls("\n".join(lines)) + "\n"


def describe(cell: Cell) -> str:
    """A disagreement in words: what was expected, what was given, and the check behind it."""
    graded = cell.graded
    given = f"scored {graded.score:g}/{graded.points:g}" if graded is not None else "not graded"
    wanted = "0" if cell.expect == "zero" else "full marks"
    return f"expected {wanted}, {given}: {cell.reason}"


def summary(verdicts: list[Verdict]) -> str:
    """The last line, after its status: how many labs, cases and disagreements, and how long it took."""
    found = sum(len(v.disagreements) for v in verdicts)
    cases = sum(len(v.runs) for v in verdicts)
    seconds = sum(v.seconds for v in verdicts)
    what = f"{found} disagreement{'s' if found != 1 else ''}" if found else "every grade as expected"
    return (f"{what} in {cases} case{'s' if cases != 1 else ''} of {len(verdicts)} "
            f"lab{'s' if len(verdicts) != 1 else ''}, {format_duration(seconds)}")
