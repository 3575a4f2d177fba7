"""A task's advice in a grade: run after the checks, read-only, worth nothing, and told to the student in
the terminal, the task's Gradescope output and the grade's JUnit file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from consumers import assert_valid_gradescope, assert_valid_junit
from testkit import DATA

from runner.commands.main import main
from runner.emulator import Emulator
from runner.engine.targets import Target

pytestmark = pytest.mark.e2e

LAB = DATA / "advice.yaml"
BUCKET = "advice-graded-bucket"


def test_a_grade_runs_advice_and_tells_the_student_without_changing_the_score(emu: Emulator, tmp_path: Path) -> None:
    Target.for_emulator(emu, "us-east-1").client("s3").create_bucket(Bucket=BUCKET)
    out = io.StringIO()
    code = main(["grade", str(LAB), "--target", emu.endpoint, "--region", "us-east-1", "--var", f"bucket={BUCKET}",
                 "--record", str(tmp_path / "grade.json"), "--gradescope", str(tmp_path / "results.json"),
                 "--junit", str(tmp_path / "grade.xml")], out)
    assert code == 1, out.getvalue()  # the bucket is not tagged: the second task scores nothing
    record = json.loads((tmp_path / "grade.json").read_text())
    make, tag = record["tasks"]
    assert (make["status"], make["score"]) == ("passed", 10)
    assert [(s["key"], s["status"]) for s in make["advice"]] == [("bucket-tagged", "failed"),
                                                                  ("bucket-listed", "passed")]
    assert (tag["status"], [s["status"] for s in tag["advice"]]) == ("failed", ["failed"])

    assert "bucket-tagged (aws.s3.get_bucket_tagging) ... not followed (advice, no points)" in out.getvalue()

    results = assert_valid_gradescope(tmp_path / "results.json")
    first = results["tests"][0]
    assert (first["score"], first["max_score"], first["status"]) == (10, 10, "passed")
    assert len(results["tests"]) == 2  # advice is in a task's output, not a test of its own
    shown = first["output"].replace("\\", "")  # as Markdown shows it: the escapes keep account text literal
    assert shown.startswith("All checks passed.\n\nAdvice (worth no points: the score above is unchanged):")
    assert "Advice 'bucket-tagged' not followed (aws.s3.get_bucket_tagging)" in shown
    assert "- Tag the buckets you make with the team that owns them." in shown

    root = assert_valid_junit(tmp_path / "grade.xml")
    case = root.find("testsuite/testcase[@classname='advice-demo.make-bucket']")
    assert case is not None and case.find("failure") is None
    assert "Tag the buckets you make with the team that owns them." in (case.findtext("system-out") or "")
