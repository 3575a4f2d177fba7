"""The higher-level actions, each on its own: CloudTrail log reading, key-policy edits, HTTP, S3."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import CALLER, StubTarget

from runner.actions import cloudtrail, http, kms, s3
from runner.actions.failures import ActionFailed
from runner.emulator import DEFAULT_ACCOUNT, Emulator
from runner.engine.context import Services
from runner.engine.targets import Target

ACCOUNT = DEFAULT_ACCOUNT
REGION = "us-east-1"


def services(target: Target, started: datetime, lab_dir: Path = Path(".")) -> Services:
    return Services(target=target, lab_dir=lab_dir, run_started=started)


# ---- cloudtrail.find_events, on log files in AWS's layout and record format


def record(name: str, when: datetime, *, source: str = "kms.amazonaws.com", arn: str = "arn:aws:kms:k/1",
           event_id: str | None = None, extra: str = "") -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
                         "accountId": ACCOUNT},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "AWS Internal",
        "userAgent": "AWS Internal",
        "requestParameters": {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::bucket/{extra or 'x'}"}},
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": True,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


def log_key(when: datetime, prefix: str = "") -> str:
    base = f"{prefix}/" if prefix else ""
    return (f"{base}AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{when:%Y/%m/%d}/"
            f"{ACCOUNT}_CloudTrail_{REGION}_{when:%Y%m%dT%H%M}Z_{uuid.uuid4().hex[:16]}.json.gz")


class Calls:
    """Counts the S3 calls a client makes, and the prefixes it lists."""

    def __init__(self, client: Any) -> None:
        self.gets: list[str] = []
        self.prefixes: list[str] = []
        client.meta.events.register("before-call.s3.GetObject", self._get)
        client.meta.events.register("before-call.s3.ListObjectsV2", self._list)

    def _get(self, params: dict[str, Any], **_: Any) -> None:
        self.gets.append(params["url_path"])

    def _list(self, params: dict[str, Any], **_: Any) -> None:
        self.prefixes.append(params["query_string"].get("prefix", ""))


@pytest.fixture
def trail_bucket(emulator: Emulator) -> tuple[Target, str]:
    target = Target.for_emulator(emulator, REGION)
    bucket = f"logs-{uuid.uuid4().hex[:12]}"
    target.client("s3").create_bucket(Bucket=bucket)
    return target, bucket


def put_log(target: Target, bucket: str, key: str, records: list[dict[str, Any]]) -> None:
    body = gzip.compress(json.dumps({"Records": records}).encode())
    target.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def test_find_events_reads_each_file_once_and_deduplicates(trail_bucket: tuple[Target, str]) -> None:
    target, bucket = trail_bucket
    now = datetime.now(UTC).replace(microsecond=0)
    started = now - timedelta(minutes=10)
    duplicate = str(uuid.uuid4())
    put_log(target, bucket, log_key(now), [
        record("Encrypt", now - timedelta(minutes=2), event_id=duplicate, extra="Eiffel.jpg"),
        record("Decrypt", now - timedelta(minutes=1)),
        record("Encrypt", started - timedelta(minutes=5)),  # before the run: not counted
    ])
    put_log(target, bucket, log_key(now), [record("Encrypt", now - timedelta(minutes=2), event_id=duplicate)])
    put_log(target, bucket, log_key(now - timedelta(hours=2)), [record("Encrypt", now)])  # named before the run
    target.client("s3").put_object(  # digests live beside the logs and are never read
        Bucket=bucket, Key=f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{now:%Y/%m/%d}/digest.json.gz", Body=b"x")
    old = now - timedelta(days=3)
    put_log(target, bucket, log_key(old), [record("Encrypt", old)])
    ctx = services(target, started)
    calls = Calls(ctx.client("s3"))

    found = cloudtrail.find_events(ctx, {"bucket": bucket, "event_name": "Encrypt"})
    assert found["count"] == 1 and found["files"] == 2 and found["downloaded"] == 2
    assert found["Events"][0]["eventID"] == duplicate
    assert len(calls.gets) == 2
    base = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/"
    days = {started, now, now + timedelta(minutes=30)}  # the run's days, and the next one near midnight
    assert set(calls.prefixes) == {f"{base}{day:%Y/%m/%d}/" for day in days}

    again = cloudtrail.find_events(ctx, {"bucket": bucket, "contains": ["Eiffel.jpg"],
                                         "resource_arn": ["arn:aws:kms:k/1"], "event_source": "kms.amazonaws.com"})
    assert again["count"] == 1 and again["downloaded"] == 0 and len(calls.gets) == 2

    put_log(target, bucket, log_key(now), [record("Encrypt", now)])
    third = cloudtrail.find_events(ctx, {"bucket": bucket, "event_name": ["Encrypt", "Decrypt"]})
    assert third["count"] == 3 and third["downloaded"] == 1 and len(calls.gets) == 3
    assert [e["eventName"] for e in third["Events"]] == ["Encrypt", "Decrypt", "Encrypt"]  # by time


def test_find_events_prefix_since_and_filters(trail_bucket: tuple[Target, str]) -> None:
    target, bucket = trail_bucket
    now = datetime.now(UTC).replace(microsecond=0)
    put_log(target, bucket, log_key(now, "trails/main"), [
        record("GenerateDataKey", now - timedelta(minutes=30), arn="arn:aws:kms:k/2"),
        record("GetObject", now - timedelta(minutes=1), source="s3.amazonaws.com"),
    ])
    ctx = services(target, now - timedelta(hours=1))
    assert cloudtrail.find_events(ctx, {"bucket": bucket, "prefix": "trails/main/"})["count"] == 2
    assert cloudtrail.find_events(ctx, {"bucket": bucket, "prefix": "trails/main", "since": "5m"})["count"] == 1
    assert cloudtrail.find_events(ctx, {"bucket": bucket, "prefix": "trails/main",
                                        "resource_arn": "arn:aws:kms:k/2"})["count"] == 1
    assert cloudtrail.find_events(ctx, {"bucket": bucket})["count"] == 0  # no prefix: other folder
    with pytest.raises(ActionFailed) as error:
        cloudtrail.find_events(ctx, {"bucket": bucket, "since": "yesterday"})
    assert error.value.code == "InvalidParameter"
    with pytest.raises(ActionFailed) as error:
        cloudtrail.find_events(ctx, {"bucket": "no-such-bucket-here", "account": ACCOUNT})
    assert error.value.code == "NoSuchBucket"


# ---- key policy edits, with botocore's Stubber


CONSOLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Admins (any name)", "Effect": "Allow", "Principal": {"AWS": [CALLER]},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Put*", "kms:ScheduleKeyDeletion"], "Resource": "*"},
        {"Sid": "Users", "Effect": "Allow", "Principal": {"AWS": CALLER},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"},
        {"Sid": "Grants", "Effect": "Allow", "Principal": {"AWS": CALLER},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ],
}
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"


def stub_policy(target: StubTarget, policy: dict[str, Any], key: str = "k-1") -> Any:
    stub = target.stub("kms")
    stub.add_response("get_key_policy", {"Policy": json.dumps(policy)}, {"KeyId": key, "PolicyName": "default"})
    return stub


def test_lists_recognise_statements_by_what_they_grant(stub_target: StubTarget) -> None:
    stub = stub_target.stub("kms")
    stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "k-1"}}, {"KeyId": "alias/a"})
    stub_policy(stub_target, CONSOLE_POLICY)
    stub_policy(stub_target, CONSOLE_POLICY)
    # IncludesCaller compares with the target's identity (the stub target knows it: no STS call).
    ctx = services(stub_target, datetime.now(UTC))
    assert kms.list_key_administrators(ctx, {"key_id": "alias/a"}) == {
        "KeyId": "k-1", "Principals": [CALLER], "IncludesCaller": True}
    assert kms.list_key_users(ctx, {"key_id": "k-1"})["Principals"] == [CALLER]


def test_adding_a_user_edits_use_and_grant_statements(stub_target: StubTarget) -> None:
    stub = stub_policy(stub_target, CONSOLE_POLICY)
    edited = json.loads(json.dumps(CONSOLE_POLICY))
    edited["Statement"][2]["Principal"]["AWS"] = [CALLER, BOB]
    edited["Statement"][3]["Principal"]["AWS"] = [CALLER, BOB]
    stub.add_response("put_key_policy", {}, {"KeyId": "k-1", "PolicyName": "default", "Policy": json.dumps(edited)})
    result = kms.key_users(services(stub_target, datetime.now(UTC)), {"key_id": "k-1", "add": [BOB]})
    assert result == {"KeyId": "k-1", "Principals": [CALLER, BOB], "Changed": True}


def test_removing_the_last_user_drops_the_statements(stub_target: StubTarget) -> None:
    stub = stub_policy(stub_target, CONSOLE_POLICY)
    edited = json.loads(json.dumps(CONSOLE_POLICY))
    del edited["Statement"][2:]
    stub.add_response("put_key_policy", {}, {"KeyId": "k-1", "PolicyName": "default", "Policy": json.dumps(edited)})
    result = kms.key_users(services(stub_target, datetime.now(UTC)), {"key_id": "k-1", "remove": [CALLER]})
    assert result["Principals"] == [] and result["Changed"] is True


def test_an_admin_statement_is_created_when_missing_and_no_op_edits_write_nothing(stub_target: StubTarget) -> None:
    root_only = {"Version": "2012-10-17", "Statement": [CONSOLE_POLICY["Statement"][0]]}
    stub = stub_policy(stub_target, root_only)
    edited = json.loads(json.dumps(root_only))
    edited["Statement"].append({"Sid": "Allow access for Key Administrators", "Effect": "Allow",
                                "Principal": {"AWS": BOB}, "Action": kms._ADMIN_ACTIONS, "Resource": "*"})
    stub.add_response("put_key_policy", {}, {"KeyId": "k-1", "PolicyName": "default", "Policy": json.dumps(edited)})
    ctx = services(stub_target, datetime.now(UTC))
    assert kms.key_administrators(ctx, {"key_id": "k-1", "add": [BOB]})["Principals"] == [BOB]
    stub_policy(stub_target, CONSOLE_POLICY)  # already an admin: no PutKeyPolicy
    assert kms.key_administrators(ctx, {"key_id": "k-1", "add": [CALLER]})["Changed"] is False


def test_key_policy_errors_are_action_failures(stub_target: StubTarget) -> None:
    stub_target.stub("kms").add_client_error("get_key_policy", "NotFoundException", "no key")
    with pytest.raises(ActionFailed) as error:
        kms.list_key_users(services(stub_target, datetime.now(UTC)), {"key_id": "k-1"})
    assert error.value.code == "NotFoundException"


# ---- http.request and S3 helpers, on the emulator


def test_http_request_sees_what_an_anonymous_browser_sees(emulator: Emulator, tmp_path: Path) -> None:
    target = Target.for_emulator(emulator, REGION)
    bucket = f"http-{uuid.uuid4().hex[:12]}"
    target.client("s3").create_bucket(Bucket=bucket)
    target.client("s3").put_object(Bucket=bucket, Key="a b.txt", Body=b"private")
    ctx = services(target, datetime.now(UTC), tmp_path)
    result = http.request(ctx, {"url": target.object_url(bucket, "a b.txt")})
    assert result["status"] == 403 and result["Error"]["Code"] == "AccessDenied"
    assert result["body"]["size"] > 0
    with pytest.raises(ActionFailed) as error:
        http.request(ctx, {"url": "file:///etc/passwd"})
    assert error.value.code == "InvalidURL"
    with pytest.raises(ActionFailed) as error:
        http.request(ctx, {"url": "http://127.0.0.1:9/", "timeout": "1s"})
    assert error.value.code == "ConnectionError"


@pytest.mark.parametrize(("body", "error"), [
    (b"<?xml version='1.0'?><Error><Code>NoSuchKey</Code><Message>gone</Message></Error>",
     {"Code": "NoSuchKey", "Message": "gone"}),
    (b'{"__type": "com.amazon#ResourceNotFoundException", "message": "nope"}',
     {"Code": "ResourceNotFoundException", "Message": "nope"}),
    (b"<html>hello</html>", None),
    (b"plain", None),
])
def test_aws_error_documents(body: bytes, error: dict[str, str] | None) -> None:
    assert http.aws_error(body) == error


def test_empty_bucket_removes_every_version(emulator: Emulator, tmp_path: Path) -> None:
    target = Target.for_emulator(emulator, REGION)
    client = target.client("s3")
    bucket = f"versions-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2"):
        client.put_object(Bucket=bucket, Key="k", Body=body)
    client.delete_object(Bucket=bucket, Key="k")  # a delete marker
    client.put_object(Bucket=bucket, Key="other", Body=b"3")
    ctx = services(target, datetime.now(UTC), tmp_path)
    assert s3.empty_bucket(ctx, {"bucket": bucket})["deleted"] == 4
    client.delete_bucket(Bucket=bucket)
    with pytest.raises(ActionFailed) as error:
        s3.empty_bucket(ctx, {"bucket": bucket})
    assert error.value.code == "NoSuchBucket"


def test_upload_file_reports_what_s3_stored(emulator: Emulator, tmp_path: Path) -> None:
    target = Target.for_emulator(emulator, REGION)
    bucket = f"upload-{uuid.uuid4().hex[:12]}"
    target.client("s3").create_bucket(Bucket=bucket)
    (tmp_path / "f.txt").write_bytes(b"abc")
    ctx = services(target, datetime.now(UTC), tmp_path)
    result = s3.upload_file(ctx, {"bucket": bucket, "key": "f.txt", "file": "f.txt",
                                  "extra_args": {"ContentType": "text/plain"}})
    assert result["size"] == 3 and result["ContentType"] == "text/plain" and "ETag" in result
    assert result["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(ActionFailed) as error:
        s3.upload_file(ctx, {"bucket": bucket, "key": "x", "file": "missing.txt"})
    assert error.value.code == "FileNotFound"
    with pytest.raises(ActionFailed) as error:
        s3.upload_file(ctx, {"bucket": bucket, "key": "x", "file": "../f.txt"})
    assert error.value.code == "InvalidPath"
