"""`labrunner run` through `runner.commands.main.main`: exit codes 0, 1 and 2, and nothing touched on bad input."""

from __future__ import annotations

import argparse
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from testkit import DATA, write_lab

from runner.commands.main import main
from runner.emulator import Emulator

PASSING = """\
lab: tiny
title: Tiny
vars:
  bucket: "tiny-{{ random_id(8) }}"
tasks:
  - id: make
    title: Make a bucket
    steps:
      - id: create
        action: aws.s3.create_bucket
        params: {Bucket: "{{ bucket }}"}
        cleanup:
          action: aws.s3.delete_bucket
          params: {Bucket: "{{ bucket }}"}
    checks:
      - id: exists
        action: aws.s3.head_bucket
        params: {Bucket: "{{ bucket }}"}
"""


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["run", *argv], out)
    return code, out.getvalue()


@pytest.mark.e2e
def test_passing_run_exits_0_and_writes_record_and_junit(emulator: Emulator, emulator_env: None,
                                                          tmp_path: Path) -> None:
    lab = write_lab(tmp_path, PASSING)
    record, report = tmp_path / "out" / "record.json", tmp_path / "junit.xml"
    code, output = run([str(lab), "--target", emulator.endpoint, "--record", str(record), "--junit", str(report),
                        "--seed", "4"])
    assert code == 0, output
    data = json.loads(record.read_text())
    assert data["status"] == "passed" and data["seed"] == 4 and data["target"]["kind"] == "endpoint"
    assert f"record: {record}" in output and "result: passed: 1 of 1 tasks passed" in output
    assert ET.parse(report).getroot().get("tests") == "3"


@pytest.mark.e2e
def test_on_github_actions_a_failing_step_is_an_annotation_and_the_run_a_summary(
    emulator: Emulator, emulator_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    lab = DATA / "features-broken.yaml"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(DATA.parent))
    code, output = run([str(lab), "--target", emulator.endpoint, "--junit", "junit.xml"])
    assert code == 1
    errors = [line for line in output.splitlines() if line.startswith("::error ")]
    assert errors[0].startswith("::error file=labs/features-broken.yaml,line=42,col=9,title=step 'wrong-usage' "
                                "(aws.kms.describe_key) failed::")
    assert "%0Ahint: The key must sign and verify." in errors[0]
    text = summary.read_text()
    assert text.startswith("### ❌ ") and "| Task | Status | Score |" in text and "wrong\\-usage" in text


