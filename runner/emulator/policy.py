"""A small evaluator for resource-based policies: KMS key policies and S3 bucket policies.

moto stores these policies but does not enforce them; the KMS and S3 behaviours (`kms.py`, `s3.py`)
and the CloudTrail bucket-policy check (`cloudtrail.py`) ask this module who a policy lets in.

What it models, following the IAM evaluation logic for a single resource-based policy:
- an explicit Deny wins over any Allow; no matching Allow is an implicit deny;
- `Principal`/`NotPrincipal` match the caller's ARN, the role of an assumed-role session, the
  account (root ARN or bare account id: that *delegates to IAM*, and the emulator does not enforce
  IAM, so it counts as a grant to everyone in that account), `"*"`, or a service principal;
- `Action`/`NotAction` and `Resource`/`NotResource` with `*` and `?` wildcards;
- `Condition` operators on the context keys the caller supplies (String*, Arn*, Bool, Null,
  with `IfExists` and `ForAnyValue:`/`ForAllValues:`). A condition on a key the emulator does not
  know cannot be decided: it is treated as met in an Allow and as not met in a Deny, so an unknown
  condition never locks a lab out. That is the one place where the emulator is more lenient than AWS.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


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
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_matches(spec: Any, who: Principal) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
            if kind == "AWS":
                if value == "*" or value in who.arns:
                    return True
                # Naming an account delegates to that account's IAM policies, which the emulator
                # does not enforce: everyone in the account is let through.
                if who.account_id is not None and value in (
                    who.account_id,
                    f"arn:aws:iam::{who.account_id}:root",
                ):
                    return True
            elif kind == "Service" and who.service is not None and value == who.service:
                return True
    return False


def _values_match(statement: Mapping[str, Any], key: str, value: str, ignore_case: bool) -> bool | None:
    """True/False if the statement has `key` (or its `Not` form); None if it has neither."""
    if key in statement:
        return any(glob_match(p, value, ignore_case) for p in _as_list(statement[key]))
    if f"Not{key}" in statement:
        return not any(glob_match(p, value, ignore_case) for p in _as_list(statement[f"Not{key}"]))
    return None


_OPERATORS: dict[str, tuple[str, bool]] = {
    # operator -> (how to compare, negated)
    "StringEquals": ("eq", False),
    "StringNotEquals": ("eq", True),
    "StringEqualsIgnoreCase": ("ieq", False),
    "StringNotEqualsIgnoreCase": ("ieq", True),
    "StringLike": ("like", False),
    "StringNotLike": ("like", True),
    "ArnEquals": ("eq", False),
    "ArnNotEquals": ("eq", True),
    "ArnLike": ("like", False),
    "ArnNotLike": ("like", True),
    "Bool": ("ieq", False),
}


def _condition_met(conditions: Mapping[str, Any], context: Mapping[str, str | list[str]]) -> bool | None:
    """True/False when decidable; None when it names a key or operator the emulator cannot judge."""
    lowered = {k.lower(): v for k, v in context.items()}
    undecided = False
    for raw_operator, tests in conditions.items():
        operator = raw_operator.split(":", 1)[-1]  # ForAnyValue:/ForAllValues: read as "any"
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        for key, expected_values in dict(tests).items():
            expected = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(expected_values)]
            present = key.lower() in lowered
            if operator == "Null":
                if (expected[0].lower() == "true" and present) or (expected[0].lower() == "false" and not present):
                    return False
                continue
            if operator not in _OPERATORS:
                undecided = True
                continue
            if not present:
                if if_exists:
                    continue
                undecided = True
                continue
            how, negated = _OPERATORS[operator]
            actual = [str(v) for v in _as_list(lowered[key.lower()])]
            if how == "eq":
                hit = any(a == e for a in actual for e in expected)
            elif how == "ieq":
                hit = any(a.lower() == e.lower() for a in actual for e in expected)
            else:
                hit = any(glob_match(e, a) for a in actual for e in expected)
            if hit == negated:
                return False
    return None if undecided else True


def _parse(policy: str | bytes | Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if policy is None:
        return []
    if isinstance(policy, (str, bytes)):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    if not isinstance(policy, Mapping):
        return []
    return [s for s in _as_list(policy.get("Statement")) if isinstance(s, Mapping)]


def evaluate(policy: str | bytes | Mapping[str, Any] | None, who: Principal, request: Request) -> Decision:
    """Decide `request` by `who` under one resource-based policy (see the module docstring)."""
    allowed = False
    for statement in _parse(policy):
        deny = statement.get("Effect") == "Deny"
        if "Principal" in statement:
            if not _principal_matches(statement["Principal"], who):
                continue
        elif "NotPrincipal" in statement:
            if _principal_matches(statement["NotPrincipal"], who):
                continue
        else:
            continue  # a resource-based statement without a principal grants nothing
        if not _values_match(statement, "Action", request.action, ignore_case=True):
            continue
        # Key policies use "Resource": "*"; a statement without Resource applies to this resource.
        if _values_match(statement, "Resource", request.resource, ignore_case=False) is False:
            continue
        met = _condition_met(statement.get("Condition") or {}, request.context)
        if met is None:
            met = not deny  # undecidable: lenient either way (module docstring)
        if not met:
            continue
        if deny:
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
