"""Scripted students of the KMS lab: each takes a route where the instructions leave a choice, may make
one typical mistake, and works through the AWS CLI or boto3, as an assumed role in an account of its own.

A student's calls are written once, as API operations (`Api.call`); `Boto3Api` makes them with boto3 and
`CliApi` with the AWS CLI (`aws <service> <operation> --cli-input-json ...`, run in this process by
`aws_cli.AwsCli`). `Student.do(task)` does one task of `labs/kms-basics.yaml` as its text asks.
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from aws_cli import AwsCli
from grading_helpers import IMAGE, REGION, assume, cloudtrail_statements, key_policy, session_clients

from runner.emulator import Emulator

KMS_POINTS = {"create-key": 15, "create-trail": 20, "upload-encrypted": 15, "open-image": 15, "find-in-logs": 10,
              "key-users": 10, "delete-key": 10, "clean-up": 5}
KMS_TASKS = tuple(KMS_POINTS)
ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}


@dataclass(frozen=True)
class Route:
    """A student's choices where the instructions leave one; every route earns full marks."""

    image: str = "Eiffel.jpg"
    image_body: bytes | None = None  # None: the lab's own Eiffel.jpg
    sse: Literal["key-id", "alias", "arn", "bucket-default"] = "key-id"
    public: Literal["policy", "acl"] = "policy"
    block_again: bool = True  # good practice the instructions do not ask for (advice)
    selectors: Literal["basic", "advanced"] = "basic"
    multi_region: bool = True
    validation: bool = True
    console_bucket_policy: bool = True  # with aws:SourceArn, as the console writes it; else hand-written
    deletion_days: int = 7
    disable_first: bool = True
    delete_alias: bool = False  # the instructions do not ask; AWS deletes it with the key anyway


#: Typical mistakes, each with the task it must cost.
MISTAKES = {
    "no-key-users": "create-key",
    "no-data-events": "create-trail",
    "no-insights": "create-trail",
    "sse-s3-upload": "upload-encrypted",
    "block-public-access-off-only": "open-image",
    "never-added-back": "key-users",
    "disable-instead": "delete-key",
    "bucket-left": "clean-up",
}


class Api(Protocol):
    def call(self, service: str, operation: str, **params: Any) -> Any: ...

    def upload(self, bucket: str, key: str, path: Path, **extra: Any) -> None: ...

    def download(self, bucket: str, key: str) -> bytes: ...


class Boto3Api:
    """The student's calls made with boto3."""

    def __init__(self, emu: Emulator, credentials: dict[str, str]) -> None:
        self.clients = dict(zip(("s3", "kms", "cloudtrail"),
                                session_clients(emu, credentials, "s3", "kms", "cloudtrail"), strict=True))

    def call(self, service: str, operation: str, **params: Any) -> Any:
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
        return getattr(self.clients[service], method)(**params)

    def upload(self, bucket: str, key: str, path: Path, **extra: Any) -> None:
        self.call("s3", "PutObject", Bucket=bucket, Key=key, Body=path.read_bytes(), **extra)

    def download(self, bucket: str, key: str) -> bytes:
        return bytes(self.call("s3", "GetObject", Bucket=bucket, Key=key)["Body"].read())


class CliApi:
    """The student's calls made with the AWS CLI."""

    def __init__(self, emu: Emulator, credentials: dict[str, str], home: Path) -> None:
        self.home = home
        self.cli = AwsCli(emu.environment(), home, access_key_id=credentials["AccessKeyId"],
                          secret_access_key=credentials["SecretAccessKey"],
                          session_token=credentials["SessionToken"], default_region=REGION)

    def call(self, service: str, operation: str, **params: Any) -> Any:
        command = re.sub(r"(?<!^)(?=[A-Z])", "-", operation).lower()
        return self.cli.ok("s3api" if service == "s3" else service, command, "--cli-input-json", json.dumps(params))

    def upload(self, bucket: str, key: str, path: Path, **extra: Any) -> None:
        # The CLI takes the object's body as a file name.
        self.cli.ok("s3api", "put-object", "--body", str(path),
                    "--cli-input-json", json.dumps({"Bucket": bucket, "Key": key, **extra}))

    def download(self, bucket: str, key: str) -> bytes:
        # The CLI writes the object to a file it names last.
        path = self.home / "downloaded"
        self.cli.ok("s3api", "get-object", "--bucket", bucket, "--key", key, str(path))
        return path.read_bytes()


Tool = Literal["boto3", "cli"]


