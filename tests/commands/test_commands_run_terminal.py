"""`labrunner run` as a person sees it: the real command under a pseudo-terminal and through a pipe.

Each run is a new process on the session's emulator. Its lab waits for an object that never comes, for
one real second (the one wait in these tests: the command's own clock and sleep cannot be faked from
outside), so that a wait and a failure are both on screen; `test_engine_console.py` drives long waits
with fake time. Options that change only what is printed run in this process (`main`).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import PROCESS_WAIT, child_env, labrunner_on_a_terminal, write_lab

from runner.commands.main import main
from runner.emulator import Emulator

pytestmark = pytest.mark.e2e

WATCHED = """\
lab: watched
title: Watched
vars:
  bucket: "watched-{{ random_id(8) }}"
tasks:
  - id: fill
    title: Put an object in a new bucket
    steps:
      - action: aws.s3.create_bucket
        params:
          Bucket: "{{ bucket }}"
        cleanup: {action: aws.s3.delete_bucket, params: {Bucket: "{{ bucket }}"}}
      # An object key is the account's text: a terminal shows its escape codes, never obeys them.
      - id: put
        action: aws.s3.put_object
        params: {Bucket: "{{ bucket }}", Key: "\\e[31mred\\e[0m.txt", Body: hello}
        cleanup:
          action: aws.s3.delete_object
          params: {Bucket: "{{ bucket }}", Key: "\\e[31mred\\e[0m.txt"}
    checks:
      - id: two-objects
        action: aws.s3.list_objects_v2
        params: {Bucket: "{{ bucket }}"}
        retry: {timeout: 1s, interval: 100ms}
        message: Put a second object in the bucket.
        expect:
          - path: KeyCount
            greater_than: 1
