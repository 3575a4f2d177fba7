"""Fault injection: throttling, server errors and latency, drawn from a seed, answered as AWS would.

`FaultInjector` turns a `FaultPlan` (`fault_plan.py`) into a `Behaviour("*")` that `server.py` places
first in the middleware's chain (`middleware.py`), so a faulted request is answered before any other
behaviour or moto sees it and changes nothing. `REPLIES` is what each service answers for each fault,
in its own wire format (`model.error_reply`), so an SDK classifies and retries it as it would AWS's.
The middleware still records the call for CloudTrail (`events.py`), with its errorCode: AWS logs
throttled calls that way (the Knowledge Center's "rate exceeded" guide finds them by
`errorcode = 'ThrottlingException'`). `/moto-api` requests never reach the behaviours, and log
delivery (`trail.py`) writes to moto's store directly, so neither can be faulted.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .fault_plan import FaultPlan
from .model import Behaviour, Call, Context, Reply, error_format, error_reply, rule

Answered = Literal["throttle", "error"]  # the faults that answer in the service's place
Fault = Answered | Literal["latency"]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Answer:
    """One AWS error: its code, message and HTTP status."""

    code: str
    message: str
    status: int


@dataclass(frozen=True)
class FaultReply:
    """What the services answer for one kind of fault, by the error format they write (`model.py`)."""

    aws: str  # what AWS does, in one sentence
    json: Answer  # JSON and REST-JSON services: KMS, CloudTrail, ...
    query: Answer  # query services: STS, IAM, ...
    ec2: Answer  # EC2's own query dialect
    rest_xml: Answer  # S3
    messages: Mapping[str, str] = field(default_factory=dict)  # by service, where its message differs

    def reply(self, call: Call) -> Reply:
        form = error_format(call)
        answer = {"json": self.json, "query": self.query, "ec2": self.ec2, "rest-xml": self.rest_xml}[form]
        return error_reply(call, answer.code, self.messages.get(call.service, answer.message), answer.status)


_RATE_EXCEEDED = "Rate exceeded"
_INTERNAL_FAILURE = "The request processing has failed because of an unknown error, exception or failure."

REPLIES: Mapping[Answered, FaultReply] = {
    "throttle": FaultReply(
        "A throttled call gets the service's throttling error, which SDKs retry with backoff",
        json=Answer("ThrottlingException", _RATE_EXCEEDED, 400),
        query=Answer("Throttling", _RATE_EXCEEDED, 400),
        ec2=Answer("RequestLimitExceeded", "Request limit exceeded.", 503),
        rest_xml=Answer("SlowDown", "Please reduce your request rate.", 503),
        messages={
            "kms": "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
        },
    ),
    "error": FaultReply(
        "A call that fails inside the service gets a 500 with the service's internal error",
        json=Answer("InternalFailure", _INTERNAL_FAILURE, 500),
        query=Answer("InternalFailure", _INTERNAL_FAILURE, 500),
        ec2=Answer("InternalError", "An internal error has occurred.", 500),
        rest_xml=Answer("InternalError", "We encountered an internal error. Please try again.", 500),
    ),
}


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
        # The server is threaded and requests in different accounts run at once (`locks.py`): the
        # draws stay one sequence, whoever draws.
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
        if fault is None:
            return None
        if fault == "latency":
            # Slept once the request lets go of its locks: one slow reply must not stall the other
            # clients of its accounts and the log delivery thread.
            seconds = self.plan.latency_seconds
            context.defer(lambda: self._sleep(seconds))
            return None
        return REPLIES[fault].reply(call)

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
