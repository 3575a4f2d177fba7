"""Records written behind the run: the run never waits on the disk, only the newest text is written,
and a failed write reaches the run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from engine_helpers import WAIT

from runner.engine.write_behind import WriteBehind


def test_the_run_never_waits_for_the_disk_and_only_the_newest_text_is_written(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()
    written: list[str] = []

    def slow_disk(path: Path, text: str) -> None:
        started.set()
        release.wait(WAIT)
        written.append(text)

    behind = WriteBehind(slow_disk)
    behind.hand_over(tmp_path / "r.json", "first")
    assert started.wait(WAIT)  # the disk holds the first write...
    behind.hand_over(tmp_path / "r.json", "second")  # ...and the run goes on: these return at once
    behind.hand_over(tmp_path / "r.json", "third")
    assert written == []
    release.set()
    behind.settle()
    assert written == ["first", "third"]  # "second" was replaced while it waited: each is the whole run


def test_a_failed_write_behind_the_run_is_raised_in_the_run(tmp_path: Path) -> None:
    def full_disk(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    behind = WriteBehind(full_disk)
    behind.hand_over(tmp_path / "r.json", "{}")
    with pytest.raises(OSError, match="No space left"):
        behind.settle()
    behind.settle()  # raised once: the run decides what to do about it


def _record_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "labrunner-record"]


def test_one_thread_writes_a_burst_and_settle_lets_it_go(tmp_path: Path) -> None:
    written: list[str] = []
    started = threading.Thread.start
    starts: list[threading.Thread] = []

    def counted(thread: threading.Thread) -> None:
        starts.append(thread)
        started(thread)

    behind = WriteBehind(lambda path, text: written.append(text), linger=WAIT)
    threading.Thread.start = counted  # type: ignore[method-assign]
    try:
        for text in ("first", "second", "third"):
            behind.hand_over(tmp_path / "r.json", text)
            while _record_threads() and behind._next is not None:  # each written before the next comes
                threading.Event().wait(0.001)
    finally:
        threading.Thread.start = started  # type: ignore[method-assign]
    behind.settle()
    assert written == ["first", "second", "third"]
    assert len(starts) == 1  # starting a thread holds the run up: one waits for the next text instead
    assert not any(t.is_alive() for t in starts)  # settled: nothing keeps the interpreter from exiting


def test_a_thread_nobody_settles_ends_after_lingering(tmp_path: Path) -> None:
    behind = WriteBehind(lambda path, text: None, linger=0.01)
    behind.hand_over(tmp_path / "r.json", "{}")
    for thread in _record_threads():
        thread.join(WAIT)
    assert not _record_threads()
    behind.hand_over(tmp_path / "r.json", "{}")  # a later text gets a thread of its own
    behind.settle()
