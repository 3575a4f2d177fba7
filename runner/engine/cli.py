"""`labrunner run` and `labrunner cleanup`: from command-line options to an exit status.

The last stage: parse `--var`, `--task`, `--seed`; load and validate the lab (`runner.validate`); open
the target (`targets.py`), and for a real AWS account show who and where and ask first; run
(`loop.py`) with live output (`console.py`) while the record is written as the run goes
(`ledger.Checkpoint`) and Ctrl-C/SIGTERM are handled (`signals.py`); write the final record and
JUnit; return 0 (all passed), 1 (something failed), 2 (bad input: nothing was touched) or 130
(interrupted). `--resume RECORD` continues an earlier run (`ledger.plan_resume`); `cleanup RECORD`
replays a record's pending cleanups (`ledger.replay`).
Every mistake on the command line is a `UsageError` with a did-you-mean; `runner.cli.main` prints it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from runner.engine import junit
from runner.engine.console import Console
from runner.engine.ledger import (
    Checkpoint,
    Replayed,
    describe_entries,
    lab_digest,
    pending,
    plan_resume,
    read_record,
    replay,
)
from runner.engine.loop import Runner, RunOptions
from runner.engine.record import Redactor, RunRecord
from runner.engine.signals import Interrupts
from runner.engine.targets import DEFAULT_REGION, Target, open_target, parse_target
from runner.errors import UsageError, check_output, did_you_mean
from runner.model import Lab

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?$")


def parse_value(text: str) -> Any:
    """A `--var` value: numbers, true/false and null as YAML reads them; JSON lists and mappings; else text."""
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if text in ("null", "~"):
        return None
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def parse_vars(items: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--var: expected NAME=VALUE, got '{item}'")
        name = name.strip()
        if not _VAR_NAME.match(name):
            raise UsageError(f"--var: '{name}' is not a var name (letters, digits and _, not starting with a digit)")
        overrides[name] = parse_value(value)
    return overrides


def check_vars(lab: Lab, overrides: Mapping[str, Any]) -> None:
    for name in overrides:
        if name not in lab.vars:
            guess = did_you_mean(name, list(lab.vars))
            known = ", ".join(lab.vars) or "none"
            hint = f"did you mean '{guess}'?" if guess else f"the lab's vars: {known}"
            raise UsageError(f"--var: lab '{lab.name}' has no var '{name}'; {hint}")


def check_tasks(lab: Lab, wanted: list[str]) -> tuple[str, ...]:
    ids = [task.id for task in lab.tasks]
    for task_id in wanted:
        if task_id not in ids:
            guess = did_you_mean(task_id, ids)
            hint = f"did you mean '{guess}'?" if guess else "tasks: " + ", ".join(ids)
            raise UsageError(f"--task: lab '{lab.name}' has no task '{task_id}'; {hint}")
    return tuple(dict.fromkeys(wanted))


def choose_region(args: argparse.Namespace, lab: Lab) -> str:
    region = str(args.region or lab.region or DEFAULT_REGION)
    if not _REGION.match(region):
        raise UsageError(f"--region: '{region}' is not an AWS region code such as us-west-2")
    return region


def confirm_account(target: Target, lab: Lab, out: TextIO, stdin: TextIO, yes: bool) -> bool:
    """Show whose account this is; unless --yes, ask. Refuses (UsageError) when nobody can answer."""
    try:
        identity = target.identity()
    except Exception as exc:
        from runner.actions.aws import failure_from

        failure = failure_from(exc)
        reason = f"{failure.code}: {failure.message}" if failure else str(exc)
        raise UsageError(f"cannot reach AWS to ask who you are (STS GetCallerIdentity): {reason}") from None
    out.write(f"AWS account {identity.account}\n  caller {identity.arn}\n  region {target.region}\n")
    out.write(f"Running '{lab.name}' creates real resources in this account (and may cost money); "
              "it cleans up what it creates.\n")
    if yes:
        return True
    out.write("Continue? [y/N] ")
    out.flush()
    answer = stdin.readline().strip().lower()
    return answer in ("y", "yes")


def exit_status(record: RunRecord) -> int:
    return {"passed": EXIT_OK, "interrupted": EXIT_INTERRUPTED}.get(record.status, EXIT_FAILED)


def run_command(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None, **runner_options: Any) -> int:
    """`labrunner run`; `runner_options` (clock, sleep, wall) are for tests."""
    from runner.validate import load_lab

    stdin = stdin if stdin is not None else sys.stdin
    overrides = parse_vars(list(args.var or []))
    resume_from = getattr(args, "resume", None)
    previous = read_record(resume_from) if resume_from else None
    spec = _resume_target(args, previous) if previous is not None else args.target
    kind, _ = parse_target(spec)
    if kind == "aws" and not args.yes and not _interactive(stdin):
        raise UsageError("--target aws runs against a real AWS account: confirm on a terminal, or pass --yes")
    lab = load_lab(args.lab, args.lab)  # LabError: every problem is printed, exit 2
    check_vars(lab, overrides)
    tasks = check_tasks(lab, list(args.task or []))
    region = choose_region(args, lab)
    check_output(args.record or "runs", "--record", folder=args.record is None)
    if args.junit:
        check_output(args.junit, "--junit")
    digest = lab_digest(lab)
    resume = None
    seed = args.seed
    if previous is not None:
        resume = plan_resume(lab, previous, digest, source=str(resume_from))
        region, seed, overrides = _resume_options(args, previous, resume, overrides, lab)
    from runner.cli import parse_faults

    target = open_target(spec, region, args.profile, faults=parse_faults(getattr(args, "faults", None)))
    try:
        if target.kind == "aws" and not confirm_account(target, lab, out, stdin, bool(args.yes)):
            out.write("Cancelled: nothing was changed.\n")
            return EXIT_USAGE
        if previous is not None and resume is not None:
            _check_same_account(target, previous)
            for note in resume.notes:
                out.write(f"resume: {note}\n")
        redactor = Redactor()
        options = RunOptions(tasks=tasks, keep_going=bool(args.keep_going), overrides=overrides, seed=seed,
                             resume=resume)
        checkpoint = Checkpoint(args.record, redactor, lab_digest=digest,
                                resumed_from=resume.previous_run if resume is not None else None)
        console = Console(out, redactor)
        interrupts = Interrupts()
        with interrupts.installed():
            try:
                record = Runner(lab, target, options, observer=interrupts.watch(console), redactor=redactor,
                                checkpoint=checkpoint, **runner_options).run()
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
    left = pending({"ledger": [{"state": e.state, "seq": e.seq} for e in record.ledger]})
    if left:
        out.write(f"{len(left)} cleanup(s) did not finish: labrunner cleanup {path}\n")
    return exit_status(record)


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
    recorded_region = str((previous.get("target") or {}).get("region") or choose_region(args, lab))
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


def _check_same_account(target: Target, previous: Mapping[str, Any]) -> None:
    recorded = (previous.get("target") or {}).get("account")
    if target.kind == "aws" and recorded and target.identity().account != recorded:
        raise UsageError(f"run {previous.get('run_id')} ran in AWS account {recorded}, but these credentials are "
                         f"for {target.identity().account}: nothing was changed")


def cleanup_command(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> int:
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
    if kind == "aws" and not args.yes and not _interactive(stdin):
        raise UsageError("--target aws deletes resources in a real AWS account: confirm on a terminal, or pass --yes")
    region = str(args.region or recorded.get("region") or DEFAULT_REGION)
    if not _REGION.match(region):
        raise UsageError(f"--region: '{region}' is not an AWS region code such as us-west-2")
    ledger = data.get("ledger") or []
    target = open_target(spec, region, args.profile)
    try:
        if target.kind == "aws":
            _check_same_account(target, data)
            if not _confirm_cleanup(target, [ledger[i] for i in waiting], out, stdin, bool(args.yes)):
                out.write("Cancelled: nothing was deleted.\n")
                return EXIT_USAGE
        out.write(f"labrunner cleanup: run {run_id} of {data.get('lab')} on {target.describe()}: "
                  f"{len(waiting)} pending cleanup{'s' if len(waiting) != 1 else ''}, newest first\n")
        results = _replay(data, args.record, target, out)
    finally:
        target.close()
    failed = [r for r in results if r.state != "done"]
    if failed:
        out.write(f"{len(failed)} cleanup(s) failed; fix what they say and run labrunner cleanup {args.record} "
                  "again\n")
        return EXIT_FAILED
    out.write(f"cleaned up: every resource run {run_id} registered is gone\n")
    return EXIT_OK


def _replay(data: dict[str, Any], path: str, target: Target, out: TextIO) -> list[Replayed]:
    from datetime import UTC, datetime

    from runner.engine.context import RunContext, RunInfo
    from runner.engine.steps import StepRunner
    from runner.model import Lab as LabModel

    redactor = Redactor()
    try:
        started = datetime.strptime(str(data.get("started")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        started = datetime.now(UTC)
    stub = LabModel(name=str(data.get("lab")), title=str(data.get("title", "")),
                    path=Path(str(data.get("file") or ".")), tasks=(), vars={})
    ctx = RunContext.create(stub, RunInfo(str(data.get("run_id")), started), target, int(data.get("seed") or 0),
                            redactor=redactor)
    steps = StepRunner(observer=Console(out, redactor))

    def execute(prepared: Any) -> Any:
        record, _ = steps.execute(prepared, ctx)
        return record

    def report(done: Replayed) -> None:
        if done.state == "done" and done.record is not None and done.record.status != "passed":
            out.write(f"      {done.why}: counted as done\n")
        elif done.record is None:
            out.write(f"  - {done.entry.get('key')} ({done.entry.get('action')}) ... FAILED: {done.why}\n")

    return replay(data, path, execute, redactor, on_done=report)


def _confirm_cleanup(target: Target, entries: list[Any], out: TextIO, stdin: TextIO, yes: bool) -> bool:
    identity = target.identity()
    out.write(f"AWS account {identity.account}\n  caller {identity.arn}\n  region {target.region}\n")
    out.write("labrunner cleanup deletes what the run made, newest first:\n")
    for line in describe_entries(entries):
        out.write(f"  {line}\n")
    if yes:
        return True
    out.write("Continue? [y/N] ")
    out.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def _interactive(stdin: TextIO) -> bool:
    try:
        return bool(stdin.isatty())
    except (AttributeError, ValueError):
        return False


def _parse_time(text: str) -> Any:
    from datetime import datetime

    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
