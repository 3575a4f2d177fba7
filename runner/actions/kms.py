"""Key policy edits as the KMS console makes them: key administrators and key users, and how a key's
users changed over time (from the key policies CloudTrail's event history holds, `cloudtrail.history`).

The console keeps each role in one key policy statement; statements are recognised by what they grant,
not by their Sid, because Sids differ between the console, the CLI's defaults and hand-written policies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from runner.actions.cloudtrail import history, window_start
from runner.actions.declare import ActionContext, action
from runner.actions.failures import ActionFailed, aws_errors

Statement = dict[str, Any]

# What the console writes when it adds a statement; recognising one never depends on these.
_ADMIN_SID = "Allow access for Key Administrators"
_ADMIN_ACTIONS = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                  "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                  "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
_USE_SID = "Allow use of the key"
_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
_GRANT_SID = "Allow attachment of persistent resources"
_GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
_GRANT_CONDITION = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
_CRYPTO = {"kms:encrypt", "kms:decrypt", "kms:reencrypt*", "kms:reencryptfrom", "kms:reencryptto",
           "kms:generatedatakey*", "kms:generatedatakey"}
_ADMINISTER = {"kms:put*", "kms:putkeypolicy", "kms:schedulekeydeletion", "kms:create*", "kms:disable*",
               "kms:disablekey"}

_PRINCIPALS = {"type": "array", "items": {"type": "string"}, "description": "IAM principal ARNs."}
_EDIT = {
    "type": "object",
    "required": ["key_id"],
    "properties": {
        "key_id": {"type": "string", "description": "Key id, ARN or alias/NAME."},
        "add": _PRINCIPALS,
        "remove": _PRINCIPALS,
    },
}
_READ = {
    "type": "object",
    "required": ["key_id"],
    "properties": {"key_id": {"type": "string", "description": "Key id, ARN or alias/NAME."}},
}


_EDIT_PERMISSIONS = ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy")
_READ_PERMISSIONS = ("kms:DescribeKey", "kms:GetKeyPolicy")


# Adding a principal that is there, or removing one that is not, changes nothing: both edits are safe to repeat.
@action("kms.key_users", read_only=False, repeatable=True, permissions=_EDIT_PERMISSIONS, params=_EDIT)
def key_users(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Add or remove principals in the key policy statement that lets them use the key.

    The result is `{KeyId, Principals: [...], Changed}`: the key users after the edit. The console
    also names key users in the statement that lets AWS services hold grants on the key; both change.

    Example::

        action: kms.key_users
        params:
          key_id: alias/myFirstKey
          remove: ["{{ caller.arn }}"]
    """
    # The console lists key users in two statements: using the key, and granting it to AWS services.
    return _apply(ctx, params, [(_is_use, _statement(_USE_SID, _USE_ACTIONS)),
                                (_is_grant, _statement(_GRANT_SID, _GRANT_ACTIONS, _GRANT_CONDITION))], _is_use)


