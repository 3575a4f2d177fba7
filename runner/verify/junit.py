"""JUnit XML for `labrunner verify --junit`: one `<testcase>` per case × task, valid against junit-10.xsd.

One `<testsuite>` per lab and case phase (`<lab>.<case>`, `.after-clean-up` for a case's second grade),
one `<testcase>` per task (classname `<lab>.<case>`, named by the task's id): a disagreement is a
`<failure>` (type `Disagreement`) saying what was expected, what was given and the check behind it; a
dependent task, a task the case does not run and a cell without meaning are `<skipped>` with why. The
document rules are the engine's JUnit's (`runner.engine.junit.document`). Reads `verifier.Verdict`s.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from runner.engine.junit import COUNTS, document, properties, suite_counts
from runner.engine.record_files import write_text
from runner.verify.judge import Cell
from runner.verify.matrix import describe
from runner.verify.verifier import Verdict


def render(verdicts: Sequence[Verdict]) -> str:
    root = ET.Element("testsuites", name="labrunner verify")
    totals = dict.fromkeys(COUNTS, 0)
    for verdict in verdicts:
        lab = verdict.lab.name
        groups: dict[str, list[Cell]] = {}
        for cell in verdict.cells:
            suffix = ".after-clean-up" if cell.phase == "after-clean-up" else ""
            groups.setdefault(f"{cell.case.name}{suffix}", []).append(cell)
        seconds = {run.case.name: run.seconds for run in verdict.runs}
        for name, cells in groups.items():
            case = cells[0].case
            suite = ET.SubElement(root, "testsuite", name=f"{lab}.{name}",
                                  time=f"{seconds.get(case.name, 0.0):.3f}")
            properties(suite, [("case", case.title), ("task", case.task), ("lab", str(verdict.lab.path))])
            counts = dict.fromkeys(COUNTS, 0)
            for cell in cells:
                counts["tests"] += 1
                test = ET.SubElement(suite, "testcase", name=cell.task.id, classname=f"{lab}.{name}", time="0.000")
                if cell.verdict == "disagrees":
                    failure = ET.SubElement(test, "failure", message=describe(cell), type="Disagreement")
                    failure.text = f"{cell.row}, task {cell.task.id}: {describe(cell)}"
                    counts["failures"] += 1
                elif cell.verdict in ("dependent", "not-run", "skipped"):
                    ET.SubElement(test, "skipped", message=f"{cell.verdict}: {cell.reason}")
                    counts["skipped"] += 1
            suite_counts(suite, counts, totals)
    return document(root, totals, sum(v.seconds for v in verdicts))


def write(path: str | os.PathLike[str], verdicts: Sequence[Verdict]) -> Path:
    return write_text(path, render(verdicts), shared=True)
