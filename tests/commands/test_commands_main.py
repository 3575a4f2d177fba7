"""The validate, schema and actions commands, where each command lives, what start-up imports, and a
--target URL where nothing answers."""

from __future__ import annotations

import argparse
import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.commands.main import main, parser
from runner.schema import render_json

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "tests" / "data" / "valid"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


# ---- validate


def test_validate_valid_labs() -> None:
    labs = sorted(str(p) for p in VALID.glob("*.yaml"))
    code, out = run("validate", *labs)
    assert code == 0
    assert out.splitlines() == [line for line in out.splitlines() if line.endswith(")") and ": valid (" in line]
    assert len(out.splitlines()) == len(labs)


def test_validate_json_valid() -> None:
    code, out = run("validate", "--format", "json", str(VALID / "minimal.yaml"))
    assert code == 0
    assert json.loads(out) == {"valid": True, "labs": [{"lab": str(VALID / "minimal.yaml"), "valid": True,
                                                         "problems": [], "warnings": []}]}


def test_validate_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("lab: Bad\ntitle: x\ntasks:\n  - id: t\n    title: t\n    stepz: []\n")
    code, out = run("validate", str(lab))
    assert code == 2
    assert out.splitlines() == [
        f"{lab}:1:6: 'lab': 'Bad' is not a valid lab name; use lowercase letters, digits and '-', "
        "starting with a letter or digit",
        f"{lab}:6:5: [task 't'] unknown key 'stepz' in a task; did you mean 'steps'?",
        "2 problems in 1 lab",
    ]


