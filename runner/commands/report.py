"""`labrunner report RECORD... --html FILE`: render records as one HTML page (`runner.report`) and write it.

Exit 0, or 2 (a `UsageError`) for a file that is not a record, records of different labs, or a page
that cannot be written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from runner.commands.exits import EXIT_OK
from runner.engine.record_files import write_text
from runner.errors import UsageError
from runner.report import is_class, load_record, render


def command(args: argparse.Namespace, out: TextIO) -> int:
    records = [load_record(path) for path in args.records]
    page = render(records)
    path = _write(args.html, page)
    kind = f"class of {len(records)}" if is_class(records) else "run"
    out.write(f"report: {path} ({records[0].data['lab']}, {kind})\n")
    return EXIT_OK


def _write(path: str, text: str) -> Path:
    """Write the page atomically (a browser never sees half of it); a `UsageError` when it cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--html: {path} is a folder; name the page to write, e.g. {target / 'report.html'}")
    try:
        return write_text(target, text, shared=True)
    except OSError as exc:
        raise UsageError(f"--html: cannot write {path} ({exc.strerror or exc})") from None
