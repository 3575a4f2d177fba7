"""The real AWS CLI, pointed at the emulator by `environment()` alone, sees the AWS behaviour: once as its own
process, then (faster, in this process) for each behaviour the emulator adds to moto; and the start-up hint
says what works for an AWS CLI too old to read AWS_ENDPOINT_URL."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from unittest import mock

import awscli
import pytest
from aws_cli import AwsCli
from emulator_helpers import cloudtrail_bucket_policy

from runner.emulator import Emulator, hint


class CLI:
    def __init__(self, emu: Emulator, home: Path) -> None:
        # Only the emulator's variables: no profile, config or credentials of the machine leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(emu.environment())
        self.env["AWS_CONFIG_FILE"] = str(home / "config")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "credentials")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", *args, "--output", "json"]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120, check=False)

    def ok(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None


def test_aws_cli_sees_kms_key_states_sse_kms_checks_bucket_defaults_and_lookup_events(
    emu: Emulator, tmp_path: Path
) -> None:
    cli = CLI(emu, tmp_path)
    cli.ok("s3api", "create-bucket", "--bucket", "cli-data")
    block = cli.ok("s3api", "get-public-access-block", "--bucket", "cli-data")
    assert all(block["PublicAccessBlockConfiguration"].values())

    key_id = cli.ok("kms", "create-key")["KeyMetadata"]["KeyId"]
    cli.ok("kms", "disable-key", "--key-id", key_id)
    encrypt = cli.run("kms", "encrypt", "--key-id", key_id, "--plaintext", "aGk=")
    assert encrypt.returncode != 0 and "DisabledException" in encrypt.stderr

    body = tmp_path / "secret.txt"
    body.write_text("secret")
    put = cli.run(
        "s3api",
        "put-object",
        "--bucket",
        "cli-data",
        "--key",
        "s.txt",
        "--body",
        str(body),
        "--server-side-encryption",
        "aws:kms",
        "--ssekms-key-id",
        key_id,
    )
    assert put.returncode != 0 and "KMS.DisabledException" in put.stderr

    events = cli.ok(
        "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=DisableKey"
    )["Events"]
    assert [e["EventName"] for e in events] == ["DisableKey"]
    assert json.loads(events[0]["CloudTrailEvent"])["requestParameters"] == {"keyId": key_id}


def test_the_hints_endpoint_option_works_where_the_variable_is_ignored(emu: Emulator, tmp_path: Path) -> None:
    # An AWS CLI older than 1.29 never reads AWS_ENDPOINT_URL: what the hint tells it to do instead.
    cli = CLI(emu, tmp_path)
    del cli.env["AWS_ENDPOINT_URL"]
    identity = cli.ok("--endpoint-url", emu.endpoint, "sts", "get-caller-identity")
    assert identity["Account"] == "123456789012"
    assert f"aws --endpoint-url {emu.endpoint} s3 ls" in "\n".join(hint.lines(emu.endpoint, emu.environment()))


def test_the_dev_dependency_awscli_reads_aws_endpoint_url() -> None:
    # The test above this one relies on it: awscli>=1.35 in pyproject.toml, and the hint's threshold.
    assert not hint.ignores_endpoint_url(f"aws-cli/{awscli.__version__}")


@pytest.mark.parametrize(("cli", "alias_is_a_command"), [
    ("aws-cli/1.22.34", True),  # Ubuntu 22.04's apt package
    ("aws-cli/1.28.0", True),
    ("aws-cli/1.29.0", False),
    ("aws-cli/2.12.7", True),
    ("aws-cli/2.13.0", False),
    (None, False),  # no aws on the PATH
])
def test_the_hint_says_what_works_for_the_aws_on_the_path(cli: str | None, alias_is_a_command: bool) -> None:
    lines = hint.lines("http://127.0.0.1:4566", {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, cli)
    assert lines[:2] == ["# Point the AWS CLI or an SDK here:", "export AWS_ENDPOINT_URL=http://127.0.0.1:4566"]
    assert "# AWS_ENDPOINT_URL is read by AWS CLI v2 2.13+, AWS CLI v1 1.29+ and boto3 1.28+ (botocore 1.31+)." \
        in lines
    alias = "alias aws='aws --endpoint-url http://127.0.0.1:4566'"
    assert (alias in lines) is alias_is_a_command
    assert any(alias in line for line in lines)


# --- the AWS behaviours of issue 16, through the AWS CLI (run in this process: `aws_cli.py`) ----------


def _cli(emu: Emulator, home: Path, **credentials: str) -> AwsCli:
    return AwsCli(emu.environment(), home, **credentials)


def _file(home: Path, name: str, document: Any) -> str:
    path = home / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return f"file://{path}"


def test_aws_cli_sees_IAM_enforced(emu: Emulator, tmp_path: Path) -> None:
    cli = _cli(emu, tmp_path)
    account = cli.ok("sts", "get-caller-identity")["Account"]
    missing = f"arn:aws:iam::{account}:role/nobody"
    assert cli.fails("sts", "assume-role", "--role-arn", missing, "--role-session-name", "s1") == "AccessDenied"
    assert cli.fails("iam", "create-role", "--role-name", "bad", "--assume-role-policy-document",
                     "{not json") == "MalformedPolicyDocument"
    no_principal = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    assert cli.fails("iam", "create-role", "--role-name", "bad", "--assume-role-policy-document",
                     _file(tmp_path, "no-principal.json", no_principal)) == "MalformedPolicyDocument"

    cli.ok("iam", "create-user", "--user-name", "bob")
    key = cli.ok("iam", "create-access-key", "--user-name", "bob")["AccessKey"]
    bob = _cli(emu, tmp_path, access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"])
    assert bob.fails("s3api", "list-buckets") == "AccessDenied"
    assert bob.fails("kms", "create-key") == "AccessDeniedException"
    trust_other = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:AssumeRole"}]}
    role = cli.ok("iam", "create-role", "--role-name", "elsewhere", "--assume-role-policy-document",
                  _file(tmp_path, "trust.json", trust_other))["Role"]["Arn"]
    assert cli.fails("sts", "assume-role", "--role-arn", role, "--role-session-name", "s1") == "AccessDenied"
    cli.ok("iam", "attach-user-policy", "--user-name", "bob", "--policy-arn",
           "arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert bob.ok("s3api", "list-buckets")["Buckets"] == []
    assert bob.fails("s3api", "create-bucket", "--bucket", "lab-bob") == "AccessDenied"
    cli.ok("iam", "delete-access-key", "--user-name", "bob", "--access-key-id", key["AccessKeyId"])
    assert bob.fails("sts", "get-caller-identity") == "InvalidClientTokenId"


def test_aws_cli_sees_resource_policies_grant_and_their_deny_win(emu: Emulator, tmp_path: Path) -> None:
    cli = _cli(emu, tmp_path)
    account = cli.ok("sts", "get-caller-identity")["Account"]
    users = {}
    for name, policy in (("reader", None), ("admin", "arn:aws:iam::aws:policy/AdministratorAccess")):
        cli.ok("iam", "create-user", "--user-name", name)
        if policy:
            cli.ok("iam", "attach-user-policy", "--user-name", name, "--policy-arn", policy)
        key = cli.ok("iam", "create-access-key", "--user-name", name)["AccessKey"]
        users[name] = _cli(emu, tmp_path, access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"])
    reader, admin = users["reader"], users["admin"]
    body = tmp_path / "o.txt"
    body.write_text("v")
    cli.ok("s3api", "create-bucket", "--bucket", "lab-shared")
    cli.ok("s3api", "put-object", "--bucket", "lab-shared", "--key", "o.txt", "--body", str(body))
    get = ("s3api", "get-object", "--bucket", "lab-shared", "--key", "o.txt", str(tmp_path / "out.txt"))
    assert reader.fails(*get) == "AccessDenied"  # no identity policy, no bucket policy
    grant = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/reader"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab-shared/*"}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab-shared/o.txt"}
    cli.ok("s3api", "put-bucket-policy", "--bucket", "lab-shared", "--policy",
           _file(tmp_path, "grant.json", {"Version": "2012-10-17", "Statement": [grant]}))
    reader.ok(*get)  # the bucket policy alone grants a principal of the account
    admin.ok(*get)
    cli.ok("s3api", "put-bucket-policy", "--bucket", "lab-shared", "--policy",
           _file(tmp_path, "deny.json", {"Version": "2012-10-17", "Statement": [grant, deny]}))
    assert reader.fails(*get) == admin.fails(*get) == "AccessDenied"  # an explicit deny wins over any allow

    # A key policy that does not name the account does not delegate to IAM: AdministratorAccess is not enough.
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/reader"},
         "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"}]}
    key_id = admin.ok("kms", "create-key", "--bypass-policy-lockout-safety-check", "--policy",
                      _file(tmp_path, "key.json", key_policy))["KeyMetadata"]["KeyId"]
    reader.ok("kms", "encrypt", "--key-id", key_id, "--plaintext", "aGk=")
    assert admin.fails("kms", "encrypt", "--key-id", key_id, "--plaintext", "aGk=") == "AccessDeniedException"

    topic = cli.ok("sns", "create-topic", "--name", "lab-news")["TopicArn"]
    assert reader.fails("sns", "publish", "--topic-arn", topic, "--message", "m") == "AuthorizationError"
    topic_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/reader"}, "Action": "sns:Publish",
         "Resource": topic}]}
    cli.ok("sns", "set-topic-attributes", "--topic-arn", topic, "--attribute-name", "Policy", "--attribute-value",
           json.dumps(topic_policy))
    reader.ok("sns", "publish", "--topic-arn", topic, "--message", "m")


def test_aws_cli_presigned_urls_are_checked_and_expire(emu: Emulator, tmp_path: Path) -> None:
    cli = _cli(emu, tmp_path)
    cli.ok("s3api", "create-bucket", "--bucket", "lab-presign")
    body = tmp_path / "p.txt"
    body.write_text("plain")
    cli.ok("s3api", "put-object", "--bucket", "lab-presign", "--key", "p.txt", "--body", str(body))
    url = cli.run("s3", "presign", "s3://lab-presign/p.txt").stdout.strip()
    assert "Signature=" in url
    assert _get(url) == (200, b"plain")
    assert _get(url.replace("Signature=", "Signature=0"))[0] == 403
    with mock.patch("botocore.auth.time.time", return_value=time.time() - 7200):
        old = cli.run("s3", "presign", "s3://lab-presign/p.txt", "--expires-in", "60").stdout.strip()
    status, answer = _get(old)
    assert status == 403 and b"Request has expired" in answer


def test_aws_cli_sees_the_kms_behaviours(emu: Emulator, tmp_path: Path) -> None:
    cli = _cli(emu, tmp_path)
    first = cli.ok("kms", "create-key")["KeyMetadata"]
    second = cli.ok("kms", "create-key")["KeyMetadata"]
    assert cli.fails("kms", "create-alias", "--alias-name", "myKey", "--target-key-id", first["KeyId"]) == (
        "ValidationException")
    assert cli.fails("kms", "create-alias", "--alias-name", "alias/aws/myKey", "--target-key-id",
                     first["KeyId"]) == "NotAuthorizedException"
    ghost = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{first['AWSAccountId']}:user/ghost"},
                            "Action": "kms:*", "Resource": "*"}]}
    assert cli.fails("kms", "create-key", "--policy", _file(tmp_path, "ghost.json", ghost)) == (
        "MalformedPolicyDocumentException")
    assert cli.ok("kms", "describe-key", "--key-id", "alias/aws/s3")["KeyMetadata"]["KeyManager"] == "AWS"
    cli.ok("kms", "enable-key-rotation", "--key-id", first["KeyId"], "--rotation-period-in-days", "180")
    status = cli.ok("kms", "get-key-rotation-status", "--key-id", first["KeyId"])
    assert (status["KeyId"], status["RotationPeriodInDays"]) == (first["Arn"], 180) and "NextRotationDate" in status
    plaintext = tmp_path / "secret.bin"
    plaintext.write_bytes(b"secret")
    blob = cli.ok("kms", "encrypt", "--key-id", first["KeyId"], "--plaintext", f"fileb://{plaintext}")
    blob_file = tmp_path / "blob.bin"
    blob_file.write_bytes(base64.b64decode(blob["CiphertextBlob"]))
    done = cli.run("kms", "decrypt", "--key-id", second["KeyId"], "--ciphertext-blob", f"fileb://{blob_file}")
    assert done.error_code() == "IncorrectKeyException"
    assert "does not identify a CMK that can perform this operation" in done.stderr


def test_aws_cli_sees_the_s3_and_cloudtrail_behaviours(emu: Emulator, tmp_path: Path) -> None:
    cli = _cli(emu, tmp_path)
    assert cli.fails("s3api", "create-bucket", "--bucket", "Upper-Case") == "InvalidBucketName"
    assert cli.fails("s3api", "create-bucket", "--bucket", "under_score") == "InvalidBucketName"
    cli.ok("s3api", "create-bucket", "--bucket", "lab-policy")
    ghost = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::"
             "123456789012:user/ghost"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab-policy/*"}]}
    assert cli.fails("s3api", "put-bucket-policy", "--bucket", "lab-policy", "--policy",
                     _file(tmp_path, "ghost.json", ghost)) == "MalformedPolicy"
    account = cli.ok("sts", "get-caller-identity")["Account"]
    for trail, bucket in (("lab-trail", "lab-trail-logs"), ("other-trail", "other-trail-logs")):
        cli.ok("s3api", "create-bucket", "--bucket", bucket)
        cli.ok("s3api", "put-bucket-policy", "--bucket", bucket, "--policy",
               _file(tmp_path, f"{bucket}.json", cloudtrail_bucket_policy(bucket, account=account)))
        cli.ok("cloudtrail", "create-trail", "--name", trail, "--s3-bucket-name", bucket)
    assert cli.fails("cloudtrail", "create-trail", "--name", "my--trail", "--s3-bucket-name", "lab-trail-logs") == (
        "InvalidTrailNameException")
    selectors = cli.ok("cloudtrail", "get-event-selectors", "--trail-name", "lab-trail")["EventSelectors"]
    assert selectors == [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                          "ExcludeManagementEventSources": []}]
    named = cli.ok("cloudtrail", "describe-trails", "--trail-name-list", "lab-trail")["trailList"]
    assert [t["Name"] for t in named] == ["lab-trail"]
    cli.ok("cloudtrail", "start-logging", "--name", "lab-trail")
    assert cli.ok("cloudtrail", "get-trail-status", "--name", "lab-trail")["LatestDeliveryAttemptSucceeded"] == ""
    emu.deliver_logs_now()
    assert cli.ok("cloudtrail", "get-trail-status", "--name", "lab-trail")["LatestDeliveryAttemptSucceeded"]
    found = cli.ok("cloudtrail", "lookup-events", "--lookup-attributes",
                   "AttributeKey=ResourceName,AttributeValue=lab-trail-logs")["Events"]
    assert "CreateBucket" in [e["EventName"] for e in found]
    cli.ok("dynamodb", "create-table", "--table-name", "lab-table", "--key-schema", "AttributeName=id,KeyType=HASH",
           "--attribute-definitions", "AttributeName=id,AttributeType=S", "--billing-mode", "PAY_PER_REQUEST")
    cli.ok("dynamodb", "put-item", "--table-name", "lab-table", "--item", '{"id": {"S": "1"}}')
    body = tmp_path / "data.txt"
    body.write_text("data")
    cli.ok("s3api", "put-object", "--bucket", "other-trail-logs", "--key", "data.txt", "--body", str(body))
    cli.ok("s3api", "get-object", "--bucket", "other-trail-logs", "--key", "data.txt", str(tmp_path / "back.txt"))
    names = [e["EventName"] for e in cli.ok("cloudtrail", "lookup-events")["Events"]]
    assert "CreateTable" in names and not {"PutItem", "PutObject", "GetObject"} & set(names)  # data events


def test_aws_cli_sns_delivers_to_sqs_only_as_the_queue_policy_allows(emu: Emulator, tmp_path: Path) -> None:
    cli = _cli(emu, tmp_path)
    # AWS CLI v1 sends SQS calls to AWS's own endpoint whatever AWS_ENDPOINT_URL says: name it.
    sqs = ("sqs", "--endpoint-url", emu.endpoint)
    topic = cli.ok("sns", "create-topic", "--name", "lab-topic")["TopicArn"]
    url = cli.ok(*sqs, "create-queue", "--queue-name", "lab-queue")["QueueUrl"]
    queue_arn = cli.ok(*sqs, "get-queue-attributes", "--queue-url", url, "--attribute-names",
                       "QueueArn")["Attributes"]["QueueArn"]
    cli.ok("sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs", "--notification-endpoint", queue_arn)
    cli.ok("sns", "publish", "--topic-arn", topic, "--message", "dropped")
    assert (cli.ok(*sqs, "receive-message", "--queue-url", url) or {}).get("Messages") is None
    policy = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                             "Action": "sqs:SendMessage", "Resource": queue_arn,
                             "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
    cli.ok(*sqs, "set-queue-attributes", "--queue-url", url, "--attributes", json.dumps({"Policy": json.dumps(policy)}))
    cli.ok("sns", "publish", "--topic-arn", topic, "--message", "delivered")
    messages = cli.ok(*sqs, "receive-message", "--queue-url", url)["Messages"]
    assert [json.loads(m["Body"])["Message"] for m in messages] == ["delivered"]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
