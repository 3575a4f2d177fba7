"""Authentication and authorization of every call, ahead of every service's own rules.

`BEHAVIOUR` is a `Behaviour("*")` placed right after fault injection (`server.py`):
- a 12-digit access key is the root user of that account (as on LocalStack): moto is told to serve it;
- a request signed with credentials the emulator knows must carry a valid signature (`signatures.py`),
  presigned URLs must not have expired, and temporary credentials must not have expired;
- the call's IAM actions and resources (each service module's `asks`; `<service>:<Operation>` on "*"
  for a service without one) are decided by `access.authorize`, and a denial is answered with the
  service's own AccessDenied error.

The account root user of the resource's account skips the evaluation unless the resource has a policy
that can deny it (a bucket policy, a key policy, a trust policy): the emulator's own key stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import cloudtrail, dynamodb, iam, kms, s3, signatures, sns, sqs, sts
from .access import Ask, Denial, asks_on, authorize
from .model import Behaviour, Call, Context, Reply, error_reply, rule

# What IAM is asked for a call, by service (signing name); other services get `generic_asks`.
ASKS: Mapping[str, Callable[[Call], list[Ask]]] = {
    "kms": kms.asks,
    "s3": s3.asks,
    "cloudtrail": cloudtrail.asks,
    "iam": iam.asks,
    "sts": sts.asks,
    "sqs": sqs.asks,
    "sns": sns.asks,
    "dynamodb": dynamodb.asks,
}

# Services whose resources have policies that can refuse even the account's root user (a Deny, a key policy
# that does not name the account, a trust policy), or can live in another account.
_RESOURCE_POLICIES = frozenset({"kms", "s3", "sqs", "sns", "sts"})

# Each service's AccessDenied error where it is not the protocol's usual one (code, HTTP status).
_DENIED: Mapping[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),  # SNS API Reference, Publish: AuthorizationError, 403
    "ec2": ("UnauthorizedOperation", 403),
    "sqs": ("AccessDenied", 403),
}
_DENIED_BY_PROTOCOL: Mapping[str, tuple[str, int]] = {
    "query": ("AccessDenied", 403),  # IAM, STS
    "json": ("AccessDeniedException", 400),  # KMS, CloudTrail, DynamoDB: the JSON services' common error
    "rest-json": ("AccessDeniedException", 403),
    "rest-xml": ("AccessDenied", 403),
}


def generic_asks(call: Call) -> list[Ask]:
    """`<prefix>:<Operation>` on every resource ("*"): the emulator knows no resource of this service."""
    return asks_on(call.service, call.operation)


def call_context(call: Call) -> dict[str, str | list[str]]:
    """The condition keys every request carries, from the request itself."""
    return {"aws:SourceIp": call.source_ip, "aws:UserAgent": call.user_agent, "aws:RequestedRegion": call.region}


def denied_reply(call: Call, denial: Denial) -> Reply:
    code, status = _DENIED.get(call.service) or _DENIED_BY_PROTOCOL.get(call.protocol, ("AccessDenied", 403))
    # STS names no reason: "User: ... is not authorized to perform: sts:AssumeRole on resource: ..." (STS API
    # Reference, AssumeRole, and the IAM User Guide's "Troubleshoot IAM roles").
    message = denial.message(call.identity.arn, quote_resource=call.service == "s3", reason=call.service != "sts")
    reply = error_reply(call, code, message, status)
    if call.service == "sqs" and call.protocol == "json":
        # SQS's JSON protocol names the query error code in a header, which SDKs prefer (awsQueryCompatible).
        reply = reply.with_header("x-amzn-query-error", f"{code};Sender")
    return reply


def _skips(call: Call) -> bool:
    """Calls no IAM policy decides."""
    who = call.identity
    if who.type == "AWSAccount":
        return True  # unsigned: S3 decides anonymous access itself (`s3.py`); other services refuse it
    # GetCallerIdentity needs no permission, "even if an explicit deny" names it (STS API Reference).
    return call.service == "sts" and call.operation == "GetCallerIdentity"


def _authorize(call: Call, _: Context) -> Reply | None:
    if _skips(call):
        return None
    who = call.identity
    if who.type == "Root" and call.service not in _RESOURCE_POLICIES:
        return None  # the root user of the account: nothing to decide (and nothing to spend)
    context = call_context(call)
    for ask in ASKS.get(call.service, generic_asks)(call):
        denial = authorize(who, ask, context)
        if denial is not None:
            return denied_reply(call, denial)
    return None


def _account_key(call: Call, _: Context) -> Call | None:
    # identity.py made the 12-digit key the root of that account; moto must serve the call from it too.
    if call.identity.type != "Root" or call.header("x-moto-account-id") or not call.identity.access_key_id.isdigit():
        return None
    return call.with_headers(x_moto_account_id=call.identity.account_id)


BEHAVIOUR = Behaviour(
    service="*",
    rules=(
        rule(
            "an access key of 12 digits is the root user of that account",
            before=_account_key,
        ),
        *signatures.RULES,
        rule(
            "a call is allowed only as AWS's policy evaluation logic allows it: explicit deny over allow, "
            "identity-based policies (users, groups, roles, inline and managed), resource-based policies "
            "(bucket, key, queue, topic), permissions boundaries, session policies, trust policies, and "
            "both accounts' policies across accounts; else the service's AccessDenied error",
            before=_authorize,
        ),
    ),
)
