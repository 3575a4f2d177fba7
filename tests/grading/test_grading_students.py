"""The KMS lab graded as an instructor grades a class: scripted students, each in an account of its own,
by every valid route, with one typical mistake, forging evidence, or doing nothing.

A grade is a claim about what a student did. Each test names the score `labrunner grade` must give
every task: full marks for each valid route, graded in the middle of the lab (the tasks not yet done
score 0) and after the student's own clean-up (when only CloudTrail's event history remains); 0 for
the task a mistake spoils; nothing for a forged log file; nothing at all for an untouched account.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from grading_helpers import grade_student, tasks_of
from students import KMS_POINTS, KMS_TASKS, MISTAKES, Route, Student, Tool

from runner.emulator import Emulator

pytestmark = pytest.mark.e2e

LABS = Path(__file__).resolve().parents[2] / "labs"


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    # The module's emulator as it is: every test works in accounts of its own. Log files are delivered
    # when a student waits for them (deliver_logs_now), never on their own.
    return emulator


def fresh_account() -> str:
    """An account no other test uses (moto's state is shared by every emulator in a process)."""
    return f"4{uuid.uuid4().int % 10**11:011d}"


def scores(emu: Emulator, account: str, tmp_path: Path, lab: Path = LABS / "kms-basics.yaml") -> dict[str, float]:
    record = grade_student(emu, account, tmp_path, lab=lab)[1]
    return {task["id"]: task["score"] for task in record["tasks"]}


def full(*tasks: str) -> dict[str, float]:
    """Full marks for `tasks`, nothing for the others."""
    return {task: (KMS_POINTS[task] if task in tasks else 0) for task in KMS_TASKS}


def test_a_cli_student_graded_after_every_task_scores_exactly_what_is_done(emu: Emulator, tmp_path: Path) -> None:
    account = fresh_account()
    student = Student(emu, account, tmp_path / "student", tool="cli")
    for done, task in enumerate(KMS_TASKS, start=1):
        student.do(task)
        assert scores(emu, account, tmp_path) == full(*KMS_TASKS[:done]), f"graded after {task}"


def test_evidence_credits_every_task_after_the_student_s_clean_up(emu: Emulator, tmp_path: Path) -> None:
    account = fresh_account()
    Student(emu, account, tmp_path / "student").do(*KMS_TASKS)
    code, record, output = grade_student(emu, account, tmp_path)
    assert code == 0, output
    tasks = tasks_of(record)
    assert {t: tasks[t]["score"] for t in KMS_TASKS} == KMS_POINTS
    # The trail and the bucket are gone; the key waits for deletion and keeps its alias and policy.
    assert {t: tasks[t]["credited_by"] for t in KMS_TASKS} == {
        "create-key": "checks", "create-trail": "evidence", "upload-encrypted": "evidence",
        "open-image": "evidence", "find-in-logs": "evidence", "key-users": "checks", "delete-key": "checks",
        "clean-up": "checks"}


#: Valid routes, each played with one of the two tools.
ROUTES: dict[str, tuple[Route, Tool]] = {
    "own-image-by-alias-acl-advanced-selectors": (Route(
        image="my-tower.png", image_body=b"\x89PNG\r\n\x1a\n own picture", sse="alias", public="acl",
        selectors="advanced"), "cli"),
    "bucket-default-encryption-30-days-no-disable-alias-deleted": (Route(
        sse="bucket-default", deletion_days=30, disable_first=False, block_again=False, delete_alias=True), "boto3"),
    "key-arn-single-region-no-validation-hand-written-policy": (Route(
        sse="arn", multi_region=False, validation=False, console_bucket_policy=False, deletion_days=12), "cli"),
    "acl-left-public": (Route(public="acl", block_again=False, image="photos/eiffel.jpg"), "boto3"),
}


@pytest.mark.parametrize(("route", "tool"), list(ROUTES.values()), ids=list(ROUTES))
def test_every_valid_route_earns_full_marks_before_and_after_clean_up(
    emu: Emulator, tmp_path: Path, route: Route, tool: Tool
) -> None:
    account = fresh_account()
    student = Student(emu, account, tmp_path / "student", tool=tool, route=route)
    student.do(*KMS_TASKS[:-1])
    assert scores(emu, account, tmp_path) == full(*KMS_TASKS[:-1])
    student.do("clean-up")
    assert scores(emu, account, tmp_path) == KMS_POINTS


#: What a mistake costs once the student has finished the lab, where that differs from its own task:
#: a later task that needs what it should have made, or a later task that repairs it.
AT_THE_END = {"sse-s3-upload": ("upload-encrypted", "find-in-logs"), "no-key-users": ()}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_costs_its_task_and_only_its_task(emu: Emulator, tmp_path: Path, mistake: str) -> None:
    account = fresh_account()
    tool: Tool = "cli" if list(MISTAKES).index(mistake) % 2 else "boto3"  # half of them with each tool
    student = Student(emu, account, tmp_path / "student", tool=tool, mistake=mistake)
    wrong = MISTAKES[mistake]
    done = KMS_TASKS[:KMS_TASKS.index(wrong) + 1]
    student.do(*done)
    assert scores(emu, account, tmp_path) == full(*[t for t in done if t != wrong]), "graded right after"
    student.do(*KMS_TASKS[len(done):])
    lost = AT_THE_END.get(mistake, (wrong,))
    assert scores(emu, account, tmp_path) == full(*[t for t in KMS_TASKS if t not in lost]), "graded at the end"


def test_a_forged_log_file_earns_nothing(emu: Emulator, tmp_path: Path) -> None:
    account = fresh_account()
    # A key and a trail, no upload: a made-up log file says S3 used the key for the image.
    forger = Student(emu, account, tmp_path / "forger", tool="cli").do("create-key", "create-trail")
    forger.forge_log()
    assert scores(emu, account, tmp_path) == full("create-key", "create-trail")
    # An image uploaded without SSE-KMS, made public, the logs delivered: still nothing for tasks 3 and 5.
    forger.mistake = "sse-s3-upload"
    forger.do("upload-encrypted", "find-in-logs")
    forger.forge_log()
    assert scores(emu, account, tmp_path) == full("create-key", "create-trail")


@pytest.mark.parametrize("lab", sorted(LABS.glob("*.yaml")), ids=lambda path: path.stem)
def test_an_untouched_account_scores_nothing_in_every_lab(emu: Emulator, tmp_path: Path, lab: Path) -> None:
    code, record, output = grade_student(emu, fresh_account(), tmp_path, lab=lab)
    assert code == 1, output
    graded: list[dict[str, Any]] = record["tasks"]
    assert {t["id"]: t["score"] for t in graded} == {t["id"]: 0 for t in graded}
    assert record["score"] == 0
