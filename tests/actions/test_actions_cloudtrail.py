"""cloudtrail.find_events on log files in AWS's layout and record format, in a bucket of the emulator."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from testkit import services

from runner.actions import cloudtrail
from runner.actions.failures import ActionFailed
from runner.emulator import DEFAULT_ACCOUNT, Emulator
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
