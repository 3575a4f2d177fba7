"""Bad actors and bad input: templates cannot reach Python internals, YAML cannot construct objects,
files stay inside the lab's folder, a real AWS account is never touched without showing which one and
asking, and the emulator listens on loopback only.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import ROOT

from runner import templates
from runner.commands import cleanup
from runner.commands.main import main, parser
from runner.emulator import Emulator
from runner.engine.targets import Identity, Target

INVALID = ROOT / "tests" / "data" / "invalid"
ESCAPES = sorted(INVALID.glob("8[3-8]-sandbox-*.yaml"))
#: Payloads from the usual Jinja2 SSTI write-ups, each of which the sandbox must refuse when rendered.
PAYLOADS = [
    "{{ x.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range.__self__ }}",
    "{{ x['__class__'] }}",
    "{{ '{0.__class__}'.format(x) }}",
    "{{ x|attr('__class__') }}",
    "{{ x|attr(('%c'|format(95))*2 ~ 'class' ~ ('%c'|format(95))*2) }}",
    "text {{ namespace.__init__.__globals__ }} text",
    "{% for c in x.__class__.__bases__ %}{{ c }}{% endfor %}",
    "{{ joiner.__init__.__globals__ }}",
]


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out)
    return code, out.getvalue()


@pytest.mark.parametrize("lab", ESCAPES, ids=lambda p: p.stem)
def test_a_sandbox_escape_is_a_lab_error_and_nothing_runs(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["run", str(lab)])
    assert code == 2
    assert "template reaches for Python internals" in output
    assert "labrunner run" not in output and "Traceback" not in output + capsys.readouterr().err


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_sandbox_refuses_every_payload_at_render_time(payload: str) -> None:
    context = {"x": "text", **{name: templates.ENV.globals[name]
                               for name in ("cycler", "lipsum", "range", "namespace", "joiner")}}
    with pytest.raises(templates.TemplateError) as refused:
        templates.render(payload, context)
    assert "unsafe" in refused.value.message or "undefined" in refused.value.message


def test_an_escape_the_validator_cannot_see_fails_its_step_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The attribute name is built at render time, so only the sandbox can refuse it.
    lab = tmp_path / "lab.yaml"
    lab.write_text("""\
lab: hidden-escape
title: Hidden escape
tasks:
  - id: t
    title: T
    steps:
      - action: aws.kms.create_key
        params:
          Description: "{{ run|attr(('%c'|format(95))*2 ~ 'class' ~ ('%c'|format(95))*2) }}"
""")
    code, output = run(["run", str(lab), "--record", str(tmp_path / "r.json")])
    assert code == 1, output
    step = json.loads((tmp_path / "r.json").read_text())["tasks"][0]["steps"][0]
    assert step["status"] == "error" and step["error"]["kind"] == "render" and step["attempts"] == 0
    assert "template tried to reach something unsafe" in step["error"]["message"]
    assert "Traceback" not in output + capsys.readouterr().err


@pytest.mark.parametrize("lab", ["04-python-tag.yaml", "05-custom-tag.yaml", "89-python-object-new.yaml"])
def test_yaml_cannot_construct_objects(lab: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["run", str(INVALID / lab)])
    assert code == 2 and "is not allowed" in output
    assert "Traceback" not in output + capsys.readouterr().err


def test_a_symlink_out_of_the_lab_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("not the lab's")
    os.symlink(tmp_path / "outside.txt", folder / "inside.txt")
    lab = folder / "lab.yaml"
    lab.write_text("""\
lab: symlink
title: Symlink
vars:
  digest: "{{ file_sha256('inside.txt') }}"
tasks:
  - id: t
    title: T
""")
    code, output = run(["validate", str(lab)])
    assert code == 2 and "outside the lab's folder" in output


def test_templated_paths_are_checked_again_when_rendered(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("""\
lab: escape-path
title: Path
vars:
  up: ".."
  digest: "{{ file_sha256(up ~ '/secret.txt') }}"
