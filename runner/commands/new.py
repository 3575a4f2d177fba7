"""`labrunner new NAME [--force]`: write a new lab (`runner.scaffold`) and print the commands to try next.

Exit 0, or 2 (a `UsageError`) for a bad name, an existing file without `--force`, or a file that
cannot be written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from runner.commands.exits import EXIT_OK
from runner.errors import UsageError
from runner.scaffold import destination, lab_text, schema_reference


def command(args: argparse.Namespace, out: TextIO) -> int:
    cwd = Path.cwd()
    path, name = destination(str(args.name), cwd)
    if path.exists() and not args.force:
        raise UsageError(f"{_shown(path, cwd)} already exists; pass --force to overwrite it")
    if path.exists() and not path.is_file():
        raise UsageError(f"{_shown(path, cwd)} is not a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(lab_text(name, schema_reference(path)), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {_shown(path, cwd)}: {exc.strerror or exc}") from None
    shown = _shown(path, cwd)
    out.write(f"wrote {shown}\nnext:\n")
    steps = [(f"labrunner validate {shown}", "check it, without touching any account"),
             (f"labrunner run {shown}", "run it on the embedded emulator"),
             (f"labrunner verify {shown}", "test its grader: fresh accounts graded, each with a known history"),
             (f"pytest {shown}", "or run it as tests, one per task")]
    width = max(len(line) for line, _ in steps)
    for line, why in steps:
        out.write(f"  {line.ljust(width)}   # {why}\n")
    return EXIT_OK


def _shown(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)
