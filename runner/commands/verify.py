"""`labrunner verify LAB...`: test each lab's grader against accounts whose history is known; an exit status.

Validates every lab first (an invalid one: every problem printed, exit 2, nothing run), then verifies
each on the embedded emulator or `--target URL` (`runner.verify.verifier`), printing each case as it
ends and then the lab's matrix (`runner.verify.matrix`); `--junit` writes one testcase per case × task
(`runner.verify.junit`), named by its absolute path. What is printed follows the run's console
(`display.console_for`): `--color`; `--quiet`, only the cases that disagree, their lab's matrix and the
result; `--verbose`, also every request of every case, marked with the case's account. Shared option
values: `options.py`; statuses: `exits.py`.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from runner.commands.display import console_for
from runner.commands.exits import EXIT_FAILED, EXIT_OK
from runner.commands.options import check_output, check_vars, choose_region, parse_vars
from runner.durations import format_duration
from runner.engine.console import Console
from runner.engine.redaction import Redactor
from runner.engine.targets import parse_target
from runner.errors import LabError, UsageError
from runner.model import Lab
from runner.verify import junit, matrix
from runner.verify.case_run import CaseRun, Settings
from runner.verify.judge import judge
from runner.verify.pools import Pool, open_pool
from runner.verify.verifier import Started, Verdict, finish, start


def load_labs(paths: list[str]) -> list[Lab]:
    """Every lab, valid; else a `LabError` with the problems of all of them (nothing runs)."""
    from runner.validate import validate_file

    labs, problems = [], []
    for path in paths:
        lab, found = validate_file(path, path)
        problems += found
        if lab is not None:
            labs.append(lab)
    if problems:
        raise LabError(problems)
    return labs


def command(args: argparse.Namespace, out: TextIO) -> int:
    """`labrunner verify`: 0 every grade as expected, 1 a disagreement, 2 bad input (nothing run)."""
    overrides = parse_vars(list(args.var or []))
    kind, _ = parse_target(args.target)
    if kind == "aws":
        raise UsageError("--target aws: verify makes a fresh account for every case; run it on the embedded "
                         "emulator (the default) or an AWS-compatible endpoint (--target URL)")
    if args.parallel is not None and args.parallel < 1:
        raise UsageError(f"--parallel: expected at least 1, got {args.parallel}")
    labs = load_labs(list(args.labs))
    for lab in labs:
        check_vars(lab, overrides)
    if args.junit:
        check_output(args.junit, "--junit")
    regions = [choose_region(args.region, lab.region) for lab in labs]
    console = console_for(args, out, None, Redactor())
    settings = Settings(overrides=overrides, seed=args.seed, watcher=console if console.level == "verbose" else None)
    pool = open_pool(args.target, list(zip(labs, regions, strict=True)), settings, args.parallel)
    verdicts: list[Verdict] = []
    try:
        started = [start(lab, pool) for lab in labs]  # every lab's cases at once: no worker waits between labs
        for each in started:
            verdicts.append(_verify_lab(each, pool, console))
    finally:
        pool.close()
    passed = all(v.passed for v in verdicts)
    console.line(("result:", "heading"), " ", ("passed", "passed") if passed else ("FAILED", "failed"),
                 f": {matrix.summary(verdicts)}")
    if args.junit:
        console.line(f"junit: {junit.write(args.junit, verdicts)}")
    return EXIT_OK if passed else EXIT_FAILED


def _verify_lab(started: Started, pool: Pool, console: Console) -> Verdict:
    lab = started.lab
    quiet = console.level == "quiet"
    heading = (("labrunner verify", "heading"), f" {lab.name}: {lab.title}")
    if not quiet:
        console.line(*heading)
        console.line(f"  {pool.describe()}")
    headed = not quiet  # quiet: the lab is named before its first case that disagrees

    def done(run: CaseRun) -> None:
        nonlocal headed
        cells = judge(lab, run)
        wrong = sum(1 for cell in cells if cell.verdict == "disagrees")
        if quiet and not wrong and not run.error:
            return
        if not headed:
            console.line(*heading)
            headed = True
        status = f"{wrong} disagreement{'s' if wrong != 1 else ''}" if wrong else "as expected"
        error = f" ({run.error})" if run.error else ""
        account = f" (account {run.account})" if console.level == "verbose" and run.account else ""
        console.line(f"  case {run.case.title}{account}: ", (status, "failed" if wrong else "passed"),
                     f", {format_duration(run.seconds)}{error}")

    verdict = finish(started, on_case=done)
    if not quiet or not verdict.passed:
        if not headed:
            console.line(*heading)
        console.line("\n" + matrix.render(verdict))
    return verdict
