"""http.request: what an anonymous browser sees of the emulator, and AWS error documents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from testkit import services

from runner.actions import http
from runner.actions.failures import ActionFailed
from runner.emulator import Emulator
from runner.engine.targets import Target

REGION = "us-east-1"


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
