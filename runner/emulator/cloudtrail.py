"""CloudTrail as AWS behaves where moto does not: trail names and creation checks, default event
selectors, selector flags, insight selectors that replace, DescribeTrails by name, the delivery status,
`LookupEvents` over the recorder's event history (`trail.py`), and what IAM is asked (`asks`).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from . import s3
from .access import Ask
from .model import Behaviour, Call, Context, Record, Reply, error_reply, rule
from .policy import Decision, Principal, Request, evaluate
from .trail import event_time

CLOUDTRAIL = Principal(service="cloudtrail.amazonaws.com")
LOOKUP_PAGE = 50


def _backends(account_id: str) -> Iterator[Any]:
    from moto.cloudtrail.models import cloudtrail_backends

    yield from list(cloudtrail_backends[account_id].values())


def _trail(account_id: str, name_or_arn: str) -> Any | None:
    for backend in _backends(account_id):
        for trail in backend.trails.values():
            if name_or_arn in (trail.trail_name, trail.arn):
                return trail
    return None


def bucket_policy_problem(bucket_name: str, prefix: str, account_id: str, region: str, trail_name: str) -> bool:
    """True if the bucket exists but its policy does not let CloudTrail deliver this trail's logs."""
    bucket = s3.find_bucket(bucket_name)
    if bucket is None:
        return False  # moto reports the missing bucket itself
    trail_arn = f"arn:aws:cloudtrail:{region}:{account_id}:trail/{trail_name}"
    context = {
        "aws:SourceArn": trail_arn,
        "aws:SourceAccount": account_id,
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    folder = f"{prefix.rstrip('/')}/" if prefix else ""
    sample = f"arn:aws:s3:::{bucket_name}/{folder}AWSLogs/{account_id}/CloudTrail/{region}/log.json.gz"
    needs = [
        Request("s3:GetBucketAcl", f"arn:aws:s3:::{bucket_name}", context),
        Request("s3:PutObject", sample, context),
    ]
    return any(evaluate(bucket.policy, CLOUDTRAIL, need) is not Decision.ALLOW for need in needs)


# --- hooks ---------------------------------------------------------------------------------------


_TRAIL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,126})[A-Za-z0-9]$")
# What AWS's InvalidTrailNameException documents as allowed (CloudTrail API Reference, CreateTrail, Name).
DEFAULT_EVENT_SELECTORS = [
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []}
]


def trail_name_problem(name: str) -> str | None:
    """Why a trail name breaks CloudTrail's naming rules, or None (CloudTrail User Guide, "Naming
    requirements for CloudTrail resources")."""
    if not 3 <= len(name) <= 128:
        return f"Trail name must be between 3 and 128 characters. Specified name length: {len(name)} characters."
    if not _TRAIL_NAME.match(name):
        return ("Trail name must start and end with a letter or number and contain only ASCII letters, numbers, "
                "periods (.), underscores (_) and dashes (-).")
    if re.search(r"[._-]{2}", name):
        return "Trail name cannot have adjacent periods, underscores or dashes."
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return None
    return "Trail name cannot be in IP address format."


def _trail_name(call: Call, _: Context) -> Reply | None:
    problem = trail_name_problem(str(call.params.get("Name", "")))
    return None if problem is None else error_reply(call, "InvalidTrailNameException", problem)


def _create_trail(call: Call, _: Context) -> Reply | None:
    name = str(call.params.get("Name", ""))
    existing = _trail(call.account_id, name)
    if existing is not None and (existing.region_name == call.region or existing.is_multi_region):
        return error_reply(
            call, "TrailAlreadyExistsException", f"Trail {name} already exists for customer: {call.account_id}"
        )
    return _bucket_policy(call, _)


def _known_trail(call: Call, _: Context) -> Reply | None:
    # moto deletes an unknown trail without complaint; AWS answers TrailNotFoundException.
    name = str(call.params.get("Name", ""))
    if _trail(call.account_id, name) is not None:
        return None
    arn = name if name.startswith("arn:") else f"arn:aws:cloudtrail:{call.region}:{call.account_id}:trail/{name}"
    return error_reply(call, "TrailNotFoundException", f"Unknown trail: {arn} for the user: {call.account_id}")


def _bucket_policy(call: Call, _: Context) -> Reply | None:
    bucket = call.params.get("S3BucketName")
    prefix = call.params.get("S3KeyPrefix")
    name = str(call.params.get("Name", ""))
    if call.operation == "UpdateTrail":
        trail = _trail(call.account_id, name)
        if trail is None or (bucket is None and prefix is None):
            return None
        bucket = bucket or trail.bucket_name
        prefix = trail.s3_key_prefix if prefix is None else prefix
        name = trail.trail_name
    if not bucket or not bucket_policy_problem(str(bucket), str(prefix or ""), call.account_id, call.region, name):
        return None
    message = f"Incorrect S3 bucket policy is detected for bucket: {bucket}"
    return error_reply(call, "InsufficientS3BucketPolicyException", message)


