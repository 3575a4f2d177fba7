"""CloudTrail as evidence: delivered log files (`cloudtrail.find_events`), which anyone the trail's bucket
lets write can forge, and the event history (`cloudtrail.lookup_events`), which nobody in the account
can write; `find_events` confirms what it reads from a bucket against the event history when asked.
`history` is the event-history reader other actions share (`kms.key_user_history`).

Both read what a student controls (a bucket's files; the parameters of their calls), within the bounds
of `bounds.py`: past one, a step fails saying what it did not read. `log_files.py` reads one log file as
it streams.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.actions import log_files
from runner.actions.bounds import (
    MAX_LOG_FILE_BYTES,
    MAX_LOG_KEYS,
    MAX_LOOKUP_PAGES,
    MAX_MATCHED_BYTES,
    MAX_RECORD_BYTES,
    MAX_SEARCH_BYTES,
    MAX_SEARCH_RECORDS,
    exceeded,
    size_text,
)
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


def _files_and_events(result: dict[str, Any]) -> str:
    """What a search of the log files found, as a waiting step shows it."""
    files, count = result["files"], result["count"]
    return f"{files} log file{'s' if files != 1 else ''} read, {count} event{'s' if count != 1 else ''} found"


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
    progress=_files_and_events,
)
def find_events(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Find records in the CloudTrail log files delivered to a bucket since the run began.

    Lists only the date folders since `since`, skips digest files, reads a log file once for each
    search of a run, and de-duplicates records by `eventID`. The result is `{Events: [...], count,
    files}`. Retry it while logs arrive: delivery takes minutes on AWS. A bucket holds whatever its owner
    put there: past the bounds of `runner.actions.bounds` (files listed, a file's size once decompressed,
    a record's size and depth, the records that match) the step fails, saying what it did not read.

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
    client = ctx.client("s3")
    wanted = _Filter(params, since)
    # What each file held that this search keeps (few records, if any), not the files: a bucket's files
    # are its owner's to make large.
    matched: dict[tuple[str, str], list[tuple[dict[str, Any], int]]] = (
        ctx.cache.setdefault(_CACHE_KEY, {}).setdefault(wanted.signature, {}))
    budget = _Budget(f"s3://{bucket}/{base}", since)
    found = _Kept()
    downloaded = 0
    with aws_errors():
        keys = _log_keys(client, bucket, base, since, now)
        for key, size in keys:
            if (bucket, key) not in matched:
                matched[(bucket, key)] = _matching(client, bucket, key, size, wanted, budget)
                downloaded += 1
            for record, length in matched[(bucket, key)]:
                found.add(record, length)
    result: dict[str, Any] = {"files": len(keys), "downloaded": downloaded, "since": since.isoformat()}
    records = found.records
    if params.get("confirm") == "history":
        confirmed = _confirmed(ctx, list(records.values()), wanted, since)
        result["unconfirmed"] = len(records) - len(confirmed)
        records = confirmed
    events = sorted(records.values(), key=lambda r: str(r.get("eventTime", "")))
    return {"Events": events, "count": len(events), **result}


def _confirmed(ctx: ActionContext, records: list[dict[str, Any]], wanted: _Filter,
               since: datetime) -> dict[str, dict[str, Any]]:
    """The event history's copy of each record it holds under the same eventID that passes the filters."""
    by_lookup: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        region = str(record.get("awsRegion") or ctx.region)
        by_lookup.setdefault((region, str(record.get("eventName"))), []).append(record)
    kept: dict[str, dict[str, Any]] = {}
    # One lookup per region and event name (LookupEvents answers 2 calls a second); a bucket full of
    # made-up event names gets no more lookups than _MAX_CONFIRM_LOOKUPS.
    for region, name in sorted(by_lookup)[:_MAX_CONFIRM_LOOKUPS]:
        ids = {str(record.get("eventID")) for record in by_lookup[(region, name)]}
        for genuine in history(ctx, region, ("EventName", name), since, keep=_same_event(ids, wanted)):
            kept[str(genuine["eventID"])] = genuine
    return kept


def _same_event(ids: set[str], wanted: _Filter) -> Callable[[dict[str, Any]], bool]:
    """Whether an event-history record is one of `ids`, a call that worked, and passes `wanted`."""
    return lambda record: str(record.get("eventID")) in ids and not record.get("errorCode") and wanted(record)


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


