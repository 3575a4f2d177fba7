"""JUnit XML from a run's record, for CI dashboards.

Reads the record's JSON form (`record_json.to_json`, so secrets are already redacted): one `<testsuite>`
per task and one for the cleanup, one `<testcase>` per step and check with the task id as its
classname; a failure carries the step's YAML location and every failed expectation with expected and
actual; an error (the step could not run, or an AWS error) is an `<error>`; skipped steps `<skipped>`.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from runner.engine.assertions import failed_lines, show_json
from runner.engine.record import RunRecord
from runner.engine.record_files import write_text
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor


def _case(suite: ET.Element, step: dict[str, Any], classname: str) -> dict[str, int]:
    name = step["id"] or step["title"] or step["key"]
    case = ET.SubElement(suite, "testcase", name=f"{name} ({step['action']})", classname=classname,
                         time=f"{step['duration_s']:.3f}")
    file, _, line = step["location"].rpartition(":")[0].rpartition(":")
    if file and line.isdigit():
        case.set("file", file)
        case.set("line", line)
    status = step["status"]
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    if status == "skipped":
        ET.SubElement(case, "skipped", message=step.get("summary") or "skipped")
        counts["skipped"] = 1
        return counts
    if status not in ("failed", "error"):
        return counts
    lines = [f"at {step['location']}"]
    lines += failed_lines(step["assertions"], render=show_json)
    error = step.get("error")
    if error:
        lines.append(f"{error['kind']} error: {error.get('code') or ''} {error['message']}".replace("  ", " "))
    if step.get("hint"):
        lines.append(f"hint: {step['hint']}")
    if step["attempts"] > 1:
        lines.append(f"{step['attempts']} attempts, {step['waited_s']:g}s waiting")
    # An AWS error the lab did not expect is a failure of the lab; a step that could not run is an error.
    kind = "error" if status == "error" else "failure"
    detail = ET.SubElement(case, kind, message=step.get("summary") or status,
                           type=(error.get("code") or error["kind"]) if error else "AssertionFailed")
    detail.text = "\n".join(lines)
    counts["errors" if kind == "error" else "failures"] = 1
    return counts


def render(record: RunRecord, redact: Redactor | None = None) -> str:
    data = to_json(record, redact)
    root = ET.Element("testsuites", name=data["lab"])
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    groups = [(task["id"], task["steps"] + task["checks"], task.get("duration_s", 0.0)) for task in data["tasks"]]
    if data["cleanup"]:
        groups.append(("cleanup", data["cleanup"], sum(s["duration_s"] for s in data["cleanup"])))
    for classname, steps, seconds in groups:
        suite = ET.SubElement(root, "testsuite", name=f"{data['lab']}.{classname}", timestamp=data["started"],
                              time=f"{seconds:.3f}")
        counts = {"tests": len(steps), "failures": 0, "errors": 0, "skipped": 0}
        for step in steps:
            for key, value in _case(suite, step, classname).items():
                counts[key] += value
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{data['duration_s']:.3f}")
    properties = ET.Element("properties")
    for name in ("run_id", "seed", "status", "mode"):
        ET.SubElement(properties, "property", name=name, value=str(data[name]))
    for name in ("kind", "region", "account"):
        ET.SubElement(properties, "property", name=f"target.{name}", value=str(data["target"][name]))
    first = root.find("testsuite")
    if first is not None:
        first.insert(0, properties)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path: str | os.PathLike[str], record: RunRecord, redact: Redactor | None = None) -> Path:
    return write_text(path, render(record, redact))
