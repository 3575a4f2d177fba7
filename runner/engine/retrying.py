"""Polling one step until it passes or its time runs out: tenacity, with the clock and sleep injected;
and the time limit of a whole run (`TimeLimit`, `Deadline`).

Used by `steps.py`, which decides what counts as a retryable outcome (an action that is safe to repeat,
`runner.operation_kinds`, on any failure; any other only on the codes in `retry.on`); this module only
schedules attempts.
The pause starts at `interval`, grows by `backoff` after each attempt, is capped at `max_interval`, and
never runs past the timeout, nor past the run's deadline: the last attempt happens then at the latest.
tenacity reads `time.monotonic` itself, so stop and wait are computed from the injected clock instead of
its state. Whoever watches (`on_wait`) hears of the wait after each failed attempt and, with `tick`,
every `tick` seconds of a pause as well, so that a terminal can show the wait going on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import tenacity

from runner.model import Retry

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class TimeLimit:
    """How long a whole run may take, and why, in words the record shows (grading one account of a class)."""

    seconds: float
    reason: str  # e.g. "this account's grade took longer than --student-timeout (10m)"


@dataclass(frozen=True)
class Deadline:
    """A `TimeLimit` started: when, on the run's clock, its time is up."""

    at: float
    reason: str

    @classmethod
    def start(cls, limit: TimeLimit, clock: Clock) -> Deadline:
        return cls(clock() + limit.seconds, limit.reason)

    def passed(self, clock: Clock) -> bool:
        return clock() >= self.at


@dataclass(frozen=True)
class Waiting:
    """How a wait is going: the attempt that last failed, and seconds since the first attempt began,
    until the next one begins, and until the deadline."""

    attempt: int
    elapsed: float
    next_in: float
    left: float


@dataclass(frozen=True)
class Polled(Generic[T]):
    outcome: T  # the last attempt's outcome
    attempts: int
    waited: float  # seconds spent sleeping between attempts


def poll(
    attempt: Callable[[int], T],
    *,
    policy: Retry | None,
    retryable: Callable[[T], bool],
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    on_wait: Callable[[T, Waiting], None] | None = None,
    deadline: Deadline | None = None,
    tick: float | None = None,
) -> Polled[T]:
    """Run `attempt(n)` (n from 1) until `retryable(outcome)` is false or the policy's time is up, or
    the run's `deadline` has passed.

    Without a policy the step runs once. Exceptions from `attempt` (KeyboardInterrupt) propagate.
    `on_wait` hears of the wait before each pause, and with `tick`, after every `tick` seconds of it.
    """
    counter = 0
    waited = 0.0

    def call() -> T:
        nonlocal counter
        counter += 1
        return attempt(counter)

    if policy is None:
        return Polled(call(), 1, 0.0)

    begin = clock()
    until = begin + policy.timeout
    if deadline is not None:
        until = min(until, deadline.at)
    last: list[T] = []  # the outcome the ticks of a pause report

    def pause(state: tenacity.RetryCallState) -> float:
        grown = policy.interval * policy.backoff ** (state.attempt_number - 1)
        return max(0.0, min(grown, policy.max_interval, until - clock()))

    def out_of_time(state: tenacity.RetryCallState) -> bool:
        return clock() >= until

    def tell(outcome: T, next_in: float) -> None:
        assert on_wait is not None
        now = clock()
        on_wait(outcome, Waiting(counter, now - begin, next_in, max(0.0, until - now)))

    def nap(seconds: float) -> None:
        nonlocal waited
        waited += seconds
        left = seconds
        # Counted in slices, not read off the clock: a slept slice may overrun, the pause may not.
        while tick is not None and on_wait is not None and last and left > tick:
            sleep(tick)
            left -= tick
            tell(last[0], left)
        sleep(left)

    def report(state: tenacity.RetryCallState) -> None:
        if on_wait is not None and state.outcome is not None and state.next_action is not None:
            last[:] = [state.outcome.result()]
            tell(last[0], float(state.next_action.sleep))

    def final(state: tenacity.RetryCallState) -> T:
        assert state.outcome is not None
        result: T = state.outcome.result()
        return result

    retrying = tenacity.Retrying(
        stop=out_of_time,
        wait=pause,
        retry=tenacity.retry_if_result(retryable),
        sleep=nap,
        before_sleep=report,
        retry_error_callback=final,
        reraise=True,
    )
    outcome: T = retrying(call)
    return Polled(outcome, counter, waited)
