"""`labrunner autograder`: the zip Gradescope's specification asks for, and its run_autograder run end
to end, as Gradescope runs it, in a temporary autograder tree against the emulator.

A student works in their own emulator account; the instructor's identity (the emulator's own keys, the
root of 123456789012) assumes the `Grader` role the student made there, which trusts that account and
holds the lab's printed grader policy.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from consumers import assert_valid_gradescope
from grading.grading_helpers import assume, grader_policy, session_clients  # a student in their own account

from runner import __version__
from runner.autograder import run, submission, wheel
from runner.commands.main import main
from runner.emulator import DEFAULT_ACCOUNT, Emulator
from runner.grading import classroom

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "tests" / "grading" / "data" / "class-lab.yaml"
KMS_LAB = ROOT / "labs" / "kms-basics.yaml"
REGION = "us-west-2"
STUDENT = "330000000001"  # this module's own account: moto's state is shared by the process
POINTS = {"bucket": 10, "tagged": 5, "versioning": 5, "key": 10, "rotation": 5}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                  "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}}]}
METADATA = {"id": 1, "created_at": "2026-03-10T14:22:32.365935-07:00",
            "assignment": {"release_date": "2026-03-01T00:00:00.000000-08:00", "title": "Lab 1", "id": 7,
                           "course_id": 9, "due_date": None, "group_size": None, "group_submission": False,
                           "late_due_date": None, "total_points": "35.0"},
            "users": [{"email": "bea@example.edu", "id": 1234, "name": "Bea Student"}],
            "previous_submissions": []}


def build(tmp_path: Path, *args: str, lab: Path = LAB) -> Path:
    out = tmp_path / "autograder.zip"
    with (tmp_path / "build.txt").open("w") as stream:
        assert main(["autograder", str(lab), "-o", str(out), *args], out=stream) == 0
    return out


def tree(tmp_path: Path, archive: Path, account_txt: str | None) -> Path:
    """An autograder tree as Gradescope lays it out: source/ (the zip), run_autograder, a submission."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(root / "source")
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    (root / "submission").mkdir()
    if account_txt is not None:
        (root / "submission" / "account.txt").write_text(account_txt)
    (root / "submission_metadata.json").write_text(json.dumps(METADATA))
    return root


def run_autograder(root: Path, emu: Emulator, *, named_root: bool = True
                   ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run `run_autograder` as Gradescope does; `named_root=False` leaves the script to find its root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "AUTOGRADER_ROOT"}
    env.update(LABRUNNER_TARGET=emu.endpoint, LABRUNNER_PYTHON=sys.executable,
               AWS_CONFIG_FILE=str(root / "none"), AWS_SHARED_CREDENTIALS_FILE=str(root / "none"))
    if named_root:
        env["AUTOGRADER_ROOT"] = str(root)
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    results = root / "results" / "results.json"
    assert results.is_file(), done.stdout + done.stderr
    return done, assert_valid_gradescope(results)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(log_delay=3600, region=REGION) as emulator:
        s3, kms, iam = session_clients(emulator, assume(emulator, STUDENT), "s3", "kms", "iam")
        s3.create_bucket(Bucket=f"class-{STUDENT}", CreateBucketConfiguration={"LocationConstraint": REGION})
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/classKey", TargetKeyId=key)
        iam.create_role(RoleName="Grader", AssumeRolePolicyDocument=json.dumps(TRUST))
        # The policy `labrunner grade LAB --print-policy` prints, as the instructor's instructions say.
        iam.put_role_policy(RoleName="Grader", PolicyName="grade", PolicyDocument=json.dumps(grader_policy(LAB)))
        yield emulator


def test_the_zip_holds_what_gradescope_runs_and_a_wheel_pip_installs(tmp_path: Path) -> None:
    archive = build(tmp_path, "--role-name", "Grader", lab=KMS_LAB)
    with zipfile.ZipFile(archive) as opened:
        names = {info.filename: info.external_attr >> 16 for info in opened.infolist()}
        config = json.loads(opened.read("autograder.json"))
        whl = opened.read(wheel.filename())
    # setup.sh and run_autograder at the root, executable; the lab and the file it names beside them
    assert names["setup.sh"] & 0o111 and names["run_autograder"] & 0o111
    assert {"kms-basics.yaml", "Eiffel.jpg", "autograder.json", wheel.filename()} <= set(names)
    assert "aws-credentials" not in names
    assert (config["lab"], config["role_name"], config["visibility"]) == ("kms-basics.yaml", "Grader", "visible")
    assert archive.stat().st_mode & 0o077 == os.stat(tmp_path / "build.txt").st_mode & 0o077  # the umask's
    # The wheel installs with pip alone (no build tools), and has the autograder's entry point.
    target = tmp_path / "site"
    wheel_file = tmp_path / wheel.filename()
    wheel_file.write_bytes(whl)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--target", str(target), str(wheel_file)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (target / "runner" / "autograder" / "__main__.py").is_file()
    assert (target / "runner" / "data" / "autograder-run.sh").is_file()
    metadata = (target / f"labrunner-{__version__}.dist-info" / "METADATA").read_text()
    assert "Requires-Dist: boto3" in metadata and "Requires-Python: >=3.11" in metadata


