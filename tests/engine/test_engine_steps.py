"""One step at a time, with botocore's Stubber: render, validate again, call, judge, retry, save."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from engine_helpers import context
from testkit import CALLER, FakeTime, StubTarget, lab_from

from runner.actions import aws
from runner.engine.assertions import failed_lines
from runner.engine.steps import Finished, StepRunner, truthy
from runner.model import Lab

HEADER = """\
lab: steps
title: Steps
vars:
  alias: myFirstKey
  days: seven
  trail: t1
  bucket: b1
tasks:
  - id: t
    title: T
    steps:
"""


def one_step(tmp_path: Path, step: str) -> Lab:
    indented = "\n".join("      " + line for line in step.strip("\n").splitlines())
    return lab_from(tmp_path, HEADER + indented + "\n")


def run(lab: Lab, target: StubTarget, fake_time: FakeTime, index: int = 0) -> Finished:
    from runner.engine.context import render_vars

    ctx = render_vars(context(lab, target))
    return StepRunner(clock=fake_time.clock, sleep=fake_time.sleep).run(lab.tasks[0].steps[index], ctx)


def key_metadata(state: str = "Enabled") -> dict[str, object]:
    return {"KeyMetadata": {"KeyId": "k-1", "Arn": "arn:aws:kms:us-east-1:123456789012:key/k-1",
                            "KeyState": state, "CreationDate": datetime(2026, 3, 1, tzinfo=UTC)}}


def test_render_call_assert_and_save(tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- id: describe
  action: aws.kms.describe_key
  params: {KeyId: "alias/{{ alias }}"}
  expect:
    KeyMetadata.KeyState: Enabled
  save:
    key_id: KeyMetadata.KeyId
""")
    stub_target.stub("kms").add_response("describe_key", key_metadata(), {"KeyId": "alias/myFirstKey"})
    finished = run(lab, stub_target, fake_time)
    record = finished.record
    assert record.status == "passed" and record.attempts == 1
    assert record.params == {"KeyId": "alias/myFirstKey"}
    assert record.result["KeyMetadata"]["CreationDate"] == "2026-03-01T00:00:00+00:00"
    assert record.saved == {"key_id": "k-1"} and finished.context.variables["key_id"] == "k-1"
    assert [a.passed for a in record.assertions] == [True]
    assert record.location.endswith("lab.yaml:12:9")


def test_policy_written_as_yaml_is_sent_as_json(tmp_path: Path, stub_target: StubTarget,
                                                fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.create_key
  params:
    Description: "{{ alias }}"
    Policy:
      Version: "2012-10-17"
      Statement: [{Effect: Allow, Principal: {AWS: "{{ caller.arn }}"}, Action: "kms:*", Resource: "*"}]
""")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": CALLER}, "Action": "kms:*", "Resource": "*"}]}
    stub_target.stub("kms").add_response(
        "create_key", key_metadata(),
        {"Description": "myFirstKey", "Policy": json.dumps(policy, separators=(",", ":"))})
    record = run(lab, stub_target, fake_time).record
    assert record.status == "passed"
    assert record.params["Policy"] == policy  # the record shows what the lab wrote


def test_bad_params_after_rendering_are_an_error_and_nothing_is_called(
        tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.schedule_key_deletion
  params: {KeyId: k-1, PendingWindowInDays: "{{ days }}"}
""")
    record = run(lab, stub_target, fake_time).record
    assert record.status == "error" and record.attempts == 0
    assert record.error is not None and record.error.kind == "params"
    assert "PendingWindowInDays" in record.error.message and "whole number" in record.error.message
    # The lab wrote a template, not a quoted value: the fix is about what the template gives.
    assert "the template gave string 'seven'; make it give a whole number" in record.error.message
    assert "quote" not in record.error.message and "without quotes" not in record.error.message