def test_on_github_actions_each_problem_is_an_annotation_on_its_line(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("lab: Bad\ntitle: x\ntasks:\n  - id: t\n    title: t\n    stepz: []\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    code, out = run("validate", str(lab))
    assert code == 2
    assert out.splitlines()[1] == ("::error file=lab.yaml,line=6,col=5,title=labrunner validate%3A unknown-key"
                                   "::unknown key 'stepz' in a task%0Adid you mean 'steps'?")
    code, out = run("validate", "--format", "json", str(lab))
    assert json.loads(out)["valid"] is False  # JSON output stays JSON


UNGRADABLE = """\
lab: setup-only
title: A task with nothing to grade
tasks:
  - id: prepare
    title: Prepare
    steps:
      - action: aws.s3.list_buckets
  - id: graded
    title: Graded
    checks:
      - action: aws.s3.list_buckets
"""


def test_a_task_without_checks_or_evidence_is_a_warning_not_an_error(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(UNGRADABLE)
    code, out = run("validate", str(lab))
    assert code == 0
    assert out.splitlines() == [
        f"{lab}:4:5: [task 'prepare'] warning: task 'prepare' has no checks and no evidence: nothing can tell "
        "whether it was done, so a grade skips it, and it counts for no points; add checks that read what the "
        "task makes (read-only actions under 'checks:')",
        f"{lab}: valid (2 tasks, 2 steps and checks; 1 warning)"]
    code, out = run("validate", "--format", "json", str(lab))
    report = json.loads(out)
    assert code == 0 and report["valid"] is True and report["labs"][0]["problems"] == []
    [warning] = report["labs"][0]["warnings"]
    assert (warning["severity"], warning["rule"], warning["task"], warning["line"]) == (
        "warning", "ungradable-task", "prepare", 4)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out = run("validate", str(lab))
    assert code == 0 and out.startswith(f"::warning file={lab},line=4,col=5,title=labrunner validate%3A ")


def test_validate_without_labs_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    assert "LAB" in capsys.readouterr().err


# ---- schema


def test_schema_prints_the_generated_schema() -> None:
    code, out = run("schema")
    assert code == 0
    assert out == render_json()


# ---- actions


def test_actions_lists_every_action() -> None:
    code, out = run("actions")
    assert code == 0
    for name in ("s3.upload_file", "s3.empty_bucket", "http.request", "cloudtrail.find_events", "kms.key_users"):
        assert name in out
    assert "aws.<service>.<operation>" in out


def test_actions_json() -> None:
    code, out = run("actions", "--format", "json")
    data = json.loads(out)
    assert code == 0 and "kms" in data["aws_services"]
    assert {a["name"] for a in data["actions"]} >= {"s3.upload_file", "http.request"}


def test_actions_of_a_service() -> None:
    code, out = run("actions", "aws.kms")
    assert code == 0
    rows = dict(line.split() for line in out.splitlines())
    assert rows["aws.kms.create_key"] == "mutating"
    assert rows["aws.kms.describe_key"] == "read-only"


def test_actions_of_an_operation() -> None:
    code, out = run("actions", "aws.kms.create_key")
    assert code == 0
    assert out.startswith("aws.kms.create_key: ")
    assert "  read-only: no\n" in out and "  permissions: kms:CreateKey\n" in out
    assert "KeyUsage: one of " in out and "ENCRYPT_DECRYPT" in out


def test_actions_of_a_higher_level_action_shows_its_example() -> None:
    code, out = run("actions", "s3.upload_file")
    assert code == 0
    assert "bucket: string (required)" in out
    assert "  example:\n    action: s3.upload_file" in out
    code, out = run("actions", "s3.upload_file", "--format", "json")
    info = json.loads(out)
    assert info["read_only"] is False and "s3:PutObject" in info["permissions"]


@pytest.mark.parametrize(("name", "hint"), [
    ("s3.upload_fil", "did you mean 's3.upload_file'?"),
    ("aws.kmss", "did you mean 'kms'?"),
    ("aws.kms.CreateKey", "did you mean 'aws.kms.create_key'?"),
])
def test_unknown_action_exits_2_with_a_did_you_mean(name: str, hint: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("actions", name)
    assert code == 2 and out == ""
    err = capsys.readouterr().err
    assert err.startswith("labrunner actions: ") and hint in err
    assert "Traceback" not in err


# ---- where each command lives


def test_every_command_is_one_module_with_a_command_function() -> None:
    subparsers = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == {"validate", "schema", "actions", "run", "grade", "autograder", "cleanup",
                                       "report", "new", "emulator", "verify"}
    for name in subparsers.choices:
        assert callable(importlib.import_module(f"runner.commands.{name}").command), name


# ---- start-up

_PROBE = """
import sys
import runner.commands.main
try:
    runner.commands.main.main({argv!r})
except SystemExit:
    pass
heavy = ("boto3", "botocore", "moto", "runner.emulator", "runner.engine", "jsonschema", "jinja2", "yaml")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"], ["run", "--help"]])
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv)], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_validate_does_not_start_the_emulator_or_boto3() -> None:
    probe = _PROBE.format(argv=["validate", str(VALID / "kms-basics.yaml")])
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = result.stdout.strip().splitlines()[-1]
    for module in ("'boto3", "'moto", "'runner.emulator", "'runner.engine"):
        assert module not in loaded


def test_console_entry_point_help() -> None:
    result = subprocess.run([sys.executable, "-m", "runner", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    for command in ("validate", "schema", "actions"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["run", "grade"])
@pytest.mark.parametrize(("url", "reason"), [("http://127.0.0.1:9", "Connection refused"),
                                             ("http://nothing-here.invalid:4566", "")])
def test_a_target_url_where_nothing_answers_is_a_usage_error_before_anything_runs(
        command: str, url: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A mistyped --target must not become a run of failed steps, nor a grade of 0 for an account never read.
    lab = ROOT / "tests" / "data" / "verify" / "good.yaml"
    out = io.StringIO()
    status = main([command, str(lab), "--target", url, "--record", str(tmp_path / "record.json")], out)
    err = capsys.readouterr().err
    assert status == 2, out.getvalue() + err
    assert f"--target {url}: nothing answers there ({reason}" in err
    assert "check the URL, and that the emulator or endpoint is running" in err
    assert out.getvalue() == "" and not (tmp_path / "record.json").exists()
