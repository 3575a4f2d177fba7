"""botocore's service models, as the `aws.<service>.<operation>` action family sees them.

A leaf module (below it only `operation_kinds`, which decides from the facts read here what an operation
does to an account). Every service and operation that the installed botocore knows becomes an action with no
per-operation code: the model gives the parameters, the paginators and botocore's own validator.
botocore is imported on first use only, so `labrunner --help` never pays for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from runner import operation_kinds


def facts(service: str, operation: str) -> operation_kinds.Facts:
    """What botocore's model says of one operation (CamelCase name), for `operation_kinds.decide`."""
    model = service_model(service)
    # The raw entry: an OperationModel would be built, shapes and all, only to read two fields of it.
    entry = model._service_description["operations"][operation]
    return operation_kinds.Facts.of(service, str(model.protocol), operation, entry)


@functools.cache
def kind(service: str, operation: str) -> operation_kinds.Verdict:
    """Whether an operation (botocore's CamelCase name) reads, changes the account safely to repeat, or changes it."""
    return operation_kinds.decide(facts(service, operation))


def is_read_only(service: str, operation: str) -> bool:
    """Whether an operation only reads: the one answer the validator, the engine and grading share."""
    return kind(service, operation).kind.read_only


#: The IAM service prefix of a signing name, where they differ.
_IAM_PREFIXES = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}

#: IAM actions that differ from `<prefix>:<OperationName>`, by IAM prefix and operation (AWS's Service
#: Authorization Reference). The emulator authorizes calls by these names; grader policies list them.
_ACTION_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("s3:ListMultipartUploadParts",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "CopyObject"): ("s3:PutObject",),  # and s3:GetObject on the source (`COPY_SOURCE_ACTIONS`)
    ("s3", "UploadPartCopy"): ("s3:PutObject",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "GetObjectAttributes"): ("s3:GetObject", "s3:GetObjectAttributes"),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "PutPublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("s3:PutLifecycleConfiguration",),
    ("s3", "DeleteBucketLifecycle"): ("s3:PutLifecycleConfiguration",),
    ("s3", "DeleteBucketTagging"): ("s3:PutBucketTagging",),
    ("s3", "DeleteBucketOwnershipControls"): ("s3:PutBucketOwnershipControls",),
    ("s3", "GetBucketCors"): ("s3:GetBucketCORS",),
    ("s3", "PutBucketCors"): ("s3:PutBucketCORS",),
    ("s3", "DeleteBucketCors"): ("s3:PutBucketCORS",),
    ("s3", "GetBucketNotificationConfiguration"): ("s3:GetBucketNotification",),
    ("s3", "PutBucketNotificationConfiguration"): ("s3:PutBucketNotification",),
    ("s3", "GetBucketReplication"): ("s3:GetReplicationConfiguration",),
    ("s3", "PutBucketReplication"): ("s3:PutReplicationConfiguration",),
    ("s3", "DeleteBucketReplication"): ("s3:PutReplicationConfiguration",),
    ("s3", "GetObjectLockConfiguration"): ("s3:GetBucketObjectLockConfiguration",),
    ("s3", "PutObjectLockConfiguration"): ("s3:PutBucketObjectLockConfiguration",),
    ("s3", "GetBucketAccelerateConfiguration"): ("s3:GetAccelerateConfiguration",),
    ("s3", "PutBucketAccelerateConfiguration"): ("s3:PutAccelerateConfiguration",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    ("sns", "PublishBatch"): ("sns:Publish",),
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("lambda", "InvokeAsync"): ("lambda:InvokeFunction",),
}
#: Permissions an operation needs of other services on top of its own action, where the labs meet them:
#: reading an SSE-KMS object makes S3 call kms:Decrypt as the caller (S3 User Guide, "Using SSE-KMS").
_DEPENDENT_PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "GetObject"): ("kms:Decrypt",),
}


