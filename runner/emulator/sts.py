"""STS as AWS behaves where moto does not: the emulator's own credentials belong to the account's root
user, and AssumeRole needs a role that exists and trusts the caller (`asks`).

moto answers GetCallerIdentity for an unknown access key with a made-up `user/moto` ARN; CloudTrail
records (`identity.py`) name such a caller the account root, as AWS would, so the two must agree.
moto lets anyone assume any role ARN, existing or not; `authorization.py` decides AssumeRole with the
role's trust policy as the resource's policy.
"""

from __future__ import annotations

import re

from . import access
from .access import Ask
from .model import Behaviour, Call, Context, Reply, rule

# A role that does not exist trusts no one: AssumeRole is refused as if its trust policy did not name the caller.
_NO_ROLE: dict[str, list[object]] = {"Statement": []}


def _root_caller(call: Call, reply: Reply, _: Context) -> Reply | None:
    who = call.identity
    if who.type != "Root":
        return None
    document = reply.json()
    if isinstance(document, dict) and "Arn" in document:
        return reply.with_json({**document, "Arn": who.arn, "UserId": who.principal_id})
    text = reply.body.decode("utf-8", "replace")
    text = re.sub(r"<Arn>[^<]*</Arn>", f"<Arn>{who.arn}</Arn>", text)
    text = re.sub(r"<UserId>[^<]*</UserId>", f"<UserId>{who.principal_id}</UserId>", text)
    body = text.encode()
    headers = tuple((k, v) for k, v in reply.headers if k.lower() != "content-length")
    return Reply(reply.status, (*headers, ("Content-Length", str(len(body)))), body)


def asks(call: Call) -> list[Ask]:
    """AssumeRole asks sts:AssumeRole on the role, whose trust policy must allow it (IAM User Guide,
    "Policy evaluation logic": role trust policies must allow explicitly); the rest, on "*"."""
    if call.operation != "AssumeRole":
        return [Ask(f"sts:{call.operation}")]
    role_arn = str(call.params.get("RoleArn", ""))
    parts = role_arn.split(":")
    account = parts[4] if len(parts) > 5 else call.account_id
    role = access.find_role(account, role_arn.rsplit("/", 1)[-1]) if ":role/" in role_arn else None
    trust = access.document_of(role.assume_role_policy_document) if role is not None else None
    context: dict[str, str | list[str]] = {"sts:RoleSessionName": str(call.params.get("RoleSessionName", ""))}
    if call.params.get("ExternalId") is not None:
        context["sts:ExternalId"] = str(call.params["ExternalId"])
    return [Ask("sts:AssumeRole", role_arn, account, trust or _NO_ROLE, policy_required=True, context=context)]


BEHAVIOUR = Behaviour(
    service="sts",
    rules=(
        rule(
            "GetCallerIdentity with the account's root credentials returns the root ARN",
            "GetCallerIdentity",
            after=_root_caller,
        ),
    ),
)
