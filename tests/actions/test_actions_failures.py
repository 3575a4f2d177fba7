"""How an action fails: botocore's and boto3's exceptions turned into `ActionFailed`, and the document
a step that expects the error sees."""

from __future__ import annotations

import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from runner.actions.failures import ActionFailed, aws_errors, failure_from


def client_error(code: str, message: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "GetObject")


def test_a_client_error_keeps_aws_s_code_message_and_status() -> None:
    failure = failure_from(client_error("NoSuchKey", "The specified key does not exist.", 404))
    assert failure is not None
    assert (failure.code, failure.message, failure.status) == ("NoSuchKey", "The specified key does not exist.", 404)
    assert failure.document() == {"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."},
                                  "HTTPStatusCode": 404}


def test_a_modelled_error_also_goes_by_its_exception_name_and_query_code() -> None:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    error = sqs.exceptions.QueueDoesNotExist(
        {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "QueryErrorCode": "QueueDoesNotExist",
                   "Message": "The specified queue does not exist."}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "GetQueueUrl")
    failure = failure_from(error)
    assert failure is not None and failure.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert failure.codes == ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    plain = failure_from(client_error("NoSuchKey", "gone", 404))
    assert plain is not None and plain.codes == ("NoSuchKey",)


def test_a_client_error_without_a_code_is_named_by_its_status() -> None:
    failure = failure_from(ClientError({"Error": {}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "HeadObject"))
    assert failure is not None and (failure.code, failure.message) == ("403", "")


def test_botocore_s_own_errors_are_named_by_their_class() -> None:
    params = failure_from(ParamValidationError(report="Missing required parameter in input: \"Bucket\"\n"))
    assert params is not None and params.code == "ParamValidationError"
    assert params.message == 'Missing required parameter in input: "Bucket"' and params.status is None
    connection = failure_from(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert connection is not None and connection.code == "EndpointConnectionError"
    assert "http://127.0.0.1:1" in connection.message


def test_boto3_s_transfer_errors_stand_for_the_client_error_inside() -> None:
    try:
        try:
            raise client_error("AccessDenied", "Access Denied", 403)
        except ClientError as inner:
            raise S3UploadFailedError("Failed to upload hello.txt") from inner
    except S3UploadFailedError as exc:
        failure = failure_from(exc)
    assert failure is not None and (failure.code, failure.status) == ("AccessDenied", 403)


def test_anything_else_is_no_action_failure() -> None:
    assert failure_from(ValueError("a bug")) is None
    try:
        try:
            raise client_error("NoSuchKey", "gone", 404)
        except ClientError:
            raise KeyError("a bug while handling it") from None
    except KeyError as exc:
        assert failure_from(exc) is None  # only boto3's own wrappers are looked through


def test_aws_errors_raises_the_failure_and_lets_bugs_through() -> None:
    with pytest.raises(ActionFailed) as raised, aws_errors():
        raise client_error("BucketAlreadyExists", "taken", 409)
    assert raised.value.code == "BucketAlreadyExists" and raised.value.__cause__ is None
    assert str(raised.value) == "BucketAlreadyExists: taken"
    with pytest.raises(ZeroDivisionError), aws_errors():
        1 / 0  # noqa: B018
    own = ActionFailed("FileNotFound", "no such file")
    with pytest.raises(ActionFailed) as passed_on, aws_errors():
        raise own
    assert passed_on.value is own
