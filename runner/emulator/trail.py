"""The CloudTrail recorder: event history, routing to trails, and log-file delivery.

The middleware hands every record (`events.py`) to `Recorder.record`, which
- keeps management events as the account's event history, for `LookupEvents` (`cloudtrail.py`);
- adds the record to the pending batch of each trail that is logging at that moment, lives in the
  record's region (or is multi-region) and whose event selectors select it;
- writes each trail's batch, once its oldest record is `log_delay` seconds old, as one gzipped
  `{"Records": [...]}` file per region into the trail's bucket, straight into moto's S3 store (so the
  delivery is not itself an API call), with a digest file beside it when log file validation is on.

The trails themselves are moto's (`cloudtrail_backends`); this module only reads them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
import string
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from threading import Lock, RLock
from typing import Any

from .locks import Locks
from .model import Record

HISTORY_DAYS = 90
_ALNUM = string.ascii_letters + string.digits


@dataclass
class _Batch:
    """Records waiting for delivery to one trail, with where they go."""

    trail_arn: str
    trail_name: str
    account_id: str
    home_region: str
    bucket: str
    prefix: str
    kms_key_id: str | None
    validation: bool
    since: float  # clock time of the oldest record
    records: dict[str, list[Record]] = field(default_factory=dict)  # by region


def _field(record: Record, name: str) -> str | None:
    """The value of an advanced-event-selector field for `record`."""
    if name == "readOnly":
        return "true" if record.get("readOnly") else "false"
    if name in ("eventCategory", "eventSource", "eventName", "eventType"):
        value = record.get(name)
        return None if value is None else str(value)
    if name.startswith("resources.") and record.get("eventCategory") == "Data":
        first = (record.get("resources") or [{}])[0]
        value = first.get("type" if name == "resources.type" else "ARN")
        return None if value is None else str(value)
    return None


def _advanced_match(selector: Mapping[str, Any], record: Record) -> bool:
    for condition in selector.get("FieldSelectors", []):
        value = _field(record, str(condition.get("Field")))
        if value is None:
            return False
        tests: list[tuple[str, Callable[[str, str], bool], bool]] = [
            ("Equals", str.__eq__, True),
            ("StartsWith", str.startswith, True),
            ("EndsWith", str.endswith, True),
            ("NotEquals", str.__eq__, False),
            ("NotStartsWith", str.startswith, False),
            ("NotEndsWith", str.endswith, False),
        ]
        for key, test, positive in tests:
            if key not in condition:
                continue
            hits = [test(value, str(candidate)) for candidate in condition[key]]
            if (positive and not any(hits)) or (not positive and any(hits)):
                return False
    return True


def _data_resource_match(value: str, arn: str) -> bool:
    if value in ("arn:aws:s3", "arn:aws:s3:::"):
        return True  # "all current and future buckets"
    if ":::" in value and "/" not in value.split(":::", 1)[1]:
        value += "/"  # a bare bucket ARN selects the bucket's objects
    return arn.startswith(value)


def selects(
    event_selectors: Sequence[Mapping[str, Any]], advanced: Sequence[Mapping[str, Any]], record: Record
) -> bool:
    """Do a trail's selectors ask for this record? (No selectors: all management events.)"""
    if advanced:
        return any(_advanced_match(s, record) for s in advanced)
    selectors = event_selectors or [{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    read_only = bool(record.get("readOnly"))
    for selector in selectors:
        read_write = selector.get("ReadWriteType", "All")
        if (read_write == "ReadOnly" and not read_only) or (read_write == "WriteOnly" and read_only):
            continue
        if record.get("eventCategory") == "Data":
            first = (record.get("resources") or [{}])[0]
            for resource in selector.get("DataResources") or []:
                if resource.get("Type") == first.get("type") and any(
                    _data_resource_match(str(v), str(first.get("ARN", ""))) for v in resource.get("Values", [])
                ):
                    return True
        elif selector.get("IncludeManagementEvents", True) and record.get("eventSource") not in (
            selector.get("ExcludeManagementEventSources") or []
        ):
            return True
    return False


def _logging_trails(record: Record) -> Iterator[Any]:
    from moto.cloudtrail.models import cloudtrail_backends

    account = str(record.get("recipientAccountId"))
    if account not in cloudtrail_backends:
        return
    for backend in list(cloudtrail_backends[account].values()):
        for trail in list(backend.trails.values()):
            if not trail.status.is_logging:
                continue
            if not (trail.is_multi_region or trail.region_name == record.get("awsRegion")):
                continue
            if selects(trail.event_selectors, trail.advanced_event_selectors, record):
                yield trail


def _note_delivery(batch: _Batch, when: datetime) -> None:
    """Tell the trail when its logs (and digest) were last delivered: GetTrailStatus reports it (`cloudtrail.py`)."""
    from moto.cloudtrail.models import cloudtrail_backends

    trail: Any = cloudtrail_backends[batch.account_id][batch.home_region].trails.get(batch.trail_name)
    if trail is not None:
        trail.labrunner_delivered = when
        if batch.validation:
            trail.labrunner_digest_delivered = when


def event_time(record: Record) -> datetime:
    return datetime.strptime(str(record["eventTime"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Recorder:
    """Holds event history and pending log files.

    Its own lock guards what it holds, and is taken last: the middleware records a call while it holds
    the call's accounts (`locks.py`). A delivery takes the batches under it, lets go, then writes each
    into the trail's bucket holding the accounts of the bucket and the trail, as a request would.
    Deliveries take turns (`_delivering`, taken before any other lock): one that finds nothing left to
    deliver returns only once the one that took the batches has written them, so after `deliver_all`
    every record made before it is in its bucket, whoever delivered it.
    """

    def __init__(
        self,
        log_delay: float,
        locks: Locks | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.log_delay = log_delay
        self.locks = locks or Locks()
        self.lock = RLock()
        self._delivering = Lock()
        self._clock = clock
        self._now = now
        self._history: list[Record] = []
        self._pending: dict[str, _Batch] = {}
        self._previous_digest: dict[str, tuple[str, str]] = {}

    def reset(self) -> None:
        with self.lock:
            self._history.clear()
            self._pending.clear()
            self._previous_digest.clear()

    def record(self, record: Record) -> None:
        with self.lock:
            if record.get("eventCategory") == "Management":
                self._history.append(record)
            for trail in _logging_trails(record):
                batch = self._pending.get(trail.arn)
                if batch is None:
                    batch = self._pending[trail.arn] = _Batch(
                        trail_arn=trail.arn,
                        trail_name=trail.trail_name,
                        account_id=trail.account_id,
                        home_region=trail.region_name,
                        bucket=trail.bucket_name,
                        prefix=trail.s3_key_prefix or "",
                        kms_key_id=trail.kms_key_id,
                        validation=bool(trail.log_validation),
                        since=self._clock(),
                    )
                batch.records.setdefault(str(record["awsRegion"]), []).append(record)

    def history(self, account_id: str, region: str) -> list[Record]:
        """Management events of the last 90 days in one account and region, newest first."""
        with self.lock:
            cutoff = self._now() - timedelta(days=HISTORY_DAYS)
            return [
                r
                for r in reversed(self._history)
                if r.get("recipientAccountId") == account_id
                and r.get("awsRegion") == region
                and event_time(r) >= cutoff
            ]

    def deliver_due(self) -> int:
        """Write the batches whose oldest record has waited `log_delay`; the number of files written."""
        with self._delivering:
            with self.lock:
                now = self._clock()
                due = [self._pending.pop(a) for a, b in list(self._pending.items()) if now - b.since >= self.log_delay]
            return sum(self._deliver(batch) for batch in due)

    def deliver_all(self) -> int:
        with self._delivering:
            with self.lock:
                batches, self._pending = list(self._pending.values()), {}
            return sum(self._deliver(batch) for batch in batches)

    def _deliver(self, batch: _Batch) -> int:
        from moto.s3.models import s3_backends

        with self.locks.gate.shared():
            owner = s3_backends.bucket_accounts.get(batch.bucket)
            if owner is None:
                return 0  # the bucket is gone: CloudTrail cannot deliver, the records are lost
            with self.locks.accounts((owner[1], batch.account_id)):
                return self._write(batch, *owner)

    def _write(self, batch: _Batch, partition: str, bucket_account: str) -> int:
        from moto.s3.models import s3_backends

        backend = s3_backends[bucket_account][partition]
        now = self._now()
        prefix = f"{batch.prefix.rstrip('/')}/" if batch.prefix else ""
        # Log files are SSE-KMS with the trail's key when it has one, else the bucket's default.
        encryption: dict[str, Any] = {}
        if batch.kms_key_id:
            encryption = {"encryption": "aws:kms", "kms_key_id": batch.kms_key_id}
        written: list[tuple[str, bytes, list[Record]]] = []
        for region, records in batch.records.items():
            name = (
                f"{batch.account_id}_CloudTrail_{region}_{now:%Y%m%dT%H%MZ}_"
                f"{''.join(secrets.choice(_ALNUM) for _ in range(16))}.json.gz"
            )
            key = f"{prefix}AWSLogs/{batch.account_id}/CloudTrail/{region}/{now:%Y/%m/%d}/{name}"
            body = gzip.compress(json.dumps({"Records": records}).encode())
            backend.put_object(batch.bucket, key, body, **encryption)
            written.append((key, body, records))
        if batch.validation and written:
            self._write_digest(backend, batch, prefix, now, written)
        _note_delivery(batch, now)
        return len(written)

    def _write_digest(
        self, backend: Any, batch: _Batch, prefix: str, now: datetime, written: list[tuple[str, bytes, list[Record]]]
    ) -> None:
        # A digest in AWS's layout and fields, so readers that skip `CloudTrail-Digest/` are exercised.
        # It is not signed: `digestSignature` is empty.
        region = batch.home_region
        key = (
            f"{prefix}AWSLogs/{batch.account_id}/CloudTrail-Digest/{region}/{now:%Y/%m/%d}/"
            f"{batch.account_id}_CloudTrail-Digest_{region}_{batch.trail_name}_{region}_{now:%Y%m%dT%H%M%SZ}.json.gz"
        )
        times = [event_time(r) for _, _, records in written for r in records]
        with self.lock:
            previous = self._previous_digest.get(batch.trail_arn)
        digest = {
            "awsAccountId": batch.account_id,
            "digestStartTime": f"{min(times):%Y-%m-%dT%H:%M:%SZ}",
            "digestEndTime": f"{now:%Y-%m-%dT%H:%M:%SZ}",
            "digestS3Bucket": batch.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": "",
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": f"{max(times):%Y-%m-%dT%H:%M:%SZ}",
            "oldestEventTime": f"{min(times):%Y-%m-%dT%H:%M:%SZ}",
            "previousDigestS3Bucket": batch.bucket if previous else None,
            "previousDigestS3Object": previous[0] if previous else None,
            "previousDigestHashValue": previous[1] if previous else None,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": "" if previous else None,
            "logFiles": [
                {
                    "s3Bucket": batch.bucket,
                    "s3Object": log_key,
                    "hashValue": hashlib.sha256(gzip.decompress(body)).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": f"{max(event_time(r) for r in records):%Y-%m-%dT%H:%M:%SZ}",
                    "oldestEventTime": f"{min(event_time(r) for r in records):%Y-%m-%dT%H:%M:%SZ}",
                }
                for log_key, body, records in written
            ],
        }
        body = gzip.compress(json.dumps(digest).encode())
        backend.put_object(batch.bucket, key, body)
        with self.lock:
            self._previous_digest[batch.trail_arn] = (key, hashlib.sha256(body).hexdigest())
