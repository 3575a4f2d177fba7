"""Secrets never reach an output: a KMS data key's plaintext, a var the lab marks secret (raw, inside
other text, or base64-encoded), in the record, JUnit XML or the terminal, even when a check fails
and shows its expected and actual values.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import LABS, leftovers

from runner.commands.main import main
from runner.emulator import Emulator
from runner.engine.redaction import Redactor
from runner.engine.targets import Target
from runner.secret_keys import is_secret_key

LAB = LABS / "secrets.yaml"
PASSWORD = "correct-horse-battery-staple"


def forms(secret: bytes) -> list[str]:
    """How a secret could show up in text: raw, base64 (padded or not), hex."""
    encoded = base64.b64encode(secret).decode()
    found = [encoded, encoded.rstrip("="), secret.hex()]
    with contextlib.suppress(UnicodeDecodeError):
        found.append(secret.decode("utf-8"))
    return found


def test_a_data_key_and_a_secret_var_leave_no_trace(emulator: Emulator, endpoint_env: None, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data_keys: list[bytes] = []
    real_client = Target._new_client

    def client(self: Target, service: str, region: str) -> Any:
        made = real_client(self, service, region)
        made.meta.events.register("after-call.kms.GenerateDataKey",
                                  lambda parsed, **_: data_keys.append(parsed["Plaintext"]))
        return made
    monkeypatch.setattr(Target, "_new_client", client)

    record, report = tmp_path / "record.json", tmp_path / "junit.xml"
    out = io.StringIO()
    code = main(["run", str(LAB), "--target", emulator.endpoint, "--seed", "7", "--record", str(record),
                 "--junit", str(report)], out)
    terminal = out.getvalue() + "".join(capsys.readouterr())
    assert code == 1, terminal  # the check fails on purpose: its expected and actual values are shown
    assert len(data_keys) == 1 and len(data_keys[0]) == 32

    outputs = {"record": record.read_text(), "junit": report.read_text(), "terminal": terminal}
    secrets = forms(data_keys[0]) + forms(PASSWORD.encode()) + forms(f"admin:{PASSWORD}".encode())
    for name, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} in the {name}"

    data = json.loads(outputs["record"])
    steps = {s["key"]: s for s in data["tasks"][0]["steps"]}
    assert data["vars"]["db_password"] == "***"
    assert steps["data-key"]["result"]["Plaintext"] == "***" and steps["data-key"]["saved"]["data_key"] == "***"
    assert steps["encrypt-password"]["params"]["Plaintext"] == "***"
    tags = {t["TagKey"]: t["TagValue"] for t in steps["password-elsewhere"]["params"]["Tags"]}
    assert tags["note"] == "pw=***"
    check = data["tasks"][0]["checks"][0]
    assert check["status"] == "failed" and check["assertions"][0]["expected"] == "pw=nope-***"
    assert "pw=nope-***" in terminal
    assert leftovers(emulator, data["vars"]["tag"]) == {}


@pytest.mark.parametrize(("key", "secret"), [
    ("Plaintext", True), ("SecretAccessKey", True), ("SessionToken", True), ("Password", True),
    ("MasterUserPassword", True), ("PrivateKey", True), ("PrivateKeyPlaintext", True), ("PrivateKeyPem", True),
    ("SecretString", True), ("KeyId", False), ("PasswordLastUsed", False), ("CiphertextBlob", False),
])
def test_secret_keys_are_recognised_by_name(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret
    assert (Redactor()({key: "value-1234"})[key] == "***") is secret


def test_a_marked_secret_is_redacted_wherever_it_appears() -> None:
    redact = Redactor()
    redact.add_secret({"password": "s3cr3t-value", "pin": "42"})
    assert redact.text("x s3cr3t-value y") == "x *** y"
    assert redact.text(base64.b64encode(b"s3cr3t-value").decode()) == "***"
    assert redact({"a": ["s3cr3t-value", "42", 42, "420"]}) == {"a": ["***", "***", "***", "420"]}
