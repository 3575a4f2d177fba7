"""S3 actions that a single API call does not express: uploading a lab's file, emptying a bucket,
presigning a URL (a boto3 client method, not an API operation), and describing a bucket's objects
(a listing and a HeadObject for each)."""

from __future__ import annotations

import hashlib
import math
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.actions.aws import plain
from runner.actions.bounds import MAX_PAGINATED_ITEMS, exceeded
from runner.actions.declare import ActionContext, action
from runner.actions.failures import ActionFailed, aws_errors
from runner.durations import parse_duration

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
    repeatable=True,  # emptying an empty bucket deletes nothing more
    permissions=("s3:ListBucket", "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion",
                 "s3:DeleteBucket"),
    params={
        "type": "object",
        "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string", "description": "Bucket to empty."},
            "delete_bucket": {"type": "boolean",
                              "description": "Then delete the bucket, emptying it again if S3 answers "
                                             "BucketNotEmpty (a service such as CloudTrail wrote to it meanwhile)."},
        },
    },
)
def empty_bucket(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Delete every object, every version and every delete marker in a bucket.

    The result is `{deleted: N}`. Use it before `aws.s3.delete_bucket`, which refuses a bucket that is
    not empty, or pass `delete_bucket: true` to delete the bucket too, however late a service writes.

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
        deleted += _empty(client, bucket)
        if params.get("delete_bucket"):
            # A trail's last log file can land between the emptying and the delete; a few rounds
            # settle it, and the final refusal is reported if something keeps writing.
            for round_ in range(EMPTY_ROUNDS):
                try:
                    client.delete_bucket(Bucket=bucket)
                    break
                except client.exceptions.ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "BucketNotEmpty" or round_ == EMPTY_ROUNDS - 1:
                        raise
                    deleted += _empty(client, bucket)
    return {"Bucket": bucket, "deleted": deleted, "bucket_deleted": bool(params.get("delete_bucket"))}


EMPTY_ROUNDS = 5


def _empty(client: Any, bucket: str) -> int:
    # Versions and delete markers first (a versioned bucket keeps them after a plain delete),
    # then whatever a listing of current objects still shows (some S3-compatible stores do not
    # list versions of unversioned buckets).
    deleted = 0
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
        deleted += _delete(client, bucket, entries)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        deleted += _delete(client, bucket, [{"Key": o["Key"]} for o in page.get("Contents", [])])
    return deleted


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


#: The most objects `s3.describe_objects` heads in one call: it reads a student's bucket, whose size the
#: grader does not choose.
DESCRIBE_MAX_OBJECTS = 1000


@action(
    "s3.describe_objects",
    read_only=True,
    permissions=("s3:ListBucket", "s3:GetObject"),
    params={
        "type": "object",
        "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string", "description": "Bucket whose objects to describe."},
            "prefix": {"type": "string", "description": "Only keys that start with this."},
            "exclude": {"type": "array", "items": {"type": "string"},
                        "description": "Leave out keys that start with any of these (e.g. AWSLogs/)."},
            "max_objects": {"type": "integer", "minimum": 1, "maximum": DESCRIBE_MAX_OBJECTS,
                            "description": f"Describe at most this many objects; default 100, at most "
                                           f"{DESCRIBE_MAX_OBJECTS}."},
        },
    },
)
def describe_objects(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Describe a bucket's objects: each key with what HeadObject says of it (encryption, its key, size, type).

    Finds an object by what it is rather than by its name: the object a student encrypted with a key,
    whatever they called it. The result is `{Objects: [{Key, Size, LastModified, ETag, ContentType,
    ServerSideEncryption, SSEKMSKeyId, BucketKeyEnabled, VersionId}], count, truncated}`, in key order;
    `truncated` is true when the bucket held more objects than `max_objects`. A listing of more than
    `bounds.MAX_PAGINATED_ITEMS` keys (those `exclude` leaves out count too) fails the step.

    Example::

        action: s3.describe_objects
        params:
          bucket: mycloudtrailbucket12345
          exclude: [AWSLogs/]
        expect:
          - path: "Objects[?ServerSideEncryption=='aws:kms'] | length(@)"
            greater_than: 0
    """
    bucket = params["bucket"]
    limit = int(params.get("max_objects", 100))
    excluded = tuple(params.get("exclude") or ())
    client = ctx.client("s3")
    listing: dict[str, Any] = {"Bucket": bucket}
    if params.get("prefix"):
        listing["Prefix"] = params["prefix"]
    objects: list[dict[str, Any]] = []
    truncated = False
    listed = 0
    with aws_errors():
        for page in client.get_paginator("list_objects_v2").paginate(**listing):
            for item in page.get("Contents", []):
                # Keys left out are listed too: a flood under AWSLogs/ must not make the listing endless.
                listed += 1
                if listed > MAX_PAGINATED_ITEMS:
                    where = f"s3://{bucket}/{params.get('prefix') or ''}"
                    raise exceeded(f"{where} holds more than {MAX_PAGINATED_ITEMS:,} keys: not all read; describe "
                                   "fewer (a prefix)")
                if excluded and item["Key"].startswith(excluded):
                    continue
                if len(objects) == limit:
                    truncated = True
                    break
                head = client.head_object(Bucket=bucket, Key=item["Key"])
                described = {"Key": item["Key"], "Size": item.get("Size")}
                described.update({name: head[name] for name in _DESCRIBED if name in head})
                objects.append(described)
            if truncated:
                break
    return dict(plain({"Objects": objects, "count": len(objects), "truncated": truncated}))


_DESCRIBED = ("LastModified", "ETag", "ContentType", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled",
              "VersionId")


#: boto3's client methods for the HTTP methods a presigned URL may carry.
_PRESIGN_METHODS = {"GET": "get_object", "HEAD": "head_object", "PUT": "put_object"}
#: S3 refuses a SigV4 presigned URL that claims to live longer than seven days.
PRESIGN_MAX_SECONDS = 7 * 24 * 3600


@action(
    "s3.presign",
    # Presigning is local signing: no request reaches AWS, nothing changes. Whoever uses the URL acts
    # with the signer's permissions: s3:GetObject for GET and HEAD, s3:PutObject for PUT.
    read_only=True,
    permissions=("s3:GetObject", "s3:PutObject"),
    params={
        "type": "object",
        "required": ["bucket", "key"],
        "properties": {
            "bucket": {"type": "string", "description": "Bucket of the object."},
            "key": {"type": "string", "description": "Object key."},
            "method": {"enum": list(_PRESIGN_METHODS), "description": "HTTP method the URL allows; default GET."},
            "expires_in": {"$ref": "#/$defs/duration",
                           "description": "How long the URL works (1 second to 7 days); default 1h."},
        },
    },
)
def presign(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Make a presigned URL for an object (SigV4), as `aws s3 presign` and the console's "Share" do.

    The result is `{url, expires_at, method}`; `expires_at` is when S3 starts refusing the URL with
    403 `AccessDenied` "Request has expired". Open it with `http.request` (like pasting it into a
    browser); to watch it expire, poll it with `retry` until it is refused.

    Example::

        action: s3.presign
        params:
          bucket: my-bucket
          key: notes.txt
          expires_in: 5m
        save:
          url: url
    """
    method = params.get("method", "GET")
    try:
        seconds = math.ceil(parse_duration(params.get("expires_in", 3600)))
    except ValueError as exc:
        raise ActionFailed("InvalidParameterValue", f"expires_in: {exc}") from None
    if not 1 <= seconds <= PRESIGN_MAX_SECONDS:
        raise ActionFailed("InvalidParameterValue",
                           f"expires_in must be from 1 second to 7 days ({PRESIGN_MAX_SECONDS} s), not {seconds} s")
    with aws_errors():
        url = ctx.client("s3").generate_presigned_url(
            _PRESIGN_METHODS[method], Params={"Bucket": params["bucket"], "Key": params["key"]}, ExpiresIn=seconds)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    # The URL's own X-Amz-Date is where S3 counts from, so the deadline is computed from it, not from now.
    stamp = query.get("X-Amz-Date")
    signed = (datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if stamp
              else datetime.now(UTC).replace(microsecond=0))
    expires_at = (signed + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    return {"url": url, "expires_at": expires_at, "expires_in": seconds, "method": method}
