"""A task's advice in a run: after the checks, never scored, and shown as advice in every output.

The lab (tests/data/labs/advice.yaml) makes a bucket, whose advice to tag it is not followed, and then
fails a step of its second task, whose advice is then skipped with its checks.
"""

from __future__ import annotations

import io
from pathlib import Path

import jsonschema
import pytest
from consumers import assert_valid_junit
from testkit import DATA, RECORD_SCHEMA

from runner.commands.main import main
from runner.engine.record_files import read_record
from runner.report import load_record, render

pytestmark = pytest.mark.e2e

LAB = DATA / "advice.yaml"


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("advice")
    out = io.StringIO()
    code = main(["run", str(LAB), "--record", str(folder / "run.json"), "--junit", str(folder / "run.xml")], out)
    assert code == 1, out.getvalue()  # the second task fails on purpose
    return folder, out.getvalue()


def test_advice_runs_after_the_checks_and_never_changes_the_score(ran: tuple[Path, str]) -> None:
    folder, _ = ran
    record = read_record(folder / "run.json")
    jsonschema.validate(record, RECORD_SCHEMA)
    make, tag = record["tasks"]
    assert (make["status"], make["score"], make["points"]) == ("passed", 10, 10)
    assert [(s["key"], s["section"], s["status"]) for s in make["advice"]] == [
        ("bucket-tagged", "advice", "failed"), ("bucket-listed", "advice", "passed")]
    assert make["advice"][0]["hint"] == "Tag the buckets you make with the team that owns them."
    # A failed step skips the rest of its task: its checks, and its advice.
    assert tag["status"] == "failed" and [s["status"] for s in tag["advice"]] == ["skipped"]
    assert tag["advice"][0]["summary"] == "skipped: step 'tag' failed"
    assert record["score"] == 10


def test_the_console_says_advice_was_not_followed_not_that_it_failed(ran: tuple[Path, str]) -> None:
    _, printed = ran
    assert "  * bucket-tagged (aws.s3.get_bucket_tagging) ... not followed (advice, no points)" in printed
    assert "      advice: Tag the buckets you make with the team that owns them." in printed
    assert "  * bucket-listed (aws.s3.list_buckets) ... passed" in printed
    assert "task make-bucket passed (10/10 points" in printed


def test_junit_has_a_passing_testcase_per_advice_saying_what_to_do(ran: tuple[Path, str]) -> None:
    folder, _ = ran
    root = assert_valid_junit(folder / "run.xml")
    suite = root.find("testsuite[@name='advice-demo.make-bucket']")
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == "4"
    case = suite.find("testcase[@name='advice bucket-tagged (aws.s3.get_bucket_tagging)']")
    assert case is not None and case.find("failure") is None and case.find("error") is None
    text = case.findtext("system-out") or ""
    assert text.startswith("advice not followed (worth no points)")
    assert "advice: Tag the buckets you make with the team that owns them." in text
    assert root.get("failures") == "1"  # only the second task's failed step


def test_the_report_marks_advice_not_followed(ran: tuple[Path, str]) -> None:
    folder, _ = ran
    page = render([load_record(str(folder / "run.json"))])
    assert '<span class="badge advice">not followed</span>' in page
    assert "Advice (worth no points): Tag the buckets you make with the team that owns them." in page