def test_run_autograder_grades_the_submitted_account_through_the_grader_role(emu: Emulator, tmp_path: Path) -> None:
    archive = build(tmp_path, "--role-name", "Grader", "--visibility", "after_due_date",
                    "--task-visibility", "bucket=visible", "--stdout-visibility", "after_published")
    root = tree(tmp_path, archive, f"# my account\n{STUDENT[:4]}-{STUDENT[4:8]}-{STUDENT[8:]}\n")
    done, results = run_autograder(root, emu)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"as arn:aws:iam::{STUDENT}:role/Grader" in done.stdout  # the instructor's log
    assert results["score"] == 20  # the bucket and the key
    assert {t["name"]: (t["score"], t["max_score"], t["status"]) for t in results["tests"]} == {
        "Create the bucket class-<account id> (bucket)": (10, 10, "passed"),
        "Tag the bucket course=cloud101 (tagged)": (0, 5, "failed"),
        "Turn on versioning (versioning)": (0, 5, "failed"),
        "A KMS key with the alias classKey (key)": (10, 10, "passed"),
        "Turn on automatic key rotation (rotation)": (0, 5, "failed")}
    assert (results["visibility"], results["stdout_visibility"], results["output_format"]) == (
        "after_due_date", "after_published", "md")
    assert {t["number"]: t["visibility"] for t in results["tests"]} == {
        "1": "visible", "2": "after_due_date", "3": "after_due_date", "4": "after_due_date", "5": "after_due_date"}
    assert all(t["output_format"] == "md" for t in results["tests"])
    tagged = next(t for t in results["tests"] if t["number"] == "2")
    assert "Tag the bucket with course = cloud101\\." in tagged["output"]
    assert f"Graded AWS account {STUDENT}" in results["output"]
    assert results["extra_data"]["account"] == STUDENT and results["extra_data"]["student"] == "Bea Student"


@pytest.mark.parametrize(("account_txt", "wanted"), [
    (None, "No account.txt was submitted (the submission is empty)"),
    ("", "account.txt is empty"),
    ("my account is twelve\n", "account.txt holds 'my account is twelve', which is not a 12-digit AWS account id"),
])
def test_a_malformed_submission_gets_a_result_that_says_what_to_upload(
    emu: Emulator, tmp_path: Path, account_txt: str | None, wanted: str
) -> None:
    root = tree(tmp_path, build(tmp_path, "--role-name", "Grader"), account_txt)
    done, results = run_autograder(root, emu, named_root=account_txt is not None)  # else found from its place
    assert done.returncode == 0, done.stdout + done.stderr
    assert results["score"] == 0
    assert "Your submission could not be graded" in results["output"]
    assert wanted.replace(".", "\\.").replace("(", "\\(").replace(")", "\\)").replace("-", "\\-") in results["output"]
    assert len(results["tests"]) == 5 and all(t["status"] == "failed" for t in results["tests"])


def test_a_role_that_cannot_be_assumed_is_a_result_naming_what_to_check(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path, build(tmp_path, "--role-name", "Grader"), f"{STUDENT}\n")
    refusal = (f"cannot assume arn:aws:iam::{STUDENT}:role/Grader: AccessDenied: not authorized to perform "
               "sts:AssumeRole")

    def refused(self: classroom.Classroom, student: Any) -> Any:
        raise classroom.GradingError(refusal)

    monkeypatch.setattr(classroom.Classroom, "target_for", refused)
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    monkeypatch.setenv("LABRUNNER_TARGET", emu.endpoint)
    out = io.StringIO()
    assert run.main([], out) == 0
    results = assert_valid_gradescope(root / "results" / "results.json")
    assert f"Your account {STUDENT} could not be graded:" in results["output"]
    assert "AccessDenied" in results["output"] and "`Grader` exists in that account" in results["output"]
    assert results["score"] == 0 and all(t["status"] == "failed" for t in results["tests"])
    assert "not graded: cannot assume" in results["tests"][0]["output"]


def test_a_broken_autograder_still_writes_results_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / "autograder.json").write_text("{}")
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    out = io.StringIO()
    assert run.main([], out) == 1
    results = assert_valid_gradescope(root / "results" / "results.json")
    assert "This is not your fault" in results["output"] and "'lab' is missing" in results["output"]


def test_the_submission_window_starts_at_the_release_date_within_cloudtrails_90_days(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "Account.TXT").write_text("\ufeff123456789012\n")
    (tmp_path / "submission_metadata.json").write_text(json.dumps(METADATA))
    found = submission.read(tmp_path, now=datetime(2026, 3, 10, tzinfo=UTC))
    assert (found.account, found.role_arn, found.student) == ("123456789012", None, "Bea Student")
    assert found.since == datetime(2026, 3, 1, 8, tzinfo=UTC)
    later = submission.read(tmp_path, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert later.since == datetime(2026, 9, 2, tzinfo=UTC)  # 90 days back: CloudTrail keeps no more
    (tmp_path / "submission" / "Account.TXT").write_text("arn:aws:iam::111122223333:role/MyGrader\n")
    assert submission.read(tmp_path).role_arn == "arn:aws:iam::111122223333:role/MyGrader"


def test_options_are_checked_before_anything_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args, wanted in [(["--role-name", "Grader", "--visibility", "soon"], "--visibility: 'soon' is not one of"),
                         (["--role-name", "no spaces"], "--role-name: 'no spaces' is not an IAM role name"),
                         (["--role-name", "G", "--task-visibility", "nope=hidden"], "the lab has no task 'nope'")]:
        assert main(["autograder", str(LAB), "-o", str(tmp_path / "a.zip"), *args]) == 2
        assert wanted in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()
