"""Engine overhead: the KMS lab through labrunner against a plain boto3 script making the same calls.

Both run in this process against one embedded emulator with no CloudTrail delivery delay, so the
difference is what the runner itself costs: loading and validating the lab, rendering templates,
evaluating assertions, recording, printing. Every botocore request each side sends is counted, so the
comparison is known to be like for like.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import gzip
import json
import re
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "labs" / "kms-basics.yaml"
IMAGE = ROOT / "labs" / "Eiffel.jpg"
REGION = "us-west-2"


@dataclass
class Waiting:
    """What a block spent waiting on the emulator: seconds, and how many botocore requests it sent."""

    seconds: float = 0.0
    requests: int = 0  # HTTP requests botocore sent, retries included


@contextmanager
def waiting_on_the_emulator() -> Iterator[Waiting]:
    """Add up the time spent waiting for the emulator's answers while the block runs, and count requests.

    botocore's `Endpoint._send` (one HTTP exchange, retries counted separately) and urllib's `urlopen`
    (the anonymous browser requests). What is left of a run's wall time is the client's own work, which
    is far less noisy than the wall time itself: the emulator's answer times vary from run to run.
    """
    waiting = Waiting()
    send, urlopen = botocore.endpoint.Endpoint._send, urllib.request.urlopen

    def timed(function: Callable[..., Any], botocore_request: bool) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if botocore_request:
                waiting.requests += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                waiting.seconds += time.perf_counter() - start
        return call

    botocore.endpoint.Endpoint._send = timed(send, True)
    urllib.request.urlopen = timed(urlopen, False)
    try:
        yield waiting
    finally:
        botocore.endpoint.Endpoint._send = send
        urllib.request.urlopen = urlopen


def run_lab(endpoint: str, record: Path | None = None) -> None:
    """Run the KMS lab through `labrunner run`, its record written to `record` (else a temporary file)."""
    from runner.commands.main import main

    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "out.txt", "w") as out:
        code = main(["run", str(LAB), "--target", endpoint, "--region", REGION,
                     "--record", str(record or Path(tmp) / "record.json")], out=out)
    if code != 0:
        raise RuntimeError(f"the KMS lab failed on the emulator (exit {code})")


def steps_ran(record: Path) -> int:
    """How many steps, checks and cleanups a run's record shows run (what `checkpoint.executed_steps` counts)."""
    from runner.engine.checkpoint import executed_steps
    from runner.engine.record_files import read_json
    from runner.engine.record_json import step_from_json, task_from_json

    data = read_json(record, "the benchmark's own record")
    ran = SimpleNamespace(tasks=[task_from_json(t) for t in data["tasks"]],
                          cleanup=[step_from_json(s) for s in data["cleanup"]])
    return executed_steps(ran)  # type: ignore[arg-type]  # what it reads of a RunRecord


_SESSION: list[Any] = []


