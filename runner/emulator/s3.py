"""S3 as AWS behaves where moto does not: new-bucket defaults, Block Public Access, anonymous access,
presigned URLs that expire, and SSE-KMS (key checks, key ARNs, SigV4 only, and the KMS calls S3 makes,
which CloudTrail records).

The KMS side of SSE-KMS (finding a key, its state, its policy) is `kms.py`'s; this module decides
when S3 would call KMS and what S3 answers when KMS refuses.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from . import events, kms
from .model import Behaviour, Call, Context, Reply, error_reply, rule
from .policy import ANONYMOUS, Decision, Request, evaluate

OBJECT_OPERATIONS = frozenset(
    {
        "GetObject",
        "HeadObject",
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "DeleteObjects",
        "GetObjectAttributes",
        "GetObjectAcl",
        "PutObjectAcl",
        "GetObjectTagging",
        "PutObjectTagging",
        "DeleteObjectTagging",
        "GetObjectRetention",
        "PutObjectRetention",
        "GetObjectLegalHold",
        "PutObjectLegalHold",
        "RestoreObject",
        "SelectObjectContent",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
    }
)
# The IAM action an anonymous request needs, where it is not "s3:<operation>".
_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "DeleteObjects": "s3:DeleteObject",
    "ListParts": "s3:ListMultipartUploadParts",
}
SIGV4_REQUIRED = "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4."
_ACLS_ALLOWED_WHEN_ENFORCED = ("bucket-owner-full-control", "private")


def find_bucket(name: str | None) -> Any | None:
    from moto.s3.models import s3_backends

    if not name or name not in s3_backends.bucket_accounts:
        return None
    partition, account = s3_backends.bucket_accounts[name]
    return s3_backends[account][partition].buckets.get(name)


def find_object(call: Call, bucket_name: str | None = None, key_name: str | None = None) -> Any | None:
    from moto.s3.models import s3_backends

    bucket = find_bucket(bucket_name or call.params.get("bucketName"))
    if bucket is None:
        return None
    try:
        return s3_backends[bucket.account_id][bucket.partition].get_object(
            bucket.name, str(key_name or call.params.get("key")), version_id=call.query.get("versionId")
        )
    except Exception:  # a missing object is moto's to report
        return None


def _block(bucket: Any) -> dict[str, bool]:
    """The Block Public Access settings in force: the bucket's, OR'd with its account's."""
    from moto.s3control.models import s3control_backends

    flags = {"block_public_acls": False, "ignore_public_acls": False, "block_public_policy": False}
    flags["restrict_public_buckets"] = False
    sources = [bucket.public_access_block]
    if bucket.account_id in s3control_backends:
        sources += [b.public_access_block for b in list(s3control_backends[bucket.account_id].values())]
    for source in sources:
        if source is None:
            continue
        for name in flags:
            flags[name] = flags[name] or bool(getattr(source, name, False))
    return flags


def _access_denied(call: Call) -> Reply:
    return error_reply(call, "AccessDenied", "Access Denied", 403)


def _object_arn(call: Call) -> str:
    return f"arn:aws:s3:::{call.params.get('bucketName')}/{call.params.get('key')}"


# --- refine --------------------------------------------------------------------------------------


def _locate(call: Call) -> Call:
    # CloudTrail files an S3 call under the bucket's region and, for anonymous calls, its owner.
    bucket = find_bucket(call.params.get("bucketName"))
    if bucket is None:
        return call
    account = call.account_id if call.signed else str(bucket.account_id)
    return dataclasses.replace(call, region=str(bucket.region_name), account_id=account)


# --- new buckets ---------------------------------------------------------------------------------


def _bucket_defaults(call: Call, reply: Reply, _: Context) -> None:
    from moto.s3.models import PublicAccessBlock

    bucket = find_bucket(call.params.get("bucketName"))
    if bucket is None:
        return None
    if bucket.public_access_block is None:
        bucket.public_access_block = PublicAccessBlock("true", "true", "true", "true")
    if bucket.ownership_rule is None:
        bucket.ownership_rule = "BucketOwnerEnforced"
    if bucket.encryption is None:
        bucket.encryption = {
            "Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": "false"}
        }
    return None


