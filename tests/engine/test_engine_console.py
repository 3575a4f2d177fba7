"""The live console: what a person watching sees, checked on the text it writes.

A failed step's line, where it is, what was expected; a wait as one live line on a terminal and as a
line at most every 30 s elsewhere (driven by fake time through the real loop, on the emulator); what
the run made; colour only when asked; quiet and verbose; account text made harmless.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest
from engine_helpers import make_record
from testkit import FakeTime, github_reads_a_command, lab_from

from runner.emulator import Emulator
from runner.engine.console import STILL_WAITING_EVERY, Console, duration
from runner.engine.loop import Runner, RunOptions
from runner.engine.observer import Wait
from runner.engine.record import ErrorInfo, RunRecord, StepRecord
from runner.engine.retrying import Waiting
from runner.engine.targets import Target
from runner.engine.terminal import LiveLine, Style
from runner.model import Location, Step

WAITS = """\
lab: waits
title: Waits
vars:
  bucket: "waits-{{ random_id(8) }}"
tasks:
  - id: make
    title: Make a bucket, then wait for an object that never comes
    steps:
      - id: create
        action: aws.s3.create_bucket
        params: {Bucket: "{{ bucket }}"}
        # Named by what it does and to what; removing the bucket, since it is told to delete it.
        cleanup:
          action: s3.empty_bucket
          params: {bucket: "{{ bucket }}", delete_bucket: true}
    checks:
      - id: never
        action: aws.s3.list_objects_v2
        params: {Bucket: "{{ bucket }}"}
        retry: {timeout: 5m, interval: 20s}
        message: Put an object in the bucket.
        expect:
          - path: KeyCount
            greater_than: 0
