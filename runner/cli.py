"""The `labrunner` command line.

Only argparse is imported at start-up: each command imports what it needs when it runs, so that
`labrunner --help` stays fast and never loads boto3 or the emulator. Exit status: 0 success,
1 a lab ran and something failed, 2 invalid input or options, 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@functools.cache  # one per process: `main` may be called many times (tests, benchmarks, the pytest plugin)
def _parser() -> argparse.ArgumentParser:
    from runner import __version__

    parser = argparse.ArgumentParser(
        prog="labrunner",
        description="Run, validate and grade cloud hands-on labs written in YAML.",
        epilog="Start with: labrunner validate labs/kms-basics.yaml, then labrunner run labs/kms-basics.yaml",
    )
    parser.add_argument("--version", action="version", version=f"labrunner {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    validate = commands.add_parser("validate", help="check labs for every mistake, without touching any account",
                                   description="Check labs completely; exit 0 when all are valid, 2 otherwise.")
    validate.add_argument("labs", nargs="+", metavar="LAB", help="lab YAML files")
    validate.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    validate.set_defaults(handler=_cmd_validate)

    schema = commands.add_parser("schema", help="print the lab JSON Schema (generated from the actions)")
    schema.set_defaults(handler=_cmd_schema)

    actions = commands.add_parser("actions", help="list actions, or describe one",
                                  description="Without NAME, list every action. NAME may be an action, "
                                              "aws.SERVICE (its operations) or aws.SERVICE.OPERATION.")
    actions.add_argument("name", nargs="?", metavar="NAME")
    actions.add_argument("--format", choices=("text", "json"), default="text")
    actions.set_defaults(handler=_cmd_actions)

    run = commands.add_parser("run", help="run a lab against the emulator, an AWS account or an endpoint",
                              description="Run every task of a lab: its steps, then its checks; clean up; "
                                          "record. Exit 0 when all passed, 1 when any failed, 2 on bad input.")
    run.add_argument("lab", metavar="LAB")
    _add_target_options(run)
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="override a var")
    run.add_argument("--seed", type=int, help="seed for random_digits/random_id (recorded; replays names)")
    run.add_argument("--task", action="append", default=[], metavar="ID", help="run only these tasks")
    run.add_argument("--keep-going", action="store_true", help="run later tasks after a task fails")
    run.add_argument("--record", metavar="FILE", help="where to write the JSON record (default runs/...)")
    run.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    run.add_argument("--resume", metavar="RECORD",
                     help="continue an interrupted or failed run from its first task not passed")
    _add_faults_option(run)
    run.set_defaults(handler=_cmd_run)

    grade = commands.add_parser("grade", help="grade accounts read-only: run only the checks, score per task",
                                description="Run a lab's checks (never its steps) against one account or a "
                                            "class, refusing any call that could change an account. Exit 0 when "
                                            "every check passed, 1 when any failed, 2 on bad input.")
    grade.add_argument("lab", metavar="LAB")
    _add_target_options(grade)
    grade.add_argument("--task", action="append", default=[], metavar="ID", help="grade only these tasks")
    grade.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="override a var")
    grade.add_argument("--since", metavar="WHEN",
                       help="start of the lab's window for CloudTrail evidence: ISO 8601 time or a duration "
                            "ago such as 2h (default 7d)")
    grade.add_argument("--accounts", metavar="FILE",
                       help="a class: one account id per line, or a CSV with account and name columns")
    grade.add_argument("--role-arn", metavar="TEMPLATE",
                       help="role to assume in each account, e.g. 'arn:aws:iam::{account}:role/Grader'")
    grade.add_argument("--parallel", type=int, default=4, metavar="N", help="accounts graded at once (default 4)")
    grade.add_argument("--record", metavar="PATH", help="record file (one student) or folder (a class)")
    grade.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    grade.add_argument("--gradescope", metavar="FILE", help="also write Gradescope results.json")
    grade.add_argument("--csv", metavar="FILE", help="a class: write the students x tasks summary as CSV")
    grade.add_argument("--print-policy", action="store_true",
                       help="print the least-privilege IAM policy a grader role needs for this lab, and exit")
    _add_faults_option(grade)
    grade.set_defaults(handler=_cmd_grade)

    cleanup = commands.add_parser("cleanup", help="remove what a run created, from its record (idempotent)",
                                  description="Delete every resource a run's ledger lists, newest first; "
                                              "safe to repeat, and works after a crash or kill -9.")
    cleanup.add_argument("record", metavar="RECORD")
    _add_target_options(cleanup)
    cleanup.set_defaults(handler=_cmd_cleanup)

    report = commands.add_parser("report", help="turn run or grade records into one self-contained HTML page")
    report.add_argument("records", nargs="+", metavar="RECORD")
    report.add_argument("--html", required=True, metavar="FILE")
    report.set_defaults(handler=_cmd_report)

    new = commands.add_parser("new", help="write a new lab file that validates, to start from")
    new.add_argument("name", metavar="NAME", help="lab name (lowercase letters, digits, -) or a path ending .yaml")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    new.set_defaults(handler=_cmd_new)

    emulator = commands.add_parser("emulator", help="serve the embedded AWS emulator until stopped")
    emulator.add_argument("--port", type=int, default=4566)
    emulator.add_argument("--host", default="127.0.0.1",
                          help="address to listen on (default loopback only; anything else exposes it)")
    emulator.add_argument("--log-delay", default="5s", metavar="DURATION",
                          help="delay before CloudTrail log files are delivered (default 5s)")
    _add_faults_option(emulator)
    emulator.set_defaults(handler=_cmd_emulator)
    return parser


def _add_faults_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faults", metavar="PLAN",
                        help="emulator only: inject faults, e.g. throttle=0.2,error=0.05,latency=0.1:200ms,seed=7")


def parse_faults(text: str | None) -> Any:
    """The emulator's FaultPlan for `--faults`, or None; a malformed plan is a usage error."""
    if not text:
        return None
    from runner.emulator.fault_plan import FaultPlan
    from runner.errors import UsageError

    try:
        return FaultPlan.parse(text)
    except ValueError as exc:
        raise UsageError(f"--faults: {exc}") from None


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="emulator", metavar="TARGET",
                        help="'emulator' (default: embedded, started and stopped by the run), 'aws' "
                             "(the standard credential chain) or an endpoint URL")
    parser.add_argument("--region", help="AWS region (default: the lab's, else the profile's, else us-east-1)")
    parser.add_argument("--profile", help="AWS profile for --target aws")
    parser.add_argument("--yes", action="store_true", help="do not ask before using a real AWS account")


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from runner.validate import validate_file

    results: list[dict[str, Any]] = []
    total = 0
    for path in args.labs:
        lab, problems = validate_file(path, path)
        total += len(problems)
        results.append({"lab": path, "valid": not problems, "problems": [p.to_json() for p in problems]})
        if args.format == "text":
            for problem in problems:
                out.write(problem.format() + "\n")
            if lab is not None:
                steps = sum(len(t.steps) + len(t.checks) for t in lab.tasks)
                out.write(f"{path}: valid ({len(lab.tasks)} tasks, {steps} steps and checks)\n")
    if args.format == "json":
        out.write(json.dumps({"valid": total == 0, "labs": results}, indent=2) + "\n")
    elif total:
        labs = sum(1 for r in results if not r["valid"])
        out.write(f"{total} problem{'s' if total != 1 else ''} in {labs} lab{'s' if labs != 1 else ''}\n")
    return EXIT_OK if total == 0 else EXIT_USAGE


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    from runner.schema import render_json

    out.write(render_json())
    return EXIT_OK


