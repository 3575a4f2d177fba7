"""`labrunner grade LAB --print-policy`: the least-privilege IAM policy a grader role needs.

Derived from the registry, never written by hand: the union of the IAM permissions declared by every
action the lab's checks, evidence and advice use (for the selected tasks, and the checks that save of the
tasks before them, which a grade of a selection still runs). Steps are left out: a grade never runs them.
The instructor's own side needs `sts:AssumeRole` on the grader roles to grade a class; that belongs to
the instructor's policy, not to the grader role's, so it is not printed here.
"""

from __future__ import annotations

import json
from typing import Any

from runner import registry
from runner.model import Lab

SID = "LabrunnerGrader"


def permissions(lab: Lab, tasks: tuple[str, ...] = ()) -> list[str]:
    """Every permission the selected tasks' checks, evidence and advice need, sorted and unique."""
    found: set[str] = set()
    last = max((i for i, task in enumerate(lab.tasks) if task.id in tasks), default=len(lab.tasks) - 1)
    for task in lab.tasks[:last + 1]:
        # An unselected task before a selected one still runs its checks that save (grade mode's
        # for_later_tasks): the selected task's checks may need what they find.
        steps = (*task.checks, *task.evidence, *task.advice) if not tasks or task.id in tasks else (
            tuple(check for check in task.checks if check.save))
        for step in steps:
            found.update(registry.resolve(step.action).permissions)
    return sorted(found, key=lambda p: (p.split(":")[0], p))


def document(lab: Lab, tasks: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": SID, "Effect": "Allow", "Action": permissions(lab, tasks), "Resource": "*"}],
    }


def render(lab: Lab, tasks: tuple[str, ...] = ()) -> str:
    return json.dumps(document(lab, tasks), indent=2) + "\n"
