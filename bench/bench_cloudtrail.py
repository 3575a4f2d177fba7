"""CloudTrail search as a trail's history grows: 10,000 older log files against an empty bucket.

A lab looks for the events it caused (`cloudtrail.find_events`). A student's trail bucket may already
hold weeks of logs; the search must not slow down with them. Each measurement runs a small lab through
the real CLI against the embedded emulator (no delivery delay): a KMS call, then a retried search for
its record. The history is written straight into the emulator's S3 store in AWS's layout (35 days of
files before today, and today's files from before the run), so setting it up costs no HTTP requests.
"""

from __future__ import annotations

import gzip
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"
HISTORY_FILES = 10_000

LAB = """\
lab: cloudtrail-search
title: Find this run's KMS call in a trail bucket
vars:
  bucket: {bucket}
tasks:
  - id: find
    title: Make a KMS call and find it in the delivered logs
    steps:
      - id: key
        action: aws.kms.create_key
        params: {{Description: bench}}
        save: {{key_arn: KeyMetadata.Arn}}
        cleanup:
          action: aws.kms.schedule_key_deletion
          params: {{KeyId: "{{{{ key_arn }}}}", PendingWindowInDays: 7}}
      - id: search
        action: cloudtrail.find_events
        params: {{bucket: "{{{{ bucket }}}}", event_name: CreateKey, resource_arn: "{{{{ key_arn }}}}"}}
        retry: {{timeout: 1m, interval: 50ms}}
        expect:
          - path: count
            equals: 1
"""


def _setup_trail(endpoint: str, bucket: str) -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket)
    statements = [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*"},
    ]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    trail = session.client("cloudtrail", endpoint_url=endpoint)
    trail.create_trail(Name=f"trail-{bucket}", S3BucketName=bucket)
    trail.start_logging(Name=f"trail-{bucket}")


def _old_record(when: datetime) -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "awsRegion": REGION,
            "eventID": str(uuid.uuid4()), "resources": [{"ARN": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/old"}]}


def _write_history(emulator: Any, bucket: str, files: int) -> None:
    """`files` log files over the 35 days before now, the newest a minute before the run starts."""
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT]["aws"]
    now = datetime.now(UTC) - timedelta(minutes=1)
    span = timedelta(days=35)
    with emulator.locks.whole():  # moto's stores have no locks: nothing else runs meanwhile
        for i in range(files):
            when = now - span * (i / files)
            name = (f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{when:%Y/%m/%d}/"
                    f"{ACCOUNT}_CloudTrail_{REGION}_{when:%Y%m%dT%H%MZ}_{uuid.uuid4().hex[:16]}.json.gz")
            body = gzip.compress(json.dumps({"Records": [_old_record(when)]}).encode())
            backend.put_object(bucket, name, body)


def _run(endpoint: str, bucket: str, folder: Path) -> float:
    from runner.commands.main import main

    lab = folder / f"{bucket}.yaml"
    lab.write_text(LAB.format(bucket=bucket))
    with open(folder / "out.txt", "w") as out:
        start = time.perf_counter()
        code = main(["run", str(lab), "--target", endpoint, "--region", REGION,
                     "--record", str(folder / "record.json")], out=out)
        elapsed = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"the search lab failed (exit {code}): see {folder / 'out.txt'}")
    return elapsed


def measure(repeats: int = 7, files: int = HISTORY_FILES) -> dict[str, Any]:
    from runner.emulator import Emulator

    empty_times: list[float] = []
    full_times: list[float] = []
    with Emulator(log_delay=0.0, region=REGION) as emu, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _setup_trail(emu.endpoint, "bench-empty-trail")
        _setup_trail(emu.endpoint, "bench-busy-trail")
        _write_history(emu, "bench-busy-trail", files)
        _run(emu.endpoint, "bench-empty-trail", folder)  # warm imports and models
        for _ in range(repeats):  # interleaved, so drift in the machine's load hits both alike
            empty_times.append(_run(emu.endpoint, "bench-empty-trail", folder))
            full_times.append(_run(emu.endpoint, "bench-busy-trail", folder))
        record = json.loads((folder / "record.json").read_text())
    search = record["tasks"][0]["steps"][1]["result"]
    empty, full = statistics.median(empty_times), statistics.median(full_times)
    return {"repeats": repeats, "history_files": files, "empty_s": empty, "full_s": full, "ratio": full / empty,
            "files_read_last_run": search.get("files"), "downloaded_last_run": search.get("downloaded")}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
