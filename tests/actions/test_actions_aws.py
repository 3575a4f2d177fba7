"""Bodies read for a check: hashed as they stream, never past `bounds.MAX_BODY_BYTES`, never held."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

from runner.actions import bounds
from runner.actions.aws import TEXT_LIMIT, read_stream
from runner.actions.failures import ActionFailed

MiB = 1024 * 1024


class Chunks:
    """A body that arrives in the given chunks."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = iter(chunks)
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        return next(self.chunks, b"")

    def close(self) -> None:
        self.closed = True


class Endless:
    """A body that never ends (a server streaming zeros): it must be read up to the bound only."""

    def __init__(self) -> None:
        self.sent = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        chunk = min(size if size > 0 else MiB, MiB)
        self.sent += chunk
        return bytes(chunk)

    def close(self) -> None:
        self.closed = True


class Trickle(Endless):
    """A server that sends a byte at a time, each one a second apart on the test's clock."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self.clock = clock

    def read1(self, size: int = -1) -> bytes:
        self.clock[0] += 1.0
        self.sent += 1
        return b"x"


def test_a_body_is_hashed_and_small_text_kept() -> None:
    body = Chunks(b"hello ", b"world")
    assert read_stream(body, "object s3://b/k") == {"size": 11, "sha256": hashlib.sha256(b"hello world").hexdigest(),
                                                    "text": "hello world"}
    assert body.closed


def test_text_is_kept_only_for_small_bodies() -> None:
    summary = read_stream(Chunks(b"a" * TEXT_LIMIT, b"b"), "object s3://b/k")
    assert summary["size"] == TEXT_LIMIT + 1 and "text" not in summary


def test_an_endless_body_is_read_up_to_the_bound_in_bounded_memory() -> None:
    body = Endless()
    tracemalloc.start()
    try:
        with pytest.raises(ActionFailed) as error:
            read_stream(body, "object s3://b/Eiffel.jpg")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.value.code == bounds.CODE
    assert error.value.message == ("object s3://b/Eiffel.jpg is larger than the 64 MiB a step reads: "
                                   "not read past that")
    assert body.sent <= bounds.MAX_BODY_BYTES + MiB and body.closed
    assert peak < 8 * MiB


def test_a_body_declared_too_large_is_not_read_at_all() -> None:
    body = Endless()
    with pytest.raises(ActionFailed) as error:
        read_stream(body, "object s3://b/Eiffel.jpg", declared=5 * 1024 * MiB)
    assert error.value.message == "object s3://b/Eiffel.jpg is 5 GiB, more than the 64 MiB a step reads: not read"
    assert body.sent == 0 and body.closed


def test_a_trickling_body_stops_at_the_deadline() -> None:
    clock = [0.0]
    body = Trickle(clock)
    with pytest.raises(ActionFailed) as error:
        read_stream(body, "the body of GET http://203.0.113.9/", deadline=30.0, clock=lambda: clock[0])
    assert error.value.message == ("the body of GET http://203.0.113.9/ was still arriving when the step's time "
                                   "ran out (31 bytes read): not read")
    assert body.sent == 31


@pytest.mark.parametrize(("count", "text"), [(0, "0 bytes"), (1, "1 byte"), (1536, "1.5 KiB"),
                                             (64 * MiB, "64 MiB"), (5 * 1024 * MiB, "5 GiB")])
def test_size_text(count: int, text: str) -> None:
    assert bounds.size_text(count) == text

