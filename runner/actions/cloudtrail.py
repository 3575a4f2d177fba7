"""CloudTrail as evidence: delivered log files (`cloudtrail.find_events`), which anyone the trail's bucket
lets write can forge, and the event history (`cloudtrail.lookup_events`), which nobody in the account
can write; `find_events` confirms what it reads from a bucket against the event history when asked.
`history` is the event-history reader other actions share (`kms.key_user_history`)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.actions.declare import ActionContext, action
from runner.actions.failures import ActionFailed, aws_errors
from runner.durations import parse_moment

#: `<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`: the time is when the file was
#: written, so a file named before `since` holds no record at or after it.
_LOG_NAME = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4})Z_[A-Za-z0-9]+\.json(\.gz)?$")
#: Folders are named by delivery date; a record can land in the next day's folder shortly after midnight.
_DELIVERY_SLACK = timedelta(minutes=30)
_CACHE_KEY = "cloudtrail.find_events"

_STRINGS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


@action(
    "cloudtrail.find_events",
    read_only=True,
    # kms:Decrypt: a log file is SSE-KMS when the trail or the bucket's default encryption says so.
    permissions=("s3:ListBucket", "s3:GetObject", "kms:Decrypt", "cloudtrail:LookupEvents"),
    params={
        "type": "object",
        "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string", "description": "The trail's log bucket."},
            "prefix": {"type": "string", "description": "The trail's S3 key prefix, if it has one."},
            "account": {"type": "string", "description": "Account folder to read; default the caller's."},
            "region": {"type": "string", "description": "Region folder to read; default the target's."},
            "event_name": {**_STRINGS, "description": "Keep records with one of these eventName values."},
            "event_source": {**_STRINGS, "description": "Keep records from these eventSource values."},
            "resource_arn": {**_STRINGS, "description": "Keep records naming one of these resources[].ARN."},
            "contains": {**_STRINGS, "description": "Keep records whose JSON contains every one of these."},
            "since": {
                "type": "string",
                "description": "ISO 8601 time or a duration ago; default the run's start.",
            },
            "confirm": {
                "enum": ["history"],
                "description": "history: keep only records that CloudTrail's event history also holds (same "
                               "eventID, passing the same filters), so that a log file forged into the bucket "
                               "proves nothing. Management events only: data events are not in event history.",
            },
        },
    },
)
def find_events(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Find records in the CloudTrail log files delivered to a bucket since the run began.

    Lists only the date folders since `since`, skips digest files, never downloads a log file twice in
    one run, and de-duplicates records by `eventID`. The result is `{Events: [...], count, files}`.
    Retry it while logs arrive: delivery takes minutes on AWS.

    A log file is only as trustworthy as the bucket it sits in: whoever may write there can put a
    made-up one. With `confirm: history` a record counts only if the event history (LookupEvents, which
    no one can write) holds the same `eventID` and that record passes the same filters; `Events` are
    then the event history's copies and `unconfirmed` counts the records left out.

    Example::

        action: cloudtrail.find_events
        params:
          bucket: mycloudtrailbucket12345
          event_source: kms.amazonaws.com
          contains: [Eiffel.jpg]
          confirm: history
        expect:
          - path: count
            greater_than: 0
        retry:
          timeout: 15m
          interval: 20s
    """
    bucket = params["bucket"]
    since = window_start(params.get("since"), ctx.run_started)
    now = datetime.now(UTC)
    region = params.get("region") or ctx.region
    account = params.get("account") or _caller_account(ctx)
    prefix = (params.get("prefix") or "").strip("/")
    base = f"{prefix}/AWSLogs/{account}/CloudTrail/{region}/" if prefix else f"AWSLogs/{account}/CloudTrail/{region}/"
    files: dict[tuple[str, str], list[dict[str, Any]]] = ctx.cache.setdefault(_CACHE_KEY, {})
    client = ctx.client("s3")
    wanted = _Filter(params, since)
    found: dict[str, dict[str, Any]] = {}
    read = downloaded = 0
    with aws_errors():
        for key in _log_keys(client, bucket, base, since, now):
            read += 1
            if (bucket, key) not in files:
                files[(bucket, key)] = _records(client.get_object(Bucket=bucket, Key=key)["Body"].read(), key)
                downloaded += 1
            for record in files[(bucket, key)]:
                event_id = str(record.get("eventID") or id(record))
                if event_id not in found and wanted(record):
                    found[event_id] = record
    result: dict[str, Any] = {"files": read, "downloaded": downloaded, "since": since.isoformat()}
    if params.get("confirm") == "history":
        confirmed = _confirmed(ctx, list(found.values()), wanted, since)
        result["unconfirmed"] = len(found) - len(confirmed)
        found = confirmed
    events = sorted(found.values(), key=lambda r: str(r.get("eventTime", "")))
    return {"Events": events, "count": len(events), **result}


