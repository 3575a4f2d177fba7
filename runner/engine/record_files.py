"""Record files on disk: where a run's record goes, written whole and durably, and read back.

`write_text` is the one way labrunner writes an output file (atomic and fsynced: a crash leaves the
previous file, never half of one), owner-only unless it is meant to be shared; `write_record` writes a
record's text (`record_json.record_text`);
`read_json` and `read_record` read a file the user named, with an error that says what is wrong.
The writes of a run in progress go through `write_behind.py`.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.engine.record import RECORD_VERSION, RunRecord
from runner.engine.record_json import RecordJson, record_text
from runner.engine.redaction import Redactor
from runner.errors import UsageError


def default_path(lab: str, started: datetime, run_id: str, directory: str | os.PathLike[str] = "runs") -> Path:
    """`runs/<lab>-<UTC timestamp>-<run_id>.json`."""
    return Path(directory) / f"{lab}-{started:%Y%m%dT%H%M%SZ}-{run_id}.json"


def write_text(path: str | os.PathLike[str], text: str, *, shared: bool = False) -> Path:
    """Write a file atomically: a temporary file beside it, then `os.replace` (readers never see half).

    Owner-only (0600) unless `shared`: a record and its ledger name the account, its resources and
    what failed, so they are the runner's user's alone. A file meant for others (a report, JUnit,
    Gradescope results, a CSV) is `shared`: its mode is what the umask leaves of 0666, as for any
    file a program creates, so a CI job or a course tool running as another user can read it.
    Returns the file's absolute path: what the commands print, so that it can be opened from anywhere.
    """
    return write_bytes(path, text.encode("utf-8"), shared=shared)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, shared: bool = False) -> Path:
    """`write_text` for bytes (an archive)."""
    target = Path(os.path.abspath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o666 if shared else 0o600  # the kernel takes the umask off; os.replace keeps the temp file's mode
    temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable: without it a power cut can bring back the old file (POSIX only)."""
    if os.name != "posix":
        return
    try:
        handle = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the file itself is already synced
    finally:
        os.close(handle)


def write_record(path: str | os.PathLike[str], record: RunRecord, redact: Redactor | None = None, *,
                 made: RecordJson | None = None, compact: bool = False) -> Path:
    """Write the record atomically (`record_text`, `write_text`)."""
    return write_text(path, record_text(record, redact, made=made, compact=compact))


# ---- reading a record back


def read_json(path: str | os.PathLike[str], hint: str) -> Any:
    """A JSON file the user named (a record); a `UsageError` that says what is wrong and, with `hint`,
    what to pass instead: missing, unreadable, or not JSON (with the line and column)."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file ({hint})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read it ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}); {hint}") from None


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A record file as JSON; a `UsageError` that says what is wrong when it is not one."""
    where = Path(path)
    data = read_json(where, "pass the record labrunner run wrote: it prints where")
    required = ("version", "lab", "run_id", "target", "status", "tasks")
    if not isinstance(data, dict) or any(key not in data for key in required):
        raise UsageError(f"{where}: not a labrunner run record (expected the JSON written by labrunner run)")
    if data.get("version") != RECORD_VERSION:
        raise UsageError(f"{where}: record version {data.get('version')!r} is not supported "
                         f"(expected {RECORD_VERSION})")
    return data
