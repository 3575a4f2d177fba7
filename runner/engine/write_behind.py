"""Record files written behind the run: on a thread of their own, newest first, while the run goes on.

Used by `checkpoint.Checkpoint` for the writes of a run in progress; each write is
`record_files.write_text`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from runner.engine.record_files import write_text

#: How long the writing thread waits for the next text before it ends. A run hands texts over in bursts
#: (a forced write for each cleanup registered, progress at most every second): one thread serves a
#: burst, instead of one started for each text, and starting one holds the run up about a millisecond
#: (`Thread.start` waits until the new thread runs; seven a run of the KMS lab).
LINGER_S = 1.0


class WriteBehind:
    """Writes record files on a thread of its own, newest first, while the run goes on.

    A checkpoint's text is made in line (from the JSON of what finished, made once: `RecordJson`); what
    is left, writing the file and two fsyncs, is system calls, which hold the run up but not the
    interpreter. Here the run hands the text over and goes on to its next step, whose request is in
    flight while the thread waits on the disk. The thread holds the interpreter's lock only between
    those calls, so it does not slow the run down in turn. Should several texts queue up, only the
    newest is written: each is the whole run so far.

    The window in which a crash loses a resource is unchanged: from AWS making it to its record being on
    disk, the time of one write. `settle` waits until everything handed over is written, and lets the
    thread go; otherwise it waits `linger` seconds for more before it ends. It is not a daemon, so the
    interpreter also waits for it before exiting (at most `linger` more, when nobody settled).
    """

    def __init__(self, write: Callable[[Path, str], object] = write_text, linger: float = LINGER_S) -> None:
        self._write = write
        self._linger = linger
        self._changed = threading.Condition()
        self._next: tuple[Path, str] | None = None
        self._writing = False  # a thread is there, writing or waiting for the next text
        self._settling = False
        self._failure: BaseException | None = None

    def hand_over(self, path: Path, text: str) -> None:
        with self._changed:
            self._raise_failure()
            self._next = (path, text)
            if self._writing:
                self._changed.notify_all()
            else:
                self._writing = True
                threading.Thread(target=self._drain, name="labrunner-record", daemon=False).start()

    def settle(self) -> None:
        """Wait until every record handed over is on disk; raise what made a write fail."""
        with self._changed:
            self._settling = True
            self._changed.notify_all()
            while self._writing:
                self._changed.wait()
            self._settling = False
            self._raise_failure()

    def _drain(self) -> None:
        while True:
            with self._changed:
                if self._next is None and not self._settling:
                    self._changed.wait_for(lambda: self._next is not None or self._settling, self._linger)
                job, self._next = self._next, None
                if job is None:
                    self._writing = False
                    self._changed.notify_all()
                    return
            try:
                self._write(*job)
            except BaseException as exc:  # handed to the run at its next checkpoint or at `settle`
                with self._changed:
                    self._failure = self._failure or exc

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
