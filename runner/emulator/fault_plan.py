"""A fault plan: which faults the emulator injects, how often, and from which seed.

`FaultPlan.parse` reads the compact syntax of `labrunner emulator --faults
throttle=0.2,error=0.05,latency=0.1:200ms,seed=7` (and of the embedded target's `--faults`), naming
every bad part at once; `str(plan)` writes it back. The plan is data only: `faults.py` injects it.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from runner.durations import parse_duration

EXAMPLE = "throttle=0.2,error=0.05,latency=0.1:200ms,seed=7"
ACCEPTED = (
    "Expected comma-separated settings throttle=RATE, error=RATE, latency=RATE:DURATION, seed=INTEGER and "
    "spare=SERVICE[.Operation][+...], where a RATE is from 0 to 1 and a DURATION is like 200ms or 1.5s; "
    f"e.g. {EXAMPLE}"
)
_SETTINGS = ("throttle", "error", "latency", "seed", "spare")
_SPARED = re.compile(r"[a-z0-9-]+(\.[A-Za-z0-9]+)?")


@dataclass(frozen=True)
class FaultPlan:
    """Which faults to inject, how often, and from which seed.

    A request gets at most one of throttling (rate `throttle`) or a server error (rate `error`);
    a request that gets neither is delayed by `latency_seconds` at rate `latency`. `spare` names
    services (`sts`) or operations (`kms.Decrypt`, by signing name) that are never faulted.
    """

    throttle: float = 0.0
    error: float = 0.0
    latency: float = 0.0
    latency_seconds: float = 0.0
    seed: int = 0
    spare: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        problems = [
            f"{name} is {value!r}, not a rate from 0 to 1"
            for name, value in (("throttle", self.throttle), ("error", self.error), ("latency", self.latency))
            if not _is_rate(value)
        ]
        if not problems and self.throttle + self.error > 1:
            problems.append("throttle and error together exceed 1")
        if not (math.isfinite(self.latency_seconds) and self.latency_seconds >= 0):
            problems.append(f"latency_seconds is {self.latency_seconds!r}, not a duration")
        if self.latency > 0 and self.latency_seconds <= 0:
            problems.append("latency needs a positive latency_seconds")
        if self.seed < 0:
            problems.append(f"seed is {self.seed}, not a non-negative integer")
        problems += [f"spare {name!r} is not SERVICE or SERVICE.Operation" for name in self.spare if not _spared(name)]
        if problems:
            raise ValueError("bad fault plan: " + "; ".join(problems))

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """The plan `text` names, e.g. `throttle=0.2,error=0.05,latency=0.1:200ms,seed=7,spare=sts`.

        Raises ValueError naming every bad part, and the accepted form, at once.
        """
        problems: list[str] = []
        values: dict[str, Any] = {}  # FaultPlan's fields, each checked by `_setting`
        seen: set[str] = set()
        parts = [part.strip() for part in text.split(",")]
        if not any(parts):
            raise ValueError(f"empty fault plan. {ACCEPTED}")
        for part in parts:
            name, equals, value = (s.strip() for s in part.partition("="))
            if not equals or not name:
                problems.append(f"{part!r}: expected NAME=VALUE" if part else "an empty setting (a stray comma?)")
                continue
            if name not in _SETTINGS:
                close = difflib.get_close_matches(name, _SETTINGS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"{part!r}: unknown setting {name!r}{hint}")
                continue
            if name in seen:
                problems.append(f"{part!r}: {name} is given twice")
                continue
            seen.add(name)
            try:
                values.update(_setting(name, value))
            except ValueError as why:
                problems.append(f"{part!r}: {why}")
        throttle, error = values.get("throttle", 0.0), values.get("error", 0.0)
        if isinstance(throttle, float) and isinstance(error, float) and throttle + error > 1:
            problems.append(
                f"'throttle={throttle:g}' and 'error={error:g}' together exceed 1 (a request gets one fault at most)"
            )
        if problems:
            raise ValueError(f"bad fault plan {text!r}: {'; '.join(problems)}. {ACCEPTED}")
        return cls(**values)

    @property
    def active(self) -> bool:
        return self.throttle > 0 or self.error > 0 or self.latency > 0

    def spares(self, service: str, operation: str) -> bool:
        return service in self.spare or f"{service}.{operation}" in self.spare

    def __str__(self) -> str:
        """The plan in `parse`'s syntax: `FaultPlan.parse(str(plan)) == plan`."""
        rates = (("throttle", self.throttle), ("error", self.error))
        parts = [f"{name}={_number(rate)}" for name, rate in rates if rate > 0] or (
            [] if self.latency else ["throttle=0"]
        )
        if self.latency > 0:
            parts.append(f"latency={_number(self.latency)}:{_duration_text(self.latency_seconds)}")
        parts.append(f"seed={self.seed}")
        if self.spare:
            parts.append("spare=" + "+".join(sorted(self.spare)))
        return ",".join(parts)

    def describe(self) -> str:
        """The plan in words, for the emulator's start banner."""
        faults = []
        if self.throttle > 0:
            faults.append(f"throttling {_percent(self.throttle)}")
        if self.error > 0:
            faults.append(f"server errors {_percent(self.error)}")
        if self.latency > 0:
            faults.append(f"{_duration_text(self.latency_seconds)} latency {_percent(self.latency)}")
        text = f"{', '.join(faults)} of calls" if faults else "no faults"
        text += f", seed {self.seed}"
        return text + (f", sparing {', '.join(sorted(self.spare))}" if self.spare else "")


def _is_rate(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1


def _spared(name: str) -> bool:
    return _SPARED.fullmatch(name) is not None


def _number(value: float) -> str:
    # Enough digits to read back the same float, without the noise of `0.1 * 1000`.
    return f"{value:.15g}"


def _percent(rate: float) -> str:
    return f"{_number(rate * 100)}%"


def _duration_text(seconds: float) -> str:
    return f"{_number(seconds * 1000)}ms" if seconds < 1 else f"{_number(seconds)}s"


def _rate(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not _is_rate(value):
        raise ValueError(f"a rate is a number from 0 to 1, e.g. {name}=0.2")
    return value


def _setting(name: str, text: str) -> dict[str, Any]:
    """The FaultPlan fields one `name=text` setting gives; ValueError says what is wrong with it."""
    if name in ("throttle", "error"):
        return {name: _rate(name, text)}
    if name == "latency":
        rate, colon, duration = text.partition(":")
        if not colon:
            raise ValueError("latency needs a duration: latency=RATE:DURATION, e.g. latency=0.1:200ms")
        try:
            seconds = parse_duration(duration.strip(), units=("ms", "s"))
        except ValueError:
            seconds = 0.0
        if seconds <= 0:
            raise ValueError(f"{duration.strip()!r} is not a duration; write it like 200ms or 1.5s")
        return {"latency": _rate(name, rate.strip()), "latency_seconds": seconds}
    if name == "seed":
        if not (text.isascii() and text.isdigit()):
            raise ValueError("a seed is a non-negative integer, e.g. seed=7")
        return {"seed": int(text)}
    names = [s.strip() for s in text.split("+")]
    bad = [s for s in names if not _spared(s)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not SERVICE or SERVICE.Operation, e.g. spare=sts+kms.Decrypt")
    return {"spare": frozenset(names)}
