"""Verifying a lab against running it once: `labrunner verify labs/kms-basics.yaml` and `labrunner run`
of the same lab, each its own process on its own embedded emulator, interleaved, `REPEATS` times.

A run waits for CloudTrail to deliver its log files (two seconds on the embedded emulator) and works
through one account; verify runs every case of the lab (an untouched account, the reference graded as it
goes and after clean-up, each task left out, each alternative and mistake), in accounts of their own, by
default one worker process per core, each with its own emulator. Also measured: verify with one case at
a time in one process, which shows what the worker processes give.
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from runner.verify.pools import default_parallel

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "labs" / "kms-basics.yaml"
LABRUNNER = Path(sys.executable).parent / "labrunner"
REPEATS = 5


def _cpu() -> float:
    """CPU seconds (user and system) of the children that have ended so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(args: list[str], cpu: list[float] | None = None) -> tuple[float, str]:
    begin, before = time.perf_counter(), _cpu()
    done = subprocess.run([str(LABRUNNER), *args], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if cpu is not None:
        cpu.append(_cpu() - before)
    return time.perf_counter() - begin, done.stdout


def measure(repeats: int = REPEATS) -> dict[str, Any]:
    runs, verifies, serial = [], [], []
    run_cpu: list[float] = []
    verify_cpu: list[float] = []
    cases = disagreements = 0
    with tempfile.TemporaryDirectory() as folder:
        _timed(["run", str(LAB), "--record", f"{folder}/warm.json"])  # the first start reads every .pyc
        for index in range(repeats):
            seconds, _ = _timed(["run", str(LAB), "--record", f"{folder}/run-{index}.json"], run_cpu)
            runs.append(seconds)
            seconds, out = _timed(["verify", str(LAB)], verify_cpu)
            verifies.append(seconds)
            found = re.search(r"(\d+) disagreements? in (\d+) cases|every grade as expected in (\d+) cases", out)
            if found:
                disagreements = int(found.group(1) or 0)
                cases = int(found.group(2) or found.group(3))
        for _ in range(max(1, repeats // 2)):
            serial.append(_timed(["verify", str(LAB), "--parallel", "1"])[0])
    run_s, verify_s, serial_s = (statistics.median(x) for x in (runs, verifies, serial))
    return {"workers": default_parallel("emulator"),
            "run_s": run_s, "fastest_run_s": min(runs), "slowest_run_s": max(runs),
            "verify_s": verify_s, "serial_s": serial_s, "ratio": verify_s / run_s,
            "paired": sorted(v / r for v, r in zip(verifies, runs, strict=True)), "cases": cases,
            "disagreements": disagreements, "repeats": repeats, "serial_repeats": len(serial),
            "run_cpu_s": statistics.median(run_cpu), "verify_cpu_s": statistics.median(verify_cpu)}


if __name__ == "__main__":
    print(measure())
