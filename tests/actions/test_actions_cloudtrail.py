"""cloudtrail.find_events on log files in AWS's layout and record format, in a bucket of the emulator;
its confirmation against the event history, which tells a genuine record from a forged one; and
cloudtrail.lookup_events' order."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from testkit import StubTarget, fresh_account, services

from runner.actions import cloudtrail
from runner.actions.bounds import size_text
from runner.actions.failures import ActionFailed
from runner.emulator import DEFAULT_ACCOUNT, Emulator
from runner.engine.context import Services
from runner.engine.targets import Target

ACCOUNT = DEFAULT_ACCOUNT
REGION = "us-east-1"


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


def test_find_events_reads_each_file_once_a_search_and_deduplicates(trail_bucket: tuple[Target, str]) -> None:
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

    # The same search again (a retry) reads only files it has not read; another search reads them all.
    put_log(target, bucket, log_key(now), [record("Encrypt", now)])
    again = cloudtrail.find_events(ctx, {"bucket": bucket, "event_name": "Encrypt"})
    assert again["count"] == 2 and again["downloaded"] == 1 and len(calls.gets) == 3
    other = cloudtrail.find_events(ctx, {"bucket": bucket, "contains": ["Eiffel.jpg"],
                                         "resource_arn": ["arn:aws:kms:k/1"], "event_source": "kms.amazonaws.com"})
    assert other["count"] == 1 and other["downloaded"] == 3 and len(calls.gets) == 6
    third = cloudtrail.find_events(ctx, {"bucket": bucket, "event_name": ["Encrypt", "Decrypt"]})
    assert third["count"] == 3
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


# ---- confirm: history, in an account with a trail logging into its bucket


def recent(target: Target) -> Services:
    return services(target, datetime.now(UTC) - timedelta(minutes=5))


def logging_trail(target: Target) -> tuple[str, str]:
    """A bucket with a trail logging into it, and the account's id."""
    account_id = target.client("sts").get_caller_identity()["Account"]
    bucket = f"trail-{uuid.uuid4().hex[:12]}"
    target.client("s3").create_bucket(Bucket=bucket)
    statements = [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account_id}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
    ]
    target.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17",
                                                                            "Statement": statements}))
    trail = target.client("cloudtrail")
    trail.create_trail(Name="trail", S3BucketName=bucket)
    trail.start_logging(Name="trail")
    return bucket, account_id


def forge(target: Target, bucket: str, account_id: str, records: list[dict[str, Any]]) -> None:
    """What a student with write access to their bucket can do: put a log file of their own making."""
    now = datetime.now(UTC)
    key = (f"AWSLogs/{account_id}/CloudTrail/{REGION}/{now:%Y/%m/%d}/"
           f"{account_id}_CloudTrail_{REGION}_{now:%Y%m%dT%H%M}Z_{uuid.uuid4().hex[:16]}.json.gz")
    body = gzip.compress(json.dumps({"Records": records}).encode())
    target.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def test_confirm_history_keeps_genuine_records_and_drops_forged_ones(emulator: Emulator) -> None:
    account = fresh_account(emulator, REGION)
    bucket, account_id = logging_trail(account)
    key = account.client("kms").create_key()["KeyMetadata"]
    account.client("s3").put_object(Bucket=bucket, Key="Eiffel.jpg", Body=b"image", ServerSideEncryption="aws:kms",
                                    SSEKMSKeyId=key["KeyId"])
    account.client("s3").put_object(Bucket=bucket, Key="other.jpg", Body=b"image", ServerSideEncryption="aws:kms",
                                    SSEKMSKeyId=key["KeyId"])
    emulator.deliver_logs_now()
    ctx = recent(account)
    query = {"bucket": bucket, "event_name": "GenerateDataKey", "resource_arn": key["Arn"],
             "contains": [f"{bucket}/Eiffel.jpg"]}
    genuine = cloudtrail.find_events(ctx, {**query, "confirm": "history"})
    assert genuine["count"] == 1 and genuine["unconfirmed"] == 0

    # The genuine record for the other image, renamed (a genuine eventID, another image); the same with
    # an id made up; and with the id of the genuine CreateKey event.
    other = cloudtrail.find_events(ctx, {**query, "contains": [f"{bucket}/other.jpg"]})["Events"][0]
    renamed = json.loads(json.dumps(other).replace("other.jpg", "Eiffel.jpg"))
    made_up = {**renamed, "eventID": str(uuid.uuid4())}
    created = cloudtrail.lookup_events(ctx, {"event_name": "CreateKey"})["Events"][0]["eventID"]
    forge(account, bucket, account_id, [renamed, made_up, {**renamed, "eventID": created}])

    read = cloudtrail.find_events(ctx, {**query, "event_name": ["GenerateDataKey", "Decrypt"]})
    assert read["count"] == 4  # without confirmation, the forged records count
    confirmed = cloudtrail.find_events(ctx, {**query, "event_name": ["GenerateDataKey", "Decrypt"],
                                             "confirm": "history"})
    assert confirmed["count"] == 1 and confirmed["unconfirmed"] == 3
    assert confirmed["Events"][0]["eventID"] == genuine["Events"][0]["eventID"]


