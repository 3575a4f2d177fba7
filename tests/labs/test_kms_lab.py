"""The KMS lab end to end on the embedded emulator, and variants that each break one task.

Every run goes through the real CLI, HTTP and boto3. A variant is the lab with some of a task's steps
removed or changed, the way a student might skip or get wrong one part of the exercise; the run must
fail that task (with the student's message on the failing check) and pass the others, and every run
must leave nothing behind in the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from lab_helpers import drop_steps, run, statuses, task, variant

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator

LABS = Path(__file__).resolve().parents[2] / "labs"
LAB = LABS / "kms-basics.yaml"
FILES = ("Eiffel.jpg",)
REGION = "us-west-2"
LOG_DELAY = 1.0  # CloudTrail delivers a second after the call: the lab waits for it (the conftest emulator)
ALL_TASKS = ("create-key", "create-trail", "upload-encrypted", "open-image", "find-in-logs", "key-users",
             "delete-key", "clean-up")

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def fresh_state(emulator: Emulator) -> None:
    # moto's state is process-global: another test file run earlier in this worker may have left a
    # trail or an alias with the lab's names. Each test here starts from an empty emulator (files run
    # whole, one after another, under `--dist loadfile`).
    emulator.reset()


def client(emu: Emulator, service: str) -> Any:
    return boto3.client(service, endpoint_url=emu.endpoint, region_name=REGION,
                        aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY)


def failed_checks(record: dict[str, Any], task_id: str) -> list[dict[str, Any]]:
    return [c for c in task(record, task_id)["checks"] if c["status"] != "passed"]


def assert_nothing_left(emu: Emulator) -> None:
    s3, trail, kms = client(emu, "s3"), client(emu, "cloudtrail"), client(emu, "kms")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("mycloudtrailbucket")] == []
    assert [t["Name"] for t in trail.describe_trails()["trailList"] if t["Name"] == "myCustomTrail"] == []
    assert [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/myFirstKey"] == []
    states = {kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in kms.list_keys()["Keys"]}
    # KMS never deletes a key at once: "cleaned up" is every key the lab made waiting for deletion.
    assert states <= {"PendingDeletion"}, states


def test_kms_lab_passes_on_the_default_embedded_emulator(tmp_path: Path) -> None:
    code, record, output = run([str(LAB)], tmp_path)
    assert code == 0, output
    assert record["status"] == "passed"
    assert record["target"]["kind"] == "emulator"
    assert statuses(record) == {task: "passed" for task in ALL_TASKS}
    assert record["score"] == record["points"] == 100
    assert "8 of 8 tasks passed" in output


def test_kms_lab_passes_and_leaves_nothing_behind(emulator: Emulator, tmp_path: Path) -> None:
    code, record, output = run([str(LAB), "--target", emulator.endpoint, "--region", REGION], tmp_path)
    assert code == 0, output
    assert statuses(record) == {task: "passed" for task in ALL_TASKS}
    # The log the lab searched for was delivered by the emulator, not faked.
    logs = next(t for t in record["tasks"] if t["id"] == "find-in-logs")["checks"][0]
    assert logs["result"]["count"] >= 1
    assert_nothing_left(emulator)


@pytest.mark.parametrize(
    ("name", "change", "broken", "check", "message"),
    [
        ("no-insights", drop_steps("select-insights"), "create-trail", "insights", "Insights events"),
        ("key-left-enabled", drop_steps("disable-key", "disabled-key-refuses", "schedule-deletion"),
         "delete-key", "key-pending-deletion", "Schedule the key for deletion"),
        ("trail-left-behind", drop_steps("delete-trail"), "clean-up", "trail-deleted", "Delete the trail"),
    ],
)
def test_a_variant_that_skips_one_part_fails_exactly_that_task(
    emulator: Emulator, tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None],
    broken: str, check: str, message: str,
) -> None:
    lab = variant(LAB, tmp_path, change, FILES)
    code, record, output = run([str(lab), "--target", emulator.endpoint, "--region", REGION, "--keep-going"],
                               tmp_path)
    assert code == 1, output
    assert statuses(record) == {task: ("failed" if task == broken else "passed") for task in ALL_TASKS}, name
    failing = failed_checks(record, broken)
    assert failing and failing[0]["id"] == check
    assert message in (failing[0].get("hint") or "")
    assert_nothing_left(emulator)


def test_no_sse_kms_fails_the_upload_task(emulator: Emulator, tmp_path: Path) -> None:
    def plain_upload(data: dict[str, Any]) -> None:
        task = next(t for t in data["tasks"] if t["id"] == "upload-encrypted")
        step = task["steps"][0]
        del step["params"]["extra_args"]
        del step["expect"]

    lab = variant(LAB, tmp_path, plain_upload, FILES)
    # Opening the image expects the SigV4 error only SSE-KMS objects give, and the log search waits
    # for the KMS call SSE-KMS makes: both follow from this task, so the run leaves them out.
    tasks = ["create-key", "create-trail", "upload-encrypted", "key-users", "delete-key", "clean-up"]
    args = [str(lab), "--target", emulator.endpoint, "--region", REGION, "--keep-going"]
    code, record, output = run(args + [f"--task={t}" for t in tasks], tmp_path)
    assert code == 1, output
    expected = {t: ("failed" if t == "upload-encrypted" else "passed") for t in tasks}
    assert statuses(record) == {**expected, "open-image": "skipped", "find-in-logs": "skipped"}
    failing = failed_checks(record, "upload-encrypted")
    assert [c["id"] for c in failing] == ["image-encrypted-with-key"]
    # The bucket holds an image, but none that S3 encrypted with the key.
    objects = failing[0]["result"]["Objects"]
    assert [(o["Key"], o["ServerSideEncryption"]) for o in objects] == [("Eiffel.jpg", "AES256")]
    assert_nothing_left(emulator)


def test_kms_lab_passes_with_throttling_and_server_errors(tmp_path: Path) -> None:
    code, record, output = run([str(LAB), "--faults", "throttle=0.2,error=0.05,seed=11"], tmp_path)
    assert code == 0, output
    assert statuses(record) == {task: "passed" for task in ALL_TASKS}
