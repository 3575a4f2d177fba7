"""Before a command uses a real AWS account: say whose account it is, and ask.

`run.py` (before its first call) and `cleanup.py` (before it deletes anything) show the account, the
caller and the region, say what will happen there, and ask `Continue? [y/N]` unless `--yes`; with no
terminal to answer and no `--yes`, they refuse before opening the target. A run or cleanup that acts
on an earlier run's record also checks that the credentials are for the account that run used. An
endpoint named by URL (`run`, `grade`, `cleanup`) must answer first (`check_reachable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from runner.actions.failures import failure_from
from runner.engine.targets import Identity, Target
from runner.errors import UsageError


def require_answer(kind: str, yes: bool, stdin: TextIO, doing: str) -> None:
    """Refuse `--target aws` when nobody can answer the question (no terminal) and `--yes` was not given.

    `doing`: what the command does there, e.g. "runs against".
    """
    if kind == "aws" and not yes and not _interactive(stdin):
        raise UsageError(f"--target aws {doing} a real AWS account: confirm on a terminal, or pass --yes")


def confirm(target: Target, what: str, out: TextIO, stdin: TextIO, yes: bool) -> bool:
    """Show whose account this is and `what` will happen in it; unless `yes`, ask. True to go on."""
    identity = whoami(target)
    out.write(f"AWS account {identity.account}\n  caller {identity.arn}\n  region {target.region}\n")
    out.write(what)
    if yes:
        return True
    out.write("Continue? [y/N] ")
    out.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def check_same_account(target: Target, previous: Mapping[str, Any]) -> None:
    """Refuse credentials for another AWS account than the one the `previous` run's record names."""
    recorded = (previous.get("target") or {}).get("account")
    if target.kind == "aws" and recorded and whoami(target).account != recorded:
        raise UsageError(f"run {previous.get('run_id')} ran in AWS account {recorded}, but these credentials are "
                         f"for {whoami(target).account}: nothing was changed")


def whoami(target: Target) -> Identity:
    """The caller's identity (asked once); a `UsageError` when AWS (or the endpoint) cannot be reached or refuses."""
    try:
        return target.identity()
    except Exception as exc:
        failure = failure_from(exc)
        reason = f"{failure.code}: {failure.message}" if failure else str(exc)
        where = "AWS" if target.kind == "aws" else f"--target {target.endpoint}"
        raise UsageError(f"cannot reach {where} to ask who you are (STS GetCallerIdentity): {reason}") from None


def check_reachable(target: Target) -> None:
    """An endpoint named by URL answers before anything is done there: a mistyped `--target` is a usage
    error, not a run of failed steps, nor a grade of 0 for a student whose account was never read."""
    if target.kind == "endpoint":
        target.check_listening()
        whoami(target)


def _interactive(stdin: TextIO) -> bool:
    try:
        return bool(stdin.isatty())
    except (AttributeError, ValueError):
        return False