def test_a_forged_log_file_alone_confirms_nothing(emulator: Emulator) -> None:
    account = fresh_account(emulator, REGION)
    bucket, account_id = logging_trail(account)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    forge(account, bucket, account_id, [{
        "eventTime": now, "eventSource": "kms.amazonaws.com", "eventName": "GenerateDataKey", "awsRegion": REGION,
        "eventID": str(uuid.uuid4()), "resources": [{"ARN": f"arn:aws:kms:{REGION}:{account_id}:key/made-up"}],
        "requestParameters": {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}/Eiffel.jpg"}}}])
    ctx = recent(account)
    assert cloudtrail.find_events(ctx, {"bucket": bucket, "contains": ["Eiffel.jpg"]})["count"] == 1
    found = cloudtrail.find_events(ctx, {"bucket": bucket, "contains": ["Eiffel.jpg"], "confirm": "history"})
    assert (found["count"], found["unconfirmed"]) == (0, 1)


def test_lookup_events_lists_calls_of_one_second_in_the_order_they_were_made(emulator: Emulator) -> None:
    account = fresh_account(emulator, REGION)
    client = account.client("kms")
    keys = [client.create_key(Description=f"key {n}")["KeyMetadata"]["KeyId"] for n in range(4)]
    found = cloudtrail.lookup_events(recent(account), {"event_name": "CreateKey"})
    assert [e["responseElements"]["keyMetadata"]["keyId"] for e in found["Events"]] == keys


def test_find_events_reads_a_bucket_within_the_bounds(trail_bucket: tuple[Target, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target, bucket = trail_bucket
    now = datetime.now(UTC).replace(microsecond=0)
    ctx = services(target, now - timedelta(hours=1))
    calls = Calls(ctx.client("s3"))

    def failure(**params: Any) -> str:
        with pytest.raises(ActionFailed) as error:
            cloudtrail.find_events(ctx, {"bucket": bucket, **params})
        assert error.value.code == "ReadLimitExceeded"
        return error.value.message

    base = f"s3://{bucket}/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/"
    for number in range(3):
        put_log(target, bucket, log_key(now), [record("Encrypt", now, extra=f"file-{number}")])
    monkeypatch.setattr(cloudtrail, "MAX_LOG_KEYS", 2)  # a flood: listed, never downloaded
    assert failure() == (f"{base} holds more than 2 files since {now - timedelta(hours=1):%Y-%m-%d}, more than "
                         "a trail writes there in two days: not read")
    assert calls.gets == []
    monkeypatch.setattr(cloudtrail, "MAX_LOG_KEYS", 100)
    monkeypatch.setattr(cloudtrail, "MAX_SEARCH_RECORDS", 2)
    assert failure(event_name="Encrypt").endswith("hold more than 2 records: not all read")
    monkeypatch.setattr(cloudtrail, "MAX_SEARCH_RECORDS", 100)
    one = len(json.dumps(record("Encrypt", now)))
    monkeypatch.setattr(cloudtrail, "MAX_MATCHED_BYTES", 2 * one + 10)
    assert failure(contains=["file-"]) == (f"the records that match take more than {size_text(2 * one + 10)}: "
                                           "not all kept; narrow the search (its filters, or its window)")
    assert cloudtrail.find_events(ctx, {"bucket": bucket, "contains": ["file-1"]})["count"] == 1
    monkeypatch.setattr(cloudtrail, "MAX_SEARCH_BYTES", 2 * one)
    assert failure(contains=["file-2"]).endswith(f"hold more than {size_text(2 * one)} of records: not all read")
    monkeypatch.setattr(cloudtrail, "MAX_LOG_FILE_BYTES", 10)  # judged by its listed size: not downloaded
    gets = len(calls.gets)
    assert re.fullmatch(r"log file AWSLogs/\S+\.json\.gz is \d+ bytes, larger than any CloudTrail log file: not read",
                        failure(event_name="Decrypt"))
    assert len(calls.gets) == gets


def test_lookup_events_reads_a_bounded_number_of_pages(stub_target: StubTarget,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloudtrail, "MAX_LOOKUP_PAGES", 2)
    monkeypatch.setattr(cloudtrail, "_EVENTS_PER_PAGE", 1)
    now = datetime.now(UTC).replace(microsecond=0)
    stub = stub_target.stub("cloudtrail")
    for number in range(2):
        event = record("CreateKey", now, event_id=f"e{number}")
        stub.add_response("lookup_events", {"Events": [{"EventId": f"e{number}", "CloudTrailEvent": json.dumps(event)}],
                                            "NextToken": f"t{number}"})
    ctx = services(stub_target, now - timedelta(hours=1))
    with pytest.raises(ActionFailed) as error:
        cloudtrail.lookup_events(ctx, {"event_name": "CreateKey"})
    assert (error.value.code, error.value.message) == (
        "ReadLimitExceeded", f"the event history holds more than 2 pages of events with EventName CreateKey since "
                             f"{now - timedelta(hours=1):%Y-%m-%d %H:%M}: not all read; narrow the lookup")