def _confirmed(ctx: ActionContext, records: list[dict[str, Any]], wanted: _Filter,
               since: datetime) -> dict[str, dict[str, Any]]:
    """The event history's copy of each record it holds under the same eventID that passes the filters."""
    by_lookup: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        region = str(record.get("awsRegion") or ctx.region)
        by_lookup.setdefault((region, str(record.get("eventName"))), []).append(record)
    kept: dict[str, dict[str, Any]] = {}
    # One lookup per region and event name, cached for the run (LookupEvents answers 2 calls a second);
    # a bucket full of made-up event names gets no more lookups than _MAX_CONFIRM_LOOKUPS.
    for region, name in sorted(by_lookup)[:_MAX_CONFIRM_LOOKUPS]:
        known = {str(h.get("eventID")): h for h in history(ctx, region, ("EventName", name), since)}
        for record in by_lookup[(region, name)]:
            genuine = known.get(str(record.get("eventID")))
            if genuine is not None and wanted(genuine) and not genuine.get("errorCode"):
                kept[str(genuine["eventID"])] = genuine
    return kept


_MAX_CONFIRM_LOOKUPS = 10


def window_start(value: Any, run_started: datetime) -> datetime:
    """The start of the window: an ISO 8601 time, a duration ago, or the run's start."""
    if value in (None, ""):
        # eventTime has whole seconds: a call in the run's first second must still count.
        return run_started.replace(microsecond=0)
    try:
        return parse_moment(value, datetime.now(UTC))
    except ValueError as exc:
        raise ActionFailed("InvalidParameter", f"since: {exc}") from None


def _caller_account(ctx: ActionContext) -> str:
    with aws_errors():
        return ctx.caller().account


def _log_keys(client: Any, bucket: str, base: str, since: datetime, now: datetime) -> Iterator[str]:
    """Log files in the date folders from `since` to now; digests and files named before `since` skipped."""
    day = since.astimezone(UTC).date()
    last = (now + _DELIVERY_SLACK).date()
    paginator = client.get_paginator("list_objects_v2")
    while day <= last:
        folder = f"{base}{day:%Y/%m/%d}/"
        for page in paginator.paginate(Bucket=bucket, Prefix=folder):
            for item in page.get("Contents", []):
                key = item["Key"]
                match = _LOG_NAME.search(key)
                if "CloudTrail-Digest" in key or match is None:
                    continue
                written = datetime.strptime(match.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC)
                if written + timedelta(minutes=1) < since:
                    continue
                yield key
        day += timedelta(days=1)


def _records(data: bytes, key: str) -> list[dict[str, Any]]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        document = json.loads(data)
    except ValueError:
        raise ActionFailed("InvalidLogFile", f"{key} is not a CloudTrail log file (not JSON)") from None
    records = document.get("Records") if isinstance(document, dict) else None
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def _strings(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, str) else value)


class _Filter:
    """Whether a record matches every filter the step gives (each list filter: any of its values)."""

    def __init__(self, params: dict[str, Any], since: datetime) -> None:
        self.names = _strings(params.get("event_name"))
        self.sources = _strings(params.get("event_source"))
        self.arns = _strings(params.get("resource_arn"))
        self.contains = sorted(_strings(params.get("contains")))
        self.since = since

    def __call__(self, record: dict[str, Any]) -> bool:
        if self.names and record.get("eventName") not in self.names:
            return False
        if self.sources and record.get("eventSource") not in self.sources:
            return False
        if self.arns and not any(isinstance(r, dict) and r.get("ARN") in self.arns
                                 for r in record.get("resources") or []):
            return False
        if self.contains:
            text = json.dumps(record, ensure_ascii=False)
            if not all(s in text for s in self.contains):
                return False
        return _event_time(record) >= self.since