def _log_keys(client: Any, bucket: str, base: str, since: datetime, now: datetime) -> list[tuple[str, int]]:
    """Log files, as (key, size), in the date folders from `since` to now; digests and files named before
    `since` skipped. Every key listed counts towards `MAX_LOG_KEYS`, whatever its name."""
    day = since.astimezone(UTC).date()
    last = (now + _DELIVERY_SLACK).date()
    paginator = client.get_paginator("list_objects_v2")
    listed = 0
    keys: list[tuple[str, int]] = []
    while day <= last:
        folder = f"{base}{day:%Y/%m/%d}/"
        for page in paginator.paginate(Bucket=bucket, Prefix=folder):
            for item in page.get("Contents", []):
                listed += 1
                if listed > MAX_LOG_KEYS:
                    raise exceeded(f"s3://{bucket}/{base} holds more than {MAX_LOG_KEYS:,} files since "
                                   f"{since:%Y-%m-%d}, more than a trail writes there in two days: not read")
                key = item["Key"]
                match = _LOG_NAME.search(key)
                if "CloudTrail-Digest" in key or match is None:
                    continue
                written = datetime.strptime(match.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC)
                if written + timedelta(minutes=1) < since:
                    continue
                keys.append((key, int(item.get("Size") or 0)))
        day += timedelta(days=1)
    return keys


def _matching(client: Any, bucket: str, key: str, size: int, wanted: _Filter,
              budget: _Budget) -> list[tuple[dict[str, Any], int]]:
    """What one log file holds that `wanted` keeps, each with the length of its JSON; read as it streams."""
    if size > MAX_LOG_FILE_BYTES:
        raise exceeded(f"log file {key} is {size_text(size)}, larger than any CloudTrail log file: not read")
    kept = _Kept()
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        for record, length in log_files.records(body, key, budget.spend):
            budget.spend(records=1)
            if isinstance(record, dict) and wanted(record):
                log_files.check_depth(record, f"log file {key}")
                kept.add(record, length)
    finally:
        body.close()
    return kept.items


@dataclass
class _Budget:
    """What one search may still read, all its files together; `where` and `since` name the search."""

    where: str
    since: datetime
    size: int = 0
    records: int = 0

    def spend(self, size: int = 0, records: int = 0) -> None:
        self.size += size
        self.records += records
        if self.size > MAX_SEARCH_BYTES:
            raise exceeded(f"the log files in {self.where} since {self.since:%Y-%m-%d} hold more than "
                           f"{size_text(MAX_SEARCH_BYTES)} of records: not all read")
        if self.records > MAX_SEARCH_RECORDS:
            raise exceeded(f"the log files in {self.where} since {self.since:%Y-%m-%d} hold more than "
                           f"{MAX_SEARCH_RECORDS:,} records: not all read")


