"""Grading a class: 200 emulator accounts with `--parallel 16`, against the emulator's own capacity.

The capacity baseline is a raw boto3 load at the same concurrency making the read calls a grade of one
account needs (assume the grader role, then the checks' reads), as fast as the emulator answers them.
`labrunner grade` runs as its own process against the same emulator, so its peak memory is its own.
Both see the same accounts: every student did a different subset of `tests/grading/data/class-lab.yaml`.
"""

from __future__ import annotations

import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "grading")]  # the grading tests' roles
from grading_helpers import ADMINISTRATOR, assume, make_grader, make_role, session_clients  # noqa: E402

LAB = ROOT / "tests" / "grading" / "data" / "class-lab.yaml"
REGION = "us-west-2"
STUDENTS = 200
PARALLEL = 16
FIRST_ACCOUNT = 300_000_000_000


def _as(emu: Any, index: int, role: str) -> tuple[Any, Any, str]:
    """S3 and KMS clients in student `index`'s account, as `role`; and that student's bucket name."""
    account = str(FIRST_ACCOUNT + index)
    s3, kms = session_clients(emu, assume(emu, account, role), "s3", "kms")
    return s3, kms, f"class-{account}"


def _roles(emu: Any, index: int) -> None:
    """Student `index`'s account as the class tests make it: a Student role that may do anything, and a
    Grader role holding exactly the lab's printed policy, both trusting the instructor's account (the
    emulator enforces IAM, so neither can be assumed before it exists)."""
    account = str(FIRST_ACCOUNT + index)
    make_role(emu, account, "Student", managed=ADMINISTRATOR)
    make_grader(emu, account, LAB)


def _set_up(emu: Any, index: int) -> None:
    """Student `index` does a subset of the lab that depends on its number."""
    s3, kms, bucket = _as(emu, index, "Student")
    if index % 5:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        if index % 2:
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "course", "Value": "cloud101"}]})
        if index % 3:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if index % 4:
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/classKey", TargetKeyId=key)
        if index % 7:
            kms.enable_key_rotation(KeyId=key)


def _raw_grade(emu: Any, index: int) -> None:
    """The requests a grade of one account needs, made directly: the capacity baseline."""
    s3, kms, bucket = _as(emu, index, "Grader")
    for operation in ("head_bucket", "get_bucket_tagging", "get_bucket_versioning"):
        with contextlib.suppress(s3.exceptions.ClientError):  # a student who skipped that task
            getattr(s3, operation)(Bucket=bucket)
    with contextlib.suppress(kms.exceptions.ClientError):
        key = kms.describe_key(KeyId="alias/classKey")["KeyMetadata"]["KeyId"]
        kms.get_key_rotation_status(KeyId=key)


def _grade(endpoint: str, folder: Path) -> tuple[float, int, dict[str, Any]]:
    accounts = folder / "accounts.txt"
    accounts.write_text("".join(f"{FIRST_ACCOUNT + i}\n" for i in range(STUDENTS)))
    records = folder / "records"
    command = [sys.executable, "-m", "runner", "grade", str(LAB), "--target", endpoint, "--region", REGION,
               "--accounts", str(accounts), "--role-arn", "arn:aws:iam::{account}:role/Grader",
               "--parallel", str(PARALLEL), "--record", str(records), "--csv", str(folder / "class.csv")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode not in (0, 1):  # 1: some students failed some checks, as they should
        raise RuntimeError(f"labrunner grade failed ({done.returncode}): {done.stderr[-2000:]}")
    graded = len(list(records.glob("*.json")))
    if graded != STUDENTS:
        raise RuntimeError(f"expected {STUDENTS} records, found {graded}")
    summary = {"peak_rss_mib": max(peak_kib, before) / 1024}
    return elapsed, graded, summary


def measure(repeats: int = 3) -> dict[str, Any]:
    from runner.emulator import Emulator

    grade_times: list[float] = []
    raw_times: list[float] = []
    with Emulator(log_delay=3600, region=REGION) as emu, tempfile.TemporaryDirectory() as tmp:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            list(pool.map(lambda i: _roles(emu, i), range(STUDENTS)))
            list(pool.map(lambda i: _set_up(emu, i), range(STUDENTS)))
        _grade(emu.endpoint, Path(tmp))  # warm the emulator's caches as much as the grader's
        peak = 0.0
        for round_ in range(repeats):
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
                list(pool.map(lambda i: _raw_grade(emu, i), range(STUDENTS)))
            raw_times.append(time.perf_counter() - start)
            folder = Path(tmp) / f"round-{round_}"
            folder.mkdir()
            elapsed, _, summary = _grade(emu.endpoint, folder)
            grade_times.append(elapsed)
            peak = max(peak, summary["peak_rss_mib"])
    graded, raw = statistics.median(grade_times), statistics.median(raw_times)
    return {"students": STUDENTS, "parallel": PARALLEL, "repeats": repeats, "grade_s": graded, "raw_s": raw,
            "fraction_of_capacity": raw / graded, "peak_rss_mib": peak,
            "students_per_s": STUDENTS / graded}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
