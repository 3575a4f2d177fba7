"""The S3 lab end to end on the embedded emulator, and variants that each skip one part of it.

Every run goes through the real CLI, HTTP and boto3. A variant is the lab with some of a task's steps
removed, the way a student might skip one part of the exercise; the run must fail exactly that task
(with the student's message on the failing check), and every run must leave nothing behind.
The presigned URL that expires does so for real (a 1-second URL, polled until S3 refuses it): the
tests assert what S3 answered, never how long it took.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from lab_helpers import drop_steps, run, statuses, task
from lab_helpers import variant as lab_variant

from runner import registry
from runner.commands.main import main
from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator
from runner.loader import load_file

LABS = Path(__file__).resolve().parents[2] / "labs"
LAB = LABS / "s3-basics.yaml"
FILES = ("s3-basics-v1.txt", "s3-basics-v2.txt")
REGION = "us-west-2"
ALL_TASKS = ("create-bucket", "versioning", "lifecycle", "clean-up")

pytestmark = pytest.mark.e2e


def step(record: dict[str, Any], task_id: str, step_id: str) -> dict[str, Any]:
    return next(s for s in task(record, task_id)["steps"] if s["id"] == step_id)


def assert_nothing_left(emu: Emulator) -> None:
    s3 = boto3.client("s3", endpoint_url=emu.endpoint, region_name=REGION,
                      aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("s3-basics-")] == []


def variant(tmp_path: Path, *step_ids: str) -> Path:
    """A copy of the lab (beside the files it uploads) without the steps `step_ids`."""
    return lab_variant(LAB, tmp_path, drop_steps(*step_ids), FILES)


def test_s3_lab_passes_and_leaves_nothing_behind(emu: Emulator, tmp_path: Path) -> None:
    code, record, output = run([str(LAB), "--target", emu.endpoint, "--region", REGION], tmp_path)
    assert code == 0, output
    assert statuses(record) == {t: "passed" for t in ALL_TASKS}
    assert record["score"] == record["points"] == 100
    # The URL worked while it was valid, and once expired S3 gave AWS's own refusal.
    assert step(record, "versioning", "open-shared-url")["result"]["status"] == 200
    expired = step(record, "versioning", "brief-url-expires")["result"]
    assert expired["status"] == 403
    assert expired["Error"] == {"Code": "AccessDenied", "Message": "Request has expired"}
    assert "X-Amz-Signature=" in step(record, "versioning", "presign")["result"]["url"]
    assert_nothing_left(emu)


def test_s3_lab_passes_in_us_east_1_without_a_location_constraint(emu: Emulator, tmp_path: Path) -> None:
    args = [str(LAB), "--target", emu.endpoint, "--region", "us-east-1", "--task", "create-bucket",
            "--task", "clean-up"]
    code, record, output = run(args, tmp_path)
    assert code == 0, output
    assert step(record, "create-bucket", "create-bucket-us-east-1")["status"] == "passed"
    assert step(record, "create-bucket", "create-bucket")["status"] == "skipped"
    assert_nothing_left(emu)


@pytest.mark.parametrize(
    ("skipped", "broken", "checks", "message"),
    [
        (("put-lifecycle-rule",), "lifecycle", ["lifecycle-rule"], "tidy-old-versions"),
        (("delete-bucket",), "clean-up", ["bucket-deleted", "bucket-gone"], "delete it"),
    ],
)
def test_a_variant_that_skips_one_part_fails_exactly_that_task(
    emu: Emulator, tmp_path: Path, skipped: tuple[str, ...], broken: str, checks: list[str], message: str,
) -> None:
    lab = variant(tmp_path, *skipped)
    code, record, output = run([str(lab), "--target", emu.endpoint, "--region", REGION, "--keep-going"],
                               tmp_path)
    assert code == 1, output
    assert statuses(record) == {t: ("failed" if t == broken else "passed") for t in ALL_TASKS}
    failing = [c for c in task(record, broken)["checks"] if c["status"] != "passed"]
    assert [c["id"] for c in failing] == checks
    assert message in (failing[0].get("hint") or "")
    assert_nothing_left(emu)  # the step cleanups remove what the skipped clean-up left


def test_s3_lab_can_be_graded_its_checks_only_read() -> None:
    # `labrunner validate` already refuses a check that changes the account or uses what only a step
    # saved; this says so for this lab in particular, action by action.
    assert main(["validate", str(LAB)]) == 0
    for each in load_file(str(LAB)).data["tasks"]:
        for check in each.get("checks", []):
            assert registry.resolve(check["action"]).read_only, check["id"]


def test_s3_lab_grades_an_account_set_up_by_hand(emu: Emulator, tmp_path: Path) -> None:
    # A student who followed the lab with the CLI, under a bucket name of their own, and has not
    # cleaned up yet: every task but the clean-up is done.
    s3 = boto3.client("s3", endpoint_url=emu.endpoint, region_name=REGION,
                      aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY)
    bucket = "s3-basics-by-hand"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for name in FILES:
        s3.put_object(Bucket=bucket, Key="notes.txt", Body=(LABS / name).read_bytes())
    rule = {"ID": "tidy-old-versions", "Status": "Enabled", "Filter": {},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})

    record_path, out = tmp_path / "grade.json", tmp_path / "grade.txt"
    with out.open("w") as stream:
        code = main(["grade", str(LAB), "--target", emu.endpoint, "--region", REGION, "--record", str(record_path)],
                    out=stream)
    record = json.loads(record_path.read_text())
    assert code == 1, out.read_text()
    assert statuses(record) == {t: ("failed" if t == "clean-up" else "passed") for t in ALL_TASKS}
    assert record["score"] == 80

    # After the student's clean-up, event history shows how the bucket was set up: every task keeps its marks.
    s3.delete_bucket_lifecycle(Bucket=bucket)
    for version in s3.list_object_versions(Bucket=bucket)["Versions"]:
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=bucket)
    with out.open("w") as stream:
        code = main(["grade", str(LAB), "--target", emu.endpoint, "--region", REGION, "--record", str(record_path)],
                    out=stream)
    record = json.loads(record_path.read_text())
    assert {t["id"]: (t["score"], t["credited_by"]) for t in record["tasks"]} == {
        "create-bucket": (20, "evidence"), "versioning": (30, "evidence"), "lifecycle": (30, "evidence"),
        "clean-up": (20, "checks")}