@action(
    "kms.key_administrators",
    read_only=False,
    repeatable=True,
    permissions=_EDIT_PERMISSIONS,
    params=_EDIT,
)
def key_administrators(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Add or remove principals in the key policy statement that lets them administer the key.

    The result is `{KeyId, Principals: [...], Changed}`: the key administrators after the edit.

    Example::

        action: kms.key_administrators
        params:
          key_id: alias/myFirstKey
          add: ["{{ caller.arn }}"]
    """
    return _apply(ctx, params, [(_is_admin, _statement(_ADMIN_SID, _ADMIN_ACTIONS))], _is_admin)


@action("kms.list_key_users", read_only=True, permissions=_READ_PERMISSIONS, params=_READ)
def list_key_users(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """The principals the key policy allows to use the key for cryptographic operations.

    The result is `{KeyId, Principals: [...], IncludesCaller}`; `IncludesCaller` is true when the caller
    is listed, an assumed-role session counting as its role (whatever the role's path).

    Example::

        action: kms.list_key_users
        params:
          key_id: alias/myFirstKey
        expect:
          IncludesCaller: true
    """
    key_id, policy = _read(ctx, params["key_id"])
    principals = _principals(policy, _is_use)
    return {"KeyId": key_id, "Principals": principals, "IncludesCaller": _includes_caller(ctx, principals)}


@action("kms.list_key_administrators", read_only=True, permissions=_READ_PERMISSIONS, params=_READ)
def list_key_administrators(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """The principals the key policy allows to administer the key.

    The result is `{KeyId, Principals: [...], IncludesCaller}`, as for `kms.list_key_users`.

    Example::

        action: kms.list_key_administrators
        params:
          key_id: alias/myFirstKey
        expect:
          IncludesCaller: true
    """
    key_id, policy = _read(ctx, params["key_id"])
    principals = _principals(policy, _is_admin)
    return {"KeyId": key_id, "Principals": principals, "IncludesCaller": _includes_caller(ctx, principals)}


@action(
    "kms.key_user_history",
    read_only=True,
    permissions=("kms:DescribeKey", "kms:GetKeyPolicy", "cloudtrail:LookupEvents"),
    params={
        "type": "object",
        "required": ["key_id"],
        "properties": {
            "key_id": {"type": "string",
                       "description": "Key ARN, id or alias/NAME (an ARN needs no DescribeKey: the key may be gone)."},
            "since": {"type": "string",
                      "description": "ISO 8601 time or a duration ago; default run.since (the grading window)."},
        },
    },
)
def key_user_history(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """How a key's users changed: the key users of every key policy put on it, from CloudTrail's event history.

    Each successful PutKeyPolicy on the key since the window began is a version, oldest first. A
    principal is in `AddedBack` when one version left it out of the key users, a later version named it
    again, and the last version still names it: someone removed it from the key users, then added it
    back. Event history cannot be written by the account's users and outlives the key, so this proves
    the edits even after the key was deleted. `Users` are the key users now (null once the key is gone).
    The result is `{KeyArn, Users, Versions: [{eventTime, eventID, Users}], AddedBack}`.

    Example::

        action: kms.key_user_history
        params:
          key_id: alias/myFirstKey
        expect:
          - path: length(AddedBack)
            greater_than: 0
    """
    key = params["key_id"]
    if not key.startswith("arn:") or ":alias/" in key:
        with aws_errors():
            key = str(ctx.client("kms").describe_key(KeyId=key)["KeyMetadata"]["Arn"])
    region = key.split(":")[3]
    since = window_start(params.get("since"), ctx.run_started)
    with aws_errors():
        # Judged as they arrive: only this key's policies are held (an account's others may be many).
        kept = history(ctx, region, ("EventName", "PutKeyPolicy"), since,
                       keep=lambda r: not r.get("errorCode") and _names(r, key))
    users = [_policy_users(r) for r in kept]
    added_back: list[str] = []
    for later, now in enumerate(users):
        for principal in now:
            left_out = any(principal not in earlier for earlier in users[:later])
            if left_out and principal in users[-1] and principal not in added_back:
                added_back.append(principal)
    versions = [{"eventTime": r.get("eventTime"), "eventID": r.get("eventID"), "Users": u}
                for r, u in zip(kept, users, strict=True)]
    return {"KeyArn": key, "Users": _present_users(ctx, key), "Versions": versions, "AddedBack": added_back}


def _present_users(ctx: ActionContext, key_arn: str) -> list[str] | None:
    """The key's users now, or None when the key is gone (deleted after its waiting period)."""
    try:
        return _principals(_read(ctx, key_arn)[1], _is_use)
    except ActionFailed as failure:
        if failure.code == "NotFoundException":
            return None
        raise


def _names(record: dict[str, Any], key_arn: str) -> bool:
    return any(isinstance(r, dict) and r.get("ARN") == key_arn for r in record.get("resources") or [])


def _policy_users(record: dict[str, Any]) -> list[str]:
    """The key users of the policy a PutKeyPolicy record put (none when it cannot be read)."""
    text = (record.get("requestParameters") or {}).get("policy")
    try:
        policy = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):  # not JSON, or nested past what Python's parser takes
        policy = None
    return _principals(_statements_listed(policy), _is_use) if isinstance(policy, dict) else []


# --------------------------------------------------------------------------------------------------
# Reading and editing a key policy


def _actions(statement: Statement) -> set[str]:
    value = statement.get("Action", [])
    return {a.lower() for a in ([value] if isinstance(value, str) else value) if isinstance(a, str)}


def _aws_principals(statement: Statement) -> list[str] | None:
    """The `Principal.AWS` ARNs of an Allow statement, or None when it grants to no IAM principals."""
    if statement.get("Effect") != "Allow":
        return None
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or "AWS" not in principal:
        return None
    value = principal["AWS"]
    return [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]


def _is_admin(statement: Statement) -> bool:
    actions = _actions(statement)
    return (_aws_principals(statement) is not None and "Condition" not in statement
            and "kms:*" not in actions and bool(actions & _ADMINISTER) and not actions & _CRYPTO)


def _is_use(statement: Statement) -> bool:
    actions = _actions(statement)
    return (_aws_principals(statement) is not None and "Condition" not in statement
            and "kms:*" not in actions and bool(actions & _CRYPTO))


def _is_grant(statement: Statement) -> bool:
    condition = statement.get("Condition")
    return (_aws_principals(statement) is not None and "kms:creategrant" in _actions(statement)
            and isinstance(condition, dict) and "kms:GrantIsForAWSResource" in json.dumps(condition))


def _key_id(ctx: ActionContext, key: str) -> str:
    # GetKeyPolicy and PutKeyPolicy take a key id or ARN but not an alias; DescribeKey takes all three.
    if key.startswith("alias/") or ":alias/" in key:
        return str(ctx.client("kms").describe_key(KeyId=key)["KeyMetadata"]["KeyId"])
    return key


def _read(ctx: ActionContext, key: str) -> tuple[str, dict[str, Any]]:
    with aws_errors():
        key_id = _key_id(ctx, key)
        text = ctx.client("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    return key_id, _statements_listed(json.loads(text))


def _statements_listed(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy with its `Statement` always a list (a policy may give a single statement as an object)."""
    statements = policy.get("Statement")
    return {**policy, "Statement": [statements] if isinstance(statements, dict) else list(statements or [])}


def _principals(policy: dict[str, Any], kind: Callable[[Statement], bool]) -> list[str]:
    found: list[str] = []
    for statement in policy["Statement"]:
        if kind(statement):
            found.extend(p for p in _aws_principals(statement) or [] if p not in found)
    return found


_SESSION = re.compile(r"^arn:([a-z-]+):sts::(\d{12}):assumed-role/([^/]+)/[^/]+$")
_ROLE = re.compile(r"^arn:([a-z-]+):iam::(\d{12}):role/(?:[^/]+/)*([^/]+)$")
_ROOT = re.compile(r"^arn:[a-z-]+:iam::(\d{12}):root$")


def _includes_caller(ctx: ActionContext, principals: list[str]) -> bool:
    with aws_errors():
        return includes(principals, ctx.caller().arn)


def includes(principals: list[str], caller: str) -> bool:
    """Whether a policy's principals name `caller`.

    A role session (`arn:aws:sts::A:assumed-role/R/S`) is its role `arn:aws:iam::A:role/[path/]R`: a
    policy names the role, never the session. The account root may also be written as the account id.
    """
    if caller in principals:
        return True
    session, root = _SESSION.match(caller), _ROOT.match(caller)
    for principal in principals:
        role = _ROLE.match(principal)
        if session and role and role.groups() == session.groups():
            return True
        if root and principal == root.group(1):
            return True
    return False


def _edit(policy: dict[str, Any], kind: Callable[[Statement], bool], template: Statement,
          add: list[str], remove: list[str]) -> bool:
    """Add and remove principals in the statements of `kind`; True when the policy changed."""
    statements: list[Statement] = policy["Statement"]
    matching = [s for s in statements if kind(s)]
    if not matching and add:
        matching = [dict(template, Principal={"AWS": []})]
        statements.append(matching[0])
    changed = False
    for statement in matching:
        current = _aws_principals(statement) or []
        # Principals added go to the first matching statement only; removal applies to all of them.
        wanted = [p for p in current if p not in remove]
        if statement is matching[0]:
            wanted += [p for p in add if p not in wanted]
        if wanted != current:
            changed = True
            statement["Principal"] = {**statement["Principal"], "AWS": wanted[0] if len(wanted) == 1 else wanted}
        if not wanted:
            statements.remove(statement)  # the console drops a statement left without principals
            changed = True
    return changed


def _write(ctx: ActionContext, key_id: str, policy: dict[str, Any]) -> None:
    with aws_errors():
        ctx.client("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))


def _apply(ctx: ActionContext, params: dict[str, Any], edits: list[tuple[Callable[[Statement], bool], Statement]],
           report: Callable[[Statement], bool]) -> dict[str, Any]:
    key_id, policy = _read(ctx, params["key_id"])
    add, remove = list(params.get("add") or []), list(params.get("remove") or [])
    changed = False
    for kind, template in edits:
        changed = _edit(policy, kind, template, add, remove) or changed
    if changed:
        _write(ctx, key_id, policy)
    return {"KeyId": key_id, "Principals": _principals(policy, report), "Changed": changed}


def _statement(sid: str, actions: list[str], condition: dict[str, Any] | None = None) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": []}, "Action": actions,
                            "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return statement
