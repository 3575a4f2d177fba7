"""JUnit XML for grades: one `<testsuite>` per student, one `<testcase>` per task.

A course tool that reads JUnit shows each task as a test: a task that scored nothing is a `<failure>`
(or an `<error>` when its checks could not run, e.g. a role that could not be assumed) whose text is the
student feedback of `feedback.py`. The engine's own JUnit (`runner.engine.junit`) has a testcase per
step; a grade is about tasks.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from runner.engine.record import NOT_SELECTED, RunRecord
from runner.engine.record_files import write_text
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor
from runner.grading.feedback import task_text


def render(records: Sequence[RunRecord], redact: Redactor | None = None) -> str:
    root = ET.Element("testsuites", name=records[0].lab if records else "labrunner")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for record in records:
        data = to_json(record, redact)
        who = data.get("student") or data["target"]["account"] or "account"
        suite = ET.SubElement(root, "testsuite", name=f"{data['lab']}.{who}", timestamp=data["started"],
                              time=f"{data['duration_s']:.3f}")
        properties = ET.SubElement(suite, "properties")
        for name, value in (("run_id", data["run_id"]), ("mode", data["mode"]), ("account", data["target"]["account"]),
                            ("score", data["score"]), ("points", data["points"]), ("since", data.get("since"))):
            ET.SubElement(properties, "property", name=name, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for task in data["tasks"]:
            if task["summary"] == NOT_SELECTED:
                continue
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", name=f"{task['id']}: {task['title']}", classname=str(who),
                                 time=f"{task['duration_s']:.3f}")
            if task["status"] == "passed":
                if task.get("credited_by") == "evidence":
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
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path: str | os.PathLike[str], records: Sequence[RunRecord], redact: Redactor | None = None) -> Path:
    return write_text(path, render(records, redact))
