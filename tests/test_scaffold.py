"""`labrunner new`: a lab file that validates, runs green and passes verify, in the place a user expects."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.schema import SCHEMA_ID
from runner.validate import validate_file


def _new(folder: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(folder)
    out = io.StringIO()
    return main(["new", *args], out), out.getvalue()


def test_the_new_lab_validates_and_runs_green(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "labs").mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "lab.schema.json").write_text("{}", encoding="utf-8")
    status, out = _new(tmp_path, "my-first-lab", monkeypatch=monkeypatch)
    assert status == 0
    path = tmp_path / "labs" / "my-first-lab.yaml"
    assert out.splitlines()[0] == "wrote labs/my-first-lab.yaml"
    assert "labrunner validate labs/my-first-lab.yaml" in out and "labrunner run labs/my-first-lab.yaml" in out
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../schemas/lab.schema.json"
    lab, problems = validate_file(path)
    assert problems == []
    assert lab is not None and lab.name == "my-first-lab" and lab.title == "My first lab"
    assert lab.description and [t.id for t in lab.tasks] == ["create-bucket"]
    assert len(lab.tasks[0].steps) == 1 and len(lab.tasks[0].checks) == 1
    record = tmp_path / "record.json"
    assert main(["run", "labs/my-first-lab.yaml", "--record", str(record)], io.StringIO()) == 0
    data = json.loads(record.read_text(encoding="utf-8"))
    assert data["status"] == "passed" and data["score"] == data["points"] == 10
    assert [c["status"] for c in data["cleanup"]] == ["passed"]  # the bucket is gone again
    # Its grader holds: nothing for nothing, full marks for the lab's steps, during and after clean-up.
    out = io.StringIO()
    assert main(["verify", "labs/my-first-lab.yaml"], out) == 0, out.getvalue()


def test_without_a_labs_folder_or_schemas_it_writes_here_with_the_schema_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status, out = _new(tmp_path, "demo", monkeypatch=monkeypatch)
    assert status == 0 and out.startswith("wrote demo.yaml\n")
    first = (tmp_path / "demo.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema={SCHEMA_ID}"
    assert validate_file(tmp_path / "demo.yaml")[1] == []


def test_an_explicit_path_names_the_lab_after_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status, _ = _new(tmp_path, "course/week-1/s3-intro.yaml", monkeypatch=monkeypatch)
    assert status == 0
    lab, problems = validate_file(tmp_path / "course" / "week-1" / "s3-intro.yaml")
    assert problems == [] and lab is not None and lab.name == "s3-intro"


def test_it_refuses_to_overwrite_without_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "demo.yaml").write_text("mine", encoding="utf-8")
    status, _ = _new(tmp_path, "demo", monkeypatch=monkeypatch)
    assert status == 2
    assert "demo.yaml already exists; pass --force to overwrite it" in capsys.readouterr().err
    assert (tmp_path / "demo.yaml").read_text(encoding="utf-8") == "mine"
    assert _new(tmp_path, "demo", "--force", monkeypatch=monkeypatch)[0] == 0
    assert validate_file(tmp_path / "demo.yaml")[1] == []


@pytest.mark.parametrize(("name", "message"), [
    ("My_Lab", "'My_Lab' is not a lab name: use lowercase letters, digits and '-' (^[a-z0-9][a-z0-9-]*$), "
               "e.g. 'my-lab'"),
    ("s3.intro", "'s3.intro' is not a lab name"),
    ("labs/Bad Name.yaml", "'Bad Name.yaml': the file's name is the lab's name"),
])
def test_a_bad_name_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], name: str, message: str) -> None:
    assert _new(tmp_path, name, monkeypatch=monkeypatch)[0] == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_long_name_still_makes_a_valid_bucket_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "a" * 70
    assert _new(tmp_path, name, monkeypatch=monkeypatch)[0] == 0
    assert validate_file(tmp_path / f"{name}.yaml")[1] == []
