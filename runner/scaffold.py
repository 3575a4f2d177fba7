"""A new lab's file: a small lab that validates and runs green, for an author to start from (`labrunner new`).

The file has the schema modeline (so an editor with the YAML language server completes and checks it
from the first keystroke), `lab`, `title`, `description`, and one task whose step creates an S3 bucket
with a random name under the lab's prefix (cleaned up at the end), whose check finds a bucket by that
prefix (as a grade must: it does not know the student's digits) and whose evidence credits it after
the student deleted it. It passes `labrunner verify`. It only writes a file; `labrunner validate` and
`labrunner run` are the next commands.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from runner.errors import UsageError

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

TEMPLATE = """\
# yaml-language-server: $schema={schema}
lab: {name}
title: {title}
description: |
  What the student builds, in a few sentences of Markdown. Every task below has steps (what
  `labrunner run` does) and checks (read-only proof that the task is done, which `labrunner grade`
  runs alone against a student's account); `labrunner verify` tests that proof.
vars:
  # Checks find the student's bucket by this prefix: a grade does not know the digits a student chose.
  prefix: {name_prefix}
  # A name no other run will use: random_digits is seeded, and --seed replays it.
  bucket: "{{{{ prefix }}}}-{{{{ random_digits(8) }}}}"
tasks:
  - id: create-bucket
    title: Create an S3 bucket whose name starts with {name_prefix}-
    points: 10
    steps:
      - id: make-bucket
        action: aws.s3.create_bucket
        params:
          Bucket: "{{{{ bucket }}}}"
        cleanup:
          action: aws.s3.delete_bucket
          params: {{Bucket: "{{{{ bucket }}}}"}}
          ignore_errors: [NoSuchBucket]
    checks:
      - id: bucket-exists
        action: aws.s3.list_buckets
        message: Create a bucket whose name starts with {name_prefix}-.
        expect:
          - path: "Buckets[?starts_with(Name, '{{{{ prefix }}}}-')] | length(@)"
            greater_than: 0
    # Once the student has deleted the bucket, CloudTrail's event history shows it was made.
    evidence:
      - id: bucket-created
        action: cloudtrail.lookup_events
        params: {{event_name: CreateBucket, contains: ["{{{{ prefix }}}}-"]}}
        expect:
          - path: count
            greater_than: 0
"""

def lab_text(name: str, schema: str) -> str:
    """The new lab's YAML. `schema` is what the modeline points at (a relative path or a URL)."""
    # Bucket names are at most 63 characters: the prefix leaves room for "-" and eight digits.
    prefix = name[:54].rstrip("-") or "lab"
    title = name.replace("-", " ").strip().capitalize() or name
    return TEMPLATE.format(name=name, title=title, name_prefix=prefix, schema=schema)


def destination(spec: str, cwd: Path) -> tuple[Path, str]:
    """Where `labrunner new SPEC` writes, and the lab's name.

    A lab name writes `labs/NAME.yaml` when there is a `labs/` folder here, else `./NAME.yaml`; a path
    ending `.yaml`/`.yml` is used as given, and the lab is named after its file.
    """
    if spec.endswith((".yaml", ".yml")):
        path = Path(spec)
        name = path.stem
        if not _NAME.match(name):
            raise UsageError(f"'{path.name}': the file's name is the lab's name, which must be lowercase "
                             f"letters, digits and '-' (^[a-z0-9][a-z0-9-]*$), e.g. {_suggest(name)}.yaml")
        return (path if path.is_absolute() else cwd / path), name
    if not _NAME.match(spec):
        raise UsageError(f"'{spec}' is not a lab name: use lowercase letters, digits and '-' "
                         f"(^[a-z0-9][a-z0-9-]*$), e.g. '{_suggest(spec)}'; or give a path ending .yaml")
    folder = cwd / "labs" if (cwd / "labs").is_dir() else cwd
    return folder / f"{spec}.yaml", spec


def _suggest(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "my-lab"


def schema_reference(lab_file: Path) -> str:
    """The modeline's target: the repository's `schemas/lab.schema.json`, relative to the lab, when
    one is found in the lab's folder or above it; else the schema's published URL."""
    from runner.schema import SCHEMA_ID

    folder = lab_file.resolve().parent
    for candidate in (folder, *folder.parents):
        schema = candidate / "schemas" / "lab.schema.json"
        if schema.is_file():
            return Path(os.path.relpath(schema, folder)).as_posix()
    return SCHEMA_ID
