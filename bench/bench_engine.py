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
import hashlib
import io
import json
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


def _anonymous_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


_SESSION: list[Any] = []


def plain_script(endpoint: str, suffix: int) -> None:
    """What a careful engineer would write by hand for the same lab, call for call.

    Its boto3 session is made once per process, as a long-running script's would be: the models are
    parsed once, which is also what the runner's shared model loader achieves.
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
    me = sts.get_caller_identity()
    account, arn = me["Account"], me["Arn"]
    bucket, image, trail_name = f"mycloudtrailbucket{suffix}", "Eiffel.jpg", "myCustomTrail"
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{trail_name}"
    use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": arn},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Put*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"], "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": arn}, "Action": use, "Resource": "*"},
    ]}
    cleanups: list[Callable[[], Any]] = []
    # Task 1
    key = kms.create_key(Description="KMS Key for S3 data", KeyUsage="ENCRYPT_DECRYPT",
                         KeySpec="SYMMETRIC_DEFAULT", Policy=json.dumps(policy))["KeyMetadata"]
    cleanups.append(lambda: _quiet(lambda: kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)))
    kms.create_alias(AliasName="alias/myFirstKey", TargetKeyId=key["KeyId"])
    cleanups.append(lambda: _quiet(lambda: kms.delete_alias(AliasName="alias/myFirstKey")))
    assert kms.describe_key(KeyId="alias/myFirstKey")["KeyMetadata"]["KeyUsage"] == "ENCRYPT_DECRYPT"
    for _ in range(2):  # administrators, then users
        described = kms.describe_key(KeyId="alias/myFirstKey")["KeyMetadata"]
        assert arn in kms.get_key_policy(KeyId=described["KeyId"], PolicyName="default")["Policy"]
    # Task 2
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
    assert trail.describe_trails(trailNameList=[trail_name])["trailList"][0]["S3BucketName"] == bucket
    trail.get_event_selectors(TrailName=trail_name)
    trail.get_insight_selectors(TrailName=trail_name)
    assert trail.get_trail_status(Name=trail_name)["IsLogging"]
    # Task 3
    s3.upload_file(str(IMAGE), bucket, image, ExtraArgs={"ServerSideEncryption": "aws:kms",
                                                         "SSEKMSKeyId": key["KeyId"]})
    head = s3.head_object(Bucket=bucket, Key=image)  # what s3.upload_file returns
    assert head["SSEKMSKeyId"] == key["Arn"]
    head = s3.head_object(Bucket=bucket, Key=image)  # the task's check
    assert head["SSEKMSKeyId"] == key["Arn"] and head["ContentLength"] == IMAGE.stat().st_size
    # Task 4
    url = f"{endpoint}/{bucket}/{image}"
    assert _anonymous_get(url) == 403
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    blocked = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}
    cleanups.append(lambda: _quiet(lambda: s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=blocked)))
    public = {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
              "Resource": f"arn:aws:s3:::{bucket}/{image}"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": [*cloudtrail_statements, public]}))
    assert _anonymous_get(url) == 400
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": cloudtrail_statements}))
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=blocked)
    body = s3.get_object(Bucket=bucket, Key=image)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(IMAGE.read_bytes()).hexdigest()
    assert _anonymous_get(url) == 403
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == blocked
    # Task 5: poll the trail's date folder until a log names the key and the image.
    found = False
    while not found:
        prefix = f"AWSLogs/{account}/CloudTrail/{REGION}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                records = json.load(io.BytesIO(gzip.decompress(
                    s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())))["Records"]
                found = found or any(
                    r.get("eventSource") == "kms.amazonaws.com" and image in json.dumps(r)
                    and any(res.get("ARN") == key["Arn"] for res in r.get("resources", [])) for r in records)
        if not found:
            time.sleep(0.05)
    # Task 6
    for change in ("remove", "add"):
        document = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        for statement in document["Statement"]:
            if statement["Sid"] == "Allow use of the key":
                statement["Principal"] = {"AWS": arn if change == "add" else f"arn:aws:iam::{account}:root"}
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(document))
        if change == "remove":  # the lab reads the policy back once, between the two edits
            kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")
    kms.describe_key(KeyId="alias/myFirstKey")
    kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")
    # Task 7
    kms.disable_key(KeyId=key["KeyId"])
    try:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello")
        raise AssertionError("a disabled key encrypted")
    except kms.exceptions.DisabledException:
        pass
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert kms.describe_key(KeyId="alias/myFirstKey")["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # Task 8
    trail.delete_trail(Name=trail_name)
    for _ in range(5):  # as s3.empty_bucket with delete_bucket: a last log file may land meanwhile
        _empty(s3, bucket)
        try:
            s3.delete_bucket(Bucket=bucket)
            break
        except s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] != "BucketNotEmpty":
                raise
    assert trail.describe_trails(trailNameList=[trail_name])["trailList"] == []
    s3.list_buckets()
    for cleanup in reversed(cleanups):
        cleanup()


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
    except Exception:
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
