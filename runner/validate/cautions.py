"""What a valid lab is warned about: it runs, but part of it will not do what its author meant.

The validator's last word (`runner.validate.lab_warnings`), read from the built model: a warning is a
`Problem` with `severity` "warning", printed by `labrunner validate` (and in its JSON) without making
the lab invalid, and by the commands that would meet it (`grade`, `autograder`).
"""

from __future__ import annotations

from runner.errors import Problem
from runner.model import Lab

#: How a grade counts a task it cannot grade: every output (record, JUnit, Gradescope, CSV, report) agrees.
UNGRADED = "a grade skips it, and it counts for no points"


def lab_warnings(lab: Lab) -> list[Problem]:
    """Every warning for a lab that validated."""
    problems = []
    for task in lab.tasks:
        if not task.checks and not task.evidence:
            where = task.location
            problems.append(Problem(
                where.file, where.line, where.column,
                f"task '{task.id}' has no checks and no evidence: nothing can tell whether it was done, so {UNGRADED}",
                "add checks that read what the task makes (read-only actions under 'checks:')",
                task=task.id, rule="ungradable-task", severity="warning"))
    return problems
