"""`labrunner report RECORD|FOLDER... --html FILE`: render records as one HTML page (`runner.report`).

A folder gives the records in it (the class folder `labrunner grade` writes); records of several labs
are a section a lab. Exit 0, or 2 (a `UsageError`) for a named file that is not a record, a folder
with none, or a page that cannot be written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from runner.commands.exits import EXIT_OK
from runner.engine.record_files import write_text
from runner.errors import UsageError
from runner.report import by_lab, is_class, load_records, render


def command(args: argparse.Namespace, out: TextIO) -> int:
    records, passed_over = load_records(args.records)
    page = render(records)
    path = _write(args.html, page)
    labs = "; ".join(f"{lab}, {f'class of {len(group)}' if is_class(group) else 'run'}"
                     for lab, group in by_lab(records).items())
    out.write(f"report: {path} ({labs})\n")
    if passed_over:
        out.write(f"not records, left out: {', '.join(passed_over)}\n")
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
