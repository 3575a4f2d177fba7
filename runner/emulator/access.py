"""Who may do what: AWS's policy evaluation logic over the emulator's IAM store.

`authorize` decides one `Ask` (an action on a resource, with the resource's own policy) for one caller,
as the IAM User Guide's "Policy evaluation logic" describes it:

1. An explicit Deny in any policy that applies (identity-based, resource-based, permissions boundary,
   session policy) denies.
2. Within one account, an Allow in the resource-based policy that names the caller (its ARN, its role,
   `"*"`) allows; so does an Allow in an identity-based policy, within the caller's permissions boundary
   and session policy. A resource policy that names only the account delegates to the identity policies.
   KMS key policies and role trust policies are the exception (`Ask.policy_required`): they must allow,
   the caller directly or its account (and then an identity policy must allow too).
3. Across accounts, both sides must allow: the caller's identity policies and the resource's policy
   (naming the caller or the caller's account).

The account root user (the emulator's own key) has every permission in its account: only an explicit
Deny in a resource policy, or a key or trust policy that does not name it, stops it. Not modelled:
Organizations SCPs and RCPs, managed session policies (`PolicyArns`), tags (ABAC), VPC endpoint policies.

`authorization.py` asks this for every call; `kms.py` for the KMS calls S3 makes on a caller's behalf;
`iam.py`'s simulator uses `identity_policies`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from runner import aws_models

from .identity import Identity
from .policy import Decision, Grant, Request, as_list, evaluate_identity, grant, statements


@dataclass(frozen=True)
class Ask:
    """What IAM is asked for one call: an action on a resource, and the resource's own policy."""

    action: str  # "kms:Decrypt"
    resource: str = "*"  # the resource's ARN
    account: str | None = None  # the resource's account; None: the caller's
    policy: str | bytes | Mapping[str, Any] | None = None  # the resource-based policy, if the resource has one
    policy_required: bool = False  # KMS key policies and role trust policies must allow
    context: Mapping[str, str | list[str]] = field(default_factory=dict)  # service condition keys


def asks_on(service: str, operation: str, resource: str | None = None, account: str | None = None,
            policy: str | bytes | Mapping[str, Any] | None = None) -> list[Ask]:
    """What IAM is asked for an operation on one resource ("*" when None): each of its IAM actions
    (`aws_models.iam_actions`), under the resource's policy."""
    actions = aws_models.iam_actions(service, operation)
    if resource is None:
        return [Ask(action) for action in actions]
    return [Ask(action, resource, account, policy) for action in actions]


@dataclass(frozen=True)
class Denial:
    """Why AWS refuses an `Ask`, in the words of its AccessDenied messages."""

    action: str
    resource: str
    reason: str  # "because no identity-based policy allows the s3:GetObject action", ...

    def message(self, caller: str, quote_resource: bool = False, reason: bool = True) -> str:
        """`User: ARN is not authorized to perform: ACTION on resource: ARN because ...` (S3 quotes the ARN;
        STS gives no reason)."""
        where = ""
        if self.resource != "*":
            where = f' on resource: "{self.resource}"' if quote_resource else f" on resource: {self.resource}"
        why = f" {self.reason}" if reason else ""
        return f"User: {caller or 'anonymous'} is not authorized to perform: {self.action}{where}{why}"


@dataclass(frozen=True)
class Source:
    """One identity-based policy that applies to a principal."""

    policy_id: str  # the policy's name (`SourcePolicyId` in the simulator)
    policy_type: str  # user, group, role, user-managed, aws-managed
    document: Mapping[str, Any] | None


# --- the IAM store -------------------------------------------------------------------------------


