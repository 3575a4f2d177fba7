"""S3 as AWS behaves where moto does not: bucket names, new-bucket defaults, Block Public Access,
anonymous access, SSE-KMS (key checks, key ARNs, SigV4 only, and the KMS calls S3 makes, which
CloudTrail records), and what IAM is asked for a call (`asks`, with the bucket policy).

The KMS side of SSE-KMS (finding a key, its state, its policy) is `kms.py`'s; this module decides
when S3 would call KMS and what S3 answers when KMS refuses. Presigned URLs are checked with every
other signature, in `signatures.py`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from typing import Any
from urllib.parse import unquote

from runner import aws_models

from . import access, events, kms
from .access import Ask
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


# --- Block Public Access, ACLs, anonymous access ---------------------------------------------------


def _policy_document(call: Call, _: Context) -> Reply | None:
    # S3 answers MalformedPolicy for a policy that is not a JSON object, and for one naming a principal IAM
    # does not know (a deleted user, a made-up role): it stores principals by their unique ids.
    try:
        document = json.loads(call.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return error_reply(call, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
    if access.invalid_principals(document):
        return error_reply(call, "MalformedPolicy", "Invalid principal in policy")
    return None


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
    action = aws_models.iam_actions("s3", call.operation)[0]
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


# --- bucket names ----------------------------------------------------------------------------------

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def valid_bucket_name(name: str) -> bool:
    """The naming rules of general purpose buckets (S3 User Guide, "General purpose bucket naming rules")."""
    if not _BUCKET_NAME.match(name) or ".." in name:
        return False
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


def _bucket_name(call: Call, _: Context) -> Reply | None:
    name = str(call.params.get("bucketName") or "")
    if valid_bucket_name(name):
        return None
    return error_reply(call, "InvalidBucketName", "The specified bucket is not valid.", BucketName=name)


# --- what IAM is asked ---------------------------------------------------------------------------

# The bucket owner may always read, change and delete its bucket policy, whatever the policy says
# (S3 User Guide, "Bucket policies": the root user can always do so).
_POLICY_OPERATIONS = frozenset({"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"})


def _bucket_ask(call: Call, action: str, bucket_name: str, key: str | None) -> Ask:
    bucket = find_bucket(bucket_name)
    resource = f"arn:aws:s3:::{bucket_name}" + (f"/{key}" if key is not None else "")
    context: dict[str, str | list[str]] = {}
    if call.header("x-amz-acl"):
        context["s3:x-amz-acl"] = str(call.header("x-amz-acl"))
    if bucket is None:
        return Ask(action, resource, context=context)
    owner = str(bucket.account_id)
    exempt = call.identity.type == "Root" and owner == call.identity.account_id and call.operation in _POLICY_OPERATIONS
    return Ask(action, resource, owner, None if exempt else bucket.policy, context=context)


def asks(call: Call) -> list[Ask]:
    """What IAM is asked for an S3 call: its actions (`aws_models.iam_actions`) on the bucket or the object,
    under the bucket policy; a copy also reads its source (S3 API Reference, CopyObject)."""
    actions = aws_models.iam_actions("s3", call.operation)
    name = call.params.get("bucketName")
    if not name:
        return [Ask(action) for action in actions]
    key = call.params.get("key") if call.operation in OBJECT_OPERATIONS else None
    found = [_bucket_ask(call, action, str(name), key) for action in actions]
    source = unquote(call.header("x-amz-copy-source") or "").lstrip("/").split("?", 1)[0]
    if source and call.operation in ("CopyObject", "UploadPartCopy"):
        source_bucket, _, source_key = source.partition("/")
        found.append(_bucket_ask(call, "s3:GetObject", source_bucket, source_key))
    return found


def _accounts(call: Call) -> set[str]:
    """The accounts an S3 call reaches besides its caller's: the owner of each bucket it names (its own, a
    copy's source), and the account of the KMS key that bucket's default encryption or the object names."""
    found: set[str] = set()
    source = unquote(call.header("x-amz-copy-source") or "").lstrip("/").split("?", 1)[0]
    source_bucket, _, source_key = source.partition("/")
    for name, key in ((call.params.get("bucketName"), call.params.get("key")), (source_bucket, source_key)):
        bucket = find_bucket(name)
        if bucket is None:
            continue
        found.add(str(bucket.account_id))
        stored = find_object(call, name, key) if key else None
        keys = (_default_encryption(bucket).get("KMSMasterKeyID"), getattr(stored, "kms_key_id", None))
        found.update(str(ref).split(":")[4] for ref in keys if str(ref).startswith("arn:"))
    return found


BEHAVIOUR = Behaviour(
    service="s3",
    rules=(
        rule(
            "a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, begins and ends with a letter "
            "or digit, has no two adjacent dots, is no IP address and avoids the reserved prefixes and suffixes: "
            "400 InvalidBucketName (S3 User Guide, \"General purpose bucket naming rules\")",
            "CreateBucket",
            before=_bucket_name,
        ),
        rule(
            "an unsigned request gets only what a bucket policy or ACL grants to everyone, within Block "
            "Public Access; otherwise 403 with an AccessDenied error body",
            before=_anonymous_access,
        ),
        rule(
            "a bucket policy must be a JSON object whose principals exist: 400 MalformedPolicy (Knowledge Center, "
            '"s3-invalid-principal-in-policy-error")',
            "PutBucketPolicy",
            before=_policy_document,
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
    accounts=_accounts,
    data_events=OBJECT_OPERATIONS,
    resources=_resources,
    # CloudTrail names bucket-level Block Public Access calls after the bucket (PutBucketPublicAccessBlock),
    # and lifecycle calls by their older API's names.
    event_names={
        "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
        "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
        "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
        "PutBucketLifecycleConfiguration": "PutBucketLifecycle",
        "GetBucketLifecycleConfiguration": "GetBucketLifecycle",
    },
)
