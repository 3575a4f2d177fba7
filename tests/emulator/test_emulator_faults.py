"""Fault injection (`runner/emulator/faults.py`): the sequence a seed gives, the errors each service
answers with, that a faulted call changes nothing, and that botocore's standard retry mode rides it
out. Latency is served through a fake sleep, so no test waits. The plan's syntax is
`test_emulator_fault_plan.py`'s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard
from emulator_helpers import REGION, Client, ClientFactory, make_trail, records

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator, FaultPlan
from runner.emulator.faults import FaultInjector

ROOT = Path(__file__).resolve().parents[2]
NO_RETRIES = Config(retries={"total_max_attempts": 1})
Start = Callable[..., Emulator]


@pytest.fixture
def faulty(emu: Emulator) -> Iterator[Start]:
    """faulty("throttle=1") -> a second emulator injecting that plan; it shares moto's (freshly wiped)
    state with `emu`, whose clients therefore see what the faulted calls did or did not change."""
    started: list[Emulator] = []

    def start(plan: str, sleep: Callable[[float], None] | None = None) -> Emulator:
        options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        emulator = Emulator(log_delay=3600, faults=FaultPlan.parse(plan), **options).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def client(emulator: Emulator, service: str, config: Config = NO_RETRIES) -> Client:
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id=EMULATOR_ACCESS_KEY,
        aws_secret_access_key=EMULATOR_SECRET_KEY,
        config=config,
    )


def error_of(call: Callable[[], Any]) -> tuple[str, int, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response


# --- the sequence a seed gives -------------------------------------------------------------------

REQUESTS = [("kms", "Encrypt"), ("s3", "PutObject"), ("cloudtrail", "DescribeTrails"), ("sts", "AssumeRole")] * 100


def sequence(plan: FaultPlan, requests: list[tuple[str, str]] = REQUESTS) -> list[str | None]:
    injector = FaultInjector(plan)
    return [injector.draw(service, operation) for service, operation in requests]


def test_one_seed_gives_one_sequence_of_faults() -> None:
    plan = FaultPlan.parse("throttle=0.2,error=0.05,latency=0.1:200ms,seed=7")
    first = sequence(plan)
    assert first == sequence(plan)
    assert first != sequence(FaultPlan.parse("throttle=0.2,error=0.05,latency=0.1:200ms,seed=8"))
    # The rates hold, roughly, over 400 requests.
    assert 50 <= first.count("throttle") <= 110
    assert 5 <= first.count("error") <= 40
    assert 15 <= first.count("latency") <= 60


def test_rates_do_not_shift_each_other() -> None:
    # Two draws per request whatever the rates: adding latency leaves throttling where it was.
    throttled = [f == "throttle" for f in sequence(FaultPlan(throttle=0.3, seed=1))]
    with_latency = [f == "throttle" for f in sequence(FaultPlan(throttle=0.3, latency=0.5, latency_seconds=1, seed=1))]
    assert throttled == with_latency


def test_spared_calls_are_never_faulted_and_take_no_draws() -> None:
    plan = FaultPlan(throttle=0.5, seed=3, spare=frozenset({"sts", "kms.Encrypt"}))
    faults = sequence(plan)
    spared = [f for f, (service, _) in zip(faults, REQUESTS, strict=True) if service in ("sts", "kms")]
    assert set(spared) == {None}
    others = [r for r in REQUESTS if r[0] not in ("sts", "kms")]
    # The services not spared see the same faults with or without the spared calls among them.
    assert [f for f, r in zip(faults, REQUESTS, strict=True) if r in others] == sequence(plan, others)
    assert sequence(FaultPlan(throttle=1, spare=frozenset({"kms"})), [("kms", "Decrypt")]) == [None]
    assert sequence(FaultPlan(throttle=1, spare=frozenset({"kms.Encrypt"})), [("kms", "Decrypt")]) == ["throttle"]


def test_the_same_seed_faults_the_same_requests_through_the_server(faulty: Start) -> None:
    def outcomes(emulator: Emulator) -> list[str]:
        kms, s3 = client(emulator, "kms"), client(emulator, "s3")
        seen = []
        for _ in range(15):
            for call in (kms.list_keys, s3.list_buckets):
                try:
                    call()
                    seen.append("ok")
                except ClientError as error:
                    seen.append(error.response["Error"]["Code"])
        return seen

    first = outcomes(faulty("throttle=0.3,error=0.2,seed=11"))
    assert first == outcomes(faulty("throttle=0.3,error=0.2,seed=11"))
    assert {"ok", "ThrottlingException", "SlowDown"} <= set(first)
    assert {"InternalFailure", "InternalError"} & set(first)


# --- what each service answers -------------------------------------------------------------------

CALLS: dict[str, Callable[[Client], Any]] = {
    "s3": lambda c: c.list_buckets(),
    "kms": lambda c: c.list_keys(),
    "cloudtrail": lambda c: c.describe_trails(),
    "sts": lambda c: c.get_caller_identity(),
}


@pytest.mark.parametrize(
    ("service", "code", "status", "message"),
    [
        ("s3", "SlowDown", 503, "Please reduce your request rate."),
        ("kms", "ThrottlingException", 400, "You have exceeded the rate at which you may call KMS."),
        ("cloudtrail", "ThrottlingException", 400, "Rate exceeded"),
        ("sts", "Throttling", 400, "Rate exceeded"),
    ],
)
def test_throttling_is_the_error_the_service_sends(
    faulty: Start, service: str, code: str, status: int, message: str
) -> None:
    emulator = faulty("throttle=1")
    assert error_of(lambda: CALLS[service](client(emulator, service)))[:2] == (code, status)
    _, _, response = error_of(lambda: CALLS[service](client(emulator, service)))
    assert response["Error"]["Message"].startswith(message)
    assert emulator.injector is not None and emulator.injector.injected["throttle"] == 2


@pytest.mark.parametrize(
    ("service", "code"),
    [
        ("s3", "InternalError"),
        ("kms", "InternalFailure"),
        ("cloudtrail", "InternalFailure"),
        ("sts", "InternalFailure"),
    ],
)
def test_a_server_error_is_a_500_in_the_service_format(faulty: Start, service: str, code: str) -> None:
    emulator = faulty("error=1")
    assert error_of(lambda: CALLS[service](client(emulator, service)))[:2] == (code, 500)


def test_the_wire_format_of_each_protocol(faulty: Start) -> None:
    emulator = faulty("throttle=1")
    _, _, kms = error_of(lambda: client(emulator, "kms").list_keys())
    assert kms["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"
    _, _, sts = error_of(lambda: client(emulator, "sts").get_caller_identity())
    assert sts["Error"]["Type"] == "Sender"
    assert sts["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "text/xml"
    _, _, s3 = error_of(lambda: client(emulator, "s3").list_buckets())
    assert s3["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/xml"
    assert s3["ResponseMetadata"]["HostId"]
    code, status, _ = error_of(lambda: client(emulator, "ec2").describe_regions())
    assert (code, status) == ("RequestLimitExceeded", 503)
    # Raw, as AWS sends it: the JSON body of a throttled KMS call.
    request = urllib.request.Request(
        emulator.endpoint,
        data=b"{}",
        headers={
            "X-Amz-Target": "TrentService.ListKeys",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/kms/aws4_request, Signature=x",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    assert json.loads(caught.value.read()) == {
        "__type": "ThrottlingException",
        "message": "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
    }


def test_latency_sleeps_then_answers(faulty: Start) -> None:
    slept: list[float] = []
    emulator = faulty("latency=1:250ms", sleep=slept.append)
    assert client(emulator, "kms").list_keys()["Keys"] == []
    assert client(emulator, "s3").list_buckets()["Buckets"] == []
    assert slept == [0.25, 0.25]


def test_latency_does_not_hold_up_other_requests(faulty: Start) -> None:
    # While one reply is delayed, the emulator must still serve others (and deliver logs).
    answered: list[int] = []

    def sleep(seconds: float) -> None:
        def other() -> None:
            with urllib.request.urlopen(f"{emulator.endpoint}/moto-api/data.json", timeout=10) as reply:
                answered.append(reply.status)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=15)

    emulator = faulty("latency=1:5s", sleep=sleep)
    client(emulator, "kms").list_keys()
    assert answered == [200]


def test_the_control_endpoints_are_never_faulted(faulty: Start) -> None:
    emulator = faulty("throttle=1")
    request = urllib.request.Request(f"{emulator.endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    assert emulator.injector is not None and not emulator.injector.injected


def test_an_emulator_without_a_plan_injects_nothing(emu: Emulator) -> None:
    assert emu.faults is None and emu.injector is None


# --- a faulted call changes nothing --------------------------------------------------------------


@pytest.mark.parametrize("plan", ["throttle=1", "error=1"])
def test_a_faulted_mutating_call_changes_nothing(faulty: Start, aws: ClientFactory, plan: str) -> None:
    emulator = faulty(plan)
    error_of(lambda: client(emulator, "s3").create_bucket(Bucket="never-made"))
    error_of(lambda: client(emulator, "kms").create_key(Description="never made"))
    error_of(lambda: client(emulator, "cloudtrail").create_trail(Name="never-made", S3BucketName="never-made"))
    assert aws("s3").list_buckets()["Buckets"] == []
    assert aws("kms").list_keys()["Keys"] == []
    assert aws("cloudtrail").describe_trails()["trailList"] == []


def test_a_throttled_call_is_logged_with_its_error_code(faulty: Start) -> None:
    # AWS logs throttled calls, errorCode and all: it is how one finds who is being throttled.
    emulator = faulty("throttle=1,spare=cloudtrail.LookupEvents")
    error_of(lambda: client(emulator, "kms").create_key())
    lookup = client(emulator, "cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateKey"}]
    )
    [event] = [json.loads(e["CloudTrailEvent"]) for e in lookup["Events"]]
    assert event["errorCode"] == "ThrottlingException"
    assert event["responseElements"] is None


def test_log_delivery_is_never_faulted(faulty: Start, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    emulator = faulty("throttle=1")
    error_of(lambda: client(emulator, "kms").list_keys())
    assert emulator.deliver_logs_now() == 1
    [record] = [r for r in records(aws, bucket) if r["eventName"] == "ListKeys"]
    assert record["errorCode"] == "ThrottlingException"


# --- botocore's standard retry mode rides it out -------------------------------------------------


def test_standard_retries_complete_fifty_calls_under_faults(
    faulty: Start, aws: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    backoffs: list[float] = []
    real_delay = standard.ExponentialBackoff.delay_amount

    def no_wait(self: Any, context: Any) -> float:
        backoffs.append(real_delay(self, context))  # what botocore would have waited
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", no_wait)
    emulator = faulty("throttle=0.2,error=0.05,seed=7")
    retrying = Config(retries={"mode": "standard", "max_attempts": 10})
    s3, kms = client(emulator, "s3", retrying), client(emulator, "kms", retrying)

    responses = [s3.create_bucket(Bucket="faulty-lab")]
    keys = []
    for n in range(12):
        created = kms.create_key(Description=f"key {n}")
        keys.append(created["KeyMetadata"]["KeyId"])
        responses.append(created)
        responses.append(kms.describe_key(KeyId=keys[-1]))
    for n in range(12):
        responses.append(s3.put_object(Bucket="faulty-lab", Key=f"object-{n}", Body=f"body {n}".encode()))
    responses.append(s3.list_objects_v2(Bucket="faulty-lab"))
    responses += [kms.list_keys() for _ in range(12)]
    assert len(responses) == 50

    assert aws("s3").list_objects_v2(Bucket="faulty-lab")["KeyCount"] == 12
    # Each key was made once: a faulted CreateKey never reached moto, so its retry made no twin.
    assert sorted(k["KeyId"] for k in aws("kms").list_keys()["Keys"]) == sorted(keys)
    assert emulator.injector is not None
    assert emulator.injector.injected["throttle"] > 0 and emulator.injector.injected["error"] > 0
    retries = sum(r["ResponseMetadata"]["RetryAttempts"] for r in responses)
    assert retries == sum(emulator.injector.injected.values()) == len(backoffs)


# --- `labrunner emulator` ------------------------------------------------------------------------


def test_serve_forever_prints_the_fault_plan(tmp_path: Path) -> None:
    script = (
        "import sys; from runner.emulator import FaultPlan, serve_forever; "
        "sys.exit(serve_forever('127.0.0.1', 0, 5.0, sys.stdout, FaultPlan.parse('throttle=0.2,seed=7,spare=sts')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    ) as process:
        assert process.stdout is not None
        banner, faults = process.stdout.readline(), process.stdout.readline()
        assert banner.startswith("labrunner emulator: AWS"), banner
        assert faults == (
            "labrunner emulator: injecting faults: throttling 20% of calls, seed 7, sparing sts "
            "(--faults throttle=0.2,seed=7,spare=sts).\n"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