def iam_store(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def document_of(text: str | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A policy document from moto's store, which keeps some documents URL-encoded."""
    if text is None or isinstance(text, Mapping):
        return text
    for candidate in (text, unquote(text)):
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        return parsed if isinstance(parsed, Mapping) else None
    return None


def managed_document(policy: Any) -> Mapping[str, Any] | None:
    version = next((v for v in policy.versions if v.version_id == policy.default_version_id), None)
    return document_of(version.document if version is not None else None)


def _managed(policies: Mapping[str, Any]) -> Iterator[Source]:
    for arn, policy in list(policies.items()):
        kind = "aws-managed" if ":iam::aws:policy/" in str(arn) else "user-managed"
        yield Source(str(policy.name), kind, managed_document(policy))


def _inline(policies: Mapping[str, str], kind: str, owner: str) -> Iterator[Source]:
    for name, text in list(policies.items()):
        yield Source(f"{kind}_{owner}_{name}", kind, document_of(text))


def find_role(account: str, name: str) -> Any | None:
    return next((r for r in list(iam_store(account).roles.values()) if r.name == name), None)


def identity_policies(account: str, kind: str, name: str) -> list[Source]:
    """Every identity-based policy of a user (its groups' too), group or role; KeyError if it does not exist."""
    backend = iam_store(account)
    if kind == "user":
        user = backend.users[name]
        found = [*_inline(user.policies, "user", name), *_managed(user.managed_policies)]
        for group in backend.get_groups_for_user(name):
            found += [*_inline(group.policies, "group", group.name), *_managed(group.managed_policies)]
        return found
    if kind == "group":
        group = backend.groups[name]
        return [*_inline(group.policies, "group", name), *_managed(group.managed_policies)]
    role = find_role(account, name)
    if role is None:
        raise KeyError(name)
    return [*_inline(role.policies, "role", name), *_managed(role.managed_policies)]


_PRINCIPAL_ARN = re.compile(r"^arn:aws[\w-]*:(iam|sts)::(\d{12}):(.+)$")


def _principal_exists(value: str) -> bool:
    if value == "*" or re.fullmatch(r"\d{12}", value):
        return True
    match = _PRINCIPAL_ARN.match(value)
    if match is None:
        return False
    service, account, rest = match.groups()
    kind, _, path = rest.partition("/")
    name = path.rsplit("/", 1)[-1]
    if service == "iam":
        if rest == "root":
            return True
        if kind == "user":
            return name in iam_store(account).users
        return kind == "role" and find_role(account, name) is not None  # a group is no principal
    if kind == "assumed-role":
        return path.count("/") == 1 and find_role(account, path.split("/")[0]) is not None
    return kind == "federated-user"


def invalid_principals(document: str | Mapping[str, Any]) -> list[str]:
    """The principals of a resource-based or trust policy that IAM would refuse: users and roles that do
    not exist (a policy holds the principal's unique id, so one must exist to be named), malformed names."""
    bad: list[str] = []
    for statement in statements(document):
        for element in ("Principal", "NotPrincipal"):
            spec = statement.get(element)
            if spec is None or spec == "*":
                continue
            if not isinstance(spec, Mapping):
                bad.append(json.dumps(spec))
                continue
            for kind, values in spec.items():
                for value in as_list(values):
                    if kind not in ("AWS", "Service", "Federated", "CanonicalUser") or (
                        kind == "AWS" and not _principal_exists(str(value))
                    ):
                        bad.append(f'"{kind}":"{value}"')
    return bad


def _boundary(account: str, entity: Any) -> Mapping[str, Any] | None:
    arn = getattr(entity, "permissions_boundary_arn", None)  # moto keeps a role's only
    if not arn:
        return None
    policy = iam_store(account).managed_policies.get(str(arn))
    # A boundary that names no policy the account has lets nothing through, as an empty one would.
    return managed_document(policy) if policy is not None else {"Statement": []}


@dataclass(frozen=True)
class _Policies:
    """The policies that limit what an IAM principal may do, besides resource policies."""

    identity: tuple[Source, ...]
    boundary: Mapping[str, Any] | None = None
    session: Mapping[str, Any] | None = None


def _policies_of(who: Identity) -> _Policies:
    account = who.account_id
    try:
        if who.type == "IAMUser":
            user = iam_store(account).users.get(who.user_name)
            if user is None:
                return _Policies(())
            return _Policies(tuple(identity_policies(account, "user", who.user_name)), _boundary(account, user))
        if who.type == "AssumedRole":
            role_name = who.role_arn.rsplit("/", 1)[-1]
            role = find_role(account, role_name)
            if role is None:  # a deleted role's sessions can do nothing
                return _Policies(())
            return _Policies(tuple(identity_policies(account, "role", role_name)), _boundary(account, role),
                             document_of(_session_policy(who)))
    except KeyError:
        return _Policies(())
    return _Policies(())


def _session_policy(who: Identity) -> str | None:
    from moto.sts.models import sts_backends

    session = sts_backends[who.account_id]["aws"].get_assumed_role_from_access_key(who.access_key_id)
    return getattr(session, "policy", None) or None


# --- the evaluation ------------------------------------------------------------------------------


def base_context(who: Identity, now: datetime | None = None) -> dict[str, str | list[str]]:
    """The global condition keys AWS puts in every request by an IAM principal."""
    moment = now or datetime.now(UTC)
    kinds = {"Root": "Account", "IAMUser": "User", "AssumedRole": "AssumedRole"}
    context: dict[str, str | list[str]] = {
        "aws:SecureTransport": "true",  # every AWS endpoint is TLS; the loopback emulator stands in for one
        "aws:CurrentTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(moment.timestamp())),
    }
    if who.type in kinds:
        context.update({
            "aws:PrincipalArn": who.role_arn or who.arn,
            "aws:PrincipalAccount": who.account_id,
            "aws:PrincipalType": kinds[who.type],
            "aws:userid": who.principal_id,
        })
        if who.type == "IAMUser":
            context["aws:username"] = who.user_name
    return context


def _denies(policy: str | bytes | Mapping[str, Any] | None) -> bool:
    return any(s.get("Effect") == "Deny" for s in statements(policy))


def _combine(documents: list[Mapping[str, Any] | None], request: Request) -> Decision:
    decisions = [evaluate_identity(d, request) for d in documents]
    if Decision.EXPLICIT_DENY in decisions:
        return Decision.EXPLICIT_DENY
    return Decision.ALLOW if Decision.ALLOW in decisions else Decision.IMPLICIT_DENY


def authorize(who: Identity, ask: Ask, context: Mapping[str, str | list[str]] | None = None) -> Denial | None:
    """None if AWS would let `who` do `ask`; else why not (see the module docstring)."""
    account = ask.account or who.account_id
    same_account = account == who.account_id
    if who.type == "Root" and same_account and not ask.policy_required and not _denies(ask.policy):
        return None  # the root user in its own account: only a Deny in the resource's policy can stop it
    full = {**base_context(who), **(context or {}), **ask.context}
    request = Request(ask.action, ask.resource, full)
    resource = grant(ask.policy, who.principal, request) if ask.policy is not None else Grant.NONE

    def denied(reason: str) -> Denial:
        return Denial(ask.action, ask.resource, reason)

    if resource is Grant.DENY:
        return denied("with an explicit deny in a resource-based policy")
    no_resource_grant = denied(f"because no resource-based policy allows the {ask.action} action")
    if who.type == "AWSAccount":  # anonymous: only a grant to everyone lets it in
        return None if resource is Grant.CALLER else no_resource_grant
    if who.type == "Root":
        if same_account:
            return no_resource_grant if ask.policy_required and resource is Grant.NONE else None
        return None if resource is not Grant.NONE else no_resource_grant

    policies = _policies_of(who)
    layers = [
        ("identity-based policy", _combine([s.document for s in policies.identity], request)),
        ("permissions boundary", _combine([policies.boundary], request) if policies.boundary is not None else None),
        ("session policy", _combine([policies.session], request) if policies.session is not None else None),
    ]
    for name, decision in layers:
        if decision is Decision.EXPLICIT_DENY:
            article = "an" if name.startswith("identity") else "a"
            return denied(f"with an explicit deny in {article} {name}")
    lacking = next(((n, d) for n, d in layers if d is Decision.IMPLICIT_DENY), None)
    identity_allows = lacking is None

    if same_account and resource is Grant.CALLER:
        return None  # granted to the caller itself: other policy types do not matter
    if (ask.policy_required or not same_account) and resource is Grant.NONE:
        return no_resource_grant
    if identity_allows:
        return None
    assert lacking is not None
    return denied(f"because no {lacking[0]} allows the {ask.action} action")
