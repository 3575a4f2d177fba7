"""Fault injection: throttling, server errors and latency at given rates, drawn from a seed.

`FaultPlan` is what `labrunner emulator --faults throttle=0.2,error=0.05,latency=0.1:200ms,seed=7`
(and the embedded target) asks for. `FaultInjector` turns it into a `Behaviour("*")` that
`server.py` places first in the middleware's chain (`middleware.py`), so a faulted request is
answered before any other behaviour or moto sees it and changes nothing. The reply is the error
the service itself sends, in its own wire format, so an SDK classifies and retries it as it would
AWS's. The middleware still records the call for CloudTrail (`events.py`), with its errorCode: AWS
logs throttled calls that way (the Knowledge Center's "rate exceeded" guide finds them by
`errorcode = 'ThrottlingException'`). `/moto-api` requests never reach the behaviours, and log
delivery (`trail.py`) writes to moto's store directly, so neither can be faulted.
"""

from __future__ import annotations

import base64
import difflib
import math
import random
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from runner.durations import parse_duration

from .middleware import Behaviour, Call, Context, Reply, error_reply, rule

Fault = Literal["throttle", "error", "latency"]
Sleep = Callable[[float], None]

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


# --- the replies AWS sends -----------------------------------------------------------------------

# The messages the services send, where they are known to differ from the generic one.
_THROTTLE_MESSAGES = {
    "kms": "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
}
_RATE_EXCEEDED = "Rate exceeded"
_INTERNAL_FAILURE = "The request processing has failed because of an unknown error, exception or failure."
_QUERY_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


def _xml_reply(call: Call, root: ET.Element, status: int) -> Reply:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
    headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", call.request_id), ("Content-Length", str(len(body))))
    return Reply(status, headers, body)


def _query_error(call: Call, kind: str, code: str, message: str, status: int) -> Reply:
    """`<ErrorResponse><Error><Type>…` as STS, IAM and the other query services send it."""
    namespace = _QUERY_NAMESPACES.get(call.service)
    root = ET.Element("ErrorResponse", {"xmlns": namespace} if namespace else {})
    error = ET.SubElement(root, "Error")
    for name, value in (("Type", kind), ("Code", code), ("Message", message)):
        ET.SubElement(error, name).text = value
    ET.SubElement(root, "RequestId").text = call.request_id
    return _xml_reply(call, root, status)


def _ec2_error(call: Call, code: str, message: str, status: int) -> Reply:
    """EC2's query dialect: `<Response><Errors><Error>…</Errors><RequestID>`."""
    root = ET.Element("Response")
    error = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
    ET.SubElement(error, "Code").text = code
    ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestID").text = call.request_id
    return _xml_reply(call, root, status)


def _s3_error(call: Call, code: str, message: str, status: int) -> Reply:
    # S3 names the host that answered twice, in the body's HostId and the x-amz-id-2 header.
    host = base64.b64encode(call.request_id.encode()).decode()
    return error_reply(call, code, message, status, HostId=host).with_header("x-amz-id-2", host)


def _json_error(call: Call, code: str, message: str, status: int) -> Reply:
    reply = error_reply(call, code, message, status)
    # Answer in the JSON version the client spoke (KMS and CloudTrail 1.1, DynamoDB 1.0, ...).
    sent = call.header("content-type") or ""
    if call.protocol == "rest-json":
        return reply.with_header("Content-Type", "application/json")
    if sent.startswith("application/x-amz-json-"):
        return reply.with_header("Content-Type", sent.split(";", 1)[0])
    return reply


def throttling_reply(call: Call) -> Reply:
    """What the call's service answers when it throttles the caller."""
    if call.protocol == "rest-xml":
        return _s3_error(call, "SlowDown", "Please reduce your request rate.", 503)
    if call.protocol == "query" and call.service == "ec2":
        return _ec2_error(call, "RequestLimitExceeded", "Request limit exceeded.", 503)
    if call.protocol == "query":
        return _query_error(call, "Sender", "Throttling", _RATE_EXCEEDED, 400)
    return _json_error(call, "ThrottlingException", _THROTTLE_MESSAGES.get(call.service, _RATE_EXCEEDED), 400)


def server_error_reply(call: Call) -> Reply:
    """What the call's service answers when it fails internally."""
    if call.protocol == "rest-xml":
        return _s3_error(call, "InternalError", "We encountered an internal error. Please try again.", 500)
    if call.protocol == "query" and call.service == "ec2":
        return _ec2_error(call, "InternalError", "An internal error has occurred.", 500)
    if call.protocol == "query":
        return _query_error(call, "Receiver", "InternalFailure", _INTERNAL_FAILURE, 500)
    return _json_error(call, "InternalFailure", _INTERNAL_FAILURE, 500)


# --- the injector --------------------------------------------------------------------------------


class FaultInjector:
    """Draws each request's fault from `random.Random(plan.seed)` and answers for the service.

    Every request that is not spared takes exactly two draws, whatever the rates, so one seed gives
    one sequence of faults for one sequence of requests; spared requests take none, so sparing a
    service does not shift the faults the others see.
    """

    def __init__(self, plan: FaultPlan, sleep: Sleep = time.sleep) -> None:
        self.plan = plan
        self.injected: Counter[Fault] = Counter()
        self._sleep = sleep
        self._random = random.Random(plan.seed)
        # The server is threaded; the middleware's lock serializes requests today, but the draws
        # must stay one sequence even for a caller outside it.
        self._lock = threading.Lock()

    def draw(self, service: str, operation: str) -> Fault | None:
        """The fault for the next request to `service`.`operation`, if it gets one."""
        if not self.plan.active or self.plan.spares(service, operation):
            return None
        with self._lock:
            roll, latency_roll = self._random.random(), self._random.random()
            fault: Fault | None = None
            if roll < self.plan.throttle:
                fault = "throttle"
            elif roll < self.plan.throttle + self.plan.error:
                fault = "error"
            elif latency_roll < self.plan.latency:
                fault = "latency"
            if fault is not None:
                self.injected[fault] += 1
        return fault

    def _before(self, call: Call, context: Context) -> Reply | None:
        fault = self.draw(call.service, call.operation)
        if fault == "throttle":
            return throttling_reply(call)
        if fault == "error":
            return server_error_reply(call)
        if fault == "latency":
            # Slept once the request lets go of the emulator's lock: one slow reply must not stall
            # every other client and the log delivery thread.
            seconds = self.plan.latency_seconds
            context.defer(lambda: self._sleep(seconds))
        return None

    @property
    def behaviour(self) -> Behaviour:
        """The behaviour to place first in the chain, ahead of every service's own."""
        return Behaviour(
            service="*",
            rules=(
                rule(
                    "Any call may be throttled, fail with a server error, or be slow; a faulted call changes nothing",
                    before=self._before,
                ),
            ),
        )
