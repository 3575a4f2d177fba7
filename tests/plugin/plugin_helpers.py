"""Helpers for the plugin, report and scaffold tests: small labs, and pytest run as users run it.

The plugin is exercised in a subprocess (`python -m pytest` in a scratch folder with its own
`pytest.ini`), as a user or CI runs it: the plugin is found through its `pytest11` entry point, and
each run has its own emulator and moto state, apart from this test session's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

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
