"""S3 actions that a single API call does not express: uploading a lab's file, emptying a bucket."""

from __future__ import annotations

from typing import Any

from runner.registry import ActionContext, action

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
    raise NotImplementedError("s3.upload_file runs with the engine")


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
    raise NotImplementedError("s3.empty_bucket runs with the engine")
