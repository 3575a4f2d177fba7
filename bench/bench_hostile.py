"""What a hostile student costs the grader: peak memory and time of grading one account of the KMS lab.

Every account did the lab's first five tasks as a student would (`tests/grading/students.py`'s scripted
`Student`, with boto3); the hostile ones then put into their account what a student testing the grader would
(`tests/grading/hostile.py`): a gzip bomb where CloudTrail writes, a flood of files, the most that the
read bounds let one search read, a 5 GiB image. Each account is graded by `labrunner grade --accounts`
as a process of its own (its peak resident memory is `ru_maxrss`, from `wait4` in a small process that
starts it), against one emulator in this process, several times, interleaved; the figures are medians,
and "more" is against the ordinary student.
"""

from __future__ import annotations

import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "grading")]  # the grading tests' students and helpers

from grading_helpers import GRADER_ROLE, KMS_LAB, REGION, make_grader  # noqa: E402
from hostile import CONTROL, LARGE_OBJECTS, GiB, claim_size, flood, gzip_bomb, log_name, put_directly  # noqa: E402
from students import KMS_TASKS, Student  # noqa: E402

from runner.actions import bounds  # noqa: E402
from runner.emulator import Emulator  # noqa: E402

TARGET_MIB = 100
TARGET_S = 30.0
FIRST_ACCOUNT = 330_000_000_000
#: A record of about 1 KiB, the size of a typical one, that no check of the lab looks for.
_FILLER = {"eventVersion": "1.09", "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
           "eventTime": "2000-01-01T00:00:00Z", "requestParameters": {"filler": "x" * 860}}

Scenario = Callable[[Emulator, Student], None]


def _bomb(emu: Emulator, student: Student) -> None:
    key = log_name(student.account, REGION, datetime.now(UTC), label=CONTROL)
    put_directly(emu, student.bucket, {key: gzip_bomb(GiB)})


def _flood(emu: Emulator, student: Student) -> None:
    flood(emu, student.bucket, student.account, REGION, 20_000)


def _at_the_bounds(emu: Emulator, student: Student) -> None:
    """As many files as a search lists, holding together as many records as it reads: the slowest
    account the bounds allow."""
    files = bounds.MAX_LOG_KEYS - 10  # the student's own log files are listed too
    body = gzip.compress(json.dumps({"Records": [_FILLER] * (bounds.MAX_SEARCH_RECORDS // files)}).encode())
    now = datetime.now(UTC)
    put_directly(emu, student.bucket, {log_name(student.account, REGION, now): body for _ in range(files)})


def _large_image(emu: Emulator, student: Student) -> None:
    claim_size(student.bucket, "Eiffel.jpg", 5 * GiB)


SCENARIOS: dict[str, Scenario] = {
    "ordinary student": lambda emu, student: None,
    "gzip bomb: 1 GiB of spaces in 1 MiB, under a log file's name": _bomb,
    "flood: 20,000 files under the log prefix": _flood,
    f"at the bounds: {bounds.MAX_LOG_KEYS - 10:,} log files, {bounds.MAX_SEARCH_RECORDS:,} records": _at_the_bounds,
    "the image replaced by 5 GiB (the checks head it, never download it)": _large_image,
}


#: Runs a command and prints its exit status and peak resident memory (KiB, from wait4). The command is
#: started from this small process: a child started from the benchmark's own process would count the
#: benchmark's pages in its peak until it execs (Linux charges a child the memory it was forked with).
_MEASURE = ("import json, os, subprocess, sys; process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "_, status, usage = os.wait4(process.pid, 0); "
            "print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss]))")


def _grade(endpoint: str, account: str, folder: Path) -> tuple[float, float]:
    """Seconds and peak MiB of `labrunner grade` of one account, in a process of its own."""
    accounts = folder / "accounts.txt"
    accounts.write_text(f"{account}\n")
    command = [sys.executable, "-m", "runner", "grade", str(KMS_LAB), "--target", endpoint, "--region", REGION,
               "--accounts", str(accounts), "--role-arn", GRADER_ROLE, "--record", str(folder / "records")]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    code, peak_kib = json.loads(done.stdout) if done.returncode == 0 else (done.returncode, 0)
    if code not in (0, 1):  # 1: a check failed, as a hostile student's should
        raise RuntimeError(f"labrunner grade failed ({code}): {done.stderr[-2000:]}")
    return elapsed, peak_kib / 1024  # ru_maxrss is in KiB on Linux


def measure(repeats: int = 3) -> dict[str, Any]:
    from runner.emulator.server import BEHAVIOURS

    times: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    peaks: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    with Emulator(log_delay=3600, region=REGION, behaviours=(*BEHAVIOURS, LARGE_OBJECTS)) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        accounts: dict[str, str] = {}
        for number, (name, scenario) in enumerate(SCENARIOS.items()):
            account = str(FIRST_ACCOUNT + number)
            student = Student(emu, account, Path(tmp) / account, tool="boto3").do(*KMS_TASKS[:5])
            scenario(emu, student)
            make_grader(emu, account)
            accounts[name] = account
        for round_ in range(repeats):
            for name, account in accounts.items():
                folder = Path(tmp) / f"grade-{round_}-{account}"
                folder.mkdir()
                elapsed, peak = _grade(emu.endpoint, account, folder)
                times[name].append(elapsed)
                peaks[name].append(peak)
    rows = {name: {"s": statistics.median(times[name]), "peak_mib": statistics.median(peaks[name])}
            for name in SCENARIOS}
    ordinary = rows["ordinary student"]
    for row in rows.values():
        row["more_s"] = row["s"] - ordinary["s"]
        row["more_mib"] = row["peak_mib"] - ordinary["peak_mib"]
    worst_s = max(row["more_s"] for row in rows.values())
    worst_mib = max(row["more_mib"] for row in rows.values())
    return {"repeats": repeats, "rows": rows, "worst_more_s": worst_s, "worst_more_mib": worst_mib,
            "meets": worst_s <= TARGET_S and worst_mib <= TARGET_MIB}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