def _event_time(record: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(record.get("eventTime")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# Event history (LookupEvents): proof of what a student did, even after they deleted it

_LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
                "AccessKeyId")
#: LookupEvents answers 50 events a page at 2 requests a second: stop paging somewhere sane.
_MAX_LOOKUP_PAGES = 100


@action(
    "cloudtrail.lookup_events",
    read_only=True,
    permissions=("cloudtrail:LookupEvents",),
    params={
        "type": "object",
        "properties": {
            "lookup": {
                "type": "object",
                "description": "The one LookupAttributes filter the API allows, e.g. {EventName: CreateKey}; "
                               "default: event_name (or event_source) when it is a single value.",
                "properties": {key: {"type": "string"} for key in _LOOKUP_KEYS},
                "minProperties": 1,
                "maxProperties": 1,
            },
            "event_name": {**_STRINGS, "description": "Keep events with one of these eventName values."},
            "event_source": {**_STRINGS, "description": "Keep events from these eventSource values."},
            "resource_arn": {**_STRINGS, "description": "Keep events naming one of these resources[].ARN."},
            "contains": {**_STRINGS, "description": "Keep events whose JSON contains every one of these."},
            "since": {"type": "string",
                      "description": "ISO 8601 time or a duration ago; default run.since (the grading window)."},
            "until": {"type": "string", "description": "ISO 8601 time or a duration ago; default now."},
            "include_errors": {"type": "boolean",
                               "description": "Keep calls that failed (errorCode); default false: no proof."},
            "region": {"type": "string", "description": "Region whose event history to read; default the target's."},
        },
    },
)
def lookup_events(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Find management events in the CloudTrail event history (LookupEvents) since the lab began.

    Event history keeps 90 days of management events in each region with no trail needed, so it proves
    what a student did even after they deleted the resources. Pages LookupEvents with at most one lookup
    attribute (the API's limit) over the window, parses each event's `CloudTrailEvent` record, then keeps
    the records that pass every filter (as `cloudtrail.find_events` does). Calls that failed are left
    out unless `include_errors`. The result is `{Events: [records, oldest first], count, since, truncated}`.

    Example::

        action: cloudtrail.lookup_events
        params:
          event_name: CreateAlias
          contains: [alias/myFirstKey]
        expect:
          - path: count
            greater_than: 0
    """
    since = window_start(params.get("since"), ctx.run_started)
    until = window_start(params["until"], ctx.run_started) if params.get("until") else None
    region = params.get("region") or ctx.region
    records, truncated = _history(ctx.client("cloudtrail", region), _lookup_attribute(params), since, until)
    wanted = _Filter(params, since)
    keep_errors = bool(params.get("include_errors", False))
    events = [r for r in records if wanted(r) and (keep_errors or not r.get("errorCode"))]
    return {"Events": events, "count": len(events), "since": since.isoformat(), "truncated": truncated}


def history(ctx: ActionContext, region: str, attribute: tuple[str, str] | None, since: datetime,
            until: datetime | None = None) -> list[dict[str, Any]]:
    """The event history's records for one lookup attribute over [since, until], oldest first."""
    return _history(ctx.client("cloudtrail", region), attribute, since, until)[0]


def _lookup_attribute(params: dict[str, Any]) -> tuple[str, str] | None:
    given = params.get("lookup")
    if isinstance(given, dict) and given:
        name, value = next(iter(given.items()))
        return str(name), str(value)
    for name, param in (("EventName", "event_name"), ("EventSource", "event_source")):
        value = params.get(param)
        if isinstance(value, str):
            return name, value
        if isinstance(value, list) and len(value) == 1:
            return name, str(value[0])
    return None


def _history(client: Any, attribute: tuple[str, str] | None, since: datetime,
             until: datetime | None) -> tuple[list[dict[str, Any]], bool]:
    # Without an end, LookupEvents reads up to now, and the same question is the same request: a grade
    # answers it once (runner.grading.sharing; LookupEvents answers 2 calls a second), while a run, whose
    # steps add events as it goes, asks again.
    request: dict[str, Any] = {"StartTime": since}
    if until is not None:
        request["EndTime"] = until
    if attribute is not None:
        request["LookupAttributes"] = [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}]
    records: dict[str, dict[str, Any]] = {}
    truncated = False
    with aws_errors():
        for number, page in enumerate(client.get_paginator("lookup_events").paginate(**request)):
            if number >= _MAX_LOOKUP_PAGES:
                truncated = True
                break
            for event in page.get("Events", []):
                record = _event_record(event)
                records.setdefault(str(record.get("eventID") or event.get("EventId") or id(event)), record)
    # LookupEvents answers newest first; eventTime has whole seconds, so calls made within one second
    # keep their order only if the answer is reversed before the (stable) sort by time.
    oldest_first = sorted(reversed(records.values()), key=lambda r: str(r.get("eventTime", "")))
    return oldest_first, truncated


def _event_record(event: dict[str, Any]) -> dict[str, Any]:
    """The CloudTrail record inside an event-history entry (its `CloudTrailEvent` JSON)."""
    try:
        record = json.loads(event.get("CloudTrailEvent") or "")
    except ValueError:
        record = None
    if isinstance(record, dict):
        return record
    # Only the summary fields survive: enough for names, sources, resources and time.
    moment = event.get("EventTime")
    return {
        "eventID": event.get("EventId"),
        "eventName": event.get("EventName"),
        "eventSource": event.get("EventSource"),
        "eventTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(moment, datetime) else None,
        "readOnly": event.get("ReadOnly") == "true",
        "resources": [{"ARN": r.get("ResourceName"), "type": r.get("ResourceType")}
                      for r in event.get("Resources") or []],
    }
