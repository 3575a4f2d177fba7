"""Helpers for the report tests: records of a class, as `labrunner grade --accounts` writes them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
from testkit import RECORD_SCHEMA

REPO = Path(__file__).resolve().parents[2]

#: A class's lab: (task id, title, points).
CLASS_TASKS = (("create-key", "Create a KMS key", 15), ("create-trail", "Log to a new bucket", 20),
               ("encrypt-object", "Upload an encrypted object", 25), ("clean-up", "Delete what you made", 40))


def _check(task: str, index: int, status: str, actual: Any = "Enabled") -> dict[str, Any]:
    passed = status == "passed"
    assertion = {"path": "KeyMetadata.KeyState", "operator": "equals", "expected": "Enabled", "actual": actual,
                 "passed": passed, "detail": "" if passed else f"expected 'Enabled', got {actual!r}",
                 "message": None if passed else "Enable the key.", "location": f"labs/kms.yaml:{40 + index}:13"}
    return {
        "key": f"{task}.checks[0]", "id": None, "title": None, "task": task, "action": "aws.kms.describe_key",
        "section": "checks", "status": status, "location": f"labs/kms.yaml:{38 + index}:9",
        "attempts": 0 if status == "skipped" else 1, "duration_s": 0.05, "waited_s": 0.0,
        "params": {"KeyId": "alias/myFirstKey"}, "result": {"KeyMetadata": {"KeyState": actual}},
        "assertions": [] if status == "skipped" else [assertion],
        "error": ({"kind": "aws", "message": "Access denied", "code": "AccessDeniedException", "status": 400}
                  if status == "error" else None),
        "saved": {}, "summary": None if passed else f"KeyMetadata.KeyState equals: expected 'Enabled', got {actual!r}",
        "hint": None, "ignored_error": None, "registered_by": None,
    }


def class_record(student: str, account: str, outcomes: Sequence[str], actual: Any = "Disabled") -> dict[str, Any]:
    """A grade record as `labrunner grade` writes one per student, with the given task statuses;
    keys the committed record schema does not know yet (`student`) are left out."""
    tasks = []
    for index, ((task_id, title, points), status) in enumerate(zip(CLASS_TASKS, outcomes, strict=True)):
        check = _check(task_id, index, status, "Enabled" if status == "passed" else actual)
        tasks.append({"id": task_id, "title": title, "status": status, "points": points,
                      "score": points if status == "passed" else 0, "steps": [], "checks": [check],
                      "duration_s": 0.05, "summary": None if status == "passed" else check["summary"],
                      "evidence": [], "credited_by": "checks" if status == "passed" else None, "advice": []})
    record: dict[str, Any] = {
        "version": 1, "lab": "kms-basics", "title": "Getting started with AWS KMS", "file": "labs/kms-basics.yaml",
        "run_id": "0a1b2c3d", "mode": "grade",
        "target": {"kind": "aws", "region": "us-west-2", "account": account, "partition": "aws", "endpoint": None,
                   "caller_arn": f"arn:aws:sts::{account}:assumed-role/Grader/labrunner"},
        "seed": 7, "started": "2026-03-02T09:00:00Z", "finished": "2026-03-02T09:00:04Z",
        "status": "passed" if all(s == "passed" for s in outcomes) else "failed", "vars": {"alias": "myFirstKey"},
        "tasks": tasks, "cleanup": [], "score": sum(t["score"] for t in tasks),
        "points": sum(t["points"] for t in tasks), "duration_s": 4.2, "error": None, "student": student,
    }
    schema = RECORD_SCHEMA
    record = {key: value for key, value in record.items() if key in schema["properties"]}
    known = schema["$defs"]["task"]["properties"]
    record["tasks"] = [{key: value for key, value in task.items() if key in known} for task in tasks]
    jsonschema.validate(record, schema)
    return record
