"""The real AWS CLI, pointed at the emulator by `environment()` alone, sees the AWS behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner.emulator import Emulator


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
