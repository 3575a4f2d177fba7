"""`labrunner run LAB`: load and check the lab and options, run it on its target, record; an exit status.

Loads and validates the lab (`runner.validate`); with `--task`, adds the tasks whose saved values the
chosen ones use (`runner.needs`), and says so; opens the target (`runner.engine.targets`), and for a
real AWS account shows whose it is and asks (`confirm.py`); runs it (`runner.engine.loop.Runner`) with
live output (`runner.engine.console`) while the record is written as the run goes and Ctrl-C/SIGTERM
are handled; writes the final record and JUnit (and on GitHub Actions, annotations and a summary), and
prints their absolute paths. `--resume RECORD` continues an earlier run from its first task not passed,
on the same target, region, seed and vars. Shared option values: `options.py`; statuses: `exits.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TextIO

from runner.commands.confirm import check_reachable, check_same_account, confirm, require_answer
from runner.commands.display import console_for
from runner.commands.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from runner.commands.options import check_output, check_tasks, check_vars, choose_region, parse_faults, parse_vars
from runner.engine import github, junit
from runner.engine.checkpoint import Checkpoint
from runner.engine.ledger import pending
from runner.engine.loop import Runner, RunOptions
from runner.engine.record import RunRecord
from runner.engine.record_files import read_record
from runner.engine.redaction import Redactor
from runner.engine.resume import lab_digest, plan_resume
from runner.engine.signals import Interrupts, to_stderr
from runner.engine.targets import open_target, parse_target
from runner.errors import UsageError
from runner.model import Lab
from runner.needs import needed


def command(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> int:
    """`labrunner run`: 0 every task passed, 1 something failed, 2 bad input (nothing touched), 130 interrupted."""
    from runner.validate import load_lab

    stdin = stdin if stdin is not None else sys.stdin
    overrides = parse_vars(list(args.var or []))
    resume_from = args.resume
    previous = read_record(resume_from) if resume_from else None
    spec = _resume_target(args, previous) if previous is not None else args.target
    kind, _ = parse_target(spec)
    require_answer(kind, bool(args.yes), stdin, "runs against")
    lab = load_lab(args.lab, args.lab)  # LabError: every problem is printed, exit 2
    check_vars(lab, overrides)
    tasks = check_tasks(lab, list(args.task or []))
    for need in needed(lab, tasks):
        # A task alone would stop at the first template naming a value a skipped task saves.
        out.write(f"--task {need.by} also runs task {need.task}: {need.by} uses '{need.name}', which "
                  f"{need.task} saves\n")
        tasks = (*tasks, need.task)
    region = choose_region(args.region, lab.region)
    check_output(args.record or "runs", "--record", folder=args.record is None)
    if args.junit:
        check_output(args.junit, "--junit")
    digest = lab_digest(lab)
    resume = None
    seed = args.seed
    if previous is not None:
        resume = plan_resume(lab, previous, digest, source=str(resume_from))
        region, seed, overrides = _resume_options(args, previous, resume, overrides, lab)
    target = open_target(spec, region, args.profile, faults=parse_faults(args.faults))
    try:
        check_reachable(target)
        if target.kind == "aws" and not confirm(target, f"Running '{lab.name}' creates real resources in this "
                                                "account (and may cost money); it cleans up what it creates.\n",
                                                out, stdin, bool(args.yes)):
            out.write("Cancelled: nothing was changed.\n")
            return EXIT_USAGE
        if previous is not None and resume is not None:
            check_same_account(target, previous)
            for note in resume.notes:
                out.write(f"resume: {note}\n")
        redactor = Redactor()
        options = RunOptions(tasks=tasks, keep_going=bool(args.keep_going), overrides=overrides, seed=seed,
                             resume=resume)
        checkpoint = Checkpoint(args.record, redactor, lab_digest=digest,
                                resumed_from=resume.previous_run if resume is not None else None)
        console = console_for(args, out, target, redactor)
        interrupts = Interrupts(notify=lambda message: to_stderr(console.line_break() + message))
        with interrupts.installed():
            try:
                record = Runner(lab, target, options, observer=interrupts.watch(console), redactor=redactor,
                                checkpoint=checkpoint).run()
            except KeyboardInterrupt:
                # A signal landed where the loop could not catch it (between its own handlers): the
                # last record written is still true, and its ledger says what is left.
                fallback = checkpoint.interrupted(f"{interrupts.reason}; cleanup did not finish: run "
                                                  "`labrunner cleanup` on this record")
                if fallback is None:
                    raise
                record = fallback
                console.run_finished(record)
            interrupts.phase = "closing"
            if interrupts.interrupted:
                error = record.error if record.status == "interrupted" else None
                if error is None or error.startswith("interrupted by the user"):
                    error = interrupts.reason
                record = replace(record, status="interrupted", error=error)
            path = checkpoint.finish(record)
    finally:
        target.close()
    out.write(f"record: {path}\n")
    if args.junit:
        out.write(f"junit: {junit.write(args.junit, record, redactor)}\n")
    github.publish(record, redactor, out)  # on GitHub Actions: annotations and the job summary
    left = pending({"ledger": [{"state": e.state, "seq": e.seq} for e in record.ledger]})
    if left:
        out.write(f"{len(left)} cleanup(s) did not finish: labrunner cleanup {path}\n")
    return _exit_status(record)


def _resume_target(args: argparse.Namespace, previous: Mapping[str, Any]) -> str:
    """Where a resumed run goes: where the first one went (`--target` may only repeat it)."""
    recorded = previous.get("target") or {}
    kind, endpoint = recorded.get("kind"), recorded.get("endpoint")
    if kind == "endpoint":
        if args.target not in ("emulator", endpoint):
            raise UsageError(f"--resume: run {previous.get('run_id')} ran at {endpoint}; resume it there "
                             f"(--target {endpoint})")
        return str(endpoint)
    if kind == "aws" and args.target != "aws":
        raise UsageError(f"--resume: run {previous.get('run_id')} ran on AWS account {recorded.get('account')}; "
                         "pass --target aws (and --profile) to resume it")
    if kind == "emulator" and args.target != "emulator":
        raise UsageError(f"--resume: run {previous.get('run_id')} ran on the embedded emulator; resume it there")
    return str(args.target)


def _resume_options(args: argparse.Namespace, previous: Mapping[str, Any], resume: Any,
                    overrides: Mapping[str, Any], lab: Lab) -> tuple[str, int, dict[str, Any]]:
    """The region, seed and vars of a resumed run: the first run's; options may only repeat them."""
    run_id = previous.get("run_id")
    recorded_region = str((previous.get("target") or {}).get("region") or choose_region(args.region, lab.region))
    if args.region and args.region != recorded_region:
        raise UsageError(f"--region: run {run_id} ran in {recorded_region}; a resumed run stays there")
    if args.seed is not None and args.seed != resume.seed:
        raise UsageError(f"--seed: run {run_id} used seed {resume.seed}; a resumed run keeps it (drop --seed)")
    merged = dict(resume.vars)
    for name, value in overrides.items():
        if name in resume.vars and resume.vars[name] != value:
            raise UsageError(f"--var: run {run_id} used {name}={json.dumps(resume.vars[name], default=str)}; a "
                             "resumed run keeps its vars (only secret vars, which the record hides, may be given)")
        merged[name] = value
    return recorded_region, resume.seed, merged


def _exit_status(record: RunRecord) -> int:
    return {"passed": EXIT_OK, "interrupted": EXIT_INTERRUPTED}.get(record.status, EXIT_FAILED)