def _cmd_actions(args: argparse.Namespace, out: TextIO) -> int:
    from runner import describe

    return describe.actions(args.name, args.format, out)


def _cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from runner.engine.cli import run_command

    return run_command(args, out)


def _cmd_grade(args: argparse.Namespace, out: TextIO) -> int:
    from runner.grading.cli import grade_command

    return grade_command(args, out)


def _cmd_cleanup(args: argparse.Namespace, out: TextIO) -> int:
    from runner.engine.cli import cleanup_command

    return cleanup_command(args, out)


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from runner.report import report_command

    return report_command(args, out)


def _cmd_new(args: argparse.Namespace, out: TextIO) -> int:
    from runner.scaffold import new_command

    return new_command(args, out)


def _cmd_emulator(args: argparse.Namespace, out: TextIO) -> int:
    from runner.durations import parse_duration
    from runner.errors import UsageError

    try:
        delay = parse_duration(args.log_delay)
    except ValueError as exc:
        raise UsageError(f"--log-delay: {exc}") from None
    faults = parse_faults(args.faults)
    from runner.emulator import serve_forever

    return int(serve_forever(args.host, args.port, delay, out, faults=faults))


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    from runner.errors import LabError, UsageError

    try:
        return int(args.handler(args, stream))
    except UsageError as exc:
        sys.stderr.write(f"labrunner {args.command}: {exc}\n")
        return EXIT_USAGE
    except LabError as exc:
        for problem in exc.problems:
            stream.write(problem.format() + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `labrunner schema | head`
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