tasks:
  - id: t
    title: T
""")
    (tmp_path.parent / "secret.txt").write_text("secret")
    code, _output = run(["run", str(lab), "--record", str(tmp_path / "r.json")])
    assert code == 1
    assert "outside the lab's folder" in json.loads((tmp_path / "r.json").read_text())["error"]


# ---- a real AWS account


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def aws_record(tmp_path: Path, account: str = "111122223333") -> Path:
    record = tmp_path / "aws.json"
    record.write_text(json.dumps({
        "version": 1, "lab": "demo", "title": "Demo", "file": "lab.yaml", "run_id": "abcd1234", "mode": "run",
        "target": {"kind": "aws", "region": "eu-west-1", "account": account, "partition": "aws",
                   "endpoint": None, "caller_arn": f"arn:aws:iam::{account}:user/me"},
        "seed": 1, "started": "2026-03-01T12:00:00Z", "status": "running", "vars": {}, "tasks": [], "cleanup": [],
        "ledger": [{"seq": 0, "key": "k.cleanup", "action": "aws.s3.delete_bucket", "params": {"Bucket": "b-1"},
                    "registered_by": "k", "task": "t", "location": "lab.yaml:3:5", "id": None, "title": None,
                    "ignore_errors": [], "expect_error": [], "retry": None, "state": "pending"}],
    }))
    return record


def fake_aws(monkeypatch: pytest.MonkeyPatch, account: str) -> list[Any]:
    opened: list[Any] = []
    target = Target("aws", "eu-west-1", session=None)
    target._identity = Identity(account, f"arn:aws:iam::{account}:user/me", "AIDA")

    def open_target(*args: Any, **kwargs: Any) -> Target:
        opened.append(args)
        return target
    monkeypatch.setattr(cleanup, "open_target", open_target)
    monkeypatch.setattr(Target, "client", lambda *a, **k: pytest.fail("no AWS call may be made"))
    return opened


def cleanup_args(record: Path, *extra: str) -> Any:
    return parser().parse_args(["cleanup", str(record), *extra])


def test_cleanup_of_an_aws_run_needs_target_aws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["cleanup", str(aws_record(tmp_path))])[0] == 2
    assert "ran on AWS account 111122223333 in eu-west-1: pass --target aws" in capsys.readouterr().err


def test_cleanup_on_aws_refuses_without_a_terminal_or_yes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["cleanup", str(aws_record(tmp_path)), "--target", "aws"])[0] == 2
    assert "confirm on a terminal, or pass --yes" in capsys.readouterr().err


def test_cleanup_on_aws_refuses_another_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws(monkeypatch, "999999999999")
    from runner.errors import UsageError

    with pytest.raises(UsageError, match="ran in AWS account 111122223333, but these credentials are for 999999999999"):
        cleanup.command(cleanup_args(aws_record(tmp_path), "--target", "aws", "--yes"), io.StringIO())


def test_cleanup_on_aws_shows_account_and_region_and_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws(monkeypatch, "111122223333")
    record = aws_record(tmp_path)
    out = io.StringIO()
    code = cleanup.command(cleanup_args(record, "--target", "aws"), out, stdin=FakeTty("n\n"))
    assert code == 2
    text = out.getvalue()
    assert "AWS account 111122223333" in text and "region eu-west-1" in text
    assert "delete bucket b-1 (aws.s3.delete_bucket)" in text and "Cancelled: nothing was deleted." in text
    assert json.loads(record.read_text())["ledger"][0]["state"] == "pending"


def test_the_emulator_listens_on_loopback_unless_told_otherwise() -> None:
    assert parser().parse_args(["emulator"]).host == "127.0.0.1"
    with Emulator() as emu:
        assert emu._server.server_address[0] == "127.0.0.1"
        assert emu.endpoint.startswith("http://127.0.0.1:")
