"""KMS as AWS behaves where moto does not: key states, the deletion window, alias names, key policies
that name real principals, AWS managed keys, the rotation period, and what IAM is asked (`asks`).

The rules below run before moto sees a KMS call; `authorization.py` decides who may make it, with the
key policy as the resource's policy. `find_key`, `state_error` and `authorize` are also what `s3.py`
uses for the KMS calls S3 makes on a caller's behalf (SSE-KMS).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from . import access
from .access import Ask
from .identity import Identity
from .model import Behaviour, Call, Context, Reply, error_reply, rule

CRYPTO = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "GetPublicKey",
        "DeriveSharedSecret",
    }
)
# Besides the cryptographic operations, these are refused while a key waits for deletion.
REFUSED_PENDING_DELETION = CRYPTO | {
    "DisableKey",
    "EnableKey",
    "ScheduleKeyDeletion",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "RotateKeyOnDemand",
    "CreateGrant",
    "CreateAlias",
    "UpdateAlias",
    "TagResource",
    "UntagResource",
    "UpdateKeyDescription",
}
# Operations on one key, authorised by its key policy. (CreateKey, ListKeys, ListAliases and
# GenerateRandom are account-level: IAM alone decides.)
KEY_OPERATIONS = REFUSED_PENDING_DELETION | {
    "DescribeKey",
    "GetKeyPolicy",
    "PutKeyPolicy",
    "ListKeyPolicies",
    "GetKeyRotationStatus",
    "ListKeyRotations",
    "CancelKeyDeletion",
    "ListGrants",
    "RevokeGrant",
    "RetireGrant",
    "ListResourceTags",
}


def _backend(account_id: str, region: str) -> Any:
    from moto.kms.models import kms_backends

    return kms_backends[account_id][region]


def find_key(ref: str, account_id: str, region: str) -> Any | None:
    """The moto key that a key id, key ARN, alias name or alias ARN names, or None."""
    if ref.startswith("arn:"):
        parts = ref.split(":", 5)
        if len(parts) == 6:
            region, account_id = parts[3], parts[4]
    backend = _backend(account_id, region)
    try:
        key_id = backend.any_id_to_key_id(ref)
    except Exception:  # moto raises assorted errors for an unknown alias
        return None
    key = backend.keys.get(key_id)
    alias = ref.split(":alias/", 1)[-1] if ":alias/" in ref else ref.removeprefix("alias/")
    if key is not None and alias.startswith("aws/") and key.key_manager != "AWS":
        _make_aws_managed(key, alias.removeprefix("aws/"))
    return key


# The service whose AWS managed key an `alias/aws/<name>` is, where its name is not the service's.
_MANAGED_KEY_SERVICES = {"ebs": "ec2"}


def _make_aws_managed(key: Any, name: str) -> None:
    """Make the key moto creates for `alias/aws/<name>` what AWS makes: an AWS managed key, usable only
    through its service by the account's principals, rotated every year (KMS Developer Guide, "AWS managed
    keys"; the key policy is the one AWS writes for them)."""
    service = _MANAGED_KEY_SERVICES.get(name, name)
    key.key_manager = "AWS"
    key.description = (
        "Default master key that protects my S3 objects when no other key is defined" if name == "s3"
        else f"Default master key that protects my {name} resources when no other key is defined"
    )
    key.key_rotation_status = True
    key.policy = json.dumps({
        "Version": "2012-10-17",
        "Id": f"auto-{name}-2",
        "Statement": [
            {
                "Sid": f"Allow access through {name.upper()} for all principals in the account that are authorized "
                       f"to use {name.upper()}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
                           "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": str(key.account_id),
                                               "kms:ViaService": f"{service}.{key.region}.amazonaws.com"}},
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{key.account_id}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    })


def _ciphertext_key_id(blob: Any) -> str | None:
    from moto.kms.utils import _deserialize_ciphertext_blob

    try:
        return str(_deserialize_ciphertext_blob(base64.b64decode(str(blob))).key_id)
    except Exception:  # not a moto ciphertext: moto answers InvalidCiphertextException
        return None


def key_ref(call: Call) -> str | None:
    """The key a KMS call acts on, as the caller named it (or as the ciphertext names it)."""
    params = call.params
    ref = params.get("KeyId") or params.get("SourceKeyId") or params.get("TargetKeyId")
    if ref is None and "CiphertextBlob" in params:
        ref = _ciphertext_key_id(params["CiphertextBlob"])
    return None if ref is None else str(ref)