def plain_script(endpoint: str, suffix: int) -> None:
    """What a careful engineer would write by hand for the same lab, request for request, in the same order.

    The lab's steps, then its checks (the advice too, which it runs as a check it does not count), then
    its cleanups; its higher-level actions as a script would spell them (`kms.key_user_history`: DescribeKey
    for an alias, LookupEvents, GetKeyPolicy; `s3.describe_objects`: a listing and a HeadObject for each
    object; `cloudtrail.find_events` with `confirm: history`: the day's log folder, each log file, then
    LookupEvents for each event name found). Its boto3 session is made once per process, as a
    long-running script's would be: the models are parsed once, which is also what the runner's shared
    model loader achieves.
    """
    config = Config(retries={"mode": "standard", "max_attempts": 10})
    s3config = Config(retries={"mode": "standard", "max_attempts": 10}, signature_version="s3v4",
                      s3={"addressing_style": "path"})
    if not _SESSION:
        _SESSION.append(boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                      region_name=REGION))
    session = _SESSION[0]
    kms = session.client("kms", endpoint_url=endpoint, config=config)
    s3 = session.client("s3", endpoint_url=endpoint, config=s3config)
    trail = session.client("cloudtrail", endpoint_url=endpoint, config=config)
    sts = session.client("sts", endpoint_url=endpoint, config=config)
    since = datetime.now(UTC).replace(microsecond=0)  # the run's start: the event history's window
    me = sts.get_caller_identity()
    account, arn = me["Account"], me["Arn"]
    bucket, image, trail_name = f"mycloudtrailbucket{suffix}", "Eiffel.jpg", "myCustomTrail"
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{trail_name}"

    def history(name: str, keep: Callable[[dict[str, Any]], bool] = lambda r: True) -> list[dict[str, Any]]:
        """The event history's records of calls named `name` since the start that worked and `keep` keeps."""
        found = []
        for page in trail.get_paginator("lookup_events").paginate(
                StartTime=since, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]):
            for event in page.get("Events", []):
                record = json.loads(event["CloudTrailEvent"])
                if not record.get("errorCode") and keep(record):
                    found.append(record)
        return sorted(reversed(found), key=lambda r: str(r.get("eventTime", "")))

    def mentions(*texts: str) -> Callable[[dict[str, Any]], bool]:
        return lambda record: all(text in json.dumps(record) for text in texts)

    def key_policy(key_id: str) -> dict[str, Any]:
        return dict(json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]))

    def users(policy: dict[str, Any]) -> list[str]:
        return [p for s in policy["Statement"] if "kms:Encrypt" in s["Action"] for p in [s["Principal"]["AWS"]]]

    statements = {
        "root": {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                 "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        "administrators": {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": arn},
                           "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                                      "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                                      "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                                      "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"], "Resource": "*"},
        "use": {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": arn},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:DescribeKey"], "Resource": "*"},
        "grants": {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": arn},
                   "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
                   "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    }
    policy = {"Version": "2012-10-17", "Id": "key-consolepolicy-3", "Statement": list(statements.values())}
    cleanups: list[Callable[[], Any]] = []
    # Task 1: the key and its alias; checks: find it, its kind, its administrators, its users' history.
    key = kms.create_key(Description="KMS Key for S3 data", KeyUsage="ENCRYPT_DECRYPT",
                         KeySpec="SYMMETRIC_DEFAULT", Policy=json.dumps(policy))["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    key_id, key_arn = key["KeyId"], key["Arn"]
    cleanups.append(lambda: _quiet(lambda: kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)))
    kms.create_alias(AliasName="alias/myFirstKey", TargetKeyId=key_id)
    cleanups.append(lambda: _quiet(lambda: kms.delete_alias(AliasName="alias/myFirstKey")))
    assert kms.describe_key(KeyId="alias/myFirstKey")["KeyMetadata"]["Arn"] == key_arn
    described = kms.describe_key(KeyId="alias/myFirstKey")["KeyMetadata"]
    assert described["KeySpec"] == "SYMMETRIC_DEFAULT" and described["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert re.match(r"(?i)^\s*KMS Key for S3 data\s*$", described["Description"])
    described = kms.describe_key(KeyId="alias/myFirstKey")["KeyMetadata"]
    assert any("kms:Put*" in s["Action"] for s in key_policy(described["KeyId"])["Statement"])
    described = kms.describe_key(KeyId="alias/myFirstKey")["KeyMetadata"]
    versions = history("PutKeyPolicy", mentions(described["Arn"]))
    assert users(key_policy(described["Arn"])) or versions
    # Task 2: the trail's bucket, the trail, its events; checks: the trail, its settings, logging.
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    cleanups.append(lambda: _quiet(lambda: s3.delete_bucket(Bucket=bucket)))
    cloudtrail_statements = [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}}},
    ]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": cloudtrail_statements}))
    cleanups.append(lambda: _empty(s3, bucket))
    created = trail.create_trail(Name=trail_name, S3BucketName=bucket, IsMultiRegionTrail=True,
                                 EnableLogFileValidation=True)
    assert "KmsKeyId" not in created
    cleanups.append(lambda: _quiet(lambda: trail.delete_trail(Name=trail_name)))
    trail.put_event_selectors(TrailName=trail_name, EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{bucket}/"]}]}])
    trail.put_insight_selectors(TrailName=trail_name, InsightSelectors=[
        {"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}])
    trail.start_logging(Name=trail_name)
    trail_bucket = trail.describe_trails(trailNameList=[trail_name])["trailList"][0]["S3BucketName"]
    settings = trail.describe_trails(trailNameList=[trail_name])["trailList"][0]
    assert re.match(r"^mycloudtrailbucket[0-9]+$", settings["S3BucketName"]) and "KmsKeyId" not in settings
    selectors = trail.get_event_selectors(TrailName=trail_name)["EventSelectors"]
    assert any(s["IncludeManagementEvents"] for s in selectors)
    assert any(r["Type"] == "AWS::S3::Object" for s in selectors for r in s["DataResources"])
    insights = {s["InsightType"] for s in trail.get_insight_selectors(TrailName=trail_name)["InsightSelectors"]}
    assert {"ApiCallRateInsight", "ApiErrorRateInsight"} <= insights
    assert trail.get_trail_status(Name=trail_name)["IsLogging"]
    # Task 3: the image, SSE-KMS with the key; check: the bucket's objects, by what they are.
    with IMAGE.open("rb") as handle:
        s3.put_object(Bucket=bucket, Key=image, Body=handle, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    head = s3.head_object(Bucket=bucket, Key=image)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    encrypted = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=trail_bucket):
        for item in page.get("Contents", []):
            if not item["Key"].startswith("AWSLogs/"):
                head = s3.head_object(Bucket=trail_bucket, Key=item["Key"])
                if head.get("ServerSideEncryption") == "aws:kms" and head.get("SSEKMSKeyId") == key_arn:
                    encrypted.append(item["Key"])
    image_key = encrypted[0]
    # Task 4: denied while private, public through a bucket policy; check: public; advice: blocked again.
    url = f"{endpoint}/{bucket}/{image}"
    assert _anonymous_get(url) == (403, "AccessDenied")
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    blocked = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}
    cleanups.append(lambda: _quiet(lambda: s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=blocked)))
    public = {"Sid": "PublicReadForTheChallenge", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
              "Resource": f"arn:aws:s3:::{bucket}/{image}"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": [*cloudtrail_statements, public]}))
    assert _anonymous_get(url) == (400, "InvalidArgument")
    assert _anonymous_get(f"{endpoint}/{trail_bucket}/{image_key}") == (400, "InvalidArgument")
    advice = s3.get_public_access_block(Bucket=trail_bucket)["PublicAccessBlockConfiguration"]
    assert advice != blocked  # the lab leaves it open until its clean-up: the advice is given
    # Task 5: S3's use of the key for the image in a log file of the day's folder, confirmed by event history.
    found: dict[str, dict[str, Any]] = {}
    while not found:
        folder = f"AWSLogs/{account}/CloudTrail/{REGION}/{since:%Y/%m/%d}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=trail_bucket, Prefix=folder):
            for item in page.get("Contents", []):
                if "CloudTrail-Digest" in item["Key"]:
                    continue
                body = s3.get_object(Bucket=trail_bucket, Key=item["Key"])["Body"].read()
                for record in json.loads(gzip.decompress(body))["Records"]:
                    if (record.get("eventSource") == "kms.amazonaws.com"
                            and record.get("eventName") in ("GenerateDataKey", "Decrypt")
                            and any(r.get("ARN") == key_arn for r in record.get("resources", []))
                            and f"{trail_bucket}/{image_key}" in json.dumps(record)):
                        found[record["eventID"]] = record
        for name in sorted({record["eventName"] for record in found.values()}):
            genuine = {r["eventID"] for r in history(name)}
            found = {event: record for event, record in found.items()
                     if record["eventName"] != name or event in genuine}
        if not found:
            time.sleep(0.05)
    # Task 6: out of the key users and back; check: the key policies put, from event history.
    for change in ("remove", "add"):
        document = key_policy(key_id)  # as the console: the statements naming key users go, then come back
        document["Statement"] = [s for s in document["Statement"] if s["Sid"] not in (
            "Allow use of the key", "Allow attachment of persistent resources")]
        if change == "add":
            document["Statement"] += [statements["use"], statements["grants"]]
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(document))
        if change == "remove":  # the lab reads the key users back once, between the two edits
            key_policy(key_id)
    versions = [users(json.loads(r["requestParameters"]["policy"]))
                for r in history("PutKeyPolicy", mentions(key_arn))]
    assert len(versions) == 2 and users(key_policy(key_arn))
    # Task 7: a disabled key refuses; its deletion scheduled; check: pending deletion.
    kms.disable_key(KeyId=key_id)
    try:
        kms.encrypt(KeyId=key_id, Plaintext=b"hello")
        raise AssertionError("a disabled key encrypted")
    except kms.exceptions.DisabledException:
        pass
    assert kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)["KeyState"] == "PendingDeletion"
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # Task 8: the trail, then the bucket; checks: the event history, and that both are gone.
    trail.delete_trail(Name=trail_name)
    for round_ in range(5):  # as s3.empty_bucket with delete_bucket: a last log file may land meanwhile
        _empty(s3, bucket)
        try:
            s3.delete_bucket(Bucket=bucket)
            break
        except s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] != "BucketNotEmpty" or round_ == 4:
                raise
    assert history("DeleteTrail", mentions(trail_name))
    assert trail.describe_trails(trailNameList=[trail_name])["trailList"] == []
    created_bucket = history("CreateTrail", mentions(trail_name))[-1]["requestParameters"]["s3BucketName"]
    assert [r for r in history("DeleteBucket", mentions(created_bucket))
            if r["requestParameters"]["bucketName"] == created_bucket]
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"] == created_bucket]
    for cleanup in reversed(cleanups):
        cleanup()


