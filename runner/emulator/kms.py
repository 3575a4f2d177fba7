"""KMS as AWS behaves where moto does not: key states, the deletion window, and key policies.

The rules below run before moto sees a KMS call. `find_key`, `state_error` and `authorize` are also
what `s3.py` uses for the KMS calls S3 makes on a caller's behalf (SSE-KMS).
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from .identity import Identity
from .model import Behaviour, Call, Context, Reply, error_reply, rule
from .policy import Decision, Request, evaluate

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
# GenerateRandom are account-level: IAM alone decides, and the emulator does not enforce IAM.)
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
    return backend.keys.get(key_id)


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


def authorize(who: Identity, key: Any, operation: str, context: dict[str, Any] | None = None) -> str | None:
    """None if the key policy (or a grant) lets `who` do `operation` on `key`; else AWS's denial."""
    principal = who.principal
    full_context: dict[str, Any] = {
        "aws:PrincipalArn": who.role_arn or who.arn,
        "aws:PrincipalAccount": who.account_id,
        "kms:CallerAccount": who.account_id,
        "aws:SecureTransport": "true",  # every AWS endpoint is TLS; the loopback emulator stands in for one
        **(context or {}),
    }
    decision = evaluate(key.policy, principal, Request(f"kms:{operation}", key.arn, full_context))
    if decision is Decision.IMPLICIT_DENY and any(
        g.grantee_principal in principal.arns and operation in g.operations for g in key.grants.values()
    ):
        decision = Decision.ALLOW
    if decision is Decision.ALLOW:
        return None
    caller = who.arn or "anonymous"
    reason = (
        "with an explicit deny in a resource-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no resource-based policy allows the kms:{operation} action"
    )
    return f"User: {caller} is not authorized to perform: kms:{operation} on resource: {key.arn} {reason}"


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


def _key_policy(call: Call, _: Context) -> Reply | None:
    key = call_key(call)
    if key is None:
        return None  # moto answers NotFoundException
    context = encryption_context_keys(dict(call.params.get("EncryptionContext") or {}))
    denial = authorize(call.identity, key, call.operation, context)
    return None if denial is None else error_reply(call, "AccessDeniedException", denial)


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
            "the key policy decides who may use a key; anyone it does not grant gets AccessDeniedException",
            *KEY_OPERATIONS,
            before=_key_policy,
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
