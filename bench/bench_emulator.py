"""The emulator's cost per request: a fixed mix of boto3 calls against an emulator in a process of its own.

The mix is what labs make most: STS GetCallerIdentity, KMS DescribeKey, Encrypt, Decrypt and ListAliases,
S3 PutObject, GetObject, HeadObject and ListObjectsV2 (five keys), IAM ListRoles; one client per
service, as a run's target makes them. The emulator's process reports its own CPU time before and after
each measured round, so its cost per request is read apart from the client's, and does not depend on
how much of a core the machine gave it meanwhile, as the requests a second do.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
MIXES = 30  # a round: 300 requests
REQUESTS_A_MIX = 10

_SERVE = """
import sys, time
from runner.emulator import Emulator
with Emulator(log_delay=float(sys.argv[2]), region=sys.argv[1]) as emu:
    print(emu.endpoint, flush=True)
    for _ in sys.stdin:  # each line asks for the CPU time used so far; the end of stdin stops it
        print(time.process_time(), flush=True)
"""


@contextmanager
def emulator_process(region: str, log_delay: float) -> Iterator[tuple[str, Callable[[], float]]]:
    """An emulator in a process of its own, as AWS is to a real run: its endpoint, and a function that reads
    the CPU time the process has used."""
    with subprocess.Popen([sys.executable, "-c", _SERVE, region, str(log_delay)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, cwd=ROOT) as server:
        assert server.stdout is not None and server.stdin is not None
        endpoint = server.stdout.readline().strip()
        if not endpoint.startswith("http"):
            raise RuntimeError("the emulator process did not start")
        stdin, stdout = server.stdin, server.stdout

        def cpu() -> float:
            stdin.write("\n")
            stdin.flush()
            return float(stdout.readline())

        try:
            yield endpoint, cpu
        finally:
            stdin.close()
            server.wait(timeout=30)


def mix(endpoint: str) -> Callable[[int], None]:
    """The calls of one mix, on clients made once; the argument picks which of five objects it uses."""
    from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY

    session = boto3.Session(aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY,
                            region_name=REGION)
    config = Config(retries={"max_attempts": 1})
    kms, s3, sts, iam = (session.client(name, endpoint_url=endpoint, config=config)
                         for name in ("kms", "s3", "sts", "iam"))
    s3.create_bucket(Bucket="bench-emulator")
    key = kms.create_key()["KeyMetadata"]["KeyId"]

    def one(i: int) -> None:
        name = f"object-{i % 5}"
        sts.get_caller_identity()
        kms.describe_key(KeyId=key)
        blob = kms.encrypt(KeyId=key, Plaintext=b"x" * 100)["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob)
        kms.list_aliases()
        s3.put_object(Bucket="bench-emulator", Key=name, Body=b"y" * 1000)
        s3.get_object(Bucket="bench-emulator", Key=name)["Body"].read()
        s3.head_object(Bucket="bench-emulator", Key=name)
        s3.list_objects_v2(Bucket="bench-emulator")
        iam.list_roles()

    return one


def measure(rounds: int = 7, mixes: int = MIXES) -> dict[str, Any]:
    per_second: list[float] = []
    emulator_ms: list[float] = []
    client_ms: list[float] = []
    requests = mixes * REQUESTS_A_MIX
    # No trail in the mix, and no delivery to wait for: the delivery thread stays asleep.
    with emulator_process(REGION, log_delay=3600.0) as (endpoint, emulator_cpu):
        one = mix(endpoint)
        for i in range(mixes):  # warm: imports, models, moto's first answers
            one(i)
        for _ in range(rounds):
            server_before, client_before, start = emulator_cpu(), time.process_time(), time.perf_counter()
            for i in range(mixes):
                one(i)
            elapsed = time.perf_counter() - start
            client_ms.append((time.process_time() - client_before) * 1000 / requests)
            emulator_ms.append((emulator_cpu() - server_before) * 1000 / requests)
            per_second.append(requests / elapsed)
    return {"rounds": rounds, "requests_a_round": requests, "per_second": statistics.median(per_second),
            "emulator_cpu_ms": statistics.median(emulator_ms), "client_cpu_ms": statistics.median(client_ms),
            "emulator_cpu_ms_range": [min(emulator_ms), max(emulator_ms)]}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
