"""A class of 50 emulator accounts graded in parallel: each student's record matches what they did.

Each student works in their own account as an assumed role and does a different subset of a small lab's
tasks; the instructor grades the class with `--accounts`, `--role-arn` and `--parallel 8`. Each
account's Grader role holds exactly the lab's printed grader policy; one account has no Grader role and
another's trusts someone else: each is reported for that student as AWS refuses it, and stops no one else.
"""

from __future__ import annotations

import csv
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from grading_helpers import GRADER_ROLE, REGION, assume, grade, make_grader, session_clients

from runner.emulator import Emulator

pytestmark = pytest.mark.e2e

LAB = Path(__file__).parent / "data" / "class-lab.yaml"
TASKS = ("bucket", "tagged", "versioning", "key", "rotation")
POINTS = {"bucket": 10, "tagged": 5, "versioning": 5, "key": 10, "rotation": 5}
STUDENTS = [(f"3300000000{n:02d}", f"student-{n:02d}") for n in range(50)]
NO_ROLE = STUDENTS[17][0]  # this account has no grader role
OTHER_TRUST = STUDENTS[23][0]  # this account's grader role trusts another account


def did(number: int) -> set[str]:
    """What student `number` did: a different subset for each of 32 (a task needs what it builds on)."""
    chosen = {task for bit, task in enumerate(TASKS) if number >> bit & 1}
    if chosen & {"tagged", "versioning"}:
        chosen.add("bucket")
    if "rotation" in chosen:
        chosen.add("key")
    return chosen


def do(emulator: Emulator, account: str, tasks: set[str]) -> None:
    creds = assume(emulator, account)
    s3, kms = session_clients(emulator, creds, "s3", "kms")
    bucket = f"class-{account}"
    if "bucket" in tasks:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    if "tagged" in tasks:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "course", "Value": "cloud101"}]})
    if "versioning" in tasks:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if "key" in tasks:
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/classKey", TargetKeyId=key)
        if "rotation" in tasks:
            kms.enable_key_rotation(KeyId=key)


def test_fifty_accounts_graded_in_parallel_match_what_each_student_did(emulator: Emulator, tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:  # the students work at the same time
        list(pool.map(lambda n: do(emulator, STUDENTS[n][0], did(n)), range(len(STUDENTS))))
    roster = tmp_path / "class.csv"
    roster.write_text("name,email,account_id\n" + "".join(f"{name},{name}@example.edu,{account}\n"
                                                          for account, name in STUDENTS))
    for account, _ in STUDENTS:
        if account != NO_ROLE:
            make_grader(emulator, account, LAB, trusted="999999999999" if account == OTHER_TRUST else "123456789012")
    summary = tmp_path / "summary.csv"
    code, output, folder = grade([str(LAB), "--target", emulator.endpoint, "--accounts", str(roster), "--role-arn",
                                  GRADER_ROLE, "--parallel", "8", "--csv", str(summary),
                                  "--junit", str(tmp_path / "class.xml")], tmp_path, "class")
    assert code == 1, output

    rows = {row["account_id" if "account_id" in row else "account"]: row
            for row in csv.DictReader(summary.open())}
    assert len(rows) == 50
    for number, (account, name) in enumerate(STUDENTS):
        record = json.loads((folder / f"{name}-{account}.json").read_text())
        assert record["student"] == name and record["target"]["account"] == account
        if account in (NO_ROLE, OTHER_TRUST):
            assert record["status"] == "error", name
            assert record["error"] == (f"cannot assume arn:aws:iam::{account}:role/Grader: AccessDenied: User: "
                                       "arn:aws:iam::123456789012:root is not authorized to perform: sts:AssumeRole "
                                       f"on resource: arn:aws:iam::{account}:role/Grader")
            assert rows[account]["error"] and "ERROR" in output
            continue
        expected = did(number)
        statuses = {t["id"]: t["status"] for t in record["tasks"]}
        assert statuses == {t: "passed" if t in expected else "failed" for t in TASKS}, (name, expected)
        assert record["score"] == sum(POINTS[t] for t in expected)
        assert rows[account]["total"] == f"{record['score']:g}"
        assert [rows[account][t] for t in TASKS] == [f"{POINTS[t] if t in expected else 0:g}" for t in TASKS]
    assert (folder / "summary.csv").read_text() == summary.read_text()
    junit = (tmp_path / "class.xml").read_text()
    assert junit.count("<testsuite ") == 50 and "Enable versioning on the bucket." in junit
