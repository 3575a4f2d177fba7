"""IAM as AWS behaves where moto does not: the policy simulator (`SimulatePrincipalPolicy`).

moto 5.2.5 stores users, groups, roles and their policies but answers `SimulatePrincipalPolicy` with
NotImplementedError (HTTP 500). This module answers it from moto's IAM store, evaluating the
principal's identity-based policies with `policy.py`: a user's inline and attached managed policies
and those of every group it belongs to, a group's or a role's own, plus any `PolicyInputList`.

Within the simulator's documented logic for one account: an explicit Deny wins, then any Allow,
else an implicit deny. As AWS does now, the reply has one `EvaluationResult` per action whose
`EvalDecision` is the most restrictive across the resources asked about, and the per-resource decisions
in `ResourceSpecificResults`. Not modelled: permissions boundaries, resource policies
(`ResourcePolicy`), Organizations SCPs, `MissingContextValues` and statement positions.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .model import Behaviour, Call, Context, Reply, error_reply, rule
from .policy import Decision, Principal, Request, evaluate

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
# The simulator's words for `policy.Decision`, most restrictive first.
_DECISIONS = {Decision.EXPLICIT_DENY: "explicitDeny", Decision.IMPLICIT_DENY: "implicitDeny",
              Decision.ALLOW: "allowed"}
_SOURCE_ARN = re.compile(r"^arn:[a-z-]+:iam::(?P<account>\d{12}):(?P<kind>user|group|role)/(?:.*/)?(?P<name>[^/]+)$")


@dataclass(frozen=True)
class Source:
    """One identity-based policy that applies to the simulated principal."""

    policy_id: str  # `SourcePolicyId`: the policy's name, or PolicyInputList.N
    policy_type: str  # `SourcePolicyType`: user, group, role, user-managed, aws-managed, none
    document: Mapping[str, Any] | None


def _document(text: str | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if text is None or isinstance(text, Mapping):
        return text
    for candidate in (text, unquote(text)):  # moto keeps some documents URL-encoded
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        return parsed if isinstance(parsed, Mapping) else None
    return None


def _managed(policies: Mapping[str, Any]) -> Iterator[Source]:
    for arn, policy in policies.items():
        version = next((v for v in policy.versions if v.version_id == policy.default_version_id), None)
        kind = "aws-managed" if ":iam::aws:policy/" in str(arn) else "user-managed"
        yield Source(str(policy.name), kind, _document(version.document if version is not None else None))


def _inline(policies: Mapping[str, str], kind: str, owner: str) -> Iterator[Source]:
    for name, text in policies.items():
        yield Source(f"{kind}_{owner}_{name}", kind, _document(text))


def _sources(backend: Any, kind: str, name: str) -> list[Source]:
    """Every identity-based policy of the principal; raises KeyError when it does not exist."""
    if kind == "user":
        user = backend.users[name]
        found = [*_inline(user.policies, "user", name), *_managed(user.managed_policies)]
        for group in backend.get_groups_for_user(name):
            found += [*_inline(group.policies, "group", group.name), *_managed(group.managed_policies)]
        return found
    if kind == "group":
        group = backend.groups[name]
        return [*_inline(group.policies, "group", name), *_managed(group.managed_policies)]
    role = next((r for r in backend.get_roles() if r.name == name), None)
    if role is None:
        raise KeyError(name)
    return [*_inline(role.policies, "role", name), *_managed(role.managed_policies)]


def _as_principal(document: Mapping[str, Any] | None, arn: str) -> dict[str, Any]:
    """An identity policy as the resource-policy evaluator reads it: each statement names the principal
    it is attached to (an identity policy applies to exactly that principal)."""
    statements = (document or {}).get("Statement", [])
    statements = [statements] if isinstance(statements, Mapping) else list(statements or [])
    named = []
    for statement in statements:
        if isinstance(statement, Mapping):
            copy = {k: v for k, v in statement.items() if k not in ("Principal", "NotPrincipal")}
            named.append({**copy, "Principal": {"AWS": arn}})
    return {"Statement": named}


def decide(sources: list[Source], arn: str, account: str, request: Request) -> tuple[Decision, list[Source]]:
    """The simulator's decision for one action on one resource, and the policies that made it."""
    who = Principal(arns=frozenset({arn}), account_id=account)
    decisions = [(s, evaluate(_as_principal(s.document, arn), who, request)) for s in sources]
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
    params = call.params
    source_arn = str(params.get("PolicySourceArn", ""))
    match = _SOURCE_ARN.match(source_arn)
    if match is None:
        return error_reply(call, "InvalidInput", f"Invalid ARN: {source_arn}. Give a user, group or role ARN.")
    actions = _members(params, "ActionNames")
    if not actions:
        return error_reply(call, "InvalidInput", "ActionNames must name at least one action.")
    resources = _members(params, "ResourceArns") or ["*"]
    from moto.iam.models import iam_backends

    account, kind, name = match.group("account"), match.group("kind"), match.group("name")
    backend = iam_backends[account]["aws"]
    try:
        sources = _sources(backend, kind, name)
    except KeyError:
        return error_reply(call, "NoSuchEntity", f"The {kind} with name {name} cannot be found.", 404)
    sources += [Source(f"PolicyInputList.{i}", "none", _document(text))
                for i, text in enumerate(_members(params, "PolicyInputList"), start=1)]
    context = _context(params)

    root = ET.Element("SimulatePrincipalPolicyResponse", xmlns=NAMESPACE)
    result = ET.SubElement(root, "SimulatePrincipalPolicyResult")
    evaluations = ET.SubElement(result, "EvaluationResults")
    for action in actions:
        per_resource = [(r, *decide(sources, source_arn, account, Request(action, r, context))) for r in resources]
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


BEHAVIOUR = Behaviour(
    service="iam",
    rules=(
        rule(
            "SimulatePrincipalPolicy evaluates the principal's identity-based policies (its own, its groups', "
            "attached managed ones): explicitDeny over allowed over implicitDeny, per action and resource",
            "SimulatePrincipalPolicy",
            before=_simulate,
        ),
    ),
    # The simulator reads policies and changes nothing; CloudTrail marks its calls read-only.
    read_only=frozenset({"SimulatePrincipalPolicy", "SimulateCustomPolicy"}),
)
