"""IAM as AWS behaves where moto does not: the policy simulator, trust policies that are valid JSON
naming real principals, AWS managed policies that exist, and what IAM is asked for a call (`asks`).

moto 5.2.5 stores users, groups, roles and their policies but answers `SimulatePrincipalPolicy` with
NotImplementedError (HTTP 500). This module answers it from moto's IAM store, evaluating the
principal's identity-based policies (`access.identity_policies`): a user's inline and attached managed
policies and those of every group it belongs to, a group's or a role's own, plus any `PolicyInputList`;
and `SimulateCustomPolicy`, the `PolicyInputList` alone.

Within the simulator's documented logic for one account: an explicit Deny wins, then any Allow,
else an implicit deny. As AWS does now, the reply has one `EvaluationResult` per action whose
`EvalDecision` is the most restrictive across the resources asked about, and the per-resource decisions
in `ResourceSpecificResults`. Not modelled: permissions boundaries, resource policies
(`ResourcePolicy`), Organizations SCPs, `MissingContextValues` and statement positions.

AWS managed policies (`arn:aws:iam::aws:policy/...`) come from the copy moto ships; loading all of them
into an account costs about 0.15 s, so each is added to an account when a call first names it (and all
of them when the account lists AWS's policies).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from typing import Any

from . import access
from .access import Ask, Source
from .model import Behaviour, Call, Context, Reply, error_reply, rule
from .policy import Decision, Request, evaluate_identity

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
#: IAM is global: whatever region a client names, CloudTrail records IAM's calls in us-east-1, and its
#: event history there is where they are looked up.
GLOBAL_REGION = "us-east-1"
# The simulator's words for `policy.Decision`, most restrictive first.
_DECISIONS = {Decision.EXPLICIT_DENY: "explicitDeny", Decision.IMPLICIT_DENY: "implicitDeny",
              Decision.ALLOW: "allowed"}
_SOURCE_ARN = re.compile(r"^arn:[a-z-]+:iam::(?P<account>\d{12}):(?P<kind>user|group|role)/(?:.*/)?(?P<name>[^/]+)$")


def decide(sources: list[Source], request: Request) -> tuple[Decision, list[Source]]:
    """The simulator's decision for one action on one resource, and the policies that made it."""
    decisions = [(s, evaluate_identity(s.document, request)) for s in sources]
    for outcome in (Decision.EXPLICIT_DENY, Decision.ALLOW):
        matched = [s for s, d in decisions if d is outcome]
        if matched:
            return outcome, matched
    return Decision.IMPLICIT_DENY, []


def _members(params: Mapping[str, Any], name: str) -> list[str]:
    """A query-protocol list (`Name.member.1`, `Name.member.2`, ...) in order."""
    found = []
    for key, value in params.items():
        match = re.fullmatch(rf"{re.escape(name)}\.member\.(\d+)", key)
        if match:
            found.append((int(match.group(1)), str(value)))
    return [value for _, value in sorted(found)]


