"""The emulator as a server: endpoint, environment, reset, loopback default, `labrunner emulator`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import moto
import pytest
from emulator_helpers import ClientFactory

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator, serve_forever

ROOT = Path(__file__).resolve().parents[2]


def test_moto_is_the_pinned_version() -> None:
    # The behaviour modules use moto internals: a different moto needs them re-checked.
    assert moto.__version__ == "5.2.5"


def test_default_host_is_loopback() -> None:
    emu = Emulator()
    assert emu.host == "127.0.0.1"


def test_environment_points_an_sdk_at_the_emulator(emu: Emulator) -> None:
    env = emu.environment()
    assert env["AWS_ENDPOINT_URL"] == emu.endpoint
    assert emu.endpoint.startswith("http://127.0.0.1:")
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY)
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    identity = session.client("sts", endpoint_url=env["AWS_ENDPOINT_URL"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{identity['Account']}:root"


def test_reset_wipes_every_account(emu: Emulator, aws: ClientFactory) -> None:
    aws("s3").create_bucket(Bucket="lab-one")
    aws("s3", aws_access_key_id="210987654321").create_bucket(Bucket="lab-two")  # another account's root
    aws("kms").list_keys()
    emu.reset()
    assert aws("s3").list_buckets()["Buckets"] == []
    listed = [{"AttributeKey": "EventName", "AttributeValue": "ListKeys"}]
    assert aws("cloudtrail").lookup_events(LookupAttributes=listed)["Events"] == []


def test_serve_forever_prints_the_environment_and_stops_on_SIGTERM(tmp_path: Path) -> None:
    script = (
        "import sys; from runner.emulator import serve_forever; "
        "sys.exit(serve_forever('127.0.0.1', 0, 5.0, sys.stdout))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        exports = {}
        while len(exports) < 6:
            line = process.stdout.readline()
            assert line.startswith("export "), (lines, line, process.stderr.read() if process.poll() else "")
            name, _, value = line[len("export ") :].strip().partition("=")
            exports[name] = value
        assert exports["AWS_ENDPOINT_URL"] in lines[0]
        client = boto3.client(
            "kms",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            region_name=exports["AWS_DEFAULT_REGION"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        assert client.list_keys()["Keys"] == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_serve_forever_reports_a_port_in_use_in_one_line(emu: Emulator) -> None:
    import io

    out = io.StringIO()
    assert serve_forever("127.0.0.1", emu.port, 5.0, out) == 1
    assert out.getvalue().startswith(f"labrunner emulator: cannot listen on 127.0.0.1:{emu.port}")


def test_labrunner_emulator_command_serves_until_SIGTERM_with_faults() -> None:
    """`labrunner emulator --port 0 --faults ...` as a user runs it: banner, exports, a working endpoint."""
    command = [sys.executable, "-m", "runner", "emulator", "--port", "0", "--log-delay", "1s",
               "--faults", "throttle=1,seed=3,spare=sts"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) as process:
        assert process.stdout is not None
        endpoint = ""
        banner = []
        while not endpoint:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            banner.append(line)
            if line.startswith("export AWS_ENDPOINT_URL="):
                endpoint = line.strip().split("=", 1)[1]
        assert any("injecting faults" in line for line in banner), banner
        kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                           aws_secret_access_key="testing",
                           config=botocore.config.Config(retries={"total_max_attempts": 1}))
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            kms.list_keys()
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


@pytest.mark.parametrize("option", [["--faults", "throtle=0.2"], ["--log-delay", "soon"]])
def test_labrunner_emulator_refuses_bad_options_with_exit_2(option: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "runner", "emulator", "--port", "0", *option],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert option[0] in done.stderr
