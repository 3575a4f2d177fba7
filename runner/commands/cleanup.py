"""`labrunner cleanup RECORD`: delete what a run created, from its record's ledger; an exit status.

Replays the record's pending cleanups newest first (`runner.engine.replay.replay`), each marked done in
the record as it finishes, so it is safe to repeat and works after a crash or kill -9. It goes where the
run went: the record's endpoint, or `--target aws` (asking first, `confirm.py`, and only with
credentials for the account the run used). A run on the embedded emulator left nothing behind. Each
cleanup is printed as a run prints it (`runner.engine.console`), then what the run made and what is
left of it.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from runner.commands.confirm import check_reachable, check_same_account, confirm, require_answer
from runner.commands.display import console_for
from runner.commands.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from runner.commands.options import choose_region
from runner.engine.console import Console
from runner.engine.context import RunContext, RunInfo
from runner.engine.ledger import describe_entries, pending
from runner.engine.record_files import read_record
from runner.engine.redaction import Redactor
from runner.engine.replay import Replayed, replay
from runner.engine.resources import cleanup_phrase
from runner.engine.steps import StepRunner
from runner.engine.targets import Target, open_target, parse_target
from runner.errors import UsageError
from runner.model import Lab
from runner.safe_text import escape_controls


def command(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> int:
    """`labrunner cleanup RECORD`: run the record's pending cleanups, newest first, marking each done.

    Exit 0 when nothing the run registered is left, 1 when some cleanup failed (run it again, or remove
    what it names by hand), 2 for a file that is not a record or options that do not fit it.
    """
    stdin = stdin if stdin is not None else sys.stdin
    data = read_record(args.record)
    run_id, recorded = data.get("run_id"), data.get("target") or {}
    kind, _ = parse_target(args.target)
    waiting = pending(data)
    if recorded.get("kind") == "emulator" and kind == "emulator":
        out.write(f"run {run_id} used the embedded emulator, which stopped with that run: nothing it made "
                  "remains, so there is nothing to clean up\n")
        return EXIT_OK
    if not waiting:
        out.write(f"{args.record}: nothing to clean up (every cleanup of run {run_id} has run)\n")
        return EXIT_OK
    if kind == "emulator":  # the default: the record's own endpoint
        if recorded.get("kind") == "aws":
            raise UsageError(f"run {run_id} ran on AWS account {recorded.get('account')} in "
                             f"{recorded.get('region')}: pass --target aws (and --profile) to clean it up")
        spec = str(recorded.get("endpoint"))
    elif kind == "aws" and recorded.get("kind") != "aws":
        raise UsageError(f"run {run_id} did not run on AWS (it ran on {recorded.get('kind')} "
                         f"{recorded.get('endpoint') or ''}); nothing of it is in an AWS account")
    else:
        spec = args.target
    require_answer(kind, bool(args.yes), stdin, "deletes resources in")
    region = choose_region(args.region, recorded.get("region"))
    ledger = data.get("ledger") or []
    path = os.path.abspath(args.record)
    target = open_target(spec, region, args.profile)
    try:
        check_reachable(target)
        if target.kind == "aws":
            check_same_account(target, data)
            listed = "".join(f"  {escape_controls(line, multiline=False)}\n"
                             for line in describe_entries([ledger[i] for i in waiting]))
            if not confirm(target, f"labrunner cleanup deletes what the run made, newest first:\n{listed}", out,
                           stdin, bool(args.yes)):
                out.write("Cancelled: nothing was deleted.\n")
                return EXIT_USAGE
        redactor = Redactor()
        console = console_for(args, out, target, redactor)
        if console.level != "quiet":
            out.write(f"labrunner cleanup: run {run_id} of {data.get('lab')} on {target.describe()}: "
                      f"{len(waiting)} pending cleanup{'s' if len(waiting) != 1 else ''}, newest first\n")
        results = _replay(data, path, target, console)
        console.made(((str(e.get("action")), e.get("params"), str(e.get("state"))) for e in ledger
                      if isinstance(e, dict)), region, recorded.get("account"))
    finally:
        target.close()
    failed = [r for r in results if r.state != "done"]
    if failed:
        out.write(f"{len(failed)} cleanup(s) failed; fix what they say and run labrunner cleanup {path} again\n")
        return EXIT_FAILED
    out.write(f"cleaned up: every resource run {run_id} registered is gone\n")
    return EXIT_OK


def _replay(data: dict[str, Any], path: str, target: Target, console: Console) -> list[Replayed]:
    """Run the pending cleanups on a context rebuilt from the record (its run id, start, seed), printing each."""
    redactor = console.redact
    try:
        started = datetime.strptime(str(data.get("started")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        started = datetime.now(UTC)
    stub = Lab(name=str(data.get("lab")), title=str(data.get("title", "")),
               path=Path(str(data.get("file") or ".")), tasks=(), vars={})
    ctx = RunContext.create(stub, RunInfo(str(data.get("run_id")), started), target, int(data.get("seed") or 0),
                            redactor=redactor)
    steps = StepRunner(observer=console)

    def execute(prepared: Any) -> Any:
        record, _ = steps.execute(prepared, ctx)
        return record

    def report(done: Replayed) -> None:
        if done.state == "done" and done.record is not None and done.record.status != "passed":
            console.line(f"      {done.why}: counted as done")
        elif done.record is None:  # nothing could run: it stays to be removed by hand
            action = str(done.entry.get("action"))
            name = cleanup_phrase(action, done.entry.get("params")) or done.entry.get("key")
            console.line(f"  - {name} ({action}) ... ", ("FAILED", "failed"), f": {done.why}")

    return replay(data, path, execute, redactor, on_done=report)
