"""The IAM policy language: which statements of one policy apply to a request, and what they say.

`access.py` combines the answers for the policies of one request (identity-based, resource-based,
permissions boundaries, session policies) as AWS's policy evaluation logic does; `cloudtrail.py` asks
about CloudTrail's service principal, `s3.py` about anonymous callers, `iam.py`'s simulator about one
principal's identity-based policies. This module knows policies, not the emulator's stores.

What it models (IAM User Guide, "IAM JSON policy element reference" and "Policy evaluation logic"):
- an explicit Deny wins over any Allow; no matching Allow is an implicit deny;
- `Principal`/`NotPrincipal` match the caller's ARN, the role of an assumed-role session, the caller's
  account (root ARN or bare account id: a grant to the account *delegates* to its IAM policies, which
  `grant` reports apart from a grant to the caller itself), `"*"`, or a service principal;
- `Action`/`NotAction` (case-insensitive) and `Resource`/`NotResource` with `*` and `?` wildcards and
  the policy variables `${aws:username}`, `${aws:userid}`, `${aws:PrincipalAccount}`, ...;
- `Condition`: the String, Arn, Bool, Null, Numeric, Date and IpAddress operators, with `IfExists` and
  `ForAnyValue:`/`ForAllValues:`. A key the emulator supplies (`KNOWN_KEYS`) that is absent from the
  request is absent, as on AWS. A condition on any other key cannot be decided: it is treated as met in
  an Allow and as not met in a Deny, so such a condition never locks a lab out. That is the one place
  where the emulator is more lenient than AWS.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

Context = Mapping[str, str | list[str]]


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


class Grant(enum.Enum):
    """What a resource-based policy says to one caller."""

    DENY = "explicit-deny"
    CALLER = "caller"  # an Allow names the caller itself (its ARN, its role, a service, or everyone)
    ACCOUNT = "account"  # an Allow names only the caller's account: its IAM policies decide
    NONE = "none"


@dataclass(frozen=True)
class Principal:
    """Who is asking, in the forms a policy can name them."""

    arns: frozenset[str] = frozenset()  # the caller's ARN, plus its role ARN for a role session
    account_id: str | None = None  # None for an anonymous caller
    service: str | None = None  # e.g. "cloudtrail.amazonaws.com" when a service is the caller


ANONYMOUS = Principal()


@dataclass(frozen=True)
class Request:
    """What is asked: one action on one resource, with the condition context AWS would supply."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)


# Condition keys the emulator puts in a request's context whenever AWS would (`access.py`, the
# service modules): when one of them is missing, it is missing on AWS too.
KNOWN_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType", "aws:userid", "aws:username",
        "aws:SecureTransport", "aws:CurrentTime", "aws:EpochTime", "aws:SourceIp", "aws:UserAgent",
        "aws:RequestedRegion", "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner", "aws:ViaAWSService",
        "kms:CallerAccount", "kms:ViaService", "kms:EncryptionContextKeys", "kms:GrantIsForAWSResource",
        "s3:x-amz-acl", "sts:ExternalId", "sts:RoleSessionName",
    )
)
_KNOWN_PREFIXES = ("kms:encryptioncontext:",)


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> tuple[Mapping[str, Any], ...]:
    try:
        document = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(document, Mapping):
        return ()
    return tuple(s for s in as_list(document.get("Statement")) if isinstance(s, Mapping))


def statements(policy: str | bytes | Mapping[str, Any] | None) -> tuple[Mapping[str, Any], ...]:
    """The statements of a policy given as JSON text or as a document (parsed text is cached)."""
    if policy is None:
        return ()
    if isinstance(policy, bytes):
        policy = policy.decode("utf-8", "replace")
    if isinstance(policy, str):
        return _parse_text(policy)
    return tuple(s for s in as_list(policy.get("Statement")) if isinstance(s, Mapping))


# --- principals ----------------------------------------------------------------------------------


