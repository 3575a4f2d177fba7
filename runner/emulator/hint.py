"""What `labrunner emulator` prints so that clients find it, worded for the clients it names.

A leaf of the emulator: `server.serve_forever` prints `lines`. The environment variables
(`Emulator.environment`) point an SDK or the AWS CLI at the emulator through `AWS_ENDPOINT_URL`, which
botocore reads only since 1.31 (boto3 1.28, AWS CLI v1 1.29, AWS CLI v2 2.13: "service-specific
endpoints", July 2023). An older AWS CLI ignores it and sends the emulator's test keys to real AWS; it
needs `--endpoint-url` on each command. So the hint says which versions read the variable and what
works for the others, and when the `aws` on the PATH is one of those, says so.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping

#: The first release of each client that reads AWS_ENDPOINT_URL.
READS_ENDPOINT_URL = {1: (1, 29, 0), 2: (2, 13, 0)}
_VERSION = re.compile(r"aws-cli/(\d+)\.(\d+)\.(\d+)")


def installed_cli(timeout: float = 10.0) -> str | None:
    """`aws --version`'s first word (`aws-cli/1.22.34`), or None when there is no `aws` or it says nothing."""
    aws = shutil.which("aws")
    if aws is None:
        return None
    try:
        done = subprocess.run([aws, "--version"], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    words = (done.stdout or done.stderr).split()  # AWS CLI v1 before 1.17 printed its version on stderr
    return words[0] if words and words[0].startswith("aws-cli/") else None


def ignores_endpoint_url(cli: str) -> bool:
    """Whether an AWS CLI (`aws-cli/1.22.34`) is older than the first of its major version to read it."""
    match = _VERSION.match(cli)
    if match is None:
        return False
    version = tuple(int(part) for part in match.groups())
    first = READS_ENDPOINT_URL.get(version[0])
    return first is not None and version < first


def lines(endpoint: str, environment: Mapping[str, str], cli: str | None = None) -> list[str]:
    """The hint: the exports, which clients read them, and what works for the AWS CLIs that do not."""
    shown = ["# Point the AWS CLI or an SDK here:"]
    shown += [f"export {name}={shlex.quote(value)}" for name, value in environment.items()]
    alias = f"alias aws={shlex.quote(f'aws --endpoint-url {endpoint}')}"
    shown += [
        "# AWS_ENDPOINT_URL is read by AWS CLI v2 2.13+, AWS CLI v1 1.29+ and boto3 1.28+ (botocore 1.31+).",
        "# An older AWS CLI ignores it and calls real AWS: give it the endpoint on each command,",
        f"#   aws --endpoint-url {endpoint} s3 ls",
    ]
    if cli is not None and ignores_endpoint_url(cli):
        shown += [f"# The aws on your PATH ({cli}) is one of those; in this shell, use:", alias]
    else:
        shown.append(f"# or in this shell: {alias}")
    return shown
