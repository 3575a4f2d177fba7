"""What the reliability tests share: the served emulator's settings, running the CLI, and finding leftovers.

moto's state is process-global, so every test names its resources after a seeded tag (`random_id`)
and looks only at those. Runs that must be killed or interrupted go through a real subprocess
(`labrunner run`), pointed at the emulator served here; everything else calls `runner.commands.main.main`.
Test modules import these from here, never from `conftest`: several test folders have one, and which
`conftest` module an import finds would depend on what pytest collected first.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testkit import child_env

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator

ROOT = Path(__file__).resolve().parents[2]
LABS = Path(__file__).resolve().parent / "labs"
REGION = "us-west-2"
#: Generous: these bound a hang, they never measure speed.
WAIT = 120.0


def labrunner(*args: str | Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`labrunner ARGS` as a new process, to completion (or to its death)."""
    return subprocess.run([sys.executable, "-m", "runner", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=child_env(**extra_env), timeout=WAIT * 2)


class Live:
    """A `labrunner` process whose output is read line by line while it runs."""

    def __init__(self, *args: str | Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "runner", *map(str, args)], cwd=ROOT,
                                        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, after: int = 0) -> int:
        """Read until a line (at index >= `after`) contains `text`; its index."""
        deadline = time.monotonic() + WAIT
        while True:
            for index in range(after, len(self.lines)):
                if text in self.lines[index]:
                    return index
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"never printed {text!r}:\n" + "".join(self.lines))
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"exited before printing {text!r}:\n" + "".join(self.lines))
            self.lines.append(line)

    def finish(self) -> tuple[int, str]:
        code = self.process.wait(timeout=WAIT)
        self._reader.join(timeout=WAIT)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)
        return code, "".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT)


def record_when(path: Path, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The record file of a run in progress once `ready` holds for it.

    A run writes its record behind itself (`write_behind.WriteBehind`): what the terminal shows may be a
    write ahead of what the file holds.
    """
    deadline = time.monotonic() + WAIT
    while True:
        data: dict[str, Any] = json.loads(path.read_text())
        if ready(data) or time.monotonic() > deadline:
            return data
        time.sleep(0.02)


def clients(emu: Emulator) -> dict[str, Any]:
    import boto3

    return {name: boto3.client(name, endpoint_url=emu.endpoint, region_name=REGION,
                               aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY)
            for name in ("s3", "kms", "cloudtrail")}


def leftovers(emu: Emulator, tag: str) -> dict[str, list[str]]:
    """Everything named after `tag` that still exists (keys: those not waiting for deletion)."""
    aws = clients(emu)
    buckets = [b["Name"] for b in aws["s3"].list_buckets()["Buckets"] if b["Name"].startswith(tag)]
    aliases = [a["AliasName"] for a in aws["kms"].list_aliases()["Aliases"] if tag in a["AliasName"]]
    trails = [t["Name"] for t in aws["cloudtrail"].describe_trails()["trailList"] if t["Name"].startswith(tag)]
    keys = []
    for key in aws["kms"].list_keys()["Keys"]:
        meta = aws["kms"].describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("Description") == tag and meta["KeyState"] != "PendingDeletion":
            keys.append(key["KeyId"])
    return {k: v for k, v in {"buckets": buckets, "aliases": aliases, "trails": trails, "keys": keys}.items() if v}