def _context(params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    context: dict[str, str | list[str]] = {}
    index = 1
    while f"ContextEntries.member.{index}.ContextKeyName" in params:
        prefix = f"ContextEntries.member.{index}"
        values = _members(params, f"{prefix}.ContextKeyValues")
        key = str(params[f"{prefix}.ContextKeyName"])
        context[key] = values if str(params.get(f"{prefix}.ContextKeyType", "")).endswith("List") else values[0]
        index += 1
    return context


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = value


def _statements(parent: ET.Element, matched: list[Source]) -> None:
    element = ET.SubElement(parent, "MatchedStatements")
    for source in matched:
        member = ET.SubElement(element, "member")
        _text(member, "SourcePolicyId", source.policy_id)
        _text(member, "SourcePolicyType", source.policy_type)


def _simulate(call: Call, _: Context) -> Reply:
    """SimulatePrincipalPolicy: the principal's own policies, plus any PolicyInputList."""
    params = call.params
    source_arn = str(params.get("PolicySourceArn", ""))
    match = _SOURCE_ARN.match(source_arn)
    if match is None:
        return error_reply(call, "InvalidInput", f"Invalid ARN: {source_arn}. Give a user, group or role ARN.")
    account, kind, name = match.group("account"), match.group("kind"), match.group("name")
    try:
        sources = access.identity_policies(account, kind, name)
    except KeyError:
        return error_reply(call, "NoSuchEntity", f"The {kind} with name {name} cannot be found.", 404)
    return _evaluations(call, [*sources, *_input_policies(params)])


def _simulate_custom(call: Call, _: Context) -> Reply:
    """SimulateCustomPolicy: only the policies given (PolicyInputList), as if one principal held them all."""
    sources = _input_policies(call.params)
    if not sources:
        return error_reply(call, "InvalidInput", "PolicyInputList must hold at least one policy.")
    return _evaluations(call, sources)


def _input_policies(params: Mapping[str, Any]) -> list[Source]:
    return [Source(f"PolicyInputList.{i}", "none", access.document_of(text))
            for i, text in enumerate(_members(params, "PolicyInputList"), start=1)]


def _evaluations(call: Call, sources: list[Source]) -> Reply:
    """The simulator's answer (SimulatePrincipalPolicy's or SimulateCustomPolicy's) for these policies."""
    params = call.params
    actions = _members(params, "ActionNames")
    if not actions:
        return error_reply(call, "InvalidInput", "ActionNames must name at least one action.")
    resources = _members(params, "ResourceArns") or ["*"]
    context = _context(params)

    root = ET.Element(f"{call.operation}Response", xmlns=NAMESPACE)
    result = ET.SubElement(root, f"{call.operation}Result")
    evaluations = ET.SubElement(result, "EvaluationResults")
    for action in actions:
        per_resource = [(r, *decide(sources, Request(action, r, context))) for r in resources]
        # The top-level decision is the most restrictive one across the resources.
        worst = min(per_resource, key=lambda item: list(_DECISIONS).index(item[1]))
        member = ET.SubElement(evaluations, "member")
        _text(member, "EvalActionName", action)
        _text(member, "EvalResourceName", resources[0] if len(resources) == 1 else "*")
        _text(member, "EvalDecision", _DECISIONS[worst[1]])
        _statements(member, worst[2])
        ET.SubElement(member, "MissingContextValues")
        if resources != ["*"]:
            specific = ET.SubElement(member, "ResourceSpecificResults")
            for resource, decision, matched in per_resource:
                entry = ET.SubElement(specific, "member")
                _text(entry, "EvalResourceName", resource)
                _text(entry, "EvalResourceDecision", _DECISIONS[decision])
                _statements(entry, matched)
                ET.SubElement(entry, "MissingContextValues")
    _text(result, "IsTruncated", "false")
    metadata = ET.SubElement(root, "ResponseMetadata")
    _text(metadata, "RequestId", call.request_id)
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
    headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", call.request_id), ("Content-Length", str(len(body))))
    return Reply(200, headers, body)


# --- trust policies --------------------------------------------------------------------------------


def _trust_policy(call: Call, _: Context) -> Reply | None:
    text = str(call.params.get("AssumeRolePolicyDocument") or call.params.get("PolicyDocument") or "")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, Mapping):
        return error_reply(call, "MalformedPolicyDocument", "This policy contains invalid Json")
    statements = document.get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, Mapping) or not ({"Principal", "NotPrincipal"} & set(statement)):
            return error_reply(call, "MalformedPolicyDocument", "Missing required field Principal")
    invalid = access.invalid_principals(document)
    if invalid:
        return error_reply(call, "MalformedPolicyDocument", f"Invalid principal in policy: {invalid[0]}")
    return None


# --- AWS managed policies --------------------------------------------------------------------------

_AWS_POLICY = re.compile(r"arn:aws:iam::aws:policy(/.*)?/([^/]+)$")


