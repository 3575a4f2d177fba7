"""s3.empty_bucket, s3.upload_file and s3.describe_objects on the emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from testkit import fresh_account, services

from runner.actions import s3
from runner.actions.failures import ActionFailed
from runner.emulator import Emulator
from runner.engine.targets import Target

REGION = "us-east-1"


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


def test_describe_objects_tells_each_object_s_encryption(emulator: Emulator) -> None:
    account = fresh_account(emulator, REGION)
    client = account.client("s3")
    bucket = f"objects-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    key = account.client("kms").create_key()["KeyMetadata"]
    client.put_object(Bucket=bucket, Key="AWSLogs/log.json.gz", Body=b"{}")
    client.put_object(Bucket=bucket, Key="plain.txt", Body=b"plain")
    client.put_object(Bucket=bucket, Key="photos/tower.png", Body=b"png", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=key["KeyId"])
    ctx = services(account, datetime.now(UTC))
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


def test_describe_objects_lists_a_bounded_number_of_keys_those_it_leaves_out_too(
        emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    account = fresh_account(emulator, REGION)
    client = account.client("s3")
    bucket = f"flood-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    for number in range(3):
        client.put_object(Bucket=bucket, Key=f"AWSLogs/{number}.json.gz", Body=b"{}")
    monkeypatch.setattr(s3, "MAX_PAGINATED_ITEMS", 2)
    with pytest.raises(ActionFailed) as error:
        s3.describe_objects(services(account, datetime.now(UTC)), {"bucket": bucket, "exclude": ["AWSLogs/"]})
    assert (error.value.code, error.value.message) == (
        "ReadLimitExceeded", f"s3://{bucket}/ holds more than 2 keys: not all read; describe fewer (a prefix)")
