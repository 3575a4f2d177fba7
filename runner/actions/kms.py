"""Key policy edits as the KMS console makes them: key administrators and key users.

The console keeps each role in one key policy statement; statements are recognised by what they grant,
not by their Sid, because Sids differ between the console, the CLI's defaults and hand-written policies.
"""

from __future__ import annotations

from typing import Any

from runner.registry import ActionContext, action

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


@action("kms.key_users", read_only=False, permissions=("kms:GetKeyPolicy", "kms:PutKeyPolicy"), params=_EDIT)
def key_users(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Add or remove principals in the key policy statement that lets them use the key.

    The result is `{Principals: [...]}`: the key users after the edit.

    Example::

        action: kms.key_users
        params:
          key_id: alias/myFirstKey
          remove: ["{{ caller.arn }}"]
    """
    raise NotImplementedError("kms.key_users runs with the engine")


@action(
    "kms.key_administrators",
    read_only=False,
    permissions=("kms:GetKeyPolicy", "kms:PutKeyPolicy"),
    params=_EDIT,
)
def key_administrators(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Add or remove principals in the key policy statement that lets them administer the key.

    Example::

        action: kms.key_administrators
        params:
          key_id: alias/myFirstKey
          add: ["{{ caller.arn }}"]
    """
    raise NotImplementedError("kms.key_administrators runs with the engine")


@action("kms.list_key_users", read_only=True, permissions=("kms:GetKeyPolicy",), params=_READ)
def list_key_users(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """The principals the key policy allows to use the key for cryptographic operations.

    The result is `{Principals: [...]}`.

    Example::

        action: kms.list_key_users
        params:
          key_id: alias/myFirstKey
        expect:
          - path: Principals
            contains: "{{ caller.arn }}"
    """
    raise NotImplementedError("kms.list_key_users runs with the engine")


@action("kms.list_key_administrators", read_only=True, permissions=("kms:GetKeyPolicy",), params=_READ)
def list_key_administrators(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """The principals the key policy allows to administer the key.

    Example::

        action: kms.list_key_administrators
        params:
          key_id: alias/myFirstKey
        expect:
          - path: Principals
            contains: "{{ caller.arn }}"
    """
    raise NotImplementedError("kms.list_key_administrators runs with the engine")