def iam_prefix(signing_name: str) -> str:
    """The IAM service prefix (`cloudwatch`) of a service's signing name (`monitoring`)."""
    return _IAM_PREFIXES.get(signing_name, signing_name)


def iam_actions(signing_name: str, operation: str) -> tuple[str, ...]:
    """The IAM actions AWS evaluates for one API operation (`s3`, `ListObjectsV2` -> `s3:ListBucket`)."""
    prefix = iam_prefix(signing_name)
    return _ACTION_OVERRIDES.get((prefix, operation)) or (f"{prefix}:{operation}",)


@dataclass(frozen=True)
class AwsOperation:
    """One botocore operation, addressed as `aws.<service>.<snake_name>`."""

    service: str
    name: str  # botocore's CamelCase operation name
    snake: str

    @property
    def action(self) -> str:
        return f"aws.{self.service}.{self.snake}"

    @property
    def kind(self) -> operation_kinds.Verdict:
        return kind(self.service, self.name)

    @property
    def read_only(self) -> bool:
        return self.kind.kind.read_only

    @property
    def repeatable(self) -> bool:
        return self.kind.kind.repeatable

    @property
    def model(self) -> Any:
        return service_model(self.service).operation_model(self.name)

    @property
    def permissions(self) -> tuple[str, ...]:
        """What a caller needs for this operation: its IAM actions, and what it makes other services do."""
        prefix = iam_prefix(service_model(self.service).signing_name or self.service)
        return iam_actions(prefix, self.name) + _DEPENDENT_PERMISSIONS.get((prefix, self.name), ())

    @property
    def can_paginate(self) -> bool:
        return self.name in paginated_operations(self.service)


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.lru_cache(maxsize=1)
def service_names() -> tuple[str, ...]:
    return tuple(sorted(_session().get_available_services()))


@functools.cache
def service_model(service: str) -> Any:
    return _session().get_service_model(service)


@functools.cache
def operations(service: str) -> dict[str, AwsOperation]:
    """snake_case name -> operation, for one service."""
    from botocore import xform_name

    return {
        xform_name(name): AwsOperation(service, name, xform_name(name))
        for name in service_model(service).operation_names
    }


@functools.cache
def paginated_operations(service: str) -> frozenset[str]:
    try:
        model = _session().get_paginator_model(service)
    except Exception:  # no paginators-1.json for this service
        return frozenset()
    return frozenset(getattr(model, "_paginator_config", {}))


class UnknownOperation(LookupError):
    """An `aws.*` name that botocore does not know; `hint` says what was probably meant."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def lookup(name: str) -> AwsOperation:
    """Resolve `aws.<service>.<operation>`; raises `UnknownOperation` with a did-you-mean."""
    from runner.errors import did_you_mean

    parts = name.split(".")
    if len(parts) != 3 or parts[0] != "aws" or not all(parts):
        raise UnknownOperation(
            f"'{name}' is not an AWS action name",
            "write aws.<service>.<operation> in snake_case, for example aws.kms.create_key",
        )
    _, service, op = parts
    services = service_names()
    if service not in services:
        guess = did_you_mean(service, services)
        hint = f"did you mean 'aws.{guess}.{op}'?" if guess else "run 'labrunner actions' for the list of services"
        raise UnknownOperation(f"unknown AWS service '{service}' in action '{name}'", hint)
    ops = operations(service)
    if op not in ops:
        snake = _snake(op)
        if snake in ops:
            raise UnknownOperation(f"unknown operation '{op}' for service '{service}'",
                                   f"operations are snake_case: did you mean 'aws.{service}.{snake}'?")
        guess = did_you_mean(op, ops)
        hint = (f"did you mean 'aws.{service}.{guess}'?" if guess
                else f"run 'labrunner actions aws.{service}' for its operations")
        raise UnknownOperation(f"unknown operation '{op}' for service '{service}'", hint)
    return ops[op]


def _snake(name: str) -> str:
    from botocore import xform_name

    return str(xform_name(name))