def _principal_match(spec: Any, who: Principal) -> Grant:
    """How a Principal element names `who`: CALLER, ACCOUNT or NONE."""
    if spec == "*":
        return Grant.CALLER
    if not isinstance(spec, Mapping):
        return Grant.NONE
    found = Grant.NONE
    for kind, values in spec.items():
        for value in as_list(values):
            if kind == "AWS":
                if value == "*" or value in who.arns:
                    return Grant.CALLER
                if who.account_id is not None and value in (who.account_id, f"arn:aws:iam::{who.account_id}:root"):
                    found = Grant.ACCOUNT
            elif kind == "Service" and who.service is not None and value == who.service:
                return Grant.CALLER
    return found


# --- conditions ----------------------------------------------------------------------------------


def _known(key: str) -> bool:
    return key in KNOWN_KEYS or key.startswith(_KNOWN_PREFIXES)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    """A date condition value as epoch seconds: ISO 8601 or epoch time, as IAM takes either."""
    if text.replace(".", "", 1).isdigit():
        return float(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _in_network(address: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _compare(how: str, actual: str, expected: str) -> bool:
    if how == "eq":
        return actual == expected
    if how == "ieq":
        return actual.lower() == expected.lower()
    if how == "like":
        return glob_match(expected, actual)
    if how == "ip":
        return _in_network(actual, expected)
    convert = _number if how.startswith("num") else _date
    left, right = convert(actual), convert(expected)
    if left is None or right is None:
        return False
    return {"lt": left < right, "le": left <= right, "gt": left > right, "ge": left >= right, "eq": left == right}[
        how.split("-")[1]
    ]


# operator -> (how to compare, negated)
_OPERATORS: dict[str, tuple[str, bool]] = {
    "StringEquals": ("eq", False), "StringNotEquals": ("eq", True),
    "StringEqualsIgnoreCase": ("ieq", False), "StringNotEqualsIgnoreCase": ("ieq", True),
    "StringLike": ("like", False), "StringNotLike": ("like", True),
    "ArnEquals": ("like", False), "ArnNotEquals": ("like", True),  # ARN operators take wildcards
    "ArnLike": ("like", False), "ArnNotLike": ("like", True),
    "Bool": ("ieq", False),
    "BinaryEquals": ("eq", False),
    "IpAddress": ("ip", False), "NotIpAddress": ("ip", True),
    "NumericEquals": ("num-eq", False), "NumericNotEquals": ("num-eq", True),
    "NumericLessThan": ("num-lt", False), "NumericLessThanEquals": ("num-le", False),
    "NumericGreaterThan": ("num-gt", False), "NumericGreaterThanEquals": ("num-ge", False),
    "DateEquals": ("date-eq", False), "DateNotEquals": ("date-eq", True),
    "DateLessThan": ("date-lt", False), "DateLessThanEquals": ("date-le", False),
    "DateGreaterThan": ("date-gt", False), "DateGreaterThanEquals": ("date-ge", False),
}


def _test(operator: str, key: str, expected: list[str], context: Mapping[str, Any]) -> bool | None:
    """One condition test: True/False, or None when the emulator cannot decide it."""
    qualifier, _, name = operator.rpartition(":")  # ForAnyValue: / ForAllValues:
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    lowered = key.lower()
    present = lowered in context
    if name == "Null":
        return (expected[0].lower() == "true") != present
    if name not in _OPERATORS:
        return None
    how, negated = _OPERATORS[name]
    if not present:
        if not _known(lowered):
            return None
        if if_exists or qualifier == "ForAllValues":
            return True
        return negated and qualifier != "ForAnyValue"
    actual = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(context[lowered])]
    if qualifier == "ForAllValues":
        hits = [any(_compare(how, a, e) for e in expected) for a in actual]
        return all(not h for h in hits) if negated else all(hits)
    hit = any(_compare(how, a, e) for a in actual for e in expected)
    return not hit if negated else hit


def _substitute(value: str, context: Mapping[str, Any]) -> str:
    """Policy variables (`${aws:username}`): replaced by the context's value, as IAM does."""
    if "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        key, _, default = inner.partition(", ")
        if key in ("*", "?", "$"):
            return key
        found = context.get(key.lower())
        if found is None:
            return default.strip("'") if default else match.group(0)
        return str(as_list(found)[0])

    return re.sub(r"\$\{([^}]*)\}", replace, value)


def _conditions_met(conditions: Mapping[str, Any], context: Mapping[str, Any]) -> bool | None:
    """True/False when decidable; None when the block names a key or operator the emulator cannot judge."""
    undecided = False
    for operator, tests in conditions.items():
        if not isinstance(tests, Mapping):
            return False
        for key, raw in tests.items():
            expected = [_substitute(str(v).lower() if isinstance(v, bool) else str(v), context) for v in as_list(raw)]
            outcome = _test(str(operator), str(key), expected, context)
            if outcome is None:
                undecided = True
            elif not outcome:
                return False
    return None if undecided else True


# --- statements ----------------------------------------------------------------------------------


def _matches(statement: Mapping[str, Any], element: str, value: str, context: Mapping[str, Any],
             ignore_case: bool) -> bool | None:
    """True/False if the statement has `element` (or its `Not` form); None if it has neither."""
    for name, negated in ((element, False), (f"Not{element}", True)):
        if name in statement:
            hit = any(glob_match(_substitute(str(p), context), value, ignore_case) for p in as_list(statement[name]))
            return hit != negated
    return None


def _applies(statement: Mapping[str, Any], request: Request, context: Mapping[str, Any]) -> bool:
    """Whether a statement's action, resource and condition cover the request (principal aside)."""
    if not _matches(statement, "Action", request.action, context, ignore_case=True):
        return False
    # Key policies and trust policies may leave Resource out: the statement is about this resource.
    if _matches(statement, "Resource", request.resource, context, ignore_case=False) is False:
        return False
    met = _conditions_met(statement.get("Condition") or {}, context)
    if met is None:
        return statement.get("Effect") != "Deny"  # undecidable: lenient either way (module docstring)
    return met


def _lowered(context: Context) -> dict[str, Any]:
    return {k.lower(): v for k, v in context.items()}


def grant(policy: str | bytes | Mapping[str, Any] | None, who: Principal, request: Request) -> Grant:
    """What one resource-based policy says to `who` about `request` (see `Grant`)."""
    context = _lowered(request.context)
    found = Grant.NONE
    for statement in statements(policy):
        if "Principal" in statement:
            named = _principal_match(statement["Principal"], who)
        elif "NotPrincipal" in statement:
            named = Grant.CALLER if _principal_match(statement["NotPrincipal"], who) is Grant.NONE else Grant.NONE
        else:
            continue  # a resource-based statement without a principal grants nothing
        if named is Grant.NONE or not _applies(statement, request, context):
            continue
        if statement.get("Effect") == "Deny":
            return Grant.DENY
        if named is Grant.CALLER or found is Grant.NONE:
            found = named
    return found


def evaluate(policy: str | bytes | Mapping[str, Any] | None, who: Principal, request: Request) -> Decision:
    """Decide `request` by `who` under one resource-based policy, counting a grant to the caller's
    account as a grant (for callers that are not IAM principals: services, anonymous callers)."""
    outcome = grant(policy, who, request)
    if outcome is Grant.DENY:
        return Decision.EXPLICIT_DENY
    return Decision.IMPLICIT_DENY if outcome is Grant.NONE else Decision.ALLOW


def evaluate_identity(policy: str | bytes | Mapping[str, Any] | None, request: Request) -> Decision:
    """Decide `request` under one identity-based policy (a policy attached to the caller: no Principal)."""
    context = _lowered(request.context)
    allowed = False
    for statement in statements(policy):
        if not _applies(statement, request, context):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.EXPLICIT_DENY
        allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