@pytest.mark.e2e
def test_failing_run_exits_1_and_prints_where_and_why(emulator: Emulator, emulator_env: None, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run([str(DATA / "features-broken.yaml"), "--target", emulator.endpoint])
    assert code == 1
    assert "wrong-usage (aws.kms.describe_key) ... FAILED" in output
    assert "features-broken.yaml:42:9" in output
    assert "KeyMetadata.KeyUsage equals: expected 'SIGN_VERIFY', actual 'ENCRYPT_DECRYPT'" in output
    assert "hint: The key must sign and verify." in output
    records = list((tmp_path / "runs").glob("features-broken-*.json"))
    assert len(records) == 1 and f"record: {tmp_path / 'runs' / records[0].name}\n" in output  # absolute


@pytest.mark.parametrize(("argv", "message"), [
    (["--var", "novalue"], "--var: expected NAME=VALUE, got 'novalue'"),
    (["--var", "9x=1"], "--var: '9x' is not a var name"),
    (["--var", "bukcet=x"], "--var: lab 'features' has no var 'bukcet'; did you mean 'bucket'?"),
    (["--task", "storge"], "--task: lab 'features' has no task 'storge'; did you mean 'storage'?"),
    (["--target", "localhost:4566"], "--target: 'localhost:4566' is not 'emulator', 'aws' or an http(s) URL"),
    (["--profile", "dev"], "--profile applies to --target aws only"),
    (["--region", "mars-1"], "--region: 'mars-1' is not an AWS region code"),
    (["--target", "aws"], "--target aws runs against a real AWS account: confirm on a terminal, or pass --yes"),
])
def test_bad_options_exit_2_before_anything_runs(argv: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run([str(DATA / "features.yaml"), *argv])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err + output
    assert "labrunner run features" not in output  # the run never started


@pytest.mark.parametrize(("option", "where", "message"), [
    ("--record", "file/record.json", "--record {tmp}/file/record.json: {tmp}/file is a file, not a folder"),
    ("--record", "folder", "--record {tmp}/folder: is a folder; name a file in it"),
    ("--junit", "folder", "--junit {tmp}/folder: is a folder; name a file in it"),
])
def test_an_output_that_cannot_be_written_exits_2_before_anything_runs(
        option: str, where: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "folder").mkdir()
    code, output = run([str(DATA / "features.yaml"), option, str(tmp_path / where)])
    assert code == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and "Traceback" not in err + output
    assert "labrunner run features" not in output  # no target was opened
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # and nothing was written


def test_invalid_lab_prints_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = write_lab(tmp_path, """\
        lab: Bad Name
        title: Bad
        tasks:
          - id: t
            title: T
            steps:
              - action: aws.kms.create_kye
              - action: aws.s3.create_bucket
                params: {Bucket: "{{ nope }}"}
        """)
    code, output = run([str(lab)])
    assert code == 2
    lines = [line for line in output.splitlines() if line.startswith(str(lab))]
    assert len(lines) == 3, output
    assert any("did you mean 'aws.kms.create_key'" in line for line in lines)
    assert any("undefined variable 'nope'" in line for line in lines)
    assert "Traceback" not in output + capsys.readouterr().err


def test_missing_lab_file_exits_2(tmp_path: Path) -> None:
    code, output = run([str(tmp_path / "nope.yaml")])
    assert code == 2 and "cannot read the lab" in output


def test_aws_target_confirms_before_the_first_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.commands import run as cli
    from runner.engine.targets import Identity, Target

    class FakeTty(io.StringIO):
        def isatty(self) -> bool:
            return True

    target = Target("aws", "us-east-1", session=None)
    target._identity = Identity("210987654321", "arn:aws:iam::210987654321:user/me", "AIDA")
    monkeypatch.setattr(cli, "open_target", lambda *args, **kwargs: target)
    args = cli_args(["--target", "aws"])
    out = io.StringIO()
    code = cli.command(args, out, stdin=FakeTty("n\n"))
    assert code == 2
    text = out.getvalue()
    assert "AWS account 210987654321" in text and "arn:aws:iam::210987654321:user/me" in text
    assert "region us-east-1" in text and "Continue? [y/N]" in text and "Cancelled" in text


def cli_args(extra: list[str]) -> argparse.Namespace:
    from runner.commands.main import parser

    return parser().parse_args(["run", str(DATA / "features.yaml"), *extra])


@pytest.mark.e2e
def test_aws_target_at_the_sdks_own_endpoint_builds_object_urls_there(emulator: Emulator, emulator_env: None,
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`--target aws` with `AWS_ENDPOINT_URL` (how tools are pointed at LocalStack): the calls go there, and so
    does the anonymous browser's URL (it used to name s3.<region>.amazonaws.com)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    lab = write_lab(tmp_path, """\
        lab: browse
        title: Browse
        vars:
          bucket: "browse-{{ random_id(8) }}"
        tasks:
          - id: t
            title: A private object is denied to a browser
            steps:
              - id: bucket
                action: aws.s3.create_bucket
                params: {Bucket: "{{ bucket }}"}
                cleanup:
                  action: s3.empty_bucket
                  params: {bucket: "{{ bucket }}", delete_bucket: true}
              - action: aws.s3.put_object
                params: {Bucket: "{{ bucket }}", Key: a b.txt, Body: hello}
            checks:
              - id: anonymous
                action: http.request
                params: {url: "{{ s3_object_url(bucket, 'a b.txt') }}"}
                expect: {status: 403}
        """)
    code, output = run([str(lab), "--target", "aws", "--yes", "--region", "us-east-1", "--seed", "9",
                        "--record", str(tmp_path / "record.json")])
    assert code == 0, output
    data = json.loads((tmp_path / "record.json").read_text())
    url = data["tasks"][0]["checks"][0]["params"]["url"]
    assert url == f"{emulator.endpoint}/{data['vars']['bucket']}/a%20b.txt"
    assert "console.aws.amazon.com" not in output  # not AWS itself: no console page to name
