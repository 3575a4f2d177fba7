"""`labrunner emulator`: serve the embedded AWS emulator (`runner.emulator`) until stopped."""

from __future__ import annotations

import argparse
from typing import TextIO

from runner.commands.options import parse_faults
from runner.durations import parse_duration
from runner.emulator import serve_forever
from runner.errors import UsageError


def command(args: argparse.Namespace, out: TextIO) -> int:
    """The server's exit status; `--log-delay` and `--faults` are checked before it starts."""
    try:
        delay = parse_duration(args.log_delay)
    except ValueError as exc:
        raise UsageError(f"--log-delay: {exc}") from None
    faults = parse_faults(args.faults)
    return int(serve_forever(args.host, args.port, delay, out, faults=faults))
