"""Retry scheduling with an injected clock and sleep: no test here takes real time."""

from __future__ import annotations

from testkit import FakeTime

from runner.engine.retrying import Waiting, poll
from runner.model import Retry


def test_without_a_policy_runs_once(fake_time: FakeTime) -> None:
    polled = poll(lambda n: n, policy=None, retryable=lambda _: True, clock=fake_time.clock,
                  sleep=fake_time.sleep)
    assert (polled.outcome, polled.attempts, polled.waited) == (1, 1, 0.0)


def test_interval_backoff_and_cap(fake_time: FakeTime) -> None:
    waits: list[Waiting] = []
    policy = Retry(timeout=100, interval=2, backoff=2, max_interval=10)
    polled = poll(lambda n: n, policy=policy, retryable=lambda n: n < 6, clock=fake_time.clock,
                  sleep=fake_time.sleep, on_wait=lambda outcome, w: waits.append(w))
    assert polled.outcome == 6 and polled.attempts == 6
    assert fake_time.naps == [2, 4, 8, 10, 10]
    assert polled.waited == 34
    assert [w.attempt for w in waits] == [1, 2, 3, 4, 5]
    assert (waits[0].elapsed, waits[0].next_in, waits[0].left) == (0, 2, 100)
    assert (waits[4].elapsed, waits[4].next_in, waits[4].left) == (24, 10, 76)


def test_ticks_report_a_long_pause_as_it_goes(fake_time: FakeTime) -> None:
    seen: list[tuple[int, Waiting]] = []
    policy = Retry(timeout=60, interval=2.5, backoff=1, max_interval=60)
    polled = poll(lambda n: n, policy=policy, retryable=lambda n: n < 3, clock=fake_time.clock,
                  sleep=fake_time.sleep, on_wait=lambda outcome, w: seen.append((outcome, w)), tick=1)
    assert polled.attempts == 3 and polled.waited == 5
    # Each pause of 2.5s: told before it, after 1s and after 2s; then it sleeps the last half second.
    assert fake_time.naps == [1, 1, 0.5] * 2
    assert [(o, w.attempt, w.elapsed, w.next_in) for o, w in seen] == [
        (1, 1, 0, 2.5), (1, 1, 1, 1.5), (1, 1, 2, 0.5), (2, 2, 2.5, 2.5), (2, 2, 3.5, 1.5), (2, 2, 4.5, 0.5)]


def test_without_a_listener_ticks_change_nothing(fake_time: FakeTime) -> None:
    poll(lambda n: n, policy=Retry(timeout=60, interval=5), retryable=lambda n: n < 2, clock=fake_time.clock,
         sleep=fake_time.sleep, tick=1)
    assert fake_time.naps == [5]


def test_never_sleeps_past_the_timeout(fake_time: FakeTime) -> None:
    policy = Retry(timeout=10, interval=4, backoff=1, max_interval=60)
    polled = poll(lambda n: n, policy=policy, retryable=lambda _: True, clock=fake_time.clock,
                  sleep=fake_time.sleep)
    # Attempts at 0, 4, 8 and a last one at the deadline (10): the final pause is cut to 2s.
    assert fake_time.naps == [4, 4, 2]
    assert polled.attempts == 4 and polled.waited == 10


def test_slow_attempts_count_against_the_timeout(fake_time: FakeTime) -> None:
    def slow(n: int) -> int:
        fake_time.advance(7)
        return n

    polled = poll(slow, policy=Retry(timeout=10, interval=1), retryable=lambda _: True,
                  clock=fake_time.clock, sleep=fake_time.sleep)
    assert polled.attempts == 2  # 7s, pause 1s -> 8s, second attempt ends at 15s: out of time


def test_stops_as_soon_as_it_passes(fake_time: FakeTime) -> None:
    polled = poll(lambda n: n, policy=Retry(timeout=60, interval=5), retryable=lambda n: n < 2,
                  clock=fake_time.clock, sleep=fake_time.sleep)
    assert polled.attempts == 2 and fake_time.naps == [5]


def test_interrupt_propagates(fake_time: FakeTime) -> None:
    import pytest

    def interrupted(n: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        poll(interrupted, policy=Retry(timeout=60, interval=5), retryable=lambda _: True,
             clock=fake_time.clock, sleep=fake_time.sleep)
