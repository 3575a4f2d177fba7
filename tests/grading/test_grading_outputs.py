"""One student graded through a role, and what a grade writes: files where a path names a file, each
valid for the tool that reads it (junit-10.xsd, Gradescope's results.json), shared files readable by
others and records owner-only; and a task a grade cannot grade counted the same by every output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from consumers import assert_valid_gradescope, assert_valid_junit
from grading_helpers import REGION, assume, grade, make_grader, session_clients

from runner.commands.main import main
from runner.emulator import Emulator

pytestmark = pytest.mark.e2e

LAB = Path(__file__).parent / "data" / "class-lab.yaml"
# Accounts of this module only: moto's state is shared by every emulator in a process.
STUDENT, CLASSMATE = "320000000001", "320000000002"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(log_delay=3600, region=REGION) as emulator:
        for account in (STUDENT, CLASSMATE):  # each made the bucket (10 of 35 points), nothing else
            s3, = session_clients(emulator, assume(emulator, account), "s3")
            s3.create_bucket(Bucket=f"class-{account}", CreateBucketConfiguration={"LocationConstraint": REGION})
            make_grader(emulator, account, LAB)
        yield emulator


def test_one_student_graded_through_a_role_writes_one_of_each_file(emu: Emulator, tmp_path: Path) -> None:
    role = f"arn:aws:iam::{STUDENT}:role/Grader"
    previous = os.umask(0o022)
    try:
        code, output, record = grade([str(LAB), "--target", emu.endpoint, "--role-arn", role,
                                      "--gradescope", str(tmp_path / "results.json"),
                                      "--junit", str(tmp_path / "grade.xml")], tmp_path)
    finally:
        os.umask(previous)
    assert code == 1, output  # the other tasks are missing
    data = json.loads(record.read_text())
    assert data["target"]["account"] == STUDENT and (data["score"], data["points"]) == (10, 35)
    results = assert_valid_gradescope(tmp_path / "results.json")
    assert results["score"] == 10 and len(results["tests"]) == 5
    junit = assert_valid_junit(tmp_path / "grade.xml")
    assert junit.get("failures") == "4"
    assert record.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "results.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "grade.xml").stat().st_mode & 0o777 == 0o644


def test_one_student_quiet_prints_the_failures_the_result_and_absolute_paths(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    code = main(["grade", str(LAB), "--target", emu.endpoint, "--role-arn", f"arn:aws:iam::{STUDENT}:role/Grader",
                 "--quiet", "--record", "out/grade.json", "--junit", "out/grade.xml", "--gradescope",
                 "out/results.json"], out)
    assert code == 1
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if "passed" in line and not line.startswith("result")]  # the bucket task
    assert lines[0].startswith("[2/5] tagged: ") and lines[1].startswith("  ? ")
    assert [line.split(": ")[0] for line in lines[-4:]] == ["result", "record", "junit", "gradescope"]
    assert lines[-3:] == [f"record: {tmp_path}/out/grade.json", f"junit: {tmp_path}/out/grade.xml",
                          f"gradescope: {tmp_path}/out/results.json"]


def test_one_student_verbose_shows_each_read_and_never_the_roles_credentials(emu: Emulator, tmp_path: Path) -> None:
    code, output, _ = grade([str(LAB), "--target", emu.endpoint, "--role-arn", f"arn:aws:iam::{STUDENT}:role/Grader",
                             "--verbose"], tmp_path)
    assert code == 1, output
    assume_reply = next(line for line in output.splitlines() if line.startswith("      < sts.AssumeRole 200 "))
    assert '"SecretAccessKey": "***"' in assume_reply and '"SessionToken": "***"' in assume_reply
    assert f'      > s3.HeadBucket {{"Bucket": "class-{STUDENT}"}}' in output  # the student's account, as the role
    assert f'      > s3.GetBucketTagging {{"Bucket": "class-{STUDENT}"}}' in output


def test_a_class_quiet_prints_its_table_and_verbose_marks_each_request_with_its_account(
        emu: Emulator, tmp_path: Path) -> None:
    roster = tmp_path / "class.csv"
    roster.write_text(f"account,name\n{STUDENT},Al\n{CLASSMATE},Bea\n")
    args = [str(LAB), "--target", emu.endpoint, "--accounts", str(roster), "--role-arn",
            "arn:aws:iam::{account}:role/Grader"]
    code, quiet, _ = grade([*args, "--quiet"], tmp_path)
    assert code == 1, quiet
    assert "labrunner grade" not in quiet and "  graded " not in quiet  # the table says how each did
    assert "Al" in quiet and "Bea" in quiet and "records: " in quiet
    code, verbose, _ = grade([*args, "--verbose", "--parallel", "2"], tmp_path)
    assert code == 1, verbose
    for account in (STUDENT, CLASSMATE):
        assert f'      > {account} s3.HeadBucket {{"Bucket": "class-{account}"}}' in verbose
        assert f"  graded {'Al' if account == STUDENT else 'Bea'} ({account}): 10/35 points" in verbose
    shown = re.findall(r'"(?:SecretAccessKey|SessionToken)": "([^"]*)"', verbose)  # each AssumeRole's reply
    assert len(shown) == 4 and set(shown) == {"***"}


def test_a_class_of_one_with_a_results_json_path_writes_that_file(emu: Emulator, tmp_path: Path) -> None:
    roster = tmp_path / "one.csv"
    roster.write_text(f"account,name\n{CLASSMATE},Bea\n")
    results = tmp_path / "autograder" / "results" / "results.json"
    code, output, folder = grade([str(LAB), "--target", emu.endpoint, "--accounts", str(roster), "--role-arn",
                                  "arn:aws:iam::{account}:role/Grader", "--gradescope", str(results)], tmp_path)
    assert code == 1, output
    assert results.is_file()
    assert assert_valid_gradescope(results)["extra_data"]["student"] == "Bea"
    assert (folder / f"Bea-{CLASSMATE}.json").is_file()  # --record named no file: the class folder


def test_a_task_without_checks_counts_for_no_points_in_every_output(emu: Emulator, tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB.read_text().replace("tasks:\n", "tasks:\n  - id: prepare\n    title: Prepare\n    points: 3\n"
                                           "    steps:\n      - action: aws.s3.list_buckets\n", 1))
    roster = tmp_path / "one.csv"
    roster.write_text(f"{STUDENT}\n")
    results = tmp_path / "results.json"
    code, output, folder = grade([str(lab), "--target", emu.endpoint, "--accounts", str(roster), "--role-arn",
                                  "arn:aws:iam::{account}:role/Grader", "--gradescope", str(results), "--junit",
                                  str(tmp_path / "grade.xml"), "--csv", str(tmp_path / "summary.csv")], tmp_path)
    assert code == 1, output
    record = json.loads((folder / f"{STUDENT}.json").read_text())
    prepare = record["tasks"][0]
    # the record: skipped, and worth nothing in this grade
    assert (prepare["id"], prepare["status"], prepare["score"], prepare["points"]) == ("prepare", "skipped", 0, 0)
    assert (record["score"], record["points"]) == (10, 35)
    # Gradescope: a test worth 0 of 0, neither passed nor failed; the same totals
    gradescope = assert_valid_gradescope(results)
    test = gradescope["tests"][0]
    assert (test["score"], test["max_score"], "status" in test) == (0, 0, False)
    assert gradescope["score"] == 10 and sum(t["max_score"] for t in gradescope["tests"]) == 35
    # JUnit: a skipped test
    case = assert_valid_junit(tmp_path / "grade.xml").find(".//testcase[@classname='class-basics.prepare']")
    assert case is not None and case.find("skipped") is not None
    # the CSV: 0 for it, and the same total and points
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert (rows[0]["prepare"], rows[0]["total"], rows[0]["points"]) == ("0", "10", "35")
    # the report: 0 of 0 points, skipped
    page = tmp_path / "report.html"
    assert main(["report", str(folder), "--html", str(page)], io.StringIO()) == 0
    html = page.read_text()
    assert '<th title="Prepare"><code>prepare</code><span class="pts">0 pts</span></th>' in html
    assert "10 / 35" in html