# --- presigned URLs ------------------------------------------------------------------------------

#: The longest a SigV4 presigned URL may live: seven days.
PRESIGN_MAX_EXPIRES = 604800


def _query_auth_error(call: Call, message: str) -> Reply:
    return error_reply(call, "AuthorizationQueryParametersError", message)


def _presigned_expiry(call: Call, _: Context) -> Reply | None:
    if call.auth != "presigned-v4":
        return None
    stamp, expires = call.query.get("X-Amz-Date"), call.query.get("X-Amz-Expires")
    if stamp is None or expires is None:
        return _query_auth_error(
            call,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )
    try:
        signed = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return _query_auth_error(call, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if not expires.isdigit():
        return _query_auth_error(call, "X-Amz-Expires should be a number")
    if int(expires) > PRESIGN_MAX_EXPIRES:
        return _query_auth_error(
            call,
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be "
            f"less than {PRESIGN_MAX_EXPIRES} seconds",
        )
    deadline = signed + timedelta(seconds=int(expires))
    if call.time <= deadline:
        return None
    iso = "%Y-%m-%dT%H:%M:%SZ"
    extra = {"X-Amz-Expires": expires, "Expires": deadline.strftime(iso), "ServerTime": call.time.strftime(iso)}
    return error_reply(call, "AccessDenied", "Request has expired", 403, **extra)


# --- Block Public Access, ACLs, anonymous access ---------------------------------------------------


def _public_policy_blocked(call: Call, _: Context) -> Reply | None:
    from moto.s3.utils import bucket_policy_is_public

    bucket = find_bucket(call.params.get("bucketName"))
    if bucket is None or not _block(bucket)["block_public_policy"] or not bucket_policy_is_public(call.body):
        return None
    message = (
        f"User: {call.identity.arn} is not authorized to perform: s3:PutBucketPolicy on resource: "
        f'"arn:aws:s3:::{bucket.name}" because public policies are blocked by the '
        "BlockPublicPolicy block public access setting."
    )
    return error_reply(call, "AccessDenied", message, 403)


def _acls_disabled(call: Call, _: Context) -> Reply | None:
    bucket = find_bucket(call.params.get("bucketName"))
    if bucket is None or bucket.ownership_rule != "BucketOwnerEnforced":
        return None
    acl = call.header("x-amz-acl")
    grants = [h for h in call.headers if h.startswith("x-amz-grant-")]
    object_write = call.operation in ("PutObject", "CopyObject", "CreateMultipartUpload")
    if object_write and not grants and (acl is None or acl in _ACLS_ALLOWED_WHEN_ENFORCED):
        return None
    if call.operation in ("PutBucketAcl", "PutObjectAcl") and acl in _ACLS_ALLOWED_WHEN_ENFORCED:
        return None
    return error_reply(call, "AccessControlListNotSupported", "The bucket does not allow ACLs")


def _anonymous_access(call: Call, _: Context) -> Reply | None:
    if call.signed:
        return None
    bucket = find_bucket(call.params.get("bucketName"))
    if bucket is None:
        refused = "bucketName" not in call.params or call.operation == "CreateBucket"
        return _access_denied(call) if refused else None
    key = call.params.get("key")
    resource = f"arn:aws:s3:::{bucket.name}" + (f"/{key}" if key else "")
    action = _ACTIONS.get(call.operation, f"s3:{call.operation}")
    block = _block(bucket)
    decision = evaluate(bucket.policy, ANONYMOUS, Request(action, resource))
    if decision is Decision.EXPLICIT_DENY:
        return _access_denied(call)
    # RestrictPublicBuckets: a public policy lets in only AWS services and the owner's account.
    by_policy = decision is Decision.ALLOW and not block["restrict_public_buckets"]
    by_acl = False
    if bucket.ownership_rule != "BucketOwnerEnforced" and not block["ignore_public_acls"]:
        target = find_object(call) if key else bucket
        by_acl = action in ("s3:GetObject", "s3:ListBucket") and bool(target and target.acl and target.acl.public_read)
    return None if by_policy or by_acl else _access_denied(call)


# --- SSE-KMS -------------------------------------------------------------------------------------


def _default_encryption(bucket: Any) -> dict[str, Any]:
    rules = (bucket.encryption or {}).get("Rule") or {}
    first = rules[0] if isinstance(rules, list) else rules
    return dict(first.get("ApplyServerSideEncryptionByDefault") or {})


def _kms_refusal(call: Call, key: Any, operation: str, object_arn: str) -> Reply | None:
    """What S3 answers when KMS would refuse `operation` for this object, if it would."""
    error = kms.state_error(key, operation)
    if error is not None:
        return error_reply(call, f"KMS.{error[0]}", error[1])
    context = {
        "kms:ViaService": f"s3.{call.region}.amazonaws.com",
        **kms.encryption_context_keys({"aws:s3:arn": object_arn}),
    }
    denial = kms.authorize(call.identity, key, operation, context)
    return None if denial is None else error_reply(call, "AccessDenied", denial, 403)


def _kms_record(
    call: Call, key: Any, operation: str, parameters: dict[str, Any], reply: Reply | None
) -> dict[str, Any]:
    error = reply.error() if reply is not None else None
    return events.service_call(
        call,
        service="kms",
        operation=operation,
        invoked_by="s3.amazonaws.com",
        region=str(key.region),
        account_id=str(key.account_id),
        request_parameters=parameters,
        resources=[{"accountId": str(key.account_id), "type": "AWS::KMS::Key", "ARN": str(key.arn)}],
        read_only=True,
        error=error,
    )


def _sse_kms_write(call: Call, context: Context) -> Reply | Call | None:
    bucket = find_bucket(call.params.get("bucketName"))
    if bucket is None:
        return None
    algorithm = call.header("x-amz-server-side-encryption")
    ref = call.header("x-amz-server-side-encryption-aws-kms-key-id")
    if algorithm is None:
        default = _default_encryption(bucket)
        algorithm, ref = default.get("SSEAlgorithm"), ref or default.get("KMSMasterKeyID")
    if algorithm not in ("aws:kms", "aws:kms:dsse"):
        return None
    if call.auth in ("sigv2", "presigned-v2"):
        return error_reply(call, "InvalidArgument", SIGV4_REQUIRED, ArgumentName="Authorization")
    ref = ref or "alias/aws/s3"  # no key named: S3 uses the AWS managed key
    key = kms.find_key(ref, call.account_id, str(bucket.region_name))
    if key is None:
        message = f"Key '{ref}' does not exist" if ref.startswith("arn:") else f"Invalid keyId {ref}"
        return error_reply(call, "KMS.NotFoundException", message)
    object_arn = _object_arn(call)
    parameters = {"keyId": ref, "encryptionContext": {"aws:s3:arn": object_arn}, "keySpec": "AES_256"}
    refusal = _kms_refusal(call, key, "GenerateDataKey", object_arn)
    if refusal is not None:
        context.emit(_kms_record(call, key, "GenerateDataKey", parameters, refusal))
        return refusal
    context.notes.setdefault("kms", []).append(_kms_record(call, key, "GenerateDataKey", parameters, None))
    # S3 stores (and reports) the key's ARN, whatever form of key id it was given.
    return call.with_headers(
        x_amz_server_side_encryption=algorithm, x_amz_server_side_encryption_aws_kms_key_id=str(key.arn)
    )


def _sse_kms_read(call: Call, context: Context) -> Reply | None:
    if call.operation == "CopyObject":
        source = unquote(call.header("x-amz-copy-source") or "").lstrip("/").split("?", 1)[0]
        bucket_name, _, key_name = source.partition("/")
        stored = find_object(call, bucket_name, key_name)
        object_arn = f"arn:aws:s3:::{bucket_name}/{key_name}"
    else:
        stored = find_object(call)
        object_arn = _object_arn(call)
    if stored is None or stored.encryption not in ("aws:kms", "aws:kms:dsse"):
        return None
    if call.auth in ("anonymous", "sigv2", "presigned-v2"):
        return error_reply(call, "InvalidArgument", SIGV4_REQUIRED, ArgumentName="Authorization")
    bucket = find_bucket(call.params.get("bucketName"))
    region = str(bucket.region_name) if bucket is not None else call.region
    key = kms.find_key(str(stored.kms_key_id or "alias/aws/s3"), call.account_id, region)
    if key is None:
        return error_reply(call, "KMS.NotFoundException", f"Key '{stored.kms_key_id}' does not exist")
    parameters = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": object_arn}}
    refusal = _kms_refusal(call, key, "Decrypt", object_arn)
    if refusal is not None:
        context.emit(_kms_record(call, key, "Decrypt", parameters, refusal))
        return refusal
    context.notes.setdefault("kms", []).insert(0, _kms_record(call, key, "Decrypt", parameters, None))
    return None


def _kms_calls_made(call: Call, reply: Reply, context: Context) -> None:
    for record in context.notes.pop("kms", []):
        context.emit(record)


def _key_arn_reported(call: Call, reply: Reply, _: Context) -> Reply | None:
    header = "x-amz-server-side-encryption-aws-kms-key-id"
    ref = reply.header(header)
    if not ref or ref.startswith("arn:"):
        return None
    bucket = find_bucket(call.params.get("bucketName"))
    key = kms.find_key(ref, call.account_id, str(bucket.region_name) if bucket is not None else call.region)
    return None if key is None else reply.with_header(header, str(key.arn))


def _resources(call: Call, reply: Reply) -> list[dict[str, str]]:
    bucket_name = call.params.get("bucketName")
    if not bucket_name:
        return []
    bucket = find_bucket(bucket_name)
    owner = {"accountId": str(bucket.account_id)} if bucket is not None else {}
    bucket_resource = {"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket_name}", **owner}
    if call.operation in OBJECT_OPERATIONS and call.params.get("key"):
        return [{"type": "AWS::S3::Object", "ARN": _object_arn(call)}, bucket_resource]
    return [bucket_resource]


BEHAVIOUR = Behaviour(
    service="s3",
    rules=(
        rule(
            "a SigV4 presigned URL is refused once X-Amz-Date + X-Amz-Expires has passed (403 AccessDenied "
            "'Request has expired'), and X-Amz-Expires may not exceed 7 days (AuthorizationQueryParametersError)",
            before=_presigned_expiry,
        ),
        rule(
            "an unsigned request gets only what a bucket policy or ACL grants to everyone, within Block "
            "Public Access; otherwise 403 with an AccessDenied error body",
            before=_anonymous_access,
        ),
        rule(
            "BlockPublicPolicy refuses a bucket policy that would make the bucket public: 403 AccessDenied",
            "PutBucketPolicy",
            before=_public_policy_blocked,
        ),
        rule(
            "with Object Ownership BucketOwnerEnforced, ACLs are disabled: AccessControlListNotSupported",
            "PutObject",
            "CopyObject",
            "CreateMultipartUpload",
            "PutBucketAcl",
            "PutObjectAcl",
            before=_acls_disabled,
        ),
        rule(
            "reading an SSE-KMS object needs SigV4 (InvalidArgument) and a usable key (KMS.DisabledException, "
            "KMS.KMSInvalidStateException, AccessDenied); S3 calls kms:Decrypt for it",
            "GetObject",
            "CopyObject",
            before=_sse_kms_read,
            after=_kms_calls_made,
        ),
        rule(
            "writing an SSE-KMS object needs an existing, usable key (KMS.NotFoundException, "
            "KMS.DisabledException, ...); S3 records the key's ARN and calls kms:GenerateDataKey",
            "PutObject",
            "CopyObject",
            "CreateMultipartUpload",
            before=_sse_kms_write,
            after=_kms_calls_made,
        ),
        rule(
            "S3 reports an SSE-KMS object's key as its ARN",
            "HeadObject",
            "GetObject",
            after=_key_arn_reported,
        ),
        rule(
            "a new bucket has Block Public Access on, ACLs disabled (BucketOwnerEnforced) and SSE-S3 default "
            "encryption",
            "CreateBucket",
            after=_bucket_defaults,
        ),
    ),
    refine=_locate,
    data_events=OBJECT_OPERATIONS,
    resources=_resources,
    # CloudTrail names bucket-level Block Public Access calls after the bucket (PutBucketPublicAccessBlock).
    event_names={
        "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
        "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
        "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
    },
)
