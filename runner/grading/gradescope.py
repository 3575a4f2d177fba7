"""Gradescope's `results.json` from a grade record: one test per task.

Format: Gradescope's autograder specification ("Output format",
https://gradescope-autograders.readthedocs.io/en/latest/specs/). A top-level `score`, `execution_time`,
`output` (`output_format` `md`), `visibility` and `stdout_visibility`, and `tests[]`, each with `name`
(`name_format` `text`), `number`, `score`, `max_score`, `status` (`passed`/`failed`), `output` (`md`: the
feedback of `feedback.py`, the check that failed, its message, expected versus actual) and
`visibility`. `extra_data` keeps the lab, run id and account so a result can be traced to its record.

A task's advice that the account does not follow is in that task's `output`, after the feedback on its
score, not a test of its own: the specification's `status` is only `passed` or `failed`, and a 0-point
test shows as one or the other in the student's list of tests, which reads as a grade. In the output
it sits beside the work it is about, counts nothing, and has the task's visibility.
`Settings` holds the instructor's visibility choices (`labrunner autograder` asks for them).

What the account holds (a tag, an error message) reaches Markdown only through
`safe_text.escape_markdown`: it shows as written, never as a link, an image or a heading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.engine.record import NOT_SELECTED, RunRecord
from runner.engine.record_files import write_text
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor
from runner.grading.feedback import task_text
from runner.safe_text import escape_controls, escape_markdown

#: When a student sees a test, or the autograder's standard output (the specification's four values).
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass(frozen=True)
class Settings:
    """The instructor's choices: when students see the tests, each task's test, and standard output."""

    visibility: str = "visible"
    #: The terminal output names the account and every call: instructors only, unless they say otherwise.
    stdout_visibility: str = "hidden"
    tests: Mapping[str, str] = field(default_factory=dict)  # task id -> visibility


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def markdown(text: str) -> str:
    """Feedback text as Markdown that shows it as written: an indented line becomes a list item under
    the line above it, every other line a paragraph; each line's words pass through `escape_markdown`."""
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped:
            continue
        depth = (len(line) - len(stripped)) // 2
        if depth == 0:
            out.append(("\n" if out else "") + escape_markdown(stripped))
        else:
            out.append(f"{'  ' * (depth - 1)}- {escape_markdown(stripped)}")
    return "\n".join(out) + "\n" if out else ""


def results(record: RunRecord, redact: Redactor | None = None, settings: Settings | None = None,
            header: str = "") -> dict[str, Any]:
    """The results of a grade; `header` is Markdown put before the score (the autograder's account line)."""
    settings = settings or Settings()
    data = to_json(record, redact)
    tests = []
    for index, task in enumerate(data["tasks"], 1):
        if task["summary"] == NOT_SELECTED:
            continue
        test: dict[str, Any] = {
            "name": escape_controls(f"{task['title']} ({task['id']})", multiline=False),
            "name_format": "text",
            "number": str(index),
            "score": _number(task["score"]),
            "max_score": _number(task["points"]),
            "output": markdown(task_text(task)),
            "output_format": "md",
            "visibility": settings.tests.get(task["id"], settings.visibility),
        }
        if task["status"] != "skipped":  # a task not graded is neither: its score says it counts for nothing
            test["status"] = "passed" if task["status"] == "passed" else "failed"
        tests.append(test)
    output = [header] if header else []
    output.append(f"**{escape_markdown(data['title'])}**: {_number(data['score'])}/{_number(data['points'])} points")
    if data.get("error"):
        output.append(f"The grade could not finish: {escape_markdown(data['error'])}")
    extra = {"lab": data["lab"], "run_id": data["run_id"], "account": data["target"]["account"],
             "student": data.get("student")}
    return {
        "score": _number(data["score"]),
        "execution_time": round(data["duration_s"]),
        "output": "\n\n".join(output) + "\n",
        "output_format": "md",
        "visibility": settings.visibility,
        "stdout_visibility": settings.stdout_visibility,
        "tests": tests,
        "extra_data": {key: escape_controls(str(value)) for key, value in extra.items() if value is not None},
    }


def failure_json(message: str) -> str:
    """results.json's text when nothing could be graded (no lab to make tests from): a score of 0 and why."""
    return json.dumps({"score": 0, "output": escape_markdown(message) + "\n", "output_format": "md", "tests": []},
                      indent=2, ensure_ascii=False) + "\n"


def write(path: str | os.PathLike[str], record: RunRecord, redact: Redactor | None = None,
          settings: Settings | None = None, header: str = "") -> Path:
    text = json.dumps(results(record, redact, settings, header), indent=2, ensure_ascii=False) + "\n"
    return write_text(path, text, shared=True)
