"""Helpers for the plugin, report and scaffold tests: small labs, and pytest run as users run it.

The plugin is exercised in a subprocess (`python -m pytest` in a scratch folder with its own
`pytest.ini`), as a user or CI runs it: the plugin is found through its `pytest11` entry point, and
each run has its own emulator and moto state, apart from this test session's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

REPO = Path(__file__).resolve().parents[2]

#: Two tasks that pass: a bucket is made in the first, found by the second through the saved name.
GOOD_LAB = """\
lab: good
title: A bucket
vars:
  bucket: "good-{{ random_digits(8) }}"
tasks:
  - id: make-bucket
    title: Create a bucket
    steps:
      - id: create
        action: aws.s3.create_bucket
        params: {Bucket: "{{ bucket }}"}
        save: {made: Location}
        cleanup:
          action: aws.s3.delete_bucket
          params: {Bucket: "{{ bucket }}"}
          ignore_errors: [NoSuchBucket]
    checks:
      - action: aws.s3.head_bucket
        params: {Bucket: "{{ bucket }}"}
  - id: find-bucket
    title: Find it again
    checks:
      - id: listed
        action: aws.s3.list_buckets
        expect:
          - path: "Buckets[?Name=='{{ bucket }}'] | length(@)"
            equals: 1
"""

#: The second task's check fails on two expectations (lines 25 and 28); the third task is skipped.
BROKEN_LAB = """\
lab: broken
title: A bucket that is not quite right
vars:
  bucket: "broken-{{ random_digits(8) }}"
tasks:
  - id: make-bucket
    title: Create a bucket
    steps:
      - id: create-it
        action: aws.s3.create_bucket
        params: {Bucket: "{{ bucket }}"}
        cleanup:
          action: aws.s3.delete_bucket
          params: {Bucket: "{{ bucket }}"}
  - id: check-bucket
    title: Check the bucket
    points: 5
    checks:
      - id: bucket-listed
        action: aws.s3.list_buckets
        message: Create exactly two buckets.
        expect:
          - path: "Buckets[?Name=='{{ bucket }}'] | length(@)"
            equals: 1
          - path: "Buckets[?Name=='{{ bucket }}'] | length(@)"
            equals: 2
            message: There should be two.
          - path: "Buckets[?Name=='{{ bucket }}'].Name | [0]"
            equals: "wrong-name"
  - id: never
    title: Never reached
    checks:
      - action: aws.s3.list_buckets
"""

#: Passes its one task, but its lab-level cleanup fails: pytest reports an error when it leaves the file.
LEAKY_LAB = """\
lab: leaky
title: A cleanup that fails
tasks:
  - id: only
    title: Nothing to do
    checks:
      - action: aws.s3.list_buckets
cleanup:
  - id: remove-missing
    action: aws.s3.delete_bucket
    params: {Bucket: never-made-this-bucket-0001}
"""

#: Invalid: a misspelt parameter and an unknown action.
INVALID_LAB = """\
lab: invalid
title: Two mistakes
tasks:
  - id: t
    title: T
    steps:
      - action: aws.s3.create_bucket
        params: {Buckett: x}
      - action: aws.s3.make_bucket
"""


@dataclass
class Result:
    returncode: int
    output: str

    def outcome(self) -> str:
        """The final summary line: `2 passed, 1 failed in 3.1s`, without the time."""
        lines = [line for line in self.output.splitlines() if line.strip()]
        return lines[-1].strip("= ").rsplit(" in ", 1)[0] if lines else ""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def run_pytest(folder: Path, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Result:
    """`python -m pytest ARGS` in `folder`, with the environment a user has (no xdist worker variables)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "COV_")) and k != "PYTHONPATH"} | (env or {})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--color=no", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    return Result(proc.returncode, proc.stdout + proc.stderr)


# ---- records for report tests

RECORD_SCHEMA = REPO / "schemas" / "record.schema.json"

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
                      "evidence": [], "credited_by": "checks" if status == "passed" else None})
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
    schema = json.loads(RECORD_SCHEMA.read_text(encoding="utf-8"))
    record = {key: value for key, value in record.items() if key in schema["properties"]}
    known = schema["$defs"]["task"]["properties"]
    record["tasks"] = [{key: value for key, value in task.items() if key in known} for task in tasks]
    jsonschema.validate(record, schema)
    return record
