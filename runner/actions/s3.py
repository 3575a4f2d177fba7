"""S3 actions that a single API call does not express: uploading a lab's file, emptying a bucket."""

from __future__ import annotations

import hashlib
from typing import Any

from runner.actions.aws import ActionFailed, aws_errors, plain
from runner.registry import ActionContext, action

#: Files up to this size go up in one PutObject (clean errors, one CloudTrail data event, as the
#: console does for small files); larger ones through boto3's multipart transfer manager.
SINGLE_PUT_LIMIT = 64 * 1024 * 1024
#: HeadObject fields the result reports after an upload.
_HEAD_FIELDS = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "ETag", "VersionId",
                "ContentType", "ContentLength", "StorageClass")

# boto3's S3Transfer.ALLOWED_UPLOAD_ARGS: what `upload_file` passes on to PutObject.
UPLOAD_ARGS = (
    "ACL", "CacheControl", "ChecksumAlgorithm", "ContentDisposition", "ContentEncoding", "ContentLanguage",
    "ContentType", "ExpectedBucketOwner", "Expires", "GrantFullControl", "GrantRead", "GrantReadACP",
    "GrantWriteACP", "Metadata", "ObjectLockLegalHoldStatus", "ObjectLockMode", "ObjectLockRetainUntilDate",
    "RequestPayer", "ServerSideEncryption", "StorageClass", "SSECustomerAlgorithm", "SSECustomerKey",
    "SSECustomerKeyMD5", "SSEKMSKeyId", "SSEKMSEncryptionContext", "Tagging", "WebsiteRedirectLocation",
    "BucketKeyEnabled",
)


@action(
    "s3.upload_file",
    read_only=False,
    permissions=("s3:PutObject", "kms:GenerateDataKey"),
    files=("file",),
    params={
        "type": "object",
        "required": ["bucket", "key", "file"],
        "properties": {
            "bucket": {"type": "string", "description": "Bucket to upload into."},
            "key": {"type": "string", "description": "Object key."},
            "file": {"type": "string", "description": "File to upload, relative to the lab file."},
            "extra_args": {
                "type": "object",
                "description": "PutObject arguments, as boto3's upload_file takes them.",
                "properties": {name: {} for name in UPLOAD_ARGS},
            },
        },
    },
)
def upload_file(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Upload a file that ships with the lab, with optional PutObject arguments such as SSE-KMS.

    The result holds the object's `Bucket`, `Key`, `size`, `sha256` and what HeadObject then reports
    (`ServerSideEncryption`, `SSEKMSKeyId`, `ETag`, `VersionId`).

    Example::

        action: s3.upload_file
        params:
          bucket: my-bucket
          key: Eiffel.jpg
          file: Eiffel.jpg
          extra_args:
            ServerSideEncryption: aws:kms
            SSEKMSKeyId: alias/myFirstKey
    """
    path = ctx.lab_path(params["file"])
    if not path.is_file():
        raise ActionFailed("FileNotFound", f"file '{params['file']}' does not exist beside the lab")
    bucket, key = params["bucket"], params["key"]
    extra = dict(params.get("extra_args") or {})
    client = ctx.client("s3")
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
            size += len(chunk)
    with aws_errors():
        if size <= SINGLE_PUT_LIMIT:
            with path.open("rb") as handle:
                client.put_object(Bucket=bucket, Key=key, Body=handle, **extra)
        else:
            client.upload_file(str(path), bucket, key, ExtraArgs=extra)
        head = client.head_object(Bucket=bucket, Key=key)
    result: dict[str, Any] = {"Bucket": bucket, "Key": key, "size": size, "sha256": sha.hexdigest()}
    result.update({name: head[name] for name in _HEAD_FIELDS if name in head})
    return dict(plain(result))


@action(
    "s3.empty_bucket",
    read_only=False,
    permissions=("s3:ListBucket", "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion"),
    params={
        "type": "object",
        "required": ["bucket"],
        "properties": {"bucket": {"type": "string", "description": "Bucket to empty."}},
    },
)
def empty_bucket(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Delete every object, every version and every delete marker in a bucket.

    The result is `{deleted: N}`. Use it before `aws.s3.delete_bucket`, which refuses a bucket that is
    not empty.

    Example::

        action: s3.empty_bucket
        params:
          bucket: my-bucket
        ignore_errors: [NoSuchBucket]
    """
    bucket = params["bucket"]
    client = ctx.client("s3")
    deleted = 0
    with aws_errors():
        # Versions and delete markers first (a versioned bucket keeps them after a plain delete),
        # then whatever a listing of current objects still shows (some S3-compatible stores do not
        # list versions of unversioned buckets).
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
            deleted += _delete(client, bucket, entries)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            deleted += _delete(client, bucket, [{"Key": o["Key"]} for o in page.get("Contents", [])])
    return {"Bucket": bucket, "deleted": deleted}


def _delete(client: Any, bucket: str, entries: list[dict[str, str]]) -> int:
    """Delete objects in batches of 1,000 (DeleteObjects' limit); fail on the first refused one."""
    count = 0
    for start in range(0, len(entries), 1000):
        batch = entries[start:start + 1000]
        response = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise ActionFailed(str(first.get("Code", "DeleteFailed")),
                               f"{len(errors)} object(s) not deleted, first {first.get('Key')}: "
                               f"{first.get('Message', '')}")
        count += len(batch)
    return count
