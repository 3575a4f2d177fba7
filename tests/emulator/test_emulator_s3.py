"""S3 through the emulator: new-bucket defaults, Block Public Access, anonymous access, SSE-KMS,
presigned URLs that expire."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator_helpers import ACCOUNT, ClientFactory

from runner.emulator import Emulator

SIGV4_MESSAGE = "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4."


def _error(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _fetch(url: str, method: str = "GET") -> tuple[int, bytes]:
    """A plain HTTP request: no Authorization header, no signature (anonymous)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method)) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _error_code(body: bytes) -> tuple[str, str]:
    root = ET.fromstring(body)
    return root.findtext("Code") or "", root.findtext("Message") or ""


def _public_bucket(aws: ClientFactory, bucket: str = "lab-public") -> Any:
    """A bucket whose policy lets anyone GetObject, with Block Public Access lifted to allow that."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ]
            }
        ),
    )
    return s3


def test_new_bucket_has_block_public_access_acls_disabled_and_sse_s3(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-new")
    assert s3.get_public_access_block(Bucket="lab-new")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_ownership_controls(Bucket="lab-new")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [encryption] = s3.get_bucket_encryption(Bucket="lab-new")["ServerSideEncryptionConfiguration"]["Rules"]
    assert encryption["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    s3.put_object(Bucket="lab-new", Key="a", Body=b"1")
    assert s3.head_object(Bucket="lab-new", Key="a")["ServerSideEncryption"] == "AES256"


def test_acl_on_a_BucketOwnerEnforced_bucket_is_AccessControlListNotSupported(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-new")
    put = lambda: s3.put_object(Bucket="lab-new", Key="a", Body=b"1", ACL="public-read")  # noqa: E731
    assert _error(put) == ("AccessControlListNotSupported", 400)
    s3.put_object(Bucket="lab-new", Key="a", Body=b"1", ACL="bucket-owner-full-control")


def test_public_bucket_policy_is_refused_while_BlockPublicPolicy_is_on(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-new")
    policy = json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab-new/*"}
            ]
        }
    )
    assert _error(lambda: s3.put_bucket_policy(Bucket="lab-new", Policy=policy)) == ("AccessDenied", 403)


def test_sse_kms_put_with_a_nonexistent_key_is_KMS_NotFoundException(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-data")
    for key_id in ("alias/nope", "11111111-2222-3333-4444-555555555555"):
        put = lambda k=key_id: s3.put_object(  # noqa: E731
            Bucket="lab-data", Key="s", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=k
        )
        assert _error(put) == ("KMS.NotFoundException", 400)
    assert "Contents" not in s3.list_objects_v2(Bucket="lab-data")


def test_sse_kms_put_with_a_disabled_key_is_KMS_DisabledException(aws: ClientFactory) -> None:
    s3, kms = aws("s3"), aws("kms")
    s3.create_bucket(Bucket="lab-data")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    put = lambda: s3.put_object(  # noqa: E731
        Bucket="lab-data", Key="s", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id
    )
    assert _error(put) == ("KMS.DisabledException", 400)


def test_sse_kms_bucket_default_with_a_disabled_key_is_KMS_DisabledException(aws: ClientFactory) -> None:
    s3, kms = aws("s3"), aws("kms")
    s3.create_bucket(Bucket="lab-data")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.put_bucket_encryption(
        Bucket="lab-data",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}]
        },
    )
    kms.disable_key(KeyId=key_id)
    assert _error(lambda: s3.put_object(Bucket="lab-data", Key="s", Body=b"x")) == ("KMS.DisabledException", 400)


def test_get_object_of_sse_kms_object_whose_key_is_disabled_is_KMS_DisabledException(aws: ClientFactory) -> None:
    s3, kms = aws("s3"), aws("kms")
    s3.create_bucket(Bucket="lab-data")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.put_object(Bucket="lab-data", Key="s", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    kms.disable_key(KeyId=key_id)
    assert _error(lambda: s3.get_object(Bucket="lab-data", Key="s")) == ("KMS.DisabledException", 400)
    kms.enable_key(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert _error(lambda: s3.get_object(Bucket="lab-data", Key="s")) == ("KMS.KMSInvalidStateException", 400)
    assert s3.head_object(Bucket="lab-data", Key="s")["ServerSideEncryption"] == "aws:kms"  # HEAD needs no key


def test_head_object_reports_SSEKMSKeyId_as_the_key_ARN(aws: ClientFactory) -> None:
    s3, kms = aws("s3"), aws("kms")
    s3.create_bucket(Bucket="lab-data")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/lab", TargetKeyId=key["KeyId"])
    for name, key_ref in (("by-id", key["KeyId"]), ("by-alias", "alias/lab")):
        put = s3.put_object(Bucket="lab-data", Key=name, Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_ref)
        assert put["SSEKMSKeyId"] == key["Arn"]
        assert s3.head_object(Bucket="lab-data", Key=name)["SSEKMSKeyId"] == key["Arn"]
    s3.put_object(Bucket="lab-data", Key="managed", Body=b"x", ServerSideEncryption="aws:kms")
    managed = s3.head_object(Bucket="lab-data", Key="managed")["SSEKMSKeyId"]
    assert managed == kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]


def test_anonymous_get_of_a_private_object_is_403_with_AccessDenied_body(emu: Emulator, aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-private")
    s3.put_object(Bucket="lab-private", Key="a.txt", Body=b"secret")
    status, body = _fetch(f"{emu.endpoint}/lab-private/a.txt")
    assert status == 403
    assert _error_code(body) == ("AccessDenied", "Access Denied")
    assert _fetch(f"{emu.endpoint}/lab-private/a.txt", method="HEAD") == (403, b"")
    assert _fetch(f"{emu.endpoint}/lab-private")[0] == 403  # listing too


def test_anonymous_get_while_Block_Public_Access_is_on_is_403_even_with_a_public_policy(
    emu: Emulator, aws: ClientFactory
) -> None:
    s3 = _public_bucket(aws)
    s3.put_object(Bucket="lab-public", Key="a.txt", Body=b"hello")
    assert _fetch(f"{emu.endpoint}/lab-public/a.txt") == (200, b"hello")
    s3.put_public_access_block(
        Bucket="lab-public",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    status, body = _fetch(f"{emu.endpoint}/lab-public/a.txt")
    assert status == 403 and _error_code(body)[0] == "AccessDenied"


def test_anonymous_or_sigv2_get_of_a_public_sse_kms_object_is_InvalidArgument(
    emu: Emulator, aws: ClientFactory
) -> None:
    s3 = _public_bucket(aws)
    key_id = aws("kms").create_key()["KeyMetadata"]["KeyId"]
    s3.put_object(Bucket="lab-public", Key="s.txt", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)

    status, body = _fetch(f"{emu.endpoint}/lab-public/s.txt")
    assert (status, _error_code(body)) == (400, ("InvalidArgument", SIGV4_MESSAGE))

    sigv2 = aws("s3", config=Config(signature_version="s3"))
    url = sigv2.generate_presigned_url("get_object", Params={"Bucket": "lab-public", "Key": "s.txt"})
    assert "Signature=" in url and "X-Amz-Signature" not in url
    status, body = _fetch(url)
    assert (status, _error_code(body)) == (400, ("InvalidArgument", SIGV4_MESSAGE))
    assert _error(lambda: sigv2.get_object(Bucket="lab-public", Key="s.txt")) == ("InvalidArgument", 400)


def test_presigned_sigv4_get_works(aws: ClientFactory) -> None:
    s3 = aws("s3", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="lab-private")
    key_id = aws("kms").create_key()["KeyMetadata"]["KeyId"]
    s3.put_object(Bucket="lab-private", Key="s.txt", Body=b"kms", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    s3.put_object(Bucket="lab-private", Key="p.txt", Body=b"plain")
    for key, body in (("s.txt", b"kms"), ("p.txt", b"plain")):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "lab-private", "Key": key})
        assert "X-Amz-Signature=" in url
        assert _fetch(url) == (200, body)


def test_virtual_host_style_requests_reach_the_bucket(emu: Emulator, aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-vhost")
    s3.put_object(Bucket="lab-vhost", Key="dir/a.txt", Body=b"v")
    request = urllib.request.Request(f"{emu.endpoint}/dir/a.txt", headers={"Host": "lab-vhost.s3.amazonaws.com"})
    signed = aws("s3", config=Config(s3={"addressing_style": "path"}))
    signed.delete_public_access_block(Bucket="lab-vhost")
    signed.put_bucket_policy(
        Bucket="lab-vhost",
        Policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::lab-vhost/*",
                    }
                ]
            }
        ),
    )
    with urllib.request.urlopen(request) as response:
        assert response.read() == b"v"


def _presigned_at(s3: Any, when: datetime, **options: Any) -> str:
    """A URL presigned (and signed, SigV4 or SigV2) as if the clock read `when`."""
    naive = when.astimezone(UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive), \
            mock.patch("botocore.auth.time.time", return_value=when.timestamp()):
        return str(s3.generate_presigned_url("get_object", **options))


def test_presigned_url_past_X_Amz_Date_plus_X_Amz_Expires_is_403_Request_has_expired(aws: ClientFactory) -> None:
    s3 = aws("s3", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="lab-private")
    s3.put_object(Bucket="lab-private", Key="p.txt", Body=b"plain")
    params = {"Bucket": "lab-private", "Key": "p.txt"}
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    assert _fetch(url) == (200, b"plain")
    signed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    old = _presigned_at(s3, signed, Params=params, ExpiresIn=60)
    status, body = _fetch(old)
    assert status == 403
    error = ET.fromstring(body)
    assert (error.findtext("Code"), error.findtext("Message")) == ("AccessDenied", "Request has expired")
    assert error.findtext("X-Amz-Expires") == "60"
    assert error.findtext("Expires") == (signed + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server_time = datetime.strptime(error.findtext("ServerTime") or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert server_time > signed + timedelta(seconds=60)
    assert _fetch(old, method="HEAD") == (403, b"")


def test_presigned_url_valid_for_more_than_seven_days_is_AuthorizationQueryParametersError(
    aws: ClientFactory,
) -> None:
    s3 = aws("s3", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="lab-private")
    s3.put_object(Bucket="lab-private", Key="p.txt", Body=b"plain")
    week = 7 * 24 * 3600
    assert _fetch(s3.generate_presigned_url("get_object", Params={"Bucket": "lab-private", "Key": "p.txt"},
                                            ExpiresIn=week)) == (200, b"plain")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "lab-private", "Key": "p.txt"}, ExpiresIn=week + 1)
    status, body = _fetch(url)
    assert status == 400
    code, message = _error_code(body)
    assert code == "AuthorizationQueryParametersError"
    assert "X-Amz-Expires must be less than a week" in message


@pytest.mark.parametrize("name", ["Upper-Case", "under_score", "ab", "a" * 64, "-lead", "trail-", "two..dots",
                                  "192.168.5.4", "xn--punycode", "name-s3alias"])
def test_a_bucket_name_outside_the_naming_rules_is_InvalidBucketName(aws: ClientFactory, name: str) -> None:
    s3 = aws("s3")
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=name)
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"], error["BucketName"]) == (
        "InvalidBucketName", "The specified bucket is not valid.", name)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.list_buckets()["Buckets"] == []


@pytest.mark.parametrize(("principal", "message"), [
    (None, "Policies must be valid JSON and the first byte must be '{'"),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/ghost"}, "Invalid principal in policy"),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/never-made"}, "Invalid principal in policy"),
])
def test_a_bucket_policy_that_is_not_json_or_names_no_real_principal_is_MalformedPolicy(
    aws: ClientFactory, principal: dict[str, str] | None, message: str
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-policy")
    statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::lab-policy/*"}
    policy = "{not json" if principal is None else json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket="lab-policy", Policy=policy)
    assert (caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]) == (
        "MalformedPolicy", message)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    aws("iam").create_user(UserName="ghost")  # a principal that exists is taken
    s3.put_bucket_policy(Bucket="lab-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        dict(statement, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/ghost"})]}))


def test_presigned_urls_with_an_altered_signature_are_SignatureDoesNotMatch(aws: ClientFactory) -> None:
    s3 = aws("s3", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="lab-private")
    s3.put_object(Bucket="lab-private", Key="p.txt", Body=b"plain")
    params = {"Bucket": "lab-private", "Key": "p.txt"}
    sigv2 = aws("s3", config=Config(signature_version="s3"))
    for client, name in ((s3, "X-Amz-Signature"), (sigv2, "Signature")):
        url = client.generate_presigned_url("get_object", Params=params)
        assert _fetch(url) == (200, b"plain")
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        query[name] = ("0" if query[name][0] != "0" else "1") + query[name][1:]
        status, body = _fetch(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))))
        assert (status, _error_code(body)[0]) == (403, "SignatureDoesNotMatch"), name
        # Another key on the same signature is no better.
        other = urllib.parse.urlunsplit(parts._replace(path=parts.path.replace("p.txt", "q.txt")))
        assert _fetch(other)[0] == 403


def test_presigned_sigv2_urls_expire(aws: ClientFactory) -> None:
    s3 = aws("s3", config=Config(signature_version="s3"))
    s3.create_bucket(Bucket="lab-private")
    s3.put_object(Bucket="lab-private", Key="p.txt", Body=b"plain")
    params = {"Bucket": "lab-private", "Key": "p.txt"}
    signed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    old = _presigned_at(s3, signed, Params=params, ExpiresIn=3600)
    assert "Expires=" in old and "Signature=" in old
    status, body = _fetch(old)
    error = ET.fromstring(body)
    assert (status, error.findtext("Code"), error.findtext("Message")) == (403, "AccessDenied", "Request has expired")
    assert error.findtext("Expires") == (signed + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _fetch(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60)) == (200, b"plain")