def test_a_quoted_template_is_sent_as_text_where_the_model_wants_a_string(
        tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    # Issue 15: `N: "{{ n }}"` with n: 1 rendered to the number 1, which botocore refused (DynamoDB's numbers
    # are strings on the wire), and the error told the author to quote what was quoted.
    lab = lab_from(tmp_path, HEADER.replace("  alias: myFirstKey", "  alias: myFirstKey\n  n: 1\n  ok: true")
                   + """\
      - action: aws.dynamodb.put_item
        params:
          TableName: Movies
          Item:
            title: {S: Jaws}
            rank: {N: "{{ n }}"}
            score: {N: "{{ n * 2.5 }}"}
            seen: {S: "{{ ok }}"}
""")
    stub_target.stub("dynamodb").add_response("put_item", {}, {"TableName": "Movies", "Item": {
        "title": {"S": "Jaws"}, "rank": {"N": "1"}, "score": {"N": "2.5"}, "seen": {"S": "true"}}})
    record = run(lab, stub_target, fake_time).record
    assert record.status == "passed", record.summary
    assert record.params["Item"]["rank"] == {"N": 1}  # the record shows what the template rendered


def test_a_higher_level_action_checks_its_rendered_params_too(
        tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    # `method` is an enum: a template passes the static check and renders to a value outside it.
    lab = one_step(tmp_path, """
- action: s3.presign
  params: {bucket: "{{ bucket }}", key: k, method: "{{ days }}"}
""")
    record = run(lab, stub_target, fake_time).record
    assert record.status == "error" and record.attempts == 0
    assert record.error is not None and record.error.kind == "params"
    assert record.error.message.startswith("after rendering: params.method: 'seven' is not one of")


def test_a_higher_level_action_runs_when_its_rendered_params_fit(
        tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: s3.presign
  params: {bucket: "{{ bucket }}", key: k, method: GET, expires_in: 1m}
  expect:
    method: GET
""")
    record = run(lab, stub_target, fake_time).record
    assert record.status == "passed", record.error
    assert "/b1/k?" in record.result["url"]


def test_undefined_variable_is_an_error(tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.describe_key
  params: {KeyId: "{{ alias }}"}
  expect:
    - path: KeyMetadata.KeyId
      equals: "{{ run.id | length }}"
""")
    stub_target.stub("kms").add_response("describe_key", key_metadata())
    assert run(lab, stub_target, fake_time).record.status == "failed"  # 'k-1' != 7


def test_expect_error_passes_on_the_named_code(tmp_path: Path, stub_target: StubTarget,
                                               fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.describe_key
  params: {KeyId: alias/gone}
  expect_error: NotFoundException
  expect:
    Error.Code: NotFoundException
    HTTPStatusCode: 400
""")
    stub_target.stub("kms").add_client_error("describe_key", "NotFoundException", "Alias not found",
                                             http_status_code=400)
    record = run(lab, stub_target, fake_time).record
    assert record.status == "passed"
    assert record.result == {"Error": {"Code": "NotFoundException", "Message": "Alias not found"},
                             "HTTPStatusCode": 400}


def test_expect_error_fails_when_the_call_succeeds(tmp_path: Path, stub_target: StubTarget,
                                                   fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.describe_key
  params: {KeyId: alias/gone}
  expect_error: [NotFoundException]
""")
    stub_target.stub("kms").add_response("describe_key", key_metadata())
    record = run(lab, stub_target, fake_time).record
    assert record.status == "failed"
    assert record.summary == "expected error NotFoundException, but aws.kms.describe_key succeeded"


def test_ignored_error_counts_as_success_and_saves_nothing(tmp_path: Path, stub_target: StubTarget,
                                                           fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.s3.delete_bucket
  params: {Bucket: "{{ bucket }}"}
  ignore_errors: [NoSuchBucket]
  save: {gone: Error.Code}
""")
    stub_target.stub("s3").add_client_error("delete_bucket", "NoSuchBucket", "gone", http_status_code=404)
    finished = run(lab, stub_target, fake_time)
    assert finished.record.status == "passed" and finished.record.ignored_error == "NoSuchBucket"
    assert "gone" not in finished.context.variables


def test_unexpected_error_fails_with_code_and_message(tmp_path: Path, stub_target: StubTarget,
                                                      fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.s3.delete_bucket
  params: {Bucket: "{{ bucket }}"}
""")
    stub_target.stub("s3").add_client_error("delete_bucket", "BucketNotEmpty", "The bucket you tried to delete "
                                            "is not empty", http_status_code=409)
    record = run(lab, stub_target, fake_time).record
    assert record.status == "failed"
    assert record.error is not None and (record.error.code, record.error.status) == ("BucketNotEmpty", 409)
    assert record.summary == "BucketNotEmpty: The bucket you tried to delete is not empty"


def test_read_only_step_retries_until_it_passes(tmp_path: Path, stub_target: StubTarget,
                                                fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.describe_key
  params: {KeyId: k-1}
  retry: {timeout: 1m, interval: 2s, backoff: 2, max_interval: 5s}
  expect:
    KeyMetadata.KeyState: Enabled
""")
    kms = stub_target.stub("kms")
    kms.add_response("describe_key", key_metadata("Creating"))
    kms.add_client_error("describe_key", "ThrottlingException", "slow down")
    kms.add_response("describe_key", key_metadata("Creating"))
    kms.add_response("describe_key", key_metadata("Enabled"))
    record = run(lab, stub_target, fake_time).record
    assert record.status == "passed" and record.attempts == 4
    assert fake_time.naps == [2, 4, 5] and record.waited_s == 11
    assert record.duration_s == 11


def test_read_only_step_gives_up_with_the_last_mismatch(tmp_path: Path, stub_target: StubTarget,
                                                        fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.describe_key
  params: {KeyId: k-1}
  retry: {timeout: 10s, interval: 5s}
  expect:
    KeyMetadata.KeyState: Enabled
""")
    for _ in range(3):
        stub_target.stub("kms").add_response("describe_key", key_metadata("Disabled"))
    record = run(lab, stub_target, fake_time).record
    assert record.status == "failed" and record.attempts == 3
    assert record.summary == ("KeyMetadata.KeyState equals: expected 'Enabled', got 'Disabled' "
                              "(after 3 attempts, 10s waiting)")


def test_mutating_step_retries_only_on_named_codes(tmp_path: Path, stub_target: StubTarget,
                                                   fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.cloudtrail.create_trail
  params: {Name: "{{ trail }}", S3BucketName: "{{ bucket }}"}
  retry: {on: [InsufficientS3BucketPolicyException], timeout: 1m, interval: 5s}
- action: aws.cloudtrail.create_trail
  params: {Name: "{{ trail }}", S3BucketName: "{{ bucket }}"}
  retry: {on: [InsufficientS3BucketPolicyException], timeout: 1m, interval: 5s}
""")
    trail = stub_target.stub("cloudtrail")
    trail.add_client_error("create_trail", "InsufficientS3BucketPolicyException", "policy")
    trail.add_response("create_trail", {"Name": "t1"})
    assert run(lab, stub_target, fake_time).record.attempts == 2
    trail.add_client_error("create_trail", "TrailAlreadyExistsException", "exists")
    record = run(lab, stub_target, fake_time, index=1).record
    assert record.status == "failed" and record.attempts == 1


QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/orders"


@pytest.mark.parametrize("on", ["", "\n  retry: {timeout: 1m, interval: 1s, on: [OverLimit]}"],
                         ids=["no-on", "on-OverLimit"])
def test_polling_a_queue_repeats_receive_message_until_a_message_arrives(
        tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime, on: str) -> None:
    # Issue 15: SQS ReceiveMessage is the polling API. Without `retry.on` the validator refused the retry;
    # with it the step never repeated on a failed expectation, so on AWS it did not wait for the message.
    retry = on or "\n  retry: {timeout: 1m, interval: 1s}"
    lab = one_step(tmp_path, f"""
- action: aws.sqs.receive_message
  params: {{QueueUrl: "{QUEUE}", WaitTimeSeconds: 1}}{retry}
  expect:
    - path: "length(Messages || `[]`)"
      greater_than: 0
  save:
    body: Messages[0].Body
""")
    sqs = stub_target.stub("sqs")
    sqs.add_response("receive_message", {})
    sqs.add_response("receive_message", {})
    sqs.add_response("receive_message", {"Messages": [{"MessageId": "m-1", "Body": "hello"}]})
    finished = run(lab, stub_target, fake_time)
    assert finished.record.status == "passed" and finished.record.attempts == 3
    assert fake_time.naps == [1, 1] and finished.saved == {"body": "hello"}


def test_a_path_that_fails_on_a_missing_key_is_a_failed_expectation_and_is_retried(
        tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    # Issue 15: `length(Messages)` after an empty receive was the step's error (not retried) instead of a
    # mismatch: JMESPath's functions refuse null, and a missing key is null.
    lab = one_step(tmp_path, f"""
- action: aws.sqs.receive_message
  params: {{QueueUrl: "{QUEUE}"}}
  retry: {{timeout: 3s, interval: 1s}}
  expect:
    - path: length(Messages)
      equals: 1
    - path: Messages[0].Body | from_json(@).Message
      equals: hello
""")
    sqs = stub_target.stub("sqs")
    for _ in range(4):
        sqs.add_response("receive_message", {})
    record = run(lab, stub_target, fake_time).record
    assert record.status == "failed" and record.attempts == 4 and record.error is None
    first, second = record.assertions
    assert not first.passed and first.detail.startswith("the path failed: In function length(), invalid type")
    assert "give a default, for example length(Messages || `[]`)" in first.detail
    assert not second.passed and second.actual is None  # from_json(null) is null: a plain mismatch
    assert failed_lines(record.assertions)[0].startswith("length(Messages) equals: expected 1, but the path "
                                                         "failed: In function length()")
    envelope = json.dumps({"Type": "Notification", "Message": "hello"})
    sqs.add_response("receive_message", {"Messages": [{"MessageId": "m", "Body": envelope}]})
    assert run(lab, stub_target, fake_time).record.status == "passed"


def test_permission_errors_are_never_retried(tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.describe_key
  params: {KeyId: k-1}
  retry: {timeout: 1m, interval: 5s}
""")
    stub_target.stub("kms").add_client_error("describe_key", "AccessDeniedException", "no")
    record = run(lab, stub_target, fake_time).record
    assert record.status == "failed" and record.attempts == 1 and fake_time.naps == []


def test_when_false_skips_without_calling(tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.describe_key
  when: "{{ target.region == 'eu-west-1' }}"
  params: {KeyId: k-1}
""")
    record = run(lab, stub_target, fake_time).record
    assert record.status == "skipped" and record.attempts == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("false", False), ("False", False), ("", False), ("0", False), ("no", False), ("None", False),
    ("yes", True), ("x", True), (0, False), ([], False), ([1], True), (True, True),
])
def test_truthy(value: object, expected: bool) -> None:
    assert truthy(value) is expected


def test_secrets_and_bodies_become_plain_data(tmp_path: Path, stub_target: StubTarget,
                                              fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.kms.generate_data_key
  params: {KeyId: k-1, KeySpec: AES_256}
  expect:
    Plaintext: "***"
    CiphertextBlob.size: 5
- action: aws.s3.get_object
  params: {Bucket: b1, Key: hello.txt}
  expect:
    Body.text: hello
    Body.size: 5
""")
    stub_target.stub("kms").add_response("generate_data_key", {"Plaintext": b"secret-key-bytes",
                                                               "CiphertextBlob": b"ciphr", "KeyId": "k-1"})
    assert run(lab, stub_target, fake_time).record.result["Plaintext"] == "***"
    stub_target.stub("s3").add_response("get_object", {"Body": StreamingBody(io.BytesIO(b"hello"), 5)})
    record = run(lab, stub_target, fake_time, index=1).record
    assert record.status == "passed"
    assert record.result["Body"]["sha256"].startswith("2cf24dba")


def test_paginate_merges_every_page(tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.s3.list_objects_v2
  paginate: true
  params: {Bucket: b1}
  expect:
    - path: Contents[].Key
      length: 3
""")
    s3 = stub_target.stub("s3")
    s3.add_response("list_objects_v2", {"Contents": [{"Key": "a"}, {"Key": "b"}], "IsTruncated": True,
                                        "NextContinuationToken": "t"}, {"Bucket": "b1"})
    s3.add_response("list_objects_v2", {"Contents": [{"Key": "c"}], "IsTruncated": False},
                    {"Bucket": "b1", "ContinuationToken": "t"})
    record = run(lab, stub_target, fake_time).record
    assert record.status == "passed", record.summary


def test_a_paginated_answer_past_the_bound_fails_the_step(tmp_path: Path, stub_target: StubTarget,
                                                          fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws, "MAX_PAGINATED_ITEMS", 2)
    lab = one_step(tmp_path, """
- action: aws.s3.list_objects_v2
  paginate: true
  params: {Bucket: b1}
  retry: {timeout: 1m, interval: 5s}
""")
    stub_target.stub("s3").add_response("list_objects_v2", {"Contents": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}],
                                                            "IsTruncated": False}, {"Bucket": "b1"})
    record = run(lab, stub_target, fake_time).record
    assert (record.status, record.attempts) == ("failed", 1)  # never retried: the bucket will not shrink
    assert record.summary == ("ReadLimitExceeded: aws.s3.list_objects_v2 answered more than 2 items: not all read; "
                              "ask for fewer (a prefix or a filter)")


def test_an_object_larger_than_a_step_reads_is_not_downloaded(tmp_path: Path, stub_target: StubTarget,
                                                              fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: aws.s3.get_object
  params: {Bucket: b1, Key: Eiffel.jpg}
""")
    read: list[int] = []

    class Body(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            read.append(size or -1)
            return super().read(size)

    body = Body(b"only the start of five gigabytes")
    stub_target.stub("s3").add_response("get_object", {"Body": StreamingBody(body, 5 << 30), "ContentLength": 5 << 30},
                                        {"Bucket": "b1", "Key": "Eiffel.jpg"})
    record = run(lab, stub_target, fake_time).record
    assert record.status == "failed" and record.error is not None and record.error.code == "ReadLimitExceeded"
    assert record.summary == ("ReadLimitExceeded: object s3://b1/Eiffel.jpg is 5 GiB, more than the 64 MiB a step "
                              "reads: not read")
    assert read == [] and body.closed


def test_builtin_params_are_checked_again_after_rendering(tmp_path: Path, stub_target: StubTarget,
                                                          fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- action: s3.upload_file
  params: {bucket: b1, key: k, file: "{{ '../' + alias }}"}
- action: http.request
  params: {url: "{{ alias }}", method: "{{ 'POST' }}"}
""")
    record = run(lab, stub_target, fake_time).record
    assert record.status == "error" and "outside the lab's folder" in (record.summary or "")
    record = run(lab, stub_target, fake_time, index=1).record
    assert record.status == "error" and "params.method" in (record.summary or "")


def test_cleanup_is_rendered_when_registered(tmp_path: Path, stub_target: StubTarget, fake_time: FakeTime) -> None:
    lab = one_step(tmp_path, """
- id: make
  action: aws.kms.create_key
  save: {key_id: KeyMetadata.KeyId}
  cleanup:
    action: aws.kms.schedule_key_deletion
    params: {KeyId: "{{ key_id }}", PendingWindowInDays: 7}
""")
    stub_target.stub("kms").add_response("create_key", key_metadata())
    finished = run(lab, stub_target, fake_time)
    from runner.engine.steps import Prepared

    assert isinstance(finished.cleanup, Prepared)
    assert finished.cleanup.params == {"KeyId": "k-1", "PendingWindowInDays": 7}
    assert finished.cleanup.step.key == "make.cleanup"
