"""Durations, the one way labrunner reads and shows them: `500ms`, `30s`, `5m`, `1h`, or a number of seconds.

A leaf module: the lab model (`retry`), the lab JSON Schema (`PATTERN`), actions' own duration
parameters, the emulator's `--log-delay` and fault plans all read durations here, so that a duration
an author can write in one place is a duration everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

#: A duration written as text, for the lab JSON Schema; `parse_duration` reads exactly what it matches.
PATTERN = r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|s|m|h)?\s*$"
_DURATION = re.compile(PATTERN)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
HOW = "write a number of seconds, or 500ms, 30s, 5m, 1h"


def parse_duration(value: Any, *, units: Collection[str] | None = None) -> float:
    """Seconds in a duration; ValueError, saying how to write one, if malformed.

    `units`: the units the text must end with (the fault plan's `latency=0.1:200ms` wants one of ms
    and s); None accepts any unit or none.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as 500ms, 30s, 5m, 1h")
    if isinstance(value, (int, float)) and units is None:
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and (units is None or match.group(2) in units):
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"'{value}' is not a duration; {HOW}")


def format_duration(seconds: float) -> str:
    """How the console and reports show a duration: 0.04s, 12.3s, 4m50s, 1h02m."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
