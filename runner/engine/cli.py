"""`labrunner run`: from command-line options to an exit status.

The last stage: parse `--var`, `--task`, `--seed`; load and validate the lab (`runner.validate`); open
the target (`targets.py`), and for a real AWS account show who and where and ask first; run
(`loop.py`) with live output (`console.py`); write the record and JUnit; return 0 (all passed),
1 (something failed), 2 (bad input: nothing was touched) or 130 (interrupted).
Every mistake on the command line is a `UsageError` with a did-you-mean; `runner.cli.main` prints it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from runner.engine import junit
from runner.engine.console import Console
from runner.engine.loop import Runner, RunOptions
from runner.engine.record import Redactor, RunRecord, default_path, write_record
from runner.engine.targets import DEFAULT_REGION, Target, open_target, parse_target
from runner.errors import UsageError, did_you_mean
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
    kind, _ = parse_target(args.target)
    if kind == "aws" and not args.yes and not _interactive(stdin):
        raise UsageError("--target aws runs against a real AWS account: confirm on a terminal, or pass --yes")
    lab = load_lab(args.lab, args.lab)  # LabError: every problem is printed, exit 2
    check_vars(lab, overrides)
    tasks = check_tasks(lab, list(args.task or []))
    region = choose_region(args, lab)
    from runner.cli import parse_faults

    target = open_target(args.target, region, args.profile, faults=parse_faults(getattr(args, "faults", None)))
    try:
        if target.kind == "aws" and not confirm_account(target, lab, out, stdin, bool(args.yes)):
            out.write("Cancelled: nothing was changed.\n")
            return EXIT_USAGE
        redactor = Redactor()
        options = RunOptions(tasks=tasks, keep_going=bool(args.keep_going), overrides=overrides, seed=args.seed)
        record = Runner(lab, target, options, observer=Console(out, redactor), redactor=redactor,
                        **runner_options).run()
    finally:
        target.close()
    started = _parse_time(record.started)
    path = write_record(args.record or default_path(lab.name, started, record.run_id), record, redactor)
    out.write(f"record: {path}\n")
    if args.junit:
        out.write(f"junit: {junit.write(args.junit, record, redactor)}\n")
    return exit_status(record)


def _interactive(stdin: TextIO) -> bool:
    try:
        return bool(stdin.isatty())
    except (AttributeError, ValueError):
        return False


def _parse_time(text: str) -> Any:
    from datetime import datetime

    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
