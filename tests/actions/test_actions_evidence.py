"""The actions a grade trusts, against the emulator: log files confirmed by event history, a key's user
history, a bucket's objects described, and event history in the order the calls were made."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.actions import cloudtrail, kms, s3
from runner.emulator import Emulator
from runner.engine.context import Services
from runner.engine.targets import Target, new_session

REGION = "us-west-2"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    # Log files are delivered when a test asks (deliver_logs_now), never on a timer.
    with Emulator(log_delay=3600, region=REGION) as emu:
        yield emu


@pytest.fixture
def account(emulator: Emulator) -> Target:
    """A fresh account of the shared emulator (moto's state is process-global), as its root."""
    number = f"{uuid.uuid4().int % 10**12:012d}"
    root = Target.for_emulator(emulator, REGION)
    credentials = root.client("sts").assume_role(RoleArn=f"arn:aws:iam::{number}:role/Student",
                                                 RoleSessionName="student")["Credentials"]
    session = new_session(aws_access_key_id=credentials["AccessKeyId"],
                          aws_secret_access_key=credentials["SecretAccessKey"],
                          aws_session_token=credentials["SessionToken"], region_name=REGION)
    return Target("emulator", REGION, session, emulator.endpoint, emulator)


def services(target: Target, since: datetime | None = None) -> Services:
    started = since or datetime.now(UTC) - timedelta(minutes=5)
    return Services(target=target, lab_dir=Path("."), run_started=started)


def logging_trail(target: Target) -> tuple[str, str]:
    """A bucket with a trail logging into it, and the account's id."""
    account_id = target.client("sts").get_caller_identity()["Account"]
    bucket = f"trail-{uuid.uuid4().hex[:12]}"
    s3_client = target.client("s3")
    s3_client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    statements = [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account_id}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
    ]
    s3_client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
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


def test_confirm_history_keeps_genuine_records_and_drops_forged_ones(emulator: Emulator, account: Target) -> None:
    bucket, account_id = logging_trail(account)
    key = account.client("kms").create_key()["KeyMetadata"]
    account.client("s3").put_object(Bucket=bucket, Key="Eiffel.jpg", Body=b"image", ServerSideEncryption="aws:kms",
                                    SSEKMSKeyId=key["KeyId"])
    account.client("s3").put_object(Bucket=bucket, Key="other.jpg", Body=b"image", ServerSideEncryption="aws:kms",
                                    SSEKMSKeyId=key["KeyId"])
    emulator.deliver_logs_now()
    ctx = services(account)
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


def test_a_forged_log_file_alone_confirms_nothing(account: Target) -> None:
    bucket, account_id = logging_trail(account)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    forge(account, bucket, account_id, [{
        "eventTime": now, "eventSource": "kms.amazonaws.com", "eventName": "GenerateDataKey", "awsRegion": REGION,
        "eventID": str(uuid.uuid4()), "resources": [{"ARN": f"arn:aws:kms:{REGION}:{account_id}:key/made-up"}],
        "requestParameters": {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}/Eiffel.jpg"}}}])
    ctx = services(account)
    assert cloudtrail.find_events(ctx, {"bucket": bucket, "contains": ["Eiffel.jpg"]})["count"] == 1
    found = cloudtrail.find_events(ctx, {"bucket": bucket, "contains": ["Eiffel.jpg"], "confirm": "history"})
    assert (found["count"], found["unconfirmed"]) == (0, 1)


def user_policy(account_id: str, users: list[str]) -> str:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*",
         "Resource": "*"}]
    if users:
        statements.append({"Effect": "Allow", "Principal": {"AWS": users}, "Resource": "*",
                           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"]})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_key_user_history_names_who_was_removed_then_added_back(account: Target) -> None:
    account_id = account.client("sts").get_caller_identity()["Account"]
    alice, bob = f"arn:aws:iam::{account_id}:user/alice", f"arn:aws:iam::{account_id}:user/bob"
    client = account.client("kms")
    key = client.create_key(Policy=user_policy(account_id, [alice, bob]))["KeyMetadata"]
    ctx = services(account)
    assert kms.key_user_history(ctx, {"key_id": key["Arn"]})["AddedBack"] == []  # created: nothing changed yet

    # Several edits in one second: the event history keeps their order.
    for users in ([bob], [], [alice]):
        client.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=user_policy(account_id, users))
    found = kms.key_user_history(services(account), {"key_id": key["Arn"]})
    assert [v["Users"] for v in found["Versions"]] == [[bob], [], [alice]]
    assert found["AddedBack"] == [alice]  # bob was removed and never came back
    assert found["Users"] == [alice]

    client.create_alias(AliasName="alias/history", TargetKeyId=key["KeyId"])
    client.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert kms.key_user_history(services(account), {"key_id": "alias/history"})["AddedBack"] == [alice]


def test_key_user_history_of_a_key_only_ever_narrowed_is_empty(account: Target) -> None:
    account_id = account.client("sts").get_caller_identity()["Account"]
    alice = f"arn:aws:iam::{account_id}:user/alice"
    client = account.client("kms")
    key = client.create_key(Policy=user_policy(account_id, [alice]))["KeyMetadata"]
    client.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=user_policy(account_id, []))
    found = kms.key_user_history(services(account), {"key_id": key["Arn"]})
    assert found["AddedBack"] == [] and [v["Users"] for v in found["Versions"]] == [[]]
    assert found["Users"] == []


def test_describe_objects_tells_each_object_s_encryption(account: Target) -> None:
    client = account.client("s3")
    bucket = f"objects-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    key = account.client("kms").create_key()["KeyMetadata"]
    client.put_object(Bucket=bucket, Key="AWSLogs/log.json.gz", Body=b"{}")
    client.put_object(Bucket=bucket, Key="plain.txt", Body=b"plain")
    client.put_object(Bucket=bucket, Key="photos/tower.png", Body=b"png", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=key["KeyId"])
    ctx = services(account)
    found = s3.describe_objects(ctx, {"bucket": bucket, "exclude": ["AWSLogs/"]})
    assert (found["count"], found["truncated"]) == (2, False)
    by_key = {o["Key"]: o for o in found["Objects"]}
    assert by_key["plain.txt"]["ServerSideEncryption"] == "AES256"  # a new bucket's default encryption
    assert (by_key["photos/tower.png"]["ServerSideEncryption"], by_key["photos/tower.png"]["SSEKMSKeyId"]) == (
        "aws:kms", key["Arn"])
    assert by_key["photos/tower.png"]["Size"] == 3
    assert [o["Key"] for o in s3.describe_objects(ctx, {"bucket": bucket, "prefix": "photos/"})["Objects"]] == [
        "photos/tower.png"]
    limited = s3.describe_objects(ctx, {"bucket": bucket, "max_objects": 1})
    assert (limited["count"], limited["truncated"]) == (1, True)


def test_lookup_events_lists_calls_of_one_second_in_the_order_they_were_made(account: Target) -> None:
    client = account.client("kms")
    keys = [client.create_key(Description=f"key {n}")["KeyMetadata"]["KeyId"] for n in range(4)]
    found = cloudtrail.lookup_events(services(account), {"event_name": "CreateKey"})
    assert [e["responseElements"]["keyMetadata"]["keyId"] for e in found["Events"]] == keys