def _anonymous_get(url: str) -> tuple[int, str]:
    """What a browser sees at `url`: the status, and the code of S3's error document (if any)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        code = re.search(rb"<Code>([^<]*)</Code>", exc.read())
        return int(exc.code), code.group(1).decode() if code else ""


def _quiet(call: Callable[[], Any]) -> None:
    with contextlib.suppress(Exception):  # cleanup of something the lab already removed
        call()


def _empty(s3: Any, bucket: str) -> None:
    """As s3.empty_bucket: versions and delete markers, then whatever a plain listing still shows."""
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            items = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                     for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
            if items:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": items, "Quiet": True})
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            items = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if items:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": items, "Quiet": True})
    except s3.exceptions.NoSuchBucket:  # the clean-up of a bucket the lab deleted
        pass


@contextmanager
def emulator(where: str) -> Iterator[str]:
    """An emulator with no CloudTrail delivery delay; yields its endpoint.

    `process`: in a process of its own, as AWS is to a real run: what the emulator computes never
    competes with the client for this interpreter (one GIL). `embedded`: a thread of this process, as
    `labrunner run`'s default target is.
    """
    if where == "embedded":
        from runner.emulator import Emulator

        with Emulator(log_delay=0.0, region=REGION) as emu:
            yield emu.endpoint
        return
    from bench_emulator import emulator_process

    with emulator_process(REGION, log_delay=0.0) as (endpoint, _):
        yield endpoint


def _timed(endpoint: str, run: Callable[[], None]) -> tuple[float, float]:
    """One timed run, from an empty emulator and with the young garbage generations empty.

    Otherwise each run would find what the ones before it left (keys pending deletion, event history),
    and a garbage collection the previous run left due could land on it: the two sides alternate, and
    either could pay for the other.
    """
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    gc.collect()
    with waiting_on_the_emulator() as waiting:
        start = time.perf_counter()
        run()
        wall = time.perf_counter() - start
    return wall, wall - waiting.seconds


def measure(repeats: int = 40, where: str = "process") -> dict[str, Any]:
    lab_times: list[tuple[float, float]] = []
    plain_times: list[tuple[float, float]] = []
    with emulator(where) as endpoint:
        run_lab(endpoint)  # warm: imports, botocore models, schema
        plain_script(endpoint, 0)
        with tempfile.TemporaryDirectory() as tmp, waiting_on_the_emulator() as lab_calls:
            run_lab(endpoint, Path(tmp) / "record.json")
            steps = steps_ran(Path(tmp) / "record.json")  # read outside every timed run
        with waiting_on_the_emulator() as plain_calls:
            plain_script(endpoint, 1)
        gc.collect()
        gc.freeze()  # what the warm-up made lives as long as the process, for both sides
        for i in range(repeats):  # interleaved, so drift in the machine's load hits both alike
            lab_times.append(_timed(endpoint, functools.partial(run_lab, endpoint)))
            plain_times.append(_timed(endpoint, functools.partial(plain_script, endpoint, 100 + i)))
    lab = statistics.median(wall for wall, _ in lab_times)
    plain = statistics.median(wall for wall, _ in plain_times)
    lab_own = statistics.median(own for _, own in lab_times)
    plain_own = statistics.median(own for _, own in plain_times)
    # each lab run against the plain run after it: drift in the machine's speed cancels out
    paired = [a / b for (a, _), (b, _) in zip(lab_times, plain_times, strict=True)]
    quartiles = statistics.quantiles(paired, n=4)
    return {"where": where, "repeats": repeats, "lab_s": lab, "plain_s": plain, "ratio": lab / plain,
            "paired_ratio": statistics.median(paired), "paired_quartiles": (quartiles[0], quartiles[2]),
            "lab_own_s": lab_own, "plain_own_s": plain_own,
            "own_ratio": (plain + lab_own - plain_own) / plain,
            "lab_requests": lab_calls.requests, "plain_requests": plain_calls.requests,
            "overhead_per_request_ms": (lab_own - plain_own) / max(lab_calls.requests, 1) * 1000,
            "lab_steps": steps, "overhead_per_step_ms": (lab_own - plain_own) / max(steps, 1) * 1000}


@contextmanager
def _clocked(parts: dict[str, float], waiting: Waiting) -> Iterator[None]:
    """Time the runner's stages into `parts`, in ms: each without the stages inside it, or the waiting."""
    import runner.commands.run
    import runner.validate
    from runner.engine.checkpoint import Checkpoint
    from runner.engine.console import Console
    from runner.engine.steps import StepRunner
    from runner.engine.targets import Target

    stages = [(runner.validate, "load_lab", "load and validate the lab"),
              (runner.commands.run, "open_target", "open the target (session, credentials)"),
              (Checkpoint, "__call__", "write the record as the run goes (ledger)"),
              (Checkpoint, "finish", "write the final record"),
              (StepRunner, "prepare", "render and check each step's parameters"),
              (StepRunner, "_judge_result", "evaluate the expectations"),
              *[(Console, name, "print the run") for name in ("step_started", "step_finished", "task_started")],
              (Target, "_new_client", "make boto3 clients (the script makes as many)")]
    inside: list[float] = []  # per open stage: the time of the stages running within it
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in stages]

    def clocked(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start, before = time.perf_counter(), waiting.seconds
            inside.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start - (waiting.seconds - before)
                parts[label] = parts.get(label, 0.0) + (spent - inside.pop()) * 1000
                if inside:
                    inside[-1] += spent
        return timed

    for (owner, name, label), (_, _, original) in zip(stages, originals, strict=True):
        setattr(owner, name, clocked(original, label))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def breakdown(repeats: int = 9) -> dict[str, float]:
    """Where the runner's own time goes in a run of the KMS lab (medians, ms)."""
    runs: list[dict[str, float]] = []
    with emulator("process") as endpoint:
        run_lab(endpoint)
        for _ in range(repeats):
            parts: dict[str, float] = {}
            with waiting_on_the_emulator() as waiting, _clocked(parts, waiting):
                run_lab(endpoint)
            runs.append(parts)
    return {label: statistics.median(run.get(label, 0.0) for run in runs) for label in runs[0]}


if __name__ == "__main__":
    import sys

    print(json.dumps(measure(where=sys.argv[1] if len(sys.argv) > 1 else "process"), indent=2))
