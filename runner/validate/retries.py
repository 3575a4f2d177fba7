"""A rule of validation's meaning layer (`semantics.py`): the timing of a step's `retry` is sane.

Durations parse; the timeout and interval are positive; the interval fits in the timeout (else the step
would run once); `max_interval` is not below the interval; nothing waits more than a day. Whether a step
may retry at all depends on its action, and stays in `semantics.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runner import durations, model

#: (the retry key the problem is at, the message, the fix, the rule)
TimingProblem = tuple[str, str, str, str]


def timing_problems(retry: Mapping[str, Any], flagged: Callable[[str], bool]) -> Iterator[TimingProblem]:
    """Every problem with a retry's timing; `flagged(key)` says a key's value was already reported."""
    values: dict[str, float] = {}
    for key in ("timeout", "interval", "max_interval"):
        if key in retry and not flagged(key):
            try:
                values[key] = durations.parse_duration(retry[key])
            except ValueError as exc:
                yield key, str(exc), "for example 30s or 5m", "duration"
    timeout = values.get("timeout", model.DEFAULT_TIMEOUT)
    interval = values.get("interval", model.DEFAULT_INTERVAL)
    max_interval = values.get("max_interval", max(model.DEFAULT_MAX_INTERVAL, interval))
    if "timeout" in values and timeout <= 0:
        yield "timeout", "retry.timeout must be more than zero", "for example 5m", "retry"
    if "interval" in values and interval <= 0:
        yield "interval", "retry.interval must be more than zero", "for example 10s", "retry"
    if interval > timeout > 0:
        shown = f"{interval:g}s" if "interval" in values else f"default {interval:g}s"
        yield ("interval" if "interval" in values else "timeout",
               f"retry.interval ({shown}) is longer than retry.timeout ({timeout:g}s): the step would run once",
               "shorten the interval or lengthen the timeout", "retry")
    if "max_interval" in values and max_interval < interval:
        yield ("max_interval", f"retry.max_interval ({max_interval:g}s) is shorter than retry.interval "
               f"({interval:g}s)", "raise max_interval or lower interval", "retry")
    if timeout > 24 * 3600:
        yield "timeout", "retry.timeout is over a day", "a lab step should give up sooner", "retry"
