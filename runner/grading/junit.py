"""JUnit XML for grades: one `<testsuite>` per student, one `<testcase>` per task.

A course tool that reads JUnit shows each task as a test, classname `<lab>.<task>` and named for the
task and the student: a task that scored nothing is a `<failure>` (or an `<error>` when its checks
could not run, e.g. a role that could not be assumed) whose text is the student feedback of
`feedback.py`; a task that passed says, in `<system-out>`, how it was credited by evidence or which
advice it did not follow. The engine's own JUnit (`runner.engine.junit`) has a testcase per step; a grade is about
tasks. Its `document` makes the text, valid against junit-10.xsd.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from runner.engine.junit import COUNTS, document, properties, suite_counts
from runner.engine.record import NOT_SELECTED, RunRecord
from runner.engine.record_files import write_text
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor
from runner.grading.feedback import missed_advice, task_text


def render(records: Sequence[RunRecord], redact: Redactor | None = None) -> str:
    root = ET.Element("testsuites", name=records[0].lab if records else "labrunner")
    totals = dict.fromkeys(COUNTS, 0)
    seconds = 0.0
    for record in records:
        data = to_json(record, redact)
        lab = data["lab"]
        who = data.get("student") or data["target"]["account"] or "account"
        seconds += data["duration_s"]
        suite = ET.SubElement(root, "testsuite", name=f"{lab}.{who}", timestamp=data["started"],
                              time=f"{data['duration_s']:.3f}")
        properties(suite, [("run_id", data["run_id"]), ("mode", data["mode"]), ("student", data.get("student")),
                           ("account", data["target"]["account"]), ("score", data["score"]),
                           ("points", data["points"]), ("since", data.get("since"))])
        counts = dict.fromkeys(COUNTS, 0)
        for task in data["tasks"]:
            if task["summary"] == NOT_SELECTED:
                continue
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", name=f"{task['title']} ({who})", classname=f"{lab}.{task['id']}",
                                 time=f"{task['duration_s']:.3f}")
            if task["status"] == "passed":
                if task.get("credited_by") == "evidence" or missed_advice(task):
                    ET.SubElement(case, "system-out").text = task_text(task)
                continue
            if task["status"] == "skipped":
                ET.SubElement(case, "skipped", message=task.get("summary") or "skipped")
                counts["skipped"] += 1
                continue
            kind = "error" if task["status"] == "error" else "failure"
            detail = ET.SubElement(case, kind, message=task.get("summary") or task["status"],
                                   type="TaskFailed" if kind == "failure" else "TaskError")
            detail.text = f"0/{task['points']:g} points\n{task_text(task)}"
            counts["errors" if kind == "error" else "failures"] += 1
        suite_counts(suite, counts, totals)
    return document(root, totals, seconds)


def write(path: str | os.PathLike[str], records: Sequence[RunRecord], redact: Redactor | None = None) -> Path:
    return write_text(path, render(records, redact), shared=True)
