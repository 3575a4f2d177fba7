"""What a lab author naturally writes, run on the embedded emulator over HTTP: issue 15's defects, each
reproduced as a lab an instructor wrote from the docs, and the behaviour that now holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testkit import FakeTime, write_lab

from runner.emulator import Emulator
from runner.engine.loop import Runner, RunOptions
from runner.engine.record import RunRecord, StepRecord
from runner.engine.targets import Target
from runner.validate import load_lab

REGION = "us-east-1"


def run_text(tmp_path: Path, emulator: Emulator, fake_time: FakeTime, text: str, **options: Any) -> RunRecord:
    lab = load_lab(write_lab(tmp_path, text))
    target = Target.for_emulator(emulator, REGION)
    try:
        return Runner(lab, target, RunOptions(seed=7, **options), clock=fake_time.clock, sleep=fake_time.sleep,
                      wall=fake_time.wall).run()
    finally:
        target.close()


def step(record: RunRecord, key: str) -> StepRecord:
    return next(s for s in record.steps() if s.key == key)


def test_errors_are_matched_by_every_name_aws_gives_them(tmp_path: Path, emu: Emulator, fake_time: FakeTime) -> None:
    # SQS answers AWS.SimpleQueueService.NonExistentQueue for the modelled QueueDoesNotExist; SNS answers
    # NotFound for NotFoundException; a HEAD request's error is its HTTP status.
    record = run_text(tmp_path, emu, fake_time, """\
        lab: codes
        title: Error codes as authors write them
        tasks:
          - id: t
            title: T
            checks:
              - id: no-queue
                action: aws.sqs.get_queue_url
                params: {QueueName: nowhere}
                expect_error: QueueDoesNotExist
              - id: no-queue-by-its-wire-code
                action: aws.sqs.get_queue_url
                params: {QueueName: nowhere}
                expect_error: AWS.SimpleQueueService.NonExistentQueue
              - id: no-topic
                action: aws.sns.get_topic_attributes
                params: {TopicArn: "arn:aws:sns:us-east-1:123456789012:nowhere"}
                expect_error: [NotFoundException]
              - id: no-bucket
                action: aws.s3.head_bucket
                params: {Bucket: labrunner-nowhere-bucket}
                expect_error: 404
                expect:
                  HTTPStatusCode: 404
        """)
    assert record.status == "passed", [s.summary for s in record.steps() if s.failed]


def test_a_failed_expect_error_says_which_code_it_expected(tmp_path: Path, emu: Emulator,
                                                           fake_time: FakeTime) -> None:
    record = run_text(tmp_path, emu, fake_time, """\
        lab: codes
        title: Error codes
        tasks:
          - id: t
            title: T
            checks:
              - id: wrong-code
                action: aws.sqs.get_queue_url
                params: {QueueName: nowhere}
                expect_error: [AccessDenied]
        """)
    wrong = step(record, "wrong-code")
    assert wrong.status == "failed" and wrong.error is not None
    assert wrong.error.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert wrong.error.message == "The specified queue does not exist. (expected error AccessDenied)"
    assert wrong.summary == ("expected error AccessDenied, got AWS.SimpleQueueService.NonExistentQueue: "
                             "The specified queue does not exist.")