"""
WIDTH = 100
ELAPSED = re.compile(r"(?:(\d+)m)?(\d+)s elapsed")


def run_waits(tmp_path: Path, emulator: Emulator, console: Console, seed: int) -> RunRecord:
    fake = FakeTime()
    lab = lab_from(tmp_path, WAITS)
    target = Target.for_emulator(emulator, "us-east-1")
    return Runner(lab, target, RunOptions(seed=seed), clock=fake.clock, sleep=fake.sleep, observer=console,
                  redactor=console.redact).run()


def seconds(match: re.Match[str]) -> int:
    return int(match.group(1) or 0) * 60 + int(match.group(2))


def test_console_wording() -> None:
    out = io.StringIO()
    console = Console(out)
    record = make_record()
    console.step_finished(record.tasks[0].steps[1])
    text = out.getvalue()
    assert "use (aws.s3.list_buckets) ... FAILED" in text and ", 3 attempts" in text
    assert "at lab.yaml:9:7" in text
    assert "Owner.ID equals: expected 'wJalrX" in text and "actual 'someone'" in text and "hint: hint!" in text
    assert "aws error: AccessDenied: denied for" in text
    assert [duration(s) for s in (0.04, 12.34, 290, 3725)] == ["0.04s", "12.3s", "4m50s", "1h02m"]
    assert [duration(s, whole=True) for s in (0.4, 12.34, 59.4, 59.6, 290)] == ["0s", "12s", "59s", "1m00s", "4m50s"]


@pytest.mark.e2e
def test_without_a_terminal_a_wait_is_a_line_then_one_at_most_every_30s(tmp_path: Path, emulator: Emulator) -> None:
    out = io.StringIO()
    record = run_waits(tmp_path, emulator, Console(out), seed=181)
    text = out.getvalue()
    check = record.tasks[0].checks[0]
    assert check.status == "failed" and check.attempts == 16  # every 20s for 5 minutes, and one at the end
    lines = [line for line in text.splitlines() if "? never" in line or "waiting for never" in line]
    assert lines[0] == ("  ? never (aws.s3.list_objects_v2) ... waiting up to 5m00s for KeyCount greater_than 0; "
                        "attempt 1: KeyCount is 0")
    still = lines[1:-1]
    assert all(line.startswith("      still waiting for never, ") for line in still)
    said = [0] + [seconds(m) for m in map(ELAPSED.search, still) if m]
    assert said == list(range(0, 300, int(STILL_WAITING_EVERY)))  # every 30s, though attempts are 20s apart
    assert lines[-1] == "  ? never (aws.s3.list_objects_v2) ... FAILED 5m00s, 16 attempts"
    # The failure is told in full, as without a wait.
    assert "      KeyCount greater_than: expected 0, actual 0" in text and "      hint: Put an object" in text
    assert "\r" not in text and "\x1b" not in text


@pytest.mark.e2e
def test_on_a_terminal_a_wait_is_one_line_rewritten_in_place(tmp_path: Path, emulator: Emulator) -> None:
    out = io.StringIO()
    console = Console(out, live=LiveLine(lambda: WIDTH))
    run_waits(tmp_path, emulator, console, seed=182)
    text = out.getvalue()
    start = text.index("  ? never (aws.s3.list_objects_v2) ... ")
    end = text.index("FAILED", start)
    wait = text[start:end]
    assert "\n" not in wait  # five minutes of waiting, on one line
    shown = wait.split("\r")[1:]
    assert len(shown) > 250  # told every second of the pauses, and after each attempt
    assert all(len(piece.removesuffix("\x1b[K")) < WIDTH for piece in shown)
    assert shown[0] == ("  ? never: 0s elapsed, 5m00s left, attempt 1: KeyCount is 0; waiting for KeyCount "
                        "greater_than 0\x1b[K")
    elapsed = [seconds(m) for m in map(ELAPSED.search, shown) if m]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 290
    assert "attempt 15: KeyCount is 0" in wait
    # The outcome replaces the live line, then the failure's detail follows as it always does.
    assert "\r\x1b[K  ? never (aws.s3.list_objects_v2) ... FAILED 5m00s, 16 attempts\n" in text
    assert "      KeyCount greater_than: expected 0, actual 0\n" in text
    assert "\x1b[3" not in text and "\x1b[1" not in text  # the live line erases; colour was not asked for


@pytest.mark.e2e
def test_the_run_ends_with_what_it_made_and_names_cleanups_by_it(tmp_path: Path, emulator: Emulator) -> None:
    out = io.StringIO()
    record = run_waits(tmp_path, emulator, Console(out), seed=183)
    bucket = record.vars["bucket"]
    text = out.getvalue()
    assert f"  - empty bucket {bucket} (s3.empty_bucket) ... passed" in text
    assert "cleanup of create" not in text
    assert text.endswith(f"made by this run:\n  S3 bucket {bucket}  removed\n")


@pytest.mark.e2e
def test_colour_only_when_asked(tmp_path: Path, emulator: Emulator) -> None:
    out = io.StringIO()
    run_waits(tmp_path, emulator, Console(out, style=Style(colour=True)), seed=184)
    text = out.getvalue()
    assert "\x1b[32mpassed\x1b[0m" in text and "\x1b[1;31mFAILED\x1b[0m" in text and "\x1b[36m      hint:" in text
    assert "\x1b[1m[1/1] make\x1b[0m" in text


@pytest.mark.e2e
def test_quiet_says_only_the_result_and_what_failed(tmp_path: Path, emulator: Emulator) -> None:
    out = io.StringIO()
    console = Console(out, live=LiveLine(lambda: WIDTH), level="quiet")
    assert console.tick is None  # not even a live line to keep up to date
    run_waits(tmp_path, emulator, console, seed=185)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[1/1] make: Make a bucket, then wait for an object that never comes, 1 point"
    assert lines[1] == "  ? never (aws.s3.list_objects_v2) ... FAILED 5m00s, 16 attempts"
    assert "passed" not in out.getvalue().replace("0 of 1 tasks passed", "")
    assert lines[-1].startswith("result: FAILED: 0 of 1 tasks passed, 0/1 points")
    assert "made by this run" not in out.getvalue()  # everything it made is gone


def test_quiet_still_names_what_is_left() -> None:
    out = io.StringIO()
    record = make_record()
    console = Console(out, level="quiet")
    console.made([("aws.s3.delete_bucket", {"Bucket": "gone"}, "done"),
                  ("aws.kms.schedule_key_deletion", {"KeyId": "k-1"}, "failed")], "us-east-1", None)
    assert out.getvalue() == "made by this run:\n  KMS key k-1  left: its cleanup failed\n"
    assert record.status == "failed"


def test_on_aws_each_resource_links_to_its_console_page() -> None:
    out = io.StringIO()
    console = Console(out, links=lambda service: service == "s3")
    console.made([("aws.s3.delete_bucket", {"Bucket": "b-1"}, "done"),
                  ("aws.kms.schedule_key_deletion", {"KeyId": "k-1"}, "done")], "eu-west-3", "111122223333")
    assert out.getvalue().splitlines() == [
        "made by this run:",
        "  S3 bucket b-1  removed  https://s3.console.aws.amazon.com/s3/buckets/b-1?region=eu-west-3",
        "  KMS key k-1    deletion scheduled"]


def test_text_from_an_account_cannot_move_the_cursor_or_recolour() -> None:
    out = io.StringIO()
    console = Console(out, style=Style(colour=True), live=LiveLine(lambda: WIDTH))
    hostile = "\x1b[2J\x1b[31mowned\r\u202e"
    step = StepRecord(key="t.checks[0]", action="aws.s3.get_bucket_tagging", section="checks", status="failed",
                      location="lab.yaml:3:7", error=ErrorInfo("aws", f"tag says {hostile}", "Odd"),
                      params={"Bucket": hostile})
    console.step_finished(step)
    console.made([("aws.s3.delete_bucket", {"Bucket": hostile}, "failed")], "us-east-1", None)
    text = out.getvalue()
    assert "\x1b[2J" not in text and "\x1b[31m" not in text and "\r" not in text and "\u202e" not in text
    assert "tag says \\x1b[2J\\x1b[31mowned\\x0d\\u202e" in text


def test_verbose_shows_a_step_that_made_no_aws_request_by_its_params_and_result() -> None:
    out = io.StringIO()
    console = Console(out, level="verbose")
    step = StepRecord(key="t.steps[0]", action="http.request", section="steps", status="passed",
                      location="lab.yaml:3:7", attempts=1, params={"url": "http://x/y"},
                      result={"status": 200, "Password": "hunter22"})
    console.step_finished(step)
    assert out.getvalue().splitlines() == [
        '      > http.request {"url": "http://x/y"}',
        '      < http.request {"status": 200, "Password": "***"}',
        "  - t.steps[0] (http.request) ... passed 0.00s"]


@pytest.mark.e2e
def test_a_wait_for_log_files_says_how_many_it_read_and_how_many_events_it_found(
        tmp_path: Path, emulator: Emulator) -> None:
    lab = lab_from(tmp_path, """\
        lab: logs
        title: Logs
        vars:
          bucket: "logs-{{ random_id(8) }}"
        tasks:
          - id: t
            title: Wait for a log file that never comes
            steps:
              - action: aws.s3.create_bucket
                params: {Bucket: "{{ bucket }}"}
                cleanup: {action: aws.s3.delete_bucket, params: {Bucket: "{{ bucket }}"}}
            checks:
              - id: logged
                action: cloudtrail.find_events
                params: {bucket: "{{ bucket }}", event_name: CreateBucket}
                retry: {timeout: 1m, interval: 30s}
                expect:
                  - path: count
                    greater_than: 0
        """)
    out = io.StringIO()
    fake = FakeTime()
    Runner(lab, Target.for_emulator(emulator, "us-east-1"), RunOptions(seed=183), clock=fake.clock,
           sleep=fake.sleep, observer=Console(out, live=LiveLine(lambda: 160))).run()
    assert ("\r  ? logged: 0s elapsed, 1m00s left, attempt 1: 0 log files read, 0 events found; waiting for count "
            "greater_than 0\x1b[K") in out.getvalue()


def test_on_80_columns_a_wait_cuts_what_it_waits_for_before_the_clock_and_what_it_saw() -> None:
    out = io.StringIO()
    console = Console(out, live=LiveLine(lambda: 80))
    step = Step(key="log-names-key-and-image", section="checks", task_id="t", action="cloudtrail.find_events",
                params={}, location=Location("lab.yaml", 1, 1), id="log-names-key-and-image")
    console.step_started(step, {})
    console.step_waiting(step, Wait("count greater_than 0", "3 log files read, 0 events found",
                                    Waiting(attempt=4, elapsed=42, next_in=18, left=858)))
    shown = out.getvalue().split("\r")[-1].removesuffix("\x1b[K")
    assert shown == "  ? log-names-key-and-image: 42s elapsed, 14m18s left, attempt 4: 3 log file..."


def test_on_github_actions_an_error_an_account_wrote_is_no_workflow_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    step = make_record().tasks[0].steps[1]
    assert step.error is not None
    said = "The key notes\n::error title=owned::pwned\n##[stop-commands]x does not exist"
    out = io.StringIO()
    Console(out).step_finished(dataclasses.replace(step, error=dataclasses.replace(step.error, message=said)))
    assert "\\x3a:error title=owned::pwned" in out.getvalue() and "\\x23#[stop-commands]x" in out.getvalue()
    assert not any(github_reads_a_command(line) for line in out.getvalue().splitlines())