"""
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    return write_lab(tmp_path, WATCHED)


def arguments(lab: Path, emulator: Emulator, seed: int, *extra: str) -> list[str]:
    return ["run", str(lab), "--target", emulator.endpoint, "--seed", str(seed), "--record", "out/record.json",
            "--junit", "out/junit.xml", *extra]


def labrunner_piped(args: list[str], cwd: Path, **env: str) -> tuple[int, str]:
    """`labrunner ARGS` as a new process writing into a pipe (as under CI): its exit status and output."""
    done = subprocess.run([sys.executable, "-m", "runner", *args], capture_output=True, text=True, cwd=cwd,
                          env=child_env(**env), timeout=PROCESS_WAIT)
    return done.returncode, done.stdout + done.stderr


def bucket_of(folder: Path) -> str:
    return str(json.loads((folder / "out" / "record.json").read_text())["vars"]["bucket"])


def test_on_a_terminal_the_wait_is_one_line_rewritten_and_the_run_ends_with_what_it_made(
        lab: Path, emulator: Emulator, tmp_path: Path) -> None:
    code, screen = labrunner_on_a_terminal(arguments(lab, emulator, 1801), tmp_path)
    assert code == 1, screen
    bucket = bucket_of(tmp_path)
    plain = ANSI_COLOUR.sub("", screen)
    # The wait: the check's line is rewritten in place (carriage return, erase to the end), never scrolled.
    start = plain.index("  ? two-objects (aws.s3.list_objects_v2) ... ")
    end = plain.index("FAILED", start)
    wait = plain[start:end]
    assert "\n" not in wait and wait.count("\x1b[K") >= 2
    assert ("\r  ? two-objects: 0s elapsed, 1s left, attempt 1: KeyCount is 1; waiting for KeyCount "
            "greater_than 1\x1b[K") in wait
    # The outcome replaces the live line; the failure is then told in full.
    assert "\r\x1b[K  ? two-objects (aws.s3.list_objects_v2) ... FAILED " in plain
    assert "      KeyCount greater_than: expected 1, actual 1\r\n" in plain
    assert "      hint: Put a second object in the bucket.\r\n" in plain
    # What it made, each named, and whether it was removed; cleanups are named by what they remove.
    key = "\\x1b[31mred\\x1b[0m.txt"
    assert f"  - delete object {bucket}/{key} (aws.s3.delete_object) ... passed" in plain
    assert f"  - delete bucket {bucket} (aws.s3.delete_bucket) ... passed" in plain
    assert f"made by this run:\r\n  S3 bucket {bucket}{' ' * (len(key) + 1)}  removed\r\n" in plain
    assert f"  S3 object {bucket}/{key}  removed\r\n" in plain
    # Where it wrote, whatever folder the command ran in.
    assert f"record: {tmp_path}/out/record.json\r\n" in plain and f"junit: {tmp_path}/out/junit.xml\r\n" in plain
    # Colour by default on a terminal: on the statuses; the object key's own codes are shown, not obeyed.
    assert "\x1b[32mpassed\x1b[0m" in screen and "\x1b[1;31mFAILED\x1b[0m" in screen
    assert "\x1b[31mred" not in screen


def test_ctrl_c_during_a_wait_is_told_on_a_line_of_its_own(emulator: Emulator, tmp_path: Path) -> None:
    lab = write_lab(tmp_path, WATCHED.replace("timeout: 1s", "timeout: 10m"))
    code, screen = labrunner_on_a_terminal(arguments(lab, emulator, 1808, "--color", "never"), tmp_path,
                                           columns=160, interrupt_at="attempt 1: KeyCount is 1")
    assert code == 130, screen
    # The notice ends the live line instead of being written at its end; the run then goes on as it says.
    assert re.search(r"attempt \d+: KeyCount is 1; waiting for KeyCount greater_than 1\x1b\[K\r\n"
                     r"interrupted: stopping the current step, then cleaning up \(press Ctrl-C again to skip the "
                     r"cleanup\)\r\n  task fill ERROR", screen)
    assert "made by this run:" in screen and "Traceback" not in screen


def test_no_color_turns_colour_off_on_a_terminal_but_not_the_live_line(
        lab: Path, emulator: Emulator, tmp_path: Path) -> None:
    code, screen = labrunner_on_a_terminal(arguments(lab, emulator, 1802), tmp_path, NO_COLOR="1")
    assert code == 1, screen
    assert not ANSI_COLOUR.search(screen)
    assert "\r  ? two-objects: 0s elapsed, 1s left, attempt 1: KeyCount is 1; waiting for KeyCount" in screen


def test_through_a_pipe_a_wait_is_one_line_and_nothing_is_rewritten_or_coloured(
        lab: Path, emulator: Emulator, tmp_path: Path) -> None:
    code, output = labrunner_piped(arguments(lab, emulator, 1803), tmp_path)
    assert code == 1, output
    attempts = json.loads((tmp_path / "out" / "record.json").read_text())["tasks"][0]["checks"][0]["attempts"]
    assert attempts >= 2
    assert "\r" not in output and "\x1b" not in output
    told = [line for line in output.splitlines() if "two-objects" in line]
    assert told == [
        "  ? two-objects (aws.s3.list_objects_v2) ... waiting up to 1s for KeyCount greater_than 1; attempt 1: "
        "KeyCount is 1",
        f"  ? two-objects (aws.s3.list_objects_v2) ... FAILED {told[1].split('FAILED ')[1]}",
    ]
    assert f", {attempts} attempts" in told[1]  # however many attempts, two lines


def test_force_color_colours_a_pipe(lab: Path, emulator: Emulator, tmp_path: Path) -> None:
    code, output = labrunner_piped(arguments(lab, emulator, 1804), tmp_path, FORCE_COLOR="1")
    assert code == 1, output
    assert "\x1b[1;31mFAILED\x1b[0m" in output and "\r" not in output


def run_here(argv: list[str]) -> str:
    out = io.StringIO()
    main(argv, out)
    return out.getvalue()


@pytest.mark.parametrize(("option", "coloured"), [("always", True), ("never", False), ("auto", False)])
def test_color_option(lab: Path, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      emulator_env: None, option: str, coloured: bool) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")  # --color always wins over it, as no-color.org asks
    output = run_here(arguments(lab, emulator, 1805, "--color", option))
    assert bool(ANSI_COLOUR.search(output)) is coloured


def test_quiet_prints_only_the_result_and_the_failure(lab: Path, emulator: Emulator, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, emulator_env: None) -> None:
    monkeypatch.chdir(tmp_path)
    lines = run_here(arguments(lab, emulator, 1806, "--quiet")).splitlines()
    assert lines[0] == "[1/1] fill: Put an object in a new bucket, 1 point"
    assert lines[1].startswith("  ? two-objects (aws.s3.list_objects_v2) ... FAILED ")
    assert [line.split(":")[0] for line in lines[-3:]] == ["result", "record", "junit"]
    assert not [line for line in lines if "passed" in line and not line.startswith("result")]


def test_verbose_prints_each_request_redacted_as_records_are(tmp_path: Path, emulator: Emulator,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             emulator_env: None) -> None:
    monkeypatch.chdir(tmp_path)
    lab = write_lab(tmp_path, """\
        lab: verbose
        title: Verbose
        secrets: [word]
        vars:
          word: "open sesame, {{ random_id(6) }}"
        tasks:
          - id: key
            title: Encrypt with a new key
            steps:
              - action: aws.kms.create_key
                save:
                  key_id: KeyMetadata.KeyId
                cleanup: {action: aws.kms.schedule_key_deletion, params: {KeyId: "{{ key_id }}"}}
              - id: encrypt
                action: aws.kms.encrypt
                params: {KeyId: "{{ key_id }}", Plaintext: "{{ word }}"}
        """, name="verbose.yaml")
    output = run_here(["run", str(lab), "--target", emulator.endpoint, "--verbose", "--seed", "1807"])
    record = json.loads(next((tmp_path / "runs").glob("verbose-*.json")).read_text())
    word = "open sesame, "
    assert word not in output and "***" in output
    key_id = record["ledger"][0]["params"]["KeyId"]
    assert '      > kms.CreateKey {}' in output
    assert '      < kms.CreateKey 200 {"KeyMetadata": {"AWSAccountId": ' in output
    assert f'      > kms.Encrypt {{"KeyId": "{key_id}", "Plaintext": "***"}}' in output
    assert re.search(r'      < kms\.Encrypt 200 \{"CiphertextBlob": "<\d+ bytes>", "KeyId": ', output)
    assert f"      > kms.ScheduleKeyDeletion {{\"KeyId\": \"{key_id}\"}}" in output
    assert f"  - schedule key deletion {key_id} (aws.kms.schedule_key_deletion) ... passed" in output
