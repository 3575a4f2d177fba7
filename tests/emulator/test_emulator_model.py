"""AWS error replies (`runner/emulator/model.py`): every wire format reads back, through botocore's own
parser for the protocol, as the code and message it was given, and through `Reply.error` (which the
CloudTrail record's errorCode comes from) too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from runner.emulator.identity import ANONYMOUS
from runner.emulator.model import Call, error_reply


def call(service: str, protocol: str, method: str = "POST", content_type: str = "") -> Call:
    return Call(
        service=service,
        operation="Operation",
        region="us-east-1",
        account_id="123456789012",
        identity=ANONYMOUS,
        auth="sigv4",
        protocol=protocol,
        method=method,
        path="/",
        query={},
        headers={"content-type": content_type} if content_type else {},
        body=b"",
        params={},
        request_id="0b6f6a0c-7c3b-4c8e-9a55-3f1d2e4b5a6c",
        time=datetime(2025, 1, 1, tzinfo=UTC),
        source_ip="127.0.0.1",
        user_agent="test",
    )


def parsed(protocol: str, status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> dict[str, Any]:
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    result: dict[str, Any] = create_parser(protocol).parse(response, None)
    return result


@pytest.mark.parametrize(
    ("service", "protocol", "botocore_protocol", "status"),
    [
        ("kms", "json", "json", 400),
        ("cloudtrail", "json", "json", 500),
        ("lambda", "rest-json", "rest-json", 404),
        ("sts", "query", "query", 403),
        ("iam", "query", "query", 500),
        ("sqs", "query", "query", 400),
        ("ec2", "query", "ec2", 503),
        ("s3", "rest-xml", "rest-xml", 403),
    ],
)
def test_each_protocol_reads_back_as_the_error_it_was_given(
    service: str, protocol: str, botocore_protocol: str, status: int
) -> None:
    reply = error_reply(call(service, protocol), "SomeError", "What went wrong.", status)
    response = parsed(botocore_protocol, reply.status, reply.headers, reply.body)
    assert response["Error"]["Code"] == "SomeError"
    assert response["Error"]["Message"] == "What went wrong."
    assert response["ResponseMetadata"]["RequestId"] == "0b6f6a0c-7c3b-4c8e-9a55-3f1d2e4b5a6c"
    assert reply.status == status
    assert reply.error() == ("SomeError", "What went wrong.")
    assert reply.header("Content-Length") == str(len(reply.body))


def test_query_errors_say_whose_fault_it_is() -> None:
    sender = error_reply(call("sts", "query"), "AccessDenied", "No.", 403)
    receiver = error_reply(call("sts", "query"), "InternalFailure", "Oops.", 500)
    assert parsed("query", 403, sender.headers, sender.body)["Error"]["Type"] == "Sender"
    assert parsed("query", 500, receiver.headers, receiver.body)["Error"]["Type"] == "Receiver"


def test_a_json_error_answers_in_the_json_version_the_client_spoke() -> None:
    dynamodb = error_reply(call("dynamodb", "json", content_type="application/x-amz-json-1.0"), "E", "m")
    assert dynamodb.header("Content-Type") == "application/x-amz-json-1.0"
    assert error_reply(call("kms", "json"), "E", "m").header("Content-Type") == "application/x-amz-json-1.1"
    assert error_reply(call("lambda", "rest-json"), "E", "m").header("Content-Type") == "application/json"


def test_s3_errors_carry_extra_members_and_the_host_id() -> None:
    reply = error_reply(call("s3", "rest-xml"), "InvalidArgument", "Bad.", ArgumentName="Authorization")
    response = parsed("rest-xml", reply.status, reply.headers, reply.body)
    assert response["Error"]["ArgumentName"] == "Authorization"
    assert response["ResponseMetadata"]["HostId"] == reply.header("x-amz-id-2")
    head = error_reply(call("s3", "rest-xml", method="HEAD"), "NoSuchKey", "Gone.", 404)
    assert head.body == b"" and head.header("Content-Length") == "0"