class _Kept:
    """The records a search keeps: each once (by `eventID`), their JSON within `MAX_MATCHED_BYTES`."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.items: list[tuple[dict[str, Any], int]] = []
        self.size = 0

    def add(self, record: dict[str, Any], length: int) -> None:
        event_id = str(record.get("eventID") or id(record))
        if event_id in self.records:
            return
        self.size += length
        if self.size > MAX_MATCHED_BYTES:
            raise exceeded(f"the records that match take more than {size_text(MAX_MATCHED_BYTES)}: not all kept; "
                           "narrow the search (its filters, or its window)")
        self.records[event_id] = record
        self.items.append((record, length))


def _strings(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, str) else value)


class _Filter:
    """Whether a record matches every filter the step gives (each list filter: any of its values);
    `errors`: whether a failed call (`errorCode`) can match."""

    def __init__(self, params: dict[str, Any], since: datetime, *, errors: bool = True) -> None:
        self.names = _strings(params.get("event_name"))
        self.sources = _strings(params.get("event_source"))
        self.arns = _strings(params.get("resource_arn"))
        self.contains = sorted(_strings(params.get("contains")))
        self.since = since
        self.errors = errors

    @property
    def signature(self) -> tuple[Any, ...]:
        """The same for two filters that keep the same records (a cache key)."""
        return (self.names, self.sources, self.arns, tuple(self.contains), self.since, self.errors)

    def __call__(self, record: dict[str, Any]) -> bool:
        if not self.errors and record.get("errorCode"):
            return False
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
#: LookupEvents answers 50 events a page (its default and its most).
_EVENTS_PER_PAGE = 50


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
    out unless `include_errors`. The result is `{Events: [records, oldest first], count, since}`. A
    student makes the events: past `MAX_LOOKUP_PAGES` pages, or records that match beyond
    `MAX_MATCHED_BYTES`, the step fails, saying what it did not read.

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
    wanted = _Filter(params, since, errors=bool(params.get("include_errors", False)))
    events = history(ctx, region, _lookup_attribute(params), since, until, keep=wanted)
    return {"Events": events, "count": len(events), "since": since.isoformat()}


def history(ctx: ActionContext, region: str, attribute: tuple[str, str] | None, since: datetime,
            until: datetime | None = None, *, keep: Callable[[dict[str, Any]], bool] | None = None,
            ) -> list[dict[str, Any]]:
    """The event history's records for one lookup attribute over [since, until] that `keep` keeps (every
    one by default), oldest first. Only those are held: LookupEvents is paged (at most `MAX_LOOKUP_PAGES`)
    and each record judged as it arrives, and those kept may not pass `MAX_MATCHED_BYTES`."""
    return _history(ctx.client("cloudtrail", region), attribute, since, until, keep or _everything)


def _everything(record: dict[str, Any]) -> bool:
    return True


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


def _history(client: Any, attribute: tuple[str, str] | None, since: datetime, until: datetime | None,
             keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    # Without an end, LookupEvents reads up to now, and the same question is the same request: a grade
    # answers it once (runner.grading.sharing; LookupEvents answers 2 calls a second), while a run, whose
    # steps add events as it goes, asks again. MaxItems is botocore's own count: it changes no request.
    request: dict[str, Any] = {"StartTime": since,
                               "PaginationConfig": {"MaxItems": MAX_LOOKUP_PAGES * _EVENTS_PER_PAGE}}
    if until is not None:
        request["EndTime"] = until
    if attribute is not None:
        request["LookupAttributes"] = [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}]
    kept = _Kept()
    with aws_errors():
        pages = client.get_paginator("lookup_events").paginate(**request)
        for page in pages:
            for event in page.get("Events", []):
                record, length = _event_record(event)
                if keep(record):
                    log_files.check_depth(record, "the event history")
                    kept.add(record, length)
        if pages.resume_token is not None:  # botocore stopped at MaxItems with more to come
            question = f" with {attribute[0]} {attribute[1]}" if attribute else ""
            raise exceeded(f"the event history holds more than {MAX_LOOKUP_PAGES} pages of events{question} "
                           f"since {since:%Y-%m-%d %H:%M}: not all read; narrow the lookup")
    # LookupEvents answers newest first; eventTime has whole seconds, so calls made within one second
    # keep their order only if the answer is reversed before the (stable) sort by time.
    return sorted(reversed(kept.records.values()), key=lambda r: str(r.get("eventTime", "")))


def _event_record(event: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The CloudTrail record inside an event-history entry (its `CloudTrailEvent` JSON), and its length."""
    text = event.get("CloudTrailEvent") or ""
    if len(text) > MAX_RECORD_BYTES:
        raise exceeded(f"the event history holds an event larger than any CloudTrail record "
                       f"(over {size_text(MAX_RECORD_BYTES)}): not read")
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    except RecursionError:  # Python's parser stops near 1,000 levels
        raise log_files.too_deep("the event history") from None
    if isinstance(record, dict):
        return record, len(text)
    # Only the summary fields survive: enough for names, sources, resources and time.
    moment = event.get("EventTime")
    summary = {
        "eventID": event.get("EventId"),
        "eventName": event.get("EventName"),
        "eventSource": event.get("EventSource"),
        "eventTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(moment, datetime) else None,
        "readOnly": event.get("ReadOnly") == "true",
        "resources": [{"ARN": r.get("ResourceName"), "type": r.get("ResourceType")}
                      for r in event.get("Resources") or []],
    }
    return summary, len(json.dumps(summary, default=str))
