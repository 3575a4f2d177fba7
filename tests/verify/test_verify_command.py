"""`labrunner verify`: exit statuses, the matrix it prints, and its JUnit file (valid against junit-10.xsd)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from consumers import assert_valid_junit

from runner.commands.main import main

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD, MISTAKE = DATA / "verify" / "good.yaml", DATA / "verify" / "mistake-scores.yaml"


def verify(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["verify", *args], out), out.getvalue()


def test_a_grader_that_holds_exits_0_and_prints_its_matrix(tmp_path: Path) -> None:
    status, out = verify(str(GOOD), "--junit", str(tmp_path / "verify.xml"), "--seed", "7")
    assert status == 0, out
    assert "labrunner verify verify-good: A bucket, tagged for its team" in out
    rows = {line.split("  ")[0]: line.split()[-2:] for line in out.splitlines() if line.startswith(
        ("untouched", "reference", "leave out", "alternative", "mistake"))}
    assert rows["untouched account"] == ["0", "0"]
    assert rows["reference"] == rows["reference (after clean-up)"] == ["10", "5"]
    assert rows["leave out make-bucket"] == ["0", "dep"]
    assert rows["mistake tag-bucket/wrong-team"] == ["10", "0"]
    assert "dependent:\n  leave out make-bucket, task tag-bucket: needs the left-out task: step 'tag' failed" in out
    assert out.rstrip().splitlines()[-2].startswith("result: passed: every grade as expected in 6 cases of 1 lab")
    root = assert_valid_junit(tmp_path / "verify.xml")
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 8 * 2  # every case x task: 6 cases, two of them graded twice; 2 tasks
    assert root.get("failures") == "0"
    skipped = root.find("testsuite[@name='verify-good.leave-out/make-bucket']/testcase[@name='tag-bucket']/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("dependent: needs the left-out task")


def test_a_disagreement_exits_1_and_names_the_case_the_task_and_the_check(tmp_path: Path) -> None:
    status, out = verify(str(GOOD), str(MISTAKE), "--junit", str(tmp_path / "verify.xml"))
    assert status == 1, out
    assert "mistake tag-bucket/wrong-team     10   !1" not in out  # two labs, each its own matrix
    assert ("disagreements (1):\n  mistake tag-bucket/wrong-team, task tag-bucket: expected 0, scored 1/1: "
            "every check passed: 'team-tagged'") in out
    assert "result: FAILED: 1 disagreement in 11 cases of 2 labs" in out
    root = assert_valid_junit(tmp_path / "verify.xml")
    failure = root.find("testsuite[@name='verify-mistake-scores.mistake/tag-bucket/wrong-team']"
                        "/testcase[@name='tag-bucket']/failure")
    assert failure is not None and failure.get("type") == "Disagreement"
    assert "every check passed: 'team-tagged'" in (failure.text or "")


def test_an_invalid_lab_exits_2_and_nothing_runs(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("lab: broken\ntitle: Broken\ntasks:\n  - id: t\n    title: T\n    checks:\n"
                      "      - action: aws.s3.list_bucket\n")
    status, out = verify(str(GOOD), str(broken))
    assert status == 2
    assert "unknown" in out and "aws.s3.list_bucket" in out
    assert "labrunner verify" not in out  # not even the valid lab ran


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "aws"], "--target aws: verify makes a fresh account for every case"),
    (["--parallel", "0"], "--parallel: expected at least 1"),
    (["--var", "nope=1"], "--var"),
])
def test_bad_options_exit_2_before_anything_runs(args: list[str], message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    status, out = verify(str(GOOD), *args)
    assert status == 2 and out == ""
    assert message in capsys.readouterr().err


def test_quiet_prints_only_what_disagrees_and_the_result_and_paths_are_absolute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    status, out = verify(str(GOOD), str(MISTAKE), "--quiet", "--junit", "out/verify.xml")
    assert status == 1, out
    lines = out.splitlines()
    assert lines[0] == "labrunner verify verify-mistake-scores: A bucket, tagged for its team"
    assert lines[1].startswith("  case mistake tag-bucket/wrong-team: 1 disagreement, ")
    assert "verify-good" not in out and "as expected," not in out  # a lab that holds: only in the result
    assert "disagreements (1):" in out  # the failing lab's matrix and what disagrees
    assert lines[-2].startswith("result: FAILED: 1 disagreement in 11 cases of 2 labs")
    assert lines[-1] == f"junit: {tmp_path}/out/verify.xml"


def test_color_always_paints_each_case_and_the_result_by_what_it_says() -> None:
    # Seeds far apart: a case's seed is the first's plus its number, and S3's bucket names are global.
    status, out = verify(str(GOOD), "--color", "always", "--seed", "1800")
    assert status == 0, out
    assert ": \x1b[32mas expected\x1b[0m, " in out and "\x1b[1mresult:\x1b[0m \x1b[32mpassed\x1b[0m: " in out
    status, out = verify(str(GOOD), "--seed", "1820")  # not a terminal: no colour
    assert "\x1b" not in out


def test_verbose_shows_each_request_of_each_case_marked_with_its_account() -> None:
    status, out = verify(str(GOOD), "--verbose", "--seed", "1840")
    assert status == 0, out
    accounts = dict(re.findall(r"  case (.+) \(account (\d{12})\): as expected", out))
    reference = accounts["reference"]
    assert re.search(rf'      > {reference} s3\.CreateBucket \{{"Bucket": "verify-good-\d{{8}}"', out)
    assert f"      < {reference} s3.PutBucketTagging 204 {{}}" in out
    assert f"      > {reference} s3.GetBucketTagging" in out  # the grade's reads too
    assert f"      > {accounts['untouched account']} s3.PutBucketTagging" not in out
