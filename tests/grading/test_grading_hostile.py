"""Grading survives hostile student accounts: a gzip bomb, a flood of files, a 5 GiB image, terminal
control sequences in keys and tags, and a grade that outlasts its time limit.

Each hostile account is graded beside ordinary ones, in one class: the hostile account's checks fail
with a message that says what was not read and why, and the ordinary students are graded as if it were
not there. Whatever a student wrote reaches the terminal, JUnit, Gradescope, the CSV and the HTML report
escaped (`\\x1b`), never as the control characters themselves, and on GitHub Actions never as a
workflow command.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from grading_helpers import GRADER_ROLE, KMS_LAB, REGION, assume, grade, make_grader, session_clients, tasks_of
from hostile import (
    CONTROL,
    LARGE_OBJECTS,
    TAG_CONTROL,
    WORKFLOW,
    GiB,
    claim_size,
    flood,
    gzip_bomb,
    log_name,
    put_directly,
)
from students import KMS_TASKS
from students import Student as Scripted
from testkit import github_reads_a_command

from runner.commands.main import main
from runner.emulator import Emulator
from runner.emulator.server import BEHAVIOURS
from runner.engine.retrying import TimeLimit
from runner.grading import classroom, grader
from runner.grading.accounts import Student
from runner.validate import load_lab

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
READS_LAB = HERE / "data" / "hostile-lab.yaml"
CLASS_LAB = HERE / "data" / "class-lab.yaml"
#: What no output for people may hold: C0 controls but tab and newline, DEL, C1 controls, bidi controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
#: The first sequence of `hostile.CONTROL` (clear the screen), as an output shows it escaped.
ESCAPED = re.compile(r"\\+(x1b|u001b)\\*\[2J")
# Accounts of this module only: moto's state is shared by every emulator in a process.
KMS_CLASS = ("360000000001", "360000000002", "360000000003")
READS_CLASS = ("360000000011", "360000000012", "360000000013")
SLOW_CLASS = ("360000000021", "360000000022", "360000000023")
FIRST_FIVE = KMS_TASKS[:5]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """This module's own emulator: AWS's behaviours, and objects the tests make large (`claim_size`)."""
    with Emulator(log_delay=3600, region=REGION, behaviours=(*BEHAVIOURS, LARGE_OBJECTS)) as started:
        yield started


def roster(tmp_path: Path, accounts: tuple[str, ...]) -> Path:
    path = tmp_path / "class.csv"
    path.write_text("name,account_id\n" + "".join(f"student-{a[-2:]},{a}\n" for a in accounts))
    return path


def unsafe(text: str) -> list[str]:
    return sorted({repr(c) for c in UNSAFE.findall(text)})


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_a_class_with_a_hostile_account_grades_the_others_as_if_it_were_not_there(
        emulator: Emulator, tmp_path: Path) -> None:
    ordinary, hostile = KMS_CLASS[:2], KMS_CLASS[2]
    students = {account: Scripted(emulator, account, tmp_path / account, tool="boto3").do(*FIRST_FIVE)
                for account in KMS_CLASS}
    for account in KMS_CLASS:
        make_grader(emulator, account)
    bucket = students[hostile].bucket
    now = datetime.now(UTC)
    # A gzip bomb (1 GiB of spaces in 1 MiB) where CloudTrail writes, under a name with control sequences.
    put_directly(emulator, bucket, {log_name(hostile, REGION, now, label=CONTROL): gzip_bomb(GiB)})

    tasks = [arg for task in FIRST_FIVE for arg in ("--task", task)]
    code, output, folder = grade([str(KMS_LAB), "--target", emulator.endpoint, "--region", REGION, "--accounts",
                                  str(roster(tmp_path, KMS_CLASS)), "--role-arn", GRADER_ROLE, "--parallel", "3",
                                  *tasks], tmp_path, "kms")
    assert code == 1, output
    records = {account: json.loads((folder / f"student-{account[-2:]}-{account}.json").read_text())
               for account in KMS_CLASS}
    for account in ordinary:
        graded = tasks_of(records[account])
        assert {t: graded[t]["status"] for t in FIRST_FIVE} == dict.fromkeys(FIRST_FIVE, "passed")
        assert records[account]["score"] == 75

    graded = tasks_of(records[hostile])
    checks = {c["id"]: c for t in FIRST_FIVE for c in graded[t]["checks"]}
    found = checks["log-names-key-and-image"]["summary"]
    assert found.startswith(f"ReadLimitExceeded: log file AWSLogs/{hostile}/CloudTrail/{REGION}/")
    assert CONTROL in found  # the record keeps what the student wrote; outputs for people escape it
    assert found.endswith("is larger than any CloudTrail log file once decompressed (over 128 MiB): not read")
    # A check that could not read what it needed proves nothing: the task is not credited (its evidence
    # credits a student whose log files are gone, not one whose bucket holds a bomb).
    assert graded["find-in-logs"]["status"] == "failed" and records[hostile]["score"] == 75 - 10


def test_a_flood_of_files_under_the_log_prefix_is_listed_up_to_the_bound_and_not_read(
        emulator: Emulator, tmp_path: Path) -> None:
    account = "360000000004"
    student = Scripted(emulator, account, tmp_path / "home", tool="boto3").do(*FIRST_FIVE)
    flood(emulator, student.bucket, account, REGION, 5_000)
    make_grader(emulator, account)
    accounts = tmp_path / "one.txt"
    accounts.write_text(f"{account}\n")
    code, output, folder = grade([str(KMS_LAB), "--target", emulator.endpoint, "--region", REGION, "--accounts",
                                  str(accounts), "--role-arn", GRADER_ROLE, "--task", "find-in-logs"], tmp_path)
    assert code == 1, output
    check = tasks_of(json.loads((folder / f"{account}.json").read_text()))["find-in-logs"]["checks"][0]
    assert re.fullmatch(rf"ReadLimitExceeded: s3://{student.bucket}/AWSLogs/{account}/CloudTrail/{REGION}/ holds "
                        r"more than 600 files since \d{4}-\d\d-\d\d, more than a trail writes there in two days: "
                        r"not read", check["summary"])


def do_reads_lab(emulator: Emulator, account: str, *, hostile: bool) -> None:
    s3, = session_clients(emulator, assume(emulator, account), "s3")
    bucket = f"reads-{account}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    tag = f"cloud{TAG_CONTROL}101" if hostile else "cloud101"  # S3 strips what ends a value
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "course", "Value": tag}]})
    s3.put_object(Bucket=bucket, Key=f"notes{CONTROL}.txt" if hostile else "notes.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="image.jpg", Body=b"image")
    if hostile:
        claim_size(bucket, "image.jpg", 5 * GiB)  # the image replaced by 5 GiB
        s3.put_object(Bucket=bucket, Key="notes.txt", Body=f"hello{CONTROL}".encode())
        s3.put_object(Bucket=bucket, Key=f"{CONTROL}.txt", Body=b"")
    now = datetime.now(UTC)
    record = {"eventVersion": "1.09", "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource":
              "s3.amazonaws.com", "eventName": "PutObject", "eventID": f"put-{account}"}
    logs = {log_name(account, REGION, now): gzip.compress(json.dumps({"Records": [record]}).encode())}
    if hostile:
        logs[log_name(account, REGION, now, label=CONTROL + WORKFLOW)] = gzip_bomb(GiB)
    put_directly(emulator, bucket, logs)


def test_control_sequences_a_student_wrote_reach_every_output_escaped(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for account in READS_CLASS:
        do_reads_lab(emulator, account, hostile=account == READS_CLASS[2])
        make_grader(emulator, account, READS_LAB)
    hostile = READS_CLASS[2]

    # The class: CSV, JUnit, Gradescope, the records, what the terminal shows.
    gradescope = tmp_path / "gradescope"
    code, output, folder = grade([str(READS_LAB), "--target", emulator.endpoint, "--region", REGION, "--accounts",
                                  str(roster(tmp_path, READS_CLASS)), "--role-arn", GRADER_ROLE, "--parallel", "3",
                                  "--csv", str(tmp_path / "class.csv"), "--junit", str(tmp_path / "class.xml"),
                                  "--gradescope", str(gradescope)], tmp_path, "class")
    assert code == 1, output
    records = {a: json.loads((folder / f"student-{a[-2:]}-{a}.json").read_text()) for a in READS_CLASS}
    assert [records[a]["score"] for a in READS_CLASS[:2]] == [25, 25], output
    assert {t["id"]: t["status"] for t in records[hostile]["tasks"]} == dict.fromkeys(
        ("files", "tagged", "notes", "download", "logs"), "failed")
    download = tasks_of(records[hostile])["download"]["checks"][0]
    assert download["summary"] == (f"ReadLimitExceeded: object s3://reads-{hostile}/image.jpg is 5 GiB, more than "
                                   "the 64 MiB a step reads: not read")
    assert any(CONTROL in text for text in strings(records[hostile]))  # data files keep the data
    shown = {"terminal": output, "csv": (tmp_path / "class.csv").read_text(),
             "junit": (tmp_path / "class.xml").read_text(),
             "gradescope": (gradescope / f"{hostile}.json").read_text()}

    # One account, as a student would grade themselves: the terminal shows every failed expectation.
    credentials = assume(emulator, hostile, "Student")
    for name, value in (("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"]),
                        ("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"]),
                        ("AWS_SESSION_TOKEN", credentials["SessionToken"])):
        monkeypatch.setenv(name, value)
    # ...on GitHub Actions, as a course's CI would: annotations on the terminal, and the job summary.
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    code, output, record = grade([str(READS_LAB), "--target", emulator.endpoint, "--region", REGION,
                                  "--junit", str(tmp_path / "one.xml"), "--gradescope", str(tmp_path / "one.json")],
                                  tmp_path, "one")
    assert code == 1 and "::error " in output
    # The runner reads commands in every line of the output: the only ones there are labrunner's annotations.
    commands = [line for line in output.splitlines() if github_reads_a_command(line)]
    assert commands and all(line.startswith("::error file=") for line in commands), commands
    assert "\\x23#[stop-commands]owned" in output
    page = tmp_path / "report.html"
    with (tmp_path / "report.txt").open("w") as stream:
        assert main(["report", str(record), *map(str, folder.glob("*.json")), "--html", str(page)], out=stream) == 0
    shown.update({"terminal (one account)": output, "junit (one account)": (tmp_path / "one.xml").read_text(),
                  "gradescope (one account)": (tmp_path / "one.json").read_text(), "html": page.read_text(),
                  "github summary": (tmp_path / "summary.md").read_text()})

    for name, text in shown.items():
        if name.startswith("gradescope"):  # JSON: what Gradescope shows is the decoded strings
            text = "\n".join(strings(json.loads(text)))
        assert unsafe(text) == [], f"{name} holds control characters a student wrote"
    # ...and shows them escaped, so an instructor can tell what the student wrote (JSON writes ESC \u001b,
    # a message \x1b; Markdown backslashes the bracket).
    for name in ("junit", "gradescope", "terminal (one account)", "html"):
        text = "\n".join(strings(json.loads(shown[name]))) if name == "gradescope" else shown[name]
        assert ESCAPED.search(text), f"{name} does not show the escaped sequence"
    rows = list(csv.DictReader((tmp_path / "class.csv").open()))
    assert [r["total"] for r in rows] == ["25", "25", "0"]


def test_a_grade_that_outlasts_its_time_limit_reports_the_rest_not_graded_and_the_class_carries_on(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for account in SLOW_CLASS:
        s3, kms = session_clients(emulator, assume(emulator, account), "s3", "kms")
        bucket = f"class-{account}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "course", "Value": "cloud101"}]})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/classKey", TargetKeyId=key)
        kms.enable_key_rotation(KeyId=key)
        make_grader(emulator, account, CLASS_LAB)
    slow = SLOW_CLASS[1]
    # Each grade has its own clock (no real waiting): the slow account's jumps 11 minutes when its
    # third task reads the bucket's versioning, as a call that took that long would.
    grading = threading.local()
    offsets = dict.fromkeys(SLOW_CLASS, 0.0)

    def clock() -> float:
        return offsets[grading.account]

    real_grade, real_target = classroom.Classroom.grade_student, classroom.Classroom.target_for

    def grade_student(self: classroom.Classroom, student: Student) -> classroom.StudentResult:
        grading.account = student.account
        return real_grade(self, student)

    def target_for(self: classroom.Classroom, student: Student) -> Any:
        target = real_target(self, student)
        if student.account == slow:
            def eleven_minutes(**_: Any) -> None:
                offsets[slow] += 660

            target.add_client_hook(lambda client: client.meta.events.register(
                "before-call.s3.GetBucketVersioning", eleven_minutes))
        return target

    monkeypatch.setattr(classroom.Classroom, "grade_student", grade_student)
    monkeypatch.setattr(classroom.Classroom, "target_for", target_for)
    from runner.engine.targets import Target

    base = Target.for_emulator(emulator, REGION)
    options = grader.options((), {}, datetime.now(UTC))
    limit = TimeLimit(600, "this account's grade took longer than --student-timeout (10m)")
    room = classroom.Classroom(load_lab(str(CLASS_LAB), str(CLASS_LAB)), base, GRADER_ROLE,
                               replace(options, time_limit=limit), runner_options={"clock": clock})
    results = {r.student.account: r for r in room.grade_all([Student(a, a) for a in SLOW_CLASS], parallel=3)}

    for account in (SLOW_CLASS[0], SLOW_CLASS[2]):
        assert results[account].passed and results[account].record.score == 35
    record = results[slow].record
    statuses = {t.id: (t.status, t.summary) for t in record.tasks}
    not_graded = "not graded: this account's grade took longer than --student-timeout (10m)"
    assert statuses == {"bucket": ("passed", None), "tagged": ("passed", None), "versioning": ("passed", None),
                        "key": ("error", not_graded), "rotation": ("error", not_graded)}
    assert record.score == 20 and record.status == "error"
    assert results[slow].error == ("this account's grade took longer than --student-timeout (10m): 2 tasks "
                                   "not graded")
    table = classroom.summary_table(room.lab, list(results.values()))
    assert f"ERROR {results[slow].error}" in table
    rows = {row[1]: row for row in classroom.summary_rows(room.lab, list(results.values()))[1:]}
    assert rows[slow][3:8] == ["10", "5", "5", "", ""]
