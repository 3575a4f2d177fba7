"""Durations, the one way labrunner reads and shows them: `500ms`, `30s`, `5m`, `1h`, `7d`, `2w`, or a number
of seconds; and moments, written as an ISO 8601 time or as a duration ago.

A leaf module: the lab model (`retry`), the lab JSON Schema (`PATTERN`), actions' own duration and time
parameters, `grade --since`, the emulator's `--log-delay` and fault plans all read them here, so that
what an author can write in one place means the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

#: A duration written as text, for the lab JSON Schema; `parse_duration` reads exactly what it matches.
PATTERN = r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|s|m|h|d|w)?\s*$"
_DURATION = re.compile(PATTERN)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}
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


def parse_moment(value: Any, now: datetime) -> datetime:
    """A moment: an ISO 8601 time (UTC unless it says otherwise) or a duration before `now` (30m, 2h, 7d).

    ValueError, saying both ways to write one, if it is neither. Whole seconds: CloudTrail's times have
    no fraction, so a moment in the middle of a second must not exclude that second's events.
    """
    text = str(value).strip()
    try:
        moment = now - timedelta(seconds=parse_duration(value))
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"'{text}' is neither an ISO 8601 time (2025-03-01T09:00:00Z) nor a duration ago "
                             "such as 30m, 2h, 7d") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def format_duration(seconds: float, *, whole: bool = False) -> str:
    """How the console and reports show a duration: 0.04s, 12.3s, 4m50s, 1h02m.

    `whole`: in whole seconds (7s, 42s, 4m50s), for a clock that ticks, such as a wait in progress.
    """
    if whole:
        seconds = round(seconds)
        if seconds < 60:
            return f"{seconds}s"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