class Student:
    """A student doing the KMS lab in `account`, by `route`, perhaps with one of `MISTAKES`."""

    def __init__(self, emu: Emulator, account: str, home: Path, *, tool: Tool = "cli", route: Route = Route(),
                 mistake: str | None = None) -> None:
        assert mistake is None or mistake in MISTAKES, mistake
        self.emu, self.account, self.home, self.route, self.mistake = emu, account, home, route, mistake
        home.mkdir(parents=True, exist_ok=True)
        credentials = assume(emu, account)
        self.api: Api = (Boto3Api(emu, credentials) if tool == "boto3"
                         else CliApi(emu, credentials, home))
        self.role_arn = f"arn:aws:iam::{account}:role/Student"
        self.bucket = f"mycloudtrailbucket{uuid.uuid4().int % 10**8:08d}"
        self.trail = "myCustomTrail"
        self.key_id = self.key_arn = ""

    def call(self, service: str, operation: str, **params: Any) -> Any:
        return self.api.call(service, operation, **params)

    def do(self, *tasks: str) -> Student:
        for task in tasks:
            getattr(self, task.replace("-", "_"))()
        return self

    # ---- the tasks, as the lab's text asks them

    def create_key(self) -> None:
        users = [] if self.mistake == "no-key-users" else [self.role_arn]
        policy = key_policy(self.account, users=users, admins=[self.role_arn])
        key = self.call("kms", "CreateKey", Description="KMS Key for S3 data", KeyUsage="ENCRYPT_DECRYPT",
                        KeySpec="SYMMETRIC_DEFAULT", Policy=json.dumps(policy))["KeyMetadata"]
        self.key_id, self.key_arn = key["KeyId"], key["Arn"]
        self.call("kms", "CreateAlias", AliasName="alias/myFirstKey", TargetKeyId=self.key_id)

    def create_trail(self) -> None:
        self.call("s3", "CreateBucket", Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        statements = cloudtrail_statements(self.bucket, self.account, self.trail)
        if not self.route.console_bucket_policy:  # as AWS's documentation writes it, without aws:SourceArn
            for statement in statements:
                statement.pop("Condition")
            statements[1]["Condition"] = {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
        self.call("s3", "PutBucketPolicy", Bucket=self.bucket,
                  Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        self.call("cloudtrail", "CreateTrail", Name=self.trail, S3BucketName=self.bucket,
                  IsMultiRegionTrail=self.route.multi_region, EnableLogFileValidation=self.route.validation)
        data = self.mistake != "no-data-events"
        if self.route.selectors == "basic":
            resources = [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{self.bucket}/"]}] if data else []
            self.call("cloudtrail", "PutEventSelectors", TrailName=self.trail, EventSelectors=[
                {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": resources}])
        else:
            selectors = [{"Name": "Management events selector",
                          "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
            if data:
                selectors.append({"Name": "S3 data events", "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]})
            self.call("cloudtrail", "PutEventSelectors", TrailName=self.trail, AdvancedEventSelectors=selectors)
        if self.mistake != "no-insights":
            self.call("cloudtrail", "PutInsightSelectors", TrailName=self.trail, InsightSelectors=[
                {"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}])
        self.call("cloudtrail", "StartLogging", Name=self.trail)

    def upload_encrypted(self) -> None:
        path = self.home / self.route.image.replace("/", "_")
        path.write_bytes(self.route.image_body if self.route.image_body is not None else IMAGE.read_bytes())
        if self.mistake == "sse-s3-upload":
            self.api.upload(self.bucket, self.route.image, path, ServerSideEncryption="AES256")
            return
        if self.route.sse == "bucket-default":
            self.call("s3", "PutBucketEncryption", Bucket=self.bucket, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.key_arn}}]})
            self.api.upload(self.bucket, self.route.image, path)
            return
        key = {"key-id": self.key_id, "alias": "alias/myFirstKey", "arn": self.key_arn}[self.route.sse]
        self.api.upload(self.bucket, self.route.image, path, ServerSideEncryption="aws:kms", SSEKMSKeyId=key)

    def open_image(self) -> None:
        # The console's Open is a signed GetObject (S3 asks KMS to decrypt); the object URL, unsigned, is refused.
        assert self.api.download(self.bucket, self.route.image)
        assert self.anonymous_get() == (403, "AccessDenied")
        if self.mistake == "block-public-access-off-only":
            self.call("s3", "PutPublicAccessBlock", Bucket=self.bucket, PublicAccessBlockConfiguration={
                name: False for name in ALL_BLOCKED})
            assert self.anonymous_get() == (403, "AccessDenied")
            return
        if self.route.public == "policy":
            self.call("s3", "PutPublicAccessBlock", Bucket=self.bucket, PublicAccessBlockConfiguration={
                **ALL_BLOCKED, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
            public = {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                      "Resource": f"arn:aws:s3:::{self.bucket}/{self.route.image}"}
            statements = [*cloudtrail_statements(self.bucket, self.account, self.trail), public]
            self.call("s3", "PutBucketPolicy", Bucket=self.bucket,
                      Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        else:  # "Make public using ACL": ACLs enabled first (Object Ownership), as the console requires
            self.call("s3", "PutBucketOwnershipControls", Bucket=self.bucket,
                      OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
            self.call("s3", "PutPublicAccessBlock", Bucket=self.bucket, PublicAccessBlockConfiguration={
                **ALL_BLOCKED, "BlockPublicAcls": False, "IgnorePublicAcls": False})
            self.call("s3", "PutObjectAcl", Bucket=self.bucket, Key=self.route.image, ACL="public-read")
        # Public: an SSE-KMS object answers that it needs SigV4; one uploaded with SSE-S3 opens.
        assert self.anonymous_get() == ((200, "") if self.mistake == "sse-s3-upload" else (400, "InvalidArgument"))
        if self.route.block_again:
            self.call("s3", "PutPublicAccessBlock", Bucket=self.bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)

    def find_in_logs(self) -> None:
        self.emu.deliver_logs_now()  # AWS takes ~5 minutes; the student waits, then looks
        listed = self.call("s3", "ListObjectsV2", Bucket=self.bucket, Prefix=f"AWSLogs/{self.account}/CloudTrail/")
        assert listed and listed.get("Contents"), "no log file was delivered"
        assert self.api.download(self.bucket, listed["Contents"][-1]["Key"])

    def key_users(self) -> None:
        without = key_policy(self.account, users=[], admins=[self.role_arn])
        self.call("kms", "PutKeyPolicy", KeyId=self.key_id, PolicyName="default", Policy=json.dumps(without))
        if self.mistake != "never-added-back":
            with_user = key_policy(self.account, users=[self.role_arn], admins=[self.role_arn])
            self.call("kms", "PutKeyPolicy", KeyId=self.key_id, PolicyName="default", Policy=json.dumps(with_user))

    def delete_key(self) -> None:
        if self.route.disable_first or self.mistake == "disable-instead":
            self.call("kms", "DisableKey", KeyId=self.key_id)
        if self.mistake != "disable-instead":
            self.call("kms", "ScheduleKeyDeletion", KeyId=self.key_id, PendingWindowInDays=self.route.deletion_days)
        if self.route.delete_alias:
            self.call("kms", "DeleteAlias", AliasName="alias/myFirstKey")

    def clean_up(self) -> None:
        self.call("cloudtrail", "DeleteTrail", Name=self.trail)
        self.emu.deliver_logs_now()  # the last log files land before the bucket goes
        if self.mistake == "bucket-left":
            return
        listed = self.call("s3", "ListObjectVersions", Bucket=self.bucket)
        for version in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
            self.call("s3", "DeleteObject", Bucket=self.bucket, Key=version["Key"], VersionId=version["VersionId"])
        self.call("s3", "DeleteBucket", Bucket=self.bucket)

    # ---- what else a student may do

    def anonymous_get(self) -> tuple[int, str]:
        """What a browser sees at the image's object URL: the status and S3's error code."""
        url = f"{self.emu.endpoint}/{self.bucket}/{self.route.image}"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return reply.status, ""
        except urllib.error.HTTPError as error:
            code = re.search(rb"<Code>([^<]+)</Code>", error.read())
            return error.code, code.group(1).decode() if code else ""

    def forge_log(self, *, key_arn: str | None = None) -> None:
        """Put a made-up CloudTrail log file into the trail's bucket: S3 using the key for the image."""
        now = datetime.now(UTC)
        arn = key_arn or self.key_arn
        image_arn = f"arn:aws:s3:::{self.bucket}/{self.route.image}"
        record = {
            "eventVersion": "1.09", "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "kms.amazonaws.com", "eventName": "GenerateDataKey", "awsRegion": REGION,
            "userIdentity": {"type": "AssumedRole", "arn": self.role_arn, "invokedBy": "s3.amazonaws.com"},
            "sourceIPAddress": "s3.amazonaws.com", "userAgent": "s3.amazonaws.com",
            "requestParameters": {"keyId": arn, "keySpec": "AES_256",
                                  "encryptionContext": {"aws:s3:arn": image_arn}},
            "responseElements": None, "requestID": str(uuid.uuid4()), "eventID": str(uuid.uuid4()),
            "readOnly": True, "resources": [{"accountId": self.account, "type": "AWS::KMS::Key", "ARN": arn}],
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": self.account,
            "eventCategory": "Management",
        }
        key = (f"AWSLogs/{self.account}/CloudTrail/{REGION}/{now:%Y/%m/%d}/"
               f"{self.account}_CloudTrail_{REGION}_{now:%Y%m%dT%H%M}Z_{uuid.uuid4().hex[:16]}.json.gz")
        path = self.home / "forged.json.gz"
        path.write_bytes(gzip.compress(json.dumps({"Records": [record]}).encode()))
        self.api.upload(self.bucket, key, path)
