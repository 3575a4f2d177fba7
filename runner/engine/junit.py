"""JUnit XML from a run's record, for CI dashboards; and the document rules every JUnit file follows.

Reads the record's JSON form (`record_json.to_json`, so secrets are already redacted): one `<testsuite>`
per task and one for the cleanup, one `<testcase>` per step and check with `<lab>.<task>` as its
classname (so two labs' results never merge in one dashboard); a failure carries the step's YAML
location and every failed expectation with expected and actual; an error (the step could not run, or
an AWS error) is an `<error>`; skipped steps `<skipped>`. A task's advice is a testcase named `advice
<id>` that always passes: advice not followed says so, and why, in its `<system-out>`.

Every file is valid against Jenkins xUnit's junit-10.xsd (`tests/data/junit-10.xsd`), the schema
pytest's own `--junitxml` follows and CI tools read: only the elements and attributes it allows, and
no property without a value. `document` makes the text of both this file and a grade's
(`runner.grading.junit`): every attribute and text passes through `safe_text.escape_controls`, since a
title, hint or error message can hold characters XML 1.0 cannot carry at all.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runner.engine.assertions import failed_lines, show_json
from runner.engine.record import RunRecord
from runner.engine.record_files import write_text
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor
from runner.safe_text import escape_controls

#: The counts a `<testsuite>` carries; `<testsuites>` carries them too, but for `skipped` (junit-10.xsd).
COUNTS = ("tests", "failures", "errors", "skipped")


def properties(parent: ET.Element, pairs: Iterable[tuple[str, Any]], index: int | None = None) -> None:
    """A `<properties>` element of the pairs that have a value (an endpoint has no account: no "None")."""
    element = ET.Element("properties")
    for name, value in pairs:
        if value is not None and value != "":
            ET.SubElement(element, "property", name=name, value=str(value))
    if len(element):
        if index is None:
            parent.append(element)
        else:
            parent.insert(index, element)


def suite_counts(suite: ET.Element, counts: dict[str, int], totals: dict[str, int]) -> None:
    for key in COUNTS:
        suite.set(key, str(counts[key]))
        totals[key] += counts[key]


def document(root: ET.Element, totals: dict[str, int], seconds: float | None = None) -> str:
    """The file's text: `root` (`<testsuites>`) with its totals, every value safe for XML 1.0, indented."""
    for key in COUNTS:
        if key != "skipped":  # junit-10.xsd allows `skipped` on a suite only
            root.set(key, str(totals[key]))
    if seconds is not None:
        root.set("time", f"{seconds:.3f}")
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            element.set(name, escape_controls(value, multiline=False))
        if element.text:
            element.text = escape_controls(element.text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def failure_lines(step: dict[str, Any]) -> list[str]:
    """Why a step (its JSON) failed: every failed expectation with expected and actual, the error, the
    hint and the attempts. The one wording of a failed step in JUnit and GitHub annotations (`github.py`)."""
    lines = failed_lines(step.get("assertions") or [], render=show_json)
    error = step.get("error")
    if error:
        lines.append(f"{error['kind']} error: {error.get('code') or ''} {error['message']}".replace("  ", " "))
    if step.get("hint"):
        lines.append(f"{'advice' if step.get('section') == 'advice' else 'hint'}: {step['hint']}")
    if step.get("attempts", 0) > 1:
        lines.append(f"{step['attempts']} attempts, {step['waited_s']:g}s waiting")
    return lines


def _case(suite: ET.Element, step: dict[str, Any], classname: str) -> dict[str, int]:
    name = step["id"] or step["title"] or step["key"]
    advice = step["section"] == "advice"
    case = ET.SubElement(suite, "testcase", name=f"{'advice ' if advice else ''}{name} ({step['action']})",
                         classname=classname, time=f"{step['duration_s']:.3f}")
    status = step["status"]
    counts = dict.fromkeys(COUNTS, 0)
    if status == "skipped":
        ET.SubElement(case, "skipped", message=step.get("summary") or "skipped")
        counts["skipped"] = 1
        return counts
    if status not in ("failed", "error"):
        return counts
    # junit-10.xsd has no `file` or `line` on a testcase: the step's place opens the failure's text.
    lines = [f"at {step['location']}", *failure_lines(step)]
    error = step.get("error")
    if advice:
        # Advice is worth no points and never fails its task: its test passes, and says what to do.
        ET.SubElement(case, "system-out").text = "\n".join(["advice not followed (worth no points)", *lines])
        return counts
    # An AWS error the lab did not expect is a failure of the lab; a step that could not run is an error.
    kind = "error" if status == "error" else "failure"
    detail = ET.SubElement(case, kind, message=step.get("summary") or status,
                           type=(error.get("code") or error["kind"]) if error else "AssertionFailed")
    detail.text = "\n".join(lines)
    counts["errors" if kind == "error" else "failures"] = 1
    return counts


def render(record: RunRecord, redact: Redactor | None = None) -> str:
    data = to_json(record, redact)
    lab = data["lab"]
    root = ET.Element("testsuites", name=lab)
    totals = dict.fromkeys(COUNTS, 0)
    groups = [(task["id"], task["steps"] + task["checks"] + task["advice"], task.get("duration_s", 0.0))
              for task in data["tasks"]]
    if data["cleanup"]:
        groups.append(("cleanup", data["cleanup"], sum(s["duration_s"] for s in data["cleanup"])))
    for group, steps, seconds in groups:
        suite = ET.SubElement(root, "testsuite", name=f"{lab}.{group}", timestamp=data["started"],
                              time=f"{seconds:.3f}")
        counts = dict.fromkeys(COUNTS, 0)
        counts["tests"] = len(steps)
        for step in steps:
            for key, value in _case(suite, step, f"{lab}.{group}").items():
                counts[key] += value
        suite_counts(suite, counts, totals)
    first = root.find("testsuite")
    if first is not None:
        target = data["target"]
        properties(first, [*((name, data[name]) for name in ("run_id", "seed", "status", "mode")),
                           *((f"target.{name}", target[name]) for name in ("kind", "region", "account"))], 0)
    return document(root, totals, data["duration_s"])


def write(path: str | os.PathLike[str], record: RunRecord, redact: Redactor | None = None) -> Path:
    return write_text(path, render(record, redact), shared=True)