def call_key(call: Call) -> Any | None:
    ref = key_ref(call)
    return None if ref is None else find_key(ref, call.account_id, call.region)


def state_error(key: Any, operation: str) -> tuple[str, str] | None:
    """The error AWS gives for `operation` on `key` in its current state, if any."""
    if key.key_state == "PendingDeletion" and operation in REFUSED_PENDING_DELETION:
        return "KMSInvalidStateException", f"{key.arn} is pending deletion."
    if key.key_state == "Disabled" and operation in CRYPTO:
        return "DisabledException", f"{key.arn} is disabled."
    if operation == "CancelKeyDeletion" and key.key_state != "PendingDeletion":
        return "KMSInvalidStateException", f"{key.arn} is not pending deletion."
    return None


def key_ask(key: Any, operation: str, context: dict[str, Any] | None = None) -> Ask:
    """What IAM is asked for `operation` on `key`: the key policy must allow it (KMS Developer Guide,
    "Key policies": without a key policy statement, IAM policies alone give no access to a key)."""
    return Ask(f"kms:{operation}", str(key.arn), str(key.account_id), key.policy, policy_required=True,
               context=context or {})


def authorize(who: Identity, key: Any, operation: str, context: dict[str, Any] | None = None) -> str | None:
    """None if the key policy (with IAM where it delegates to the account) or a grant lets `who` do
    `operation` on `key`; else AWS's denial."""
    if any(g.grantee_principal in who.principal.arns and operation in g.operations for g in key.grants.values()):
        return None
    full = {"kms:CallerAccount": who.account_id, **(context or {})}
    denial = access.authorize(who, key_ask(key, operation, full))
    return None if denial is None else denial.message(who.arn)


def encryption_context_keys(context: dict[str, str]) -> dict[str, Any]:
    """The kms:EncryptionContext condition keys for a call's encryption context."""
    keys: dict[str, Any] = {f"kms:EncryptionContext:{k}": v for k, v in context.items()}
    if context:
        keys["kms:EncryptionContextKeys"] = list(context)
    return keys


# --- hooks ---------------------------------------------------------------------------------------


def _deletion_window(call: Call, _: Context) -> Reply | None:
    days = call.params.get("PendingWindowInDays")
    if days is None or 7 <= int(days) <= 30:
        return None
    bound = "greater than or equal to 7" if int(days) < 7 else "less than or equal to 30"
    message = (
        f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' "
        f"failed to satisfy constraint: Member must have value {bound}"
    )
    return error_reply(call, "ValidationException", message)


