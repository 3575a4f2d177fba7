"""Helpers for the emulator tests: boto3 clients on the emulator, trails, delivered log files."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

from runner.emulator import DEFAULT_ACCOUNT

ACCOUNT = DEFAULT_ACCOUNT
REGION = "us-east-1"

Client = Any
ClientFactory = Callable[..., Client]


def cloudtrail_bucket_policy(bucket: str, prefix: str = "", account: str = ACCOUNT) -> str:
    """The bucket policy the CloudTrail console writes for a trail's bucket."""
    folder = f"{prefix}/" if prefix else ""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{folder}AWSLogs/{account}/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                },
            ],
        }
    )


def make_trail(aws: ClientFactory, name: str = "lab-trail", bucket: str = "lab-trail-logs", **options: Any) -> str:
    """A logging trail delivering into a fresh bucket with the right policy; returns the bucket."""
    region = options.pop("region", REGION)
    s3 = aws("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_policy(Bucket=bucket, Policy=cloudtrail_bucket_policy(bucket, options.get("S3KeyPrefix", "")))
    cloudtrail = aws("cloudtrail", region_name=region)
    cloudtrail.create_trail(Name=name, S3BucketName=bucket, **options)
    cloudtrail.start_logging(Name=name)
    return bucket


def delivered(aws: ClientFactory, bucket: str) -> dict[str, list[dict[str, Any]]]:
    """Every CloudTrail log file in `bucket` (digests skipped, as a reader must): key -> records."""
    s3 = aws("s3")
    files: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if "/CloudTrail-Digest/" in item["Key"]:
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            files[item["Key"]] = json.loads(gzip.decompress(body))["Records"]
    return files


def records(aws: ClientFactory, bucket: str) -> list[dict[str, Any]]:
    return [r for rs in delivered(aws, bucket).values() for r in rs]


def allow(*actions: str, resource: str = "*") -> dict[str, Any]:
    """An identity-based policy allowing `actions` on `resource`."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]}


def credentials_of(key: dict[str, Any]) -> dict[str, str]:
    """boto3 client arguments for an access key (CreateAccessKey) or session (AssumeRole's Credentials)."""
    found = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    if key.get("SessionToken"):
        found["aws_session_token"] = key["SessionToken"]
    return found


def make_user(aws: ClientFactory, name: str, policy: dict[str, Any] | None = None) -> tuple[str, ClientFactory]:
    """An IAM user with an access key (and an inline policy); its ARN and a client factory signing as it."""
    iam = aws("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    credentials = credentials_of(iam.create_access_key(UserName=name)["AccessKey"])
    return arn, lambda service, **kw: aws(service, **credentials, **kw)


def trust(*principals: str) -> str:
    """A trust policy letting `principals` (ARNs or account ids) assume the role."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}]})


def make_role(aws: ClientFactory, name: str, policy: dict[str, Any] | None = None,
              trusted: tuple[str, ...] = (ACCOUNT,)) -> str:
    """A role trusting `trusted` (the account, by default), with an inline policy; its ARN."""
    iam = aws("iam")
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(*trusted))["Role"]["Arn"])
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    return arn


def session(aws: ClientFactory, role_arn: str, name: str = "session", **caller: Any) -> ClientFactory:
    """A client factory signing as a session of `role_arn`, assumed by the caller `caller` names (default: root)."""
    reply = aws("sts", **caller).assume_role(RoleArn=role_arn, RoleSessionName=name)
    credentials = credentials_of(reply["Credentials"])
    return lambda service, **kw: aws(service, **credentials, **kw)
