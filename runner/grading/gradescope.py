"""Gradescope's `results.json` from a grade record: one test per task.

Format (Gradescope autograder specification): a top-level `score`, `execution_time` and `output`, and
`tests[]`, each with `name`, `number`, `score`, `max_score`, `status` (`passed`/`failed`), `output`
(the feedback of `feedback.py`: the check that failed, its message, expected versus actual) and
`visibility`. `extra_data` keeps the lab, run id and account so a result can be traced to its record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from runner.engine.record import RunRecord
from runner.engine.record_files import write_text
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor
from runner.grading.feedback import task_text


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def results(record: RunRecord, redact: Redactor | None = None) -> dict[str, Any]:
    data = to_json(record, redact)
    tests = []
    for index, task in enumerate(data["tasks"], 1):
        if task["summary"] and task["summary"].startswith("skipped: not selected"):
            continue
        tests.append({
            "name": f"{task['title']} ({task['id']})",
            "number": str(index),
            "score": _number(task["score"]),
            "max_score": _number(task["points"]),
            "status": "passed" if task["status"] == "passed" else "failed",
            "output": task_text(task),
            "visibility": "visible",
        })
    output = f"{data['title']}: {_number(data['score'])}/{_number(data['points'])} points"
    if data.get("error"):
        output += f"\nThe grade could not finish: {data['error']}"
    return {
        "score": _number(data["score"]),
        "execution_time": round(data["duration_s"]),
        "output": output,
        "visibility": "visible",
        "tests": tests,
        "extra_data": {"lab": data["lab"], "run_id": data["run_id"], "account": data["target"]["account"],
                       "student": data.get("student")},
    }


def write(path: str | os.PathLike[str], record: RunRecord, redact: Redactor | None = None) -> Path:
    return write_text(path, json.dumps(results(record, redact), indent=2, ensure_ascii=False) + "\n")