def _alias_name(call: Call, _: Context) -> Reply | None:
    name = str(call.params.get("AliasName", ""))
    if not name.startswith("alias/"):
        return error_reply(call, "ValidationException", 'Alias must start with the prefix "alias/". Please see '
                           "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
    if name.startswith("alias/aws/"):
        return error_reply(call, "NotAuthorizedException", "Cannot create alias with prefix 'alias/aws/'")
    return None


def _key_policy_document(call: Call, _: Context) -> Reply | None:
    policy = call.params.get("Policy")
    if policy is None:
        return None
    try:
        document = json.loads(str(policy))
    except ValueError:
        document = None
    if not isinstance(document, dict) or not document.get("Statement"):
        return error_reply(call, "MalformedPolicyDocumentException", "The policy document is not valid JSON.")
    if access.invalid_principals(document):
        return error_reply(call, "MalformedPolicyDocumentException",
                           "Policy contains a statement with one or more invalid principals.")
    return None


def _incorrect_key(call: Call, _: Context) -> Reply | None:
    named, blob = call.params.get("KeyId"), call.params.get("CiphertextBlob")
    if named is None or blob is None:
        return None
    key, used = find_key(str(named), call.account_id, call.region), _ciphertext_key_id(blob)
    if key is None or used is None or key.id == used:
        return None
    return error_reply(call, "IncorrectKeyException",
                       "The key ID in the request does not identify a CMK that can perform this operation.")


ROTATION_DAYS = (90, 2560)
DEFAULT_ROTATION_DAYS = 365


def _rotation_period(call: Call, _: Context) -> Reply | None:
    days = call.params.get("RotationPeriodInDays")
    key = call_key(call)
    if days is not None and not ROTATION_DAYS[0] <= int(days) <= ROTATION_DAYS[1]:
        bound = f"greater than or equal to {ROTATION_DAYS[0]}" if int(days) < ROTATION_DAYS[0] else (
            f"less than or equal to {ROTATION_DAYS[1]}")
        return error_reply(call, "ValidationException", f"1 validation error detected: Value '{days}' at "
                           f"'rotationPeriodInDays' failed to satisfy constraint: Member must have value {bound}")
    if key is not None:
        key.labrunner_rotation_days = int(days or DEFAULT_ROTATION_DAYS)
        key.labrunner_rotation_from = call.time
    return None


def _rotation_status(call: Call, reply: Reply, _: Context) -> Reply | None:
    key = call_key(call)
    document = reply.json()
    if key is None or not isinstance(document, dict):
        return None
    answer: dict[str, Any] = {"KeyId": str(key.arn), "KeyRotationEnabled": bool(key.key_rotation_status)}
    if key.key_rotation_status:
        days = getattr(key, "labrunner_rotation_days", DEFAULT_ROTATION_DAYS)
        start = getattr(key, "labrunner_rotation_from", None) or datetime.fromtimestamp(key.creation_date, UTC)
        answer["RotationPeriodInDays"] = days
        answer["NextRotationDate"] = (start + timedelta(days=days)).timestamp()
    return reply.with_json(answer)


def _key_state(call: Call, _: Context) -> Reply | None:
    key = call_key(call)
    error = None if key is None else state_error(key, call.operation)
    if error is None and call.operation == "ReEncrypt" and call.params.get("DestinationKeyId"):
        destination = find_key(str(call.params["DestinationKeyId"]), call.account_id, call.region)
        error = None if destination is None else state_error(destination, "Encrypt")
    return None if error is None else error_reply(call, *error)


def _key_arn_as_id(call: Call, _: Context) -> Call | None:
    # moto looks some operations' KeyId up as a bare id; AWS takes the key ARN everywhere.
    ref = call.params.get("KeyId")
    if not isinstance(ref, str) or not ref.startswith("arn:") or ":key/" not in ref:
        return None
    return call.with_json_params(KeyId=ref.rsplit("/", 1)[-1])


def _default_key_usage(call: Call, _: Context) -> Call | None:
    # AWS makes a key with no KeyUsage an ENCRYPT_DECRYPT key (the only usage a symmetric encryption
    # key can have; other key specs must name theirs); moto leaves KeyUsage out of the key's metadata.
    spec = call.params.get("KeySpec") or call.params.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if "KeyUsage" in call.params or spec != "SYMMETRIC_DEFAULT":
        return None
    return call.with_json_params(KeyUsage="ENCRYPT_DECRYPT")


def _scheduled(call: Call, reply: Reply, _: Context) -> Reply | None:
    key = call_key(call)
    document = reply.json()
    if key is None or not isinstance(document, dict):
        return None
    days = int(call.params.get("PendingWindowInDays") or 30)
    key.labrunner_pending_window = days  # DescribeKey reports it while the key waits
    return reply.with_json({**document, "KeyId": key.arn, "KeyState": "PendingDeletion", "PendingWindowInDays": days})


def _pending_window(call: Call, reply: Reply, _: Context) -> Reply | None:
    key = call_key(call)
    document = reply.json()
    if key is None or not isinstance(document, dict) or key.key_state != "PendingDeletion":
        return None
    metadata = {**document.get("KeyMetadata", {}),
                "PendingDeletionWindowInDays": getattr(key, "labrunner_pending_window", 30)}
    return reply.with_json({**document, "KeyMetadata": metadata})


def _key_arn(call: Call, ref: str) -> str:
    if ref.startswith("arn:"):
        return ref
    kind = "" if ref.startswith("alias/") else "key/"
    return f"arn:aws:kms:{call.region}:{call.account_id}:{kind}{ref}"


def asks(call: Call) -> list[Ask]:
    """What IAM is asked for a KMS call: the operation on its key, under the key policy (KMS Developer
    Guide, "Permissions reference"); account-level operations (CreateKey, ListKeys, ...) on "*"."""
    operation = call.operation
    context: dict[str, Any] = {
        "kms:CallerAccount": call.identity.account_id,
        **encryption_context_keys(dict(call.params.get("EncryptionContext") or {})),
    }

    def on(ref: Any, action: str = operation) -> Ask:
        key = find_key(str(ref), call.account_id, call.region)
        if key is None:  # no such key: IAM decides, then moto answers NotFoundException
            return Ask(f"kms:{action}", _key_arn(call, str(ref)), context=context)
        return key_ask(key, action, context)

    if operation in ("CreateAlias", "UpdateAlias", "DeleteAlias"):
        # The alias (IAM policies) and the key it names, before and after (key policy).
        alias = str(call.params.get("AliasName", ""))
        found = [Ask(f"kms:{operation}", _key_arn(call, alias), context=context)]
        if operation != "CreateAlias" and find_key(alias, call.account_id, call.region) is not None:
            found.append(on(alias))
        if call.params.get("TargetKeyId"):
            found.append(on(call.params["TargetKeyId"]))
        return found
    if operation == "ReEncrypt":
        source = call.params.get("SourceKeyId") or _ciphertext_key_id(call.params.get("CiphertextBlob"))
        found = [on(source, "ReEncryptFrom")] if source else []
        if call.params.get("DestinationKeyId"):
            found.append(on(call.params["DestinationKeyId"], "ReEncryptTo"))
        return found
    ref = key_ref(call)
    return [Ask(f"kms:{operation}", context=context)] if ref is None else [on(ref)]


def _resources(call: Call, reply: Reply) -> list[dict[str, str]]:
    arn: str | None = None
    if call.operation == "CreateKey":
        document = reply.json()
        arn = (document or {}).get("KeyMetadata", {}).get("Arn") if isinstance(document, dict) else None
    else:
        key = call_key(call)
        arn = None if key is None else str(key.arn)
    if arn is None:
        return []
    return [{"accountId": arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": arn}]


def _key_owner(call: Call) -> Call:
    # A KMS call acts on the key's account when the caller names another account's key by ARN.
    key = call_key(call)
    if key is None or key.account_id == call.account_id:
        return call
    return dataclasses.replace(call, account_id=str(key.account_id))


BEHAVIOUR = Behaviour(
    service="kms",
    rules=(
        rule(
            "ScheduleKeyDeletion accepts a PendingWindowInDays of 7 to 30 only: ValidationException",
            "ScheduleKeyDeletion",
            before=_deletion_window,
        ),
        rule(
            "CreateAlias and UpdateAlias take a name that begins with alias/ (ValidationException) and not with "
            "alias/aws/, which is reserved for AWS managed keys (NotAuthorizedException); KMS Developer Guide, "
            "\"Create aliases\"",
            "CreateAlias",
            "UpdateAlias",
            before=_alias_name,
        ),
        rule(
            "a key policy must be JSON whose principals exist: MalformedPolicyDocumentException (KMS API "
            "Reference, PutKeyPolicy; Knowledge Center, \"kms-policy-error-invalid-principals\")",
            "CreateKey",
            "PutKeyPolicy",
            before=_key_policy_document,
        ),
        rule(
            "Decrypt with a KeyId that is not the key the ciphertext was encrypted under is IncorrectKeyException "
            "(KMS API Reference, Decrypt)",
            "Decrypt",
            before=_incorrect_key,
        ),
        rule(
            "EnableKeyRotation takes a RotationPeriodInDays of 90 to 2560, 365 if none is given: ValidationException "
            "(KMS API Reference, EnableKeyRotation)",
            "EnableKeyRotation",
            before=_rotation_period,
        ),
        rule(
            "GetKeyRotationStatus reports the key ARN, and for a rotated key RotationPeriodInDays and "
            "NextRotationDate (KMS API Reference, GetKeyRotationStatus)",
            "GetKeyRotationStatus",
            after=_rotation_status,
        ),
        rule(
            "a disabled key refuses cryptographic operations (DisabledException); a key pending deletion "
            "refuses them and every state change but cancellation (KMSInvalidStateException); "
            "CancelKeyDeletion needs a key pending deletion (KMSInvalidStateException)",
            *KEY_OPERATIONS,
            before=_key_state,
        ),
        rule(
            "a key's ARN names it wherever a KeyId is taken, as its id does",
            "DisableKey",
            "EnableKey",
            "ScheduleKeyDeletion",
            "CancelKeyDeletion",
            before=_key_arn_as_id,
        ),
        rule(
            "CreateKey without KeyUsage makes a symmetric ENCRYPT_DECRYPT key, and its metadata says so",
            "CreateKey",
            before=_default_key_usage,
        ),
        rule(
            "ScheduleKeyDeletion answers the key ARN, its new KeyState and the PendingWindowInDays",
            "ScheduleKeyDeletion",
            after=_scheduled,
        ),
        rule(
            "DescribeKey of a key pending deletion reports PendingDeletionWindowInDays",
            "DescribeKey",
            after=_pending_window,
        ),
    ),
    refine=_key_owner,
    read_only=CRYPTO | {"GenerateRandom"},
    resources=_resources,
)
