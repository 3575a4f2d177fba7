"""The pytest plugin run as a user runs it: labs collected one item per task, failures shown as YAML.

One scratch project is run once (module fixture) and several tests read that run: a passing lab, a
lab whose second task fails, a YAML file that is not a lab, and a lab outside the `labs` folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from consumers import assert_valid_junit
from plugin_helpers import BROKEN_LAB, GOOD_LAB, INVALID_LAB, LEAKY_LAB, REPO, Result, run_pytest, write
from testkit import RECORD_SCHEMA

from runner.emulator import Emulator

PROJECT = {
    "pytest.ini": "[pytest]\n",
    "labs/good.yaml": GOOD_LAB,
    "labs/broken.yaml": BROKEN_LAB,
    "labs/leaky.yaml": LEAKY_LAB,
    "labs/notes.yaml": "title: not a lab\nitems: [1, 2]\n",
    "labs/sub/readme.txt": "lab: not yaml\n",
    "other/stray.yaml": GOOD_LAB.replace("lab: good", "lab: stray"),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    folder = write(tmp_path_factory.mktemp("project"), PROJECT)
    result = run_pytest(folder, "-v", "-rs", "--labrunner-records", "records", "--junitxml", "junit.xml")
    return folder, result


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based number of the line holding the `occurrence`-th `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return found[occurrence - 1]


def test_every_task_is_an_item_with_its_outcome(project: tuple[Path, Result]) -> None:
    _, result = project
    assert result.outcome() == "1 failed, 4 passed, 1 skipped, 1 error", result.output
    assert result.returncode == 1
    for node, outcome in [("labs/good.yaml::make-bucket", "PASSED"), ("labs/good.yaml::find-bucket", "PASSED"),
                          ("labs/broken.yaml::make-bucket", "PASSED"), ("labs/broken.yaml::check-bucket", "FAILED"),
                          ("labs/broken.yaml::never", "SKIPPED"), ("labs/leaky.yaml::only", "PASSED")]:
        assert f"{node} {outcome}" in result.output, result.output


def test_only_labs_under_the_labs_folder_are_collected(project: tuple[Path, Result]) -> None:
    _, result = project
    assert "notes.yaml" not in result.output
    assert "stray" not in result.output


def test_a_task_after_a_failed_one_is_skipped_with_the_reason(project: tuple[Path, Result]) -> None:
    _, result = project
    line = _line(BROKEN_LAB, "- id: never")
    assert f"SKIPPED [1] labs/broken.yaml:{line}: task 'check-bucket' failed earlier in this run" in result.output


def test_a_failure_shows_the_yaml_and_expected_versus_actual(project: tuple[Path, Result]) -> None:
    _, result = project
    section = result.output.split("task check-bucket: Check the bucket", 1)[1].split("====", 1)[0]
    start = _line(BROKEN_LAB, "- id: bucket-listed")
    second = _line(BROKEN_LAB, "- path:", 2)
    third = _line(BROKEN_LAB, "- path:", 3)
    assert "task 'check-bucket' (Check the bucket) failed" in section
    assert f"check 'bucket-listed' (aws.s3.list_buckets) failed at labs/broken.yaml:{start}:9" in section
    # the step's YAML, numbered, the failing expectations marked and the passing one not
    assert f"    {start} |       - id: bucket-listed" in section
    assert f"  > {second} |           - path: \"Buckets[?Name=='{{{{ bucket }}}}'] | length(@)\"" in section
    assert f"  > {third} |" in section
    assert f"  > {second - 2} |" not in section and f"    {second - 2} |" in section
    assert "expected vs actual:" in section
    assert f"equals (line {second})\n    expected: 2\n    actual:   1\n    hint: There should be two." in section
    assert 'expected: "wrong-name"\n    actual:   "broken-' in section
    assert "hint: Create exactly two buckets." in section
    # a lab author's failure, not a Python one
    assert "Traceback" not in result.output
    assert "def " not in result.output
    assert ".py:" not in section


def test_the_record_is_written_and_named_in_the_junit_xml(project: tuple[Path, Result]) -> None:
    folder, result = project
    schema = RECORD_SCHEMA
    records = {json.loads(p.read_text())["lab"]: p for p in (folder / "records").glob("*.json")}
    assert set(records) == {"good", "broken", "leaky"}
    broken = json.loads(records["broken"].read_text())
    jsonschema.validate(broken, schema)
    assert broken["status"] == "failed"
    assert [(t["id"], t["status"]) for t in broken["tasks"]] == [
        ("make-bucket", "passed"), ("check-bucket", "failed"), ("never", "skipped")]
    assert broken["tasks"][2]["summary"] == "skipped: task 'check-bucket' failed earlier in this run"
    # the lab's cleanup ran when pytest left the file, and the record says so
    assert [(c["key"], c["status"]) for c in broken["cleanup"]] == [("create-it.cleanup", "passed")]
    assert f"record: {records['broken'].relative_to(folder)}" in result.output
    junit = assert_valid_junit(folder / "junit.xml")  # pytest's own file, with the plugin's items in it
    properties = {p.get("value") for p in junit.iterfind("testsuite/properties/property")
                  if p.get("name") == "labrunner_record"}
    assert str(records["good"].relative_to(folder)) in {str(Path(v).relative_to(folder)) for v in properties}


def test_a_failed_cleanup_is_an_error_when_pytest_leaves_the_lab(project: tuple[Path, Result]) -> None:
    _, result = project
    assert "ERROR at teardown of task only: Nothing to do" in result.output
    section = result.output.split("ERROR at teardown of task only: Nothing to do", 1)[1].split("====", 1)[0]
    line = _line(LEAKY_LAB, "- id: remove-missing")
    assert "cleanup of lab 'leaky' failed: some resources may remain (record: records/leaky-" in section
    assert f"cleanup 'remove-missing' (aws.s3.delete_bucket) failed at labs/leaky.yaml:{line}:5" in section
    assert f"  > {line:>2} |   - id: remove-missing" in section
    assert "error (aws) NoSuchBucket:" in section
    assert "Traceback" not in section


def test_an_invalid_lab_is_a_collection_error_listing_every_problem(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n", "labs/invalid.yaml": INVALID_LAB, "labs/good.yaml": GOOD_LAB})
    result = run_pytest(tmp_path, "--collect-only", "-q")
    assert result.returncode == 2, result.output
    assert "ERROR collecting labs/invalid.yaml" in result.output
    assert "labs/invalid.yaml:8:18: [task 't' step 'steps[0]'] unknown parameter 'Buckett' for " \
           "aws.s3.create_bucket; did you mean 'Bucket'?" in result.output
    assert "labs/invalid.yaml:9:17: [task 't' step 'steps[1]'] unknown operation 'make_bucket'" in result.output
    assert "problems: the lab is invalid; nothing was run" in result.output
    assert "Traceback" not in result.output
    assert "def " not in result.output


@pytest.mark.parametrize(("args", "collected"), [
    (["other/stray.yaml"], ["other/stray.yaml::make-bucket", "other/stray.yaml::find-bucket"]),  # named: collected
    (["other"], []),  # a folder that is not a lab folder: nothing
    (["labs/notes.yaml"], []),  # named, but not a lab
    (["-p", "no:labrunner", "labs"], []),  # the plugin turned off
    (["-o", "labrunner_paths=other", "."], ["other/stray.yaml::make-bucket", "other/stray.yaml::find-bucket"]),
])
def test_what_is_collected(tmp_path: Path, args: list[str], collected: list[str]) -> None:
    write(tmp_path, PROJECT)
    result = run_pytest(tmp_path, "--collect-only", "-q", *args)
    items = [line for line in result.output.splitlines() if "::" in line]
    assert items == collected, result.output
    assert "notes.yaml" not in "".join(items)


def test_without_autoloading_the_plugin_is_loaded_by_name(tmp_path: Path) -> None:
    write(tmp_path, PROJECT)
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    without = run_pytest(tmp_path, "--collect-only", "-q", "labs/good.yaml", env=env)
    assert without.returncode == 4 and "ERROR: not found" in without.output  # nothing collects a lab
    result = run_pytest(tmp_path, "--collect-only", "-q", "-p", "runner.pytest_plugin", "labs/good.yaml", env=env)
    assert result.outcome() == "2 tests collected", result.output


def test_a_task_selected_alone_runs_the_earlier_tasks_first(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n", "labs/good.yaml": GOOD_LAB})
    result = run_pytest(tmp_path, "labs/good.yaml::find-bucket", "--labrunner-records", "records")
    assert result.outcome() == "1 passed", result.output
    record = json.loads(next((tmp_path / "records").glob("*.json")).read_text())
    assert [t["status"] for t in record["tasks"]] == ["passed", "passed"]


def test_tasks_of_one_lab_spread_over_xdist_workers_still_pass(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n", "labs/good.yaml": GOOD_LAB})
    result = run_pytest(tmp_path, "-n", "2", "labs")
    assert result.outcome() == "2 passed", result.output


def test_the_kms_lab_passes_as_eight_tests(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, str(REPO / "labs" / "kms-basics.yaml"), "--labrunner-records", str(tmp_path))
    assert result.outcome() == "8 passed", result.output
    assert result.returncode == 0


def test_a_pytest_session_killed_mid_lab_leaves_a_ledger_that_labrunner_cleanup_replays(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import boto3

    from runner.commands.main import main
    from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY
    from runner.engine.checkpoint import KILL_AFTER_ENV

    folder = write(tmp_path, {"pytest.ini": "[pytest]\n", "labs/good.yaml": GOOD_LAB})
    credentials = {"AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET_KEY}
    emu = emulator
    # SIGKILL the pytest process right after the bucket is made (the test hook of docs/reliability.md):
    # pytest's teardown, which would have cleaned up, never runs.
    result = run_pytest(folder, "--labrunner-target", emu.endpoint, "--labrunner-records", "records",
                        env={**credentials, KILL_AFTER_ENV: "1"})
    assert result.returncode == -9, result.output  # killed, not finished
    s3 = boto3.client("s3", endpoint_url=emu.endpoint, region_name="us-east-1",
                      aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY)
    made = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("good-")]
    assert len(made) == 1, made

    [record] = (folder / "records").glob("good-*.json")
    data = json.loads(record.read_text())
    assert data["status"] == "running"
    assert [(e["action"], e["params"], e["state"]) for e in data["ledger"]] == [
        ("aws.s3.delete_bucket", {"Bucket": made[0]}, "pending")]

    for name, value in credentials.items():  # an endpoint target takes the environment's credentials
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    assert main(["cleanup", str(record), "--target", emu.endpoint], out) == 0, out.getvalue()
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("good-")]
    assert [e["state"] for e in json.loads(record.read_text())["ledger"]] == ["done"]


def test_on_github_actions_under_xdist_the_failing_check_is_annotated_and_junit_stays_valid(tmp_path: Path) -> None:
    folder = write(tmp_path, {"pytest.ini": "[pytest]\n", "labs/broken.yaml": BROKEN_LAB})
    summary = tmp_path / "summary.md"
    result = run_pytest(folder, "-n", "2", "--labrunner-records", "records", "--junitxml", "junit.xml",
                        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1, result.output
    line = _line(BROKEN_LAB, "- id: bucket-listed")
    # from the worker that ran the task to the controller's log, through the report
    errors = [text for text in result.output.splitlines() if text.startswith("::error ")]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"::error file=labs/broken.yaml,line={line},col=9,title=check 'bucket-listed' "
                                "(aws.s3.list_buckets) failed::")
    assert "%0A  hint: There should be two.%0A" in errors[0]
    junit = assert_valid_junit(folder / "junit.xml")  # the annotations never reach it
    assert not list(junit.iter("properties")) or all(p.getparent().tag == "testsuite" for p in junit.iter("properties"))
    assert "A bucket that is not quite right" in summary.read_text()  # the lab's summary, from the worker
