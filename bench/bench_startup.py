"""Benchmark: `labrunner --help` start-up, against the interpreter alone and `import boto3`.

Start-up must not import boto3, botocore, moto or the emulator: `--help` should cost about what an
empty interpreter does. Run directly or through `bench/run.py`.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def labrunner_command() -> list[str]:
    """The installed console script if there is one beside this interpreter, else `python -m runner`."""
    script = Path(sys.executable).parent / "labrunner"
    if script.exists():
        return [str(script)]
    found = shutil.which("labrunner")
    return [found] if found else [sys.executable, "-m", "runner"]


def median_seconds(command: list[str], runs: int = 10) -> float:
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT)  # warm the OS caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(runs: int = 10) -> dict[str, Any]:
    return {
        "python_s": median_seconds([sys.executable, "-c", "pass"], runs),
        "import_boto3_s": median_seconds([sys.executable, "-c", "import boto3"], runs),
        "help_s": median_seconds([*labrunner_command(), "--help"], runs),
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
