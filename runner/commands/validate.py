"""`labrunner validate LAB...`: every problem in each lab, as text or JSON; 0 when all are valid, else 2.

A valid lab's warnings (`runner.validate.lab_warnings`) are printed too, and in the JSON, but leave it
valid. Touches no account: it only reads the labs (`runner.validate`). On GitHub Actions each problem
and warning is also an annotation on its line (`runner.workflow_commands`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from runner.commands.exits import EXIT_OK, EXIT_USAGE
from runner.errors import Problem
from runner.validate import lab_warnings, validate_file
from runner.workflow_commands import Annotation, enabled, relative


def annotation(problem: Problem) -> Annotation:
    """A problem as a GitHub annotation on its line: the message, then the fix."""
    message = f"{problem.message}\n{problem.hint}" if problem.hint else problem.message
    return Annotation(relative(problem.file), problem.line, f"labrunner validate: {problem.rule}", message,
                      problem.column, problem.severity)


def command(args: argparse.Namespace, out: TextIO) -> int:
    results: list[dict[str, Any]] = []
    total = 0
    for path in args.labs:
        lab, problems = validate_file(path, path)
        warnings = lab_warnings(lab) if lab is not None else []
        total += len(problems)
        results.append({"lab": path, "valid": not problems, "problems": [p.to_json() for p in problems],
                        "warnings": [w.to_json() for w in warnings]})
        if args.format == "text" and enabled():  # JSON output stays JSON
            for problem in (*problems, *warnings):
                out.write(annotation(problem).command() + "\n")
        if args.format == "text":
            for problem in (*problems, *warnings):
                out.write(problem.format() + "\n")
            if lab is not None:
                steps = sum(len(t.steps) + len(t.checks) for t in lab.tasks)
                noted = f"; {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""
                out.write(f"{path}: valid ({len(lab.tasks)} tasks, {steps} steps and checks{noted})\n")
    if args.format == "json":
        out.write(json.dumps({"valid": total == 0, "labs": results}, indent=2) + "\n")
    elif total:
        labs = sum(1 for r in results if not r["valid"])
        out.write(f"{total} problem{'s' if total != 1 else ''} in {labs} lab{'s' if labs != 1 else ''}\n")
    return EXIT_OK if total == 0 else EXIT_USAGE