@cache
def _aws_policy_data() -> Mapping[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def _add_aws_policy(account: str, name: str) -> None:
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[account]["aws"]
    data = _aws_policy_data().get(name)
    if data is None:
        return
    policy = AWSManagedPolicy.from_data(name, account, backend.region_name, data)
    if policy.arn not in backend.managed_policies:
        backend.managed_policies[policy.arn] = policy
        backend.aws_managed_policies.append(policy)


def _aws_managed_policies(call: Call, _: Context) -> None:
    arn = str(call.params.get("PolicyArn") or call.params.get("PermissionsBoundary") or "")
    match = _AWS_POLICY.match(arn)
    if match is not None:
        _add_aws_policy(call.account_id, match.group(2))
    elif call.operation in ("ListPolicies", "GetAccountAuthorizationDetails") and call.params.get("Scope") != "Local":
        for name in _aws_policy_data():
            _add_aws_policy(call.account_id, name)
    return None


# --- what IAM is asked ---------------------------------------------------------------------------

# The request parameter that names an operation's resource, and the ARN it makes.
_RESOURCE_PARAMETERS = (("UserName", "user"), ("RoleName", "role"), ("GroupName", "group"),
                        ("InstanceProfileName", "instance-profile"))


def _entity_arn(account: str, kind: str, name: str, path: str | None) -> str:
    return f"arn:aws:iam::{account}:{kind}{path or '/'}{name}"


def asks(call: Call) -> list[Ask]:
    """iam:<Operation> on the user, role, group, instance profile or policy the call names (AWS's Service
    Authorization Reference for IAM), else on "*"; a user asking about itself names itself."""
    params, account = call.params, call.account_id
    action = f"iam:{call.operation}"
    for parameter, kind in _RESOURCE_PARAMETERS:
        if parameter in params:
            name = str(params[parameter])
            entity = access.find_role(account, name) if kind == "role" else None
            if kind in ("user", "group"):
                entity = getattr(access.iam_store(account), f"{kind}s").get(name)
            path = getattr(entity, "path", None) or params.get("Path")
            return [Ask(action, _entity_arn(account, kind, name, path))]
    if "PolicyArn" in params:
        return [Ask(action, str(params["PolicyArn"]))]
    if call.operation == "CreatePolicy":
        return [Ask(action, _entity_arn(account, "policy", str(params.get("PolicyName", "")), params.get("Path")))]
    if call.identity.type == "IAMUser" and call.operation in _SELF_OPERATIONS:
        return [Ask(action, call.identity.arn)]
    return [Ask(action)]


# Operations that act on the calling user when no UserName is given.
_SELF_OPERATIONS = frozenset({
    "GetUser", "ListAccessKeys", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "ChangePassword",
    "ListMFADevices", "ListSigningCertificates", "ListSSHPublicKeys", "ListServiceSpecificCredentials",
})


BEHAVIOUR = Behaviour(
    service="iam",
    rules=(
        rule(
            "a trust policy must be valid JSON (MalformedPolicyDocument 'This policy contains invalid Json') whose "
            "statements name a principal ('Missing required field Principal') that exists ('Invalid principal in "
            "policy'); IAM API Reference, CreateRole and UpdateAssumeRolePolicy",
            "CreateRole",
            "UpdateAssumeRolePolicy",
            before=_trust_policy,
        ),
        rule(
            "AWS managed policies (ReadOnlyAccess, AdministratorAccess, SecurityAudit, ...) exist in every "
            "account, to read and to attach",
            before=_aws_managed_policies,
        ),
        rule(
            "SimulatePrincipalPolicy evaluates the principal's identity-based policies (its own, its groups', "
            "attached managed ones): explicitDeny over allowed over implicitDeny, per action and resource",
            "SimulatePrincipalPolicy",
            before=_simulate,
        ),
        rule(
            "SimulateCustomPolicy evaluates the policies it is given (PolicyInputList) the same way",
            "SimulateCustomPolicy",
            before=_simulate_custom,
        ),
    ),
    # The simulator reads policies and changes nothing; CloudTrail marks its calls read-only.
    read_only=frozenset({"SimulatePrincipalPolicy", "SimulateCustomPolicy"}),
    refine=lambda call: replace(call, region=GLOBAL_REGION),
)