def _replace_insight_selectors(call: Call, reply: Reply, _: Context) -> None:
    trail = _trail(call.account_id, str(call.params.get("TrailName", "")))
    if trail is not None:
        trail.insight_selectors = list(call.params.get("InsightSelectors") or [])


def _selector_flags(call: Call, reply: Reply, _: Context) -> Reply | None:
    document = reply.json()
    if not isinstance(document, dict):
        return None
    listed = document.get("trailList") or ([document["Trail"]] if "Trail" in document else [])
    for entry in listed:
        trail = _trail(call.account_id, str(entry.get("TrailARN", "")))
        if trail is not None:
            entry["HasCustomEventSelectors"] = bool(trail.event_selectors or trail.advanced_event_selectors)
            entry["HasInsightSelectors"] = bool(trail.insight_selectors)
    return reply.with_json(document)


def _default_selectors(call: Call, reply: Reply, _: Context) -> Reply | None:
    document = reply.json()
    if not isinstance(document, dict) or document.get("EventSelectors") or document.get("AdvancedEventSelectors"):
        return None
    return reply.with_json({"TrailARN": document.get("TrailARN"), "EventSelectors": DEFAULT_EVENT_SELECTORS})


def _named_trails(call: Call, reply: Reply, _: Context) -> Reply | None:
    names = [str(n) for n in call.params.get("trailNameList") or []]
    document = reply.json()
    if not names or not isinstance(document, dict):
        return None
    # A name finds the trail of that name whose home is this region; an ARN finds its trail wherever it lives.
    kept = [t for t in document.get("trailList") or []
            if t.get("TrailARN") in names or (t.get("Name") in names and t.get("HomeRegion") == call.region)]
    return reply.with_json({**document, "trailList": kept})


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _delivery_status(call: Call, reply: Reply, _: Context) -> Reply | None:
    document = reply.json()
    trail = _trail(call.account_id, str(call.params.get("Name", "")))
    if not isinstance(document, dict) or trail is None:
        return None
    delivered: datetime | None = getattr(trail, "labrunner_delivered", None)
    status = {k: v for k, v in document.items() if k not in ("LatestDeliveryTime", "LatestDigestDeliveryTime")}
    status["LatestDeliveryAttemptTime"] = _iso(delivered) if delivered else ""
    status["LatestDeliveryAttemptSucceeded"] = _iso(delivered) if delivered else ""
    if delivered:
        status["LatestDeliveryTime"] = delivered.timestamp()
    digest: datetime | None = getattr(trail, "labrunner_digest_delivered", None)
    if digest:
        status["LatestDigestDeliveryTime"] = digest.timestamp()
        status["LatestDigestAttemptTime"] = status["LatestDigestAttemptSucceeded"] = _iso(digest)
    return reply.with_json(status)


def asks(call: Call) -> list[Ask]:
    """cloudtrail:<Operation> on the trail the call names (by name or ARN), else on "*"."""
    name = call.params.get("Name") or call.params.get("TrailName")
    action = f"cloudtrail:{call.operation}"
    if not name:
        return [Ask(action)]
    arn = str(name) if str(name).startswith("arn:") else (
        f"arn:aws:cloudtrail:{call.region}:{call.account_id}:trail/{name}")
    return [Ask(action, arn)]


def _username(record: Record) -> str:
    who = record.get("userIdentity") or {}
    if who.get("type") == "Root":
        return "root"
    if who.get("userName"):
        return str(who["userName"])
    arn = str(who.get("arn", ""))
    return arn.rsplit("/", 1)[-1] if "/" in arn else ""


def _attribute_value(record: Record, key: str) -> list[str]:
    resources = record.get("resources") or []
    values: dict[str, list[str]] = {
        "EventId": [str(record.get("eventID"))],
        "EventName": [str(record.get("eventName"))],
        "EventSource": [str(record.get("eventSource"))],
        "ReadOnly": ["true" if record.get("readOnly") else "false"],
        "Username": [_username(record)],
        "AccessKeyId": [str((record.get("userIdentity") or {}).get("accessKeyId", ""))],
        "ResourceType": [str(r.get("type")) for r in resources],
        # A resource can be looked up by its ARN or by its name: the part after the last "/", or after
        # ":::" for S3 (a bucket's name).
        "ResourceName": [n for r in resources for n in _resource_names(str(r.get("ARN")))],
    }
    return values.get(key, [])


def _resource_names(arn: str) -> list[str]:
    names = [arn, arn.rsplit("/", 1)[-1]]
    if arn.startswith("arn:aws:s3:::"):
        names.append(arn.removeprefix("arn:aws:s3:::"))
    return names


