"""The real AWS CLI, pointed at the emulator by `environment()` alone, sees the AWS behaviour; and the
start-up hint says what works for an AWS CLI too old to read AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import awscli
import pytest

from runner.emulator import Emulator, hint


class CLI:
    def __init__(self, emu: Emulator, home: Path) -> None:
        # Only the emulator's variables: no profile, config or credentials of the machine leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(emu.environment())
        self.env["AWS_CONFIG_FILE"] = str(home / "config")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "credentials")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", *args, "--output", "json"]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120, check=False)

    def ok(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None


def test_aws_cli_sees_kms_key_states_sse_kms_checks_bucket_defaults_and_lookup_events(
    emu: Emulator, tmp_path: Path
) -> None:
    cli = CLI(emu, tmp_path)
    cli.ok("s3api", "create-bucket", "--bucket", "cli-data")
    block = cli.ok("s3api", "get-public-access-block", "--bucket", "cli-data")
    assert all(block["PublicAccessBlockConfiguration"].values())

    key_id = cli.ok("kms", "create-key")["KeyMetadata"]["KeyId"]
    cli.ok("kms", "disable-key", "--key-id", key_id)
    encrypt = cli.run("kms", "encrypt", "--key-id", key_id, "--plaintext", "aGk=")
    assert encrypt.returncode != 0 and "DisabledException" in encrypt.stderr

    body = tmp_path / "secret.txt"
    body.write_text("secret")
    put = cli.run(
        "s3api",
        "put-object",
        "--bucket",
        "cli-data",
        "--key",
        "s.txt",
        "--body",
        str(body),
        "--server-side-encryption",
        "aws:kms",
        "--ssekms-key-id",
        key_id,
    )
    assert put.returncode != 0 and "KMS.DisabledException" in put.stderr

    events = cli.ok(
        "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=DisableKey"
    )["Events"]
    assert [e["EventName"] for e in events] == ["DisableKey"]
    assert json.loads(events[0]["CloudTrailEvent"])["requestParameters"] == {"keyId": key_id}


def test_the_hints_endpoint_option_works_where_the_variable_is_ignored(emu: Emulator, tmp_path: Path) -> None:
    # An AWS CLI older than 1.29 never reads AWS_ENDPOINT_URL: what the hint tells it to do instead.
    cli = CLI(emu, tmp_path)
    del cli.env["AWS_ENDPOINT_URL"]
    identity = cli.ok("--endpoint-url", emu.endpoint, "sts", "get-caller-identity")
    assert identity["Account"] == "123456789012"
    assert f"aws --endpoint-url {emu.endpoint} s3 ls" in "\n".join(hint.lines(emu.endpoint, emu.environment()))


def test_the_dev_dependency_awscli_reads_aws_endpoint_url() -> None:
    # The test above this one relies on it: awscli>=1.35 in pyproject.toml, and the hint's threshold.
    assert not hint.ignores_endpoint_url(f"aws-cli/{awscli.__version__}")


@pytest.mark.parametrize(("cli", "alias_is_a_command"), [
    ("aws-cli/1.22.34", True),  # Ubuntu 22.04's apt package
    ("aws-cli/1.28.0", True),
    ("aws-cli/1.29.0", False),
    ("aws-cli/2.12.7", True),
    ("aws-cli/2.13.0", False),
    (None, False),  # no aws on the PATH
])
def test_the_hint_says_what_works_for_the_aws_on_the_path(cli: str | None, alias_is_a_command: bool) -> None:
    lines = hint.lines("http://127.0.0.1:4566", {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, cli)
    assert lines[:2] == ["# Point the AWS CLI or an SDK here:", "export AWS_ENDPOINT_URL=http://127.0.0.1:4566"]
    assert "# AWS_ENDPOINT_URL is read by AWS CLI v2 2.13+, AWS CLI v1 1.29+ and boto3 1.28+ (botocore 1.31+)." \
        in lines
    alias = "alias aws='aws --endpoint-url http://127.0.0.1:4566'"
    assert (alias in lines) is alias_is_a_command
    assert any(alias in line for line in lines)