def _epoch(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _lookup_events(call: Call, context: Context) -> Reply:
    params = call.params
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        return error_reply(
            call, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."
        )
    start, end = _epoch(params.get("StartTime")), _epoch(params.get("EndTime"))
    if start and end and start > end:
        return error_reply(call, "InvalidTimeRangeException", "Start time must not be after end time.")
    records = [] if params.get("EventCategory") == "insight" else context.recorder.history(call.account_id, call.region)
    for attribute in attributes:
        wanted = str(attribute.get("AttributeValue"))
        records = [r for r in records if wanted in _attribute_value(r, str(attribute.get("AttributeKey")))]
    records = [r for r in records if (start or event_time(r)) <= event_time(r) <= (end or event_time(r))]
    size = max(1, min(int(params.get("MaxResults") or LOOKUP_PAGE), LOOKUP_PAGE))
    token = params.get("NextToken")
    try:
        offset = int(base64.b64decode(str(token)).decode()) if token else 0
    except ValueError:
        return error_reply(call, "InvalidNextTokenException", "Invalid NextToken.")
    page = records[offset : offset + size]
    document: dict[str, Any] = {
        "Events": [
            {
                "EventId": r["eventID"],
                "EventName": r["eventName"],
                "ReadOnly": "true" if r.get("readOnly") else "false",
                "AccessKeyId": (r.get("userIdentity") or {}).get("accessKeyId", ""),
                "EventTime": event_time(r).timestamp(),
                "EventSource": r["eventSource"],
                "Username": _username(r),
                "Resources": [
                    {"ResourceType": x.get("type"), "ResourceName": x.get("ARN")} for x in r.get("resources") or []
                ],
                "CloudTrailEvent": json.dumps(r),
            }
            for r in page
        ]
    }
    if offset + size < len(records):
        document["NextToken"] = base64.b64encode(str(offset + size).encode()).decode()
    body = json.dumps(document).encode()
    headers = (
        ("Content-Type", "application/x-amz-json-1.1"),
        ("x-amzn-RequestId", call.request_id),
        ("Content-Length", str(len(body))),
    )
    return Reply(200, headers, body)


def _accounts(call: Call) -> set[str]:
    """The owner of the bucket a trail delivers to (another account's, maybe), whose policy a create or
    update reads."""
    name = call.params.get("S3BucketName")
    if name is None and call.operation == "UpdateTrail":
        trail = _trail(call.account_id, str(call.params.get("Name", "")))
        name = trail.bucket_name if trail is not None else None
    bucket = s3.find_bucket(str(name)) if name else None
    return {str(bucket.account_id)} if bucket is not None else set()


BEHAVIOUR = Behaviour(
    service="cloudtrail",
    accounts=_accounts,
    rules=(
        rule(
            "a trail name has 3 to 128 ASCII letters, digits, periods, underscores and dashes, starts and ends with a "
            "letter or digit, has no two of them adjacent (my--trail) and is no IP address: "
            "InvalidTrailNameException (CloudTrail User Guide, \"Naming requirements for CloudTrail resources\")",
            "CreateTrail",
            before=_trail_name,
        ),
        rule(
            "CreateTrail refuses a name already in use (TrailAlreadyExistsException) and a bucket whose policy "
            "does not let cloudtrail.amazonaws.com GetBucketAcl and PutObject under AWSLogs/<account>/ "
            "(InsufficientS3BucketPolicyException)",
            "CreateTrail",
            before=_create_trail,
        ),
        rule(
            "UpdateTrail to another bucket or prefix checks that bucket's policy the same way",
            "UpdateTrail",
            before=_bucket_policy,
        ),
        rule(
            "DeleteTrail of a trail that does not exist is TrailNotFoundException",
            "DeleteTrail",
            before=_known_trail,
        ),
        rule(
            "PutInsightSelectors replaces the trail's insight selectors",
            "PutInsightSelectors",
            after=_replace_insight_selectors,
        ),
        rule(
            "DescribeTrails and GetTrail report HasCustomEventSelectors and HasInsightSelectors once set",
            "DescribeTrails",
            "GetTrail",
            after=_selector_flags,
        ),
        rule(
            "a new trail logs all management events: GetEventSelectors answers the default selector "
            "(ReadWriteType All, IncludeManagementEvents true) until others are put",
            "GetEventSelectors",
            after=_default_selectors,
        ),
        rule(
            "DescribeTrails with trailNameList returns only the trails it names (CloudTrail API Reference)",
            "DescribeTrails",
            after=_named_trails,
        ),
        rule(
            "GetTrailStatus reports when log files were last delivered (LatestDeliveryTime, "
            "LatestDeliveryAttemptSucceeded), and nothing before the first delivery",
            "GetTrailStatus",
            after=_delivery_status,
        ),
        rule(
            "LookupEvents returns the management events of the last 90 days in the account and region",
            "LookupEvents",
            before=_lookup_events,
        ),
    ),
)
