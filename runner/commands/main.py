"""`labrunner`: the parser, and `main`, which runs one command and turns its errors into exit statuses.

Every command's options and help are here; what a shared option's value means is in `options.py`, and
what a command does is in its own module (`runner/commands/NAME.py`, `command(args, out)`), imported
only when that command runs: start-up imports argparse and nothing heavy, so `labrunner --help` stays
fast and never loads boto3 or the emulator. Statuses: `exits.py`.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from collections.abc import Sequence
from typing import TextIO

from runner.commands.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from runner.regions import DEFAULT_REGION


@functools.cache  # one per process: `main` may be called many times (tests, benchmarks, the pytest plugin)
def parser() -> argparse.ArgumentParser:
    """Every command and its options; the command's name is its module's (`args.command`)."""
    from runner import __version__

    top = argparse.ArgumentParser(
        prog="labrunner",
        description="Run, validate and grade cloud hands-on labs written in YAML.",
        epilog="Start with: labrunner validate labs/kms-basics.yaml, then labrunner run labs/kms-basics.yaml",
    )
    top.add_argument("--version", action="version", version=f"labrunner {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    validate = commands.add_parser("validate", help="check labs for every mistake, without touching any account",
                                   description="Check labs completely; exit 0 when all are valid, 2 otherwise.")
    validate.add_argument("labs", nargs="+", metavar="LAB", help="lab YAML files")
    validate.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    schema = commands.add_parser("schema", help="print the lab JSON Schema (generated from the actions)")
    schema.add_argument("--fragment", action="store_true",
                        help="the schema of a file a lab includes (schemas/fragment.schema.json)")

    actions = commands.add_parser("actions", help="list actions, or describe one",
                                  description="Without NAME, list every action. NAME may be an action, "
                                              "aws.SERVICE (its operations) or aws.SERVICE.OPERATION.")
    actions.add_argument("name", nargs="?", metavar="NAME")
    actions.add_argument("--format", choices=("text", "json"), default="text")

    run = commands.add_parser("run", help="run a lab against the emulator, an AWS account or an endpoint",
                              description="Run every task of a lab: its steps, then its checks; clean up; "
                                          "record. Exit 0 when all passed, 1 when any failed, 2 on bad input.")
    run.add_argument("lab", metavar="LAB")
    _add_target_options(run)
    _add_var_option(run)
    run.add_argument("--seed", type=int, help="seed for random_digits/random_id (recorded; replays names)")
    run.add_argument("--task", action="append", default=[], metavar="ID", help="run only these tasks")
    run.add_argument("--keep-going", action="store_true", help="run later tasks after a task fails")
    run.add_argument("--record", metavar="FILE", help="where to write the JSON record (default runs/...)")
    run.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    run.add_argument("--resume", metavar="RECORD",
                     help="continue an interrupted or failed run from its first task not passed")
    _add_faults_option(run)
    _add_output_options(run)

    grade = commands.add_parser("grade", help="grade accounts read-only: run only the checks, score per task",
                                description="Run a lab's checks (never its steps) against one account or a "
                                            "class, refusing any call that could change an account. Exit 0 when "
                                            "every check passed, 1 when any failed, 2 on bad input.")
    grade.add_argument("lab", metavar="LAB")
    _add_target_options(grade)
    grade.add_argument("--task", action="append", default=[], metavar="ID", help="grade only these tasks")
    _add_var_option(grade)
    grade.add_argument("--since", metavar="WHEN",
                       help="start of the lab's window for CloudTrail evidence: ISO 8601 time or a duration "
                            "ago such as 2h (default 7d)")
    grade.add_argument("--accounts", metavar="FILE",
                       help="a class: one account id per line, or a CSV with account and name columns")
    grade.add_argument("--role-arn", metavar="ARN",
                       help="role to assume: one account's (arn:aws:iam::123456789012:role/Grader), or for a class "
                            "a template such as 'arn:aws:iam::{account}:role/Grader'")
    grade.add_argument("--parallel", type=int, default=4, metavar="N", help="accounts graded at once (default 4)")
    grade.add_argument("--student-timeout", metavar="DURATION",
                       help="a class: how long one account's grade may take; then its remaining tasks are "
                            "reported not graded, and the others carry on (default 10m)")
    grade.add_argument("--record", metavar="PATH",
                       help="record file (one account, or a class of one given a .json path) or folder (a class)")
    grade.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    grade.add_argument("--gradescope", metavar="PATH",
                       help="also write Gradescope results.json (a class: a folder of them, one per account)")
    grade.add_argument("--csv", metavar="FILE", help="a class: write the students x tasks summary as CSV")
    grade.add_argument("--print-policy", action="store_true",
                       help="print the least-privilege IAM policy a grader role needs for this lab, and exit")
    _add_faults_option(grade)
    _add_output_options(grade)

    verify = commands.add_parser(
        "verify", help="test a lab's grader: grade accounts whose history is known, each case in a fresh account",
        description="For each lab, grade fresh accounts on the embedded emulator (or an AWS-compatible endpoint): "
                    "untouched; the lab's steps as they go and after clean-up; each task's steps left out; each "
                    "declared alternative and mistake. Print the cases x tasks matrix. Exit 0 when every grade is "
                    "as expected, 1 on any disagreement, 2 on bad input (nothing run).")
    verify.add_argument("labs", nargs="+", metavar="LAB", help="lab YAML files")
    verify.add_argument("--target", default="emulator", metavar="TARGET",
                        help="'emulator' (default: embedded) or the URL of an AWS-compatible endpoint that makes "
                             "accounts on demand (labrunner emulator, moto, LocalStack)")
    verify.add_argument("--region", help="AWS region (default: the lab's, else us-east-1)")
    _add_var_option(verify)
    verify.add_argument("--seed", type=int, help="seed of the first case's random_digits/random_id (the others follow)")
    verify.add_argument("--parallel", type=int, metavar="N",
                        help="cases run at once (default: one per CPU on the embedded emulator, 8 on an endpoint)")
    verify.add_argument("--junit", metavar="FILE", help="also write JUnit XML: one testcase per case x task")
    _add_output_options(verify)

    autograder = commands.add_parser(
        "autograder", help="build a Gradescope autograder that grades each student's AWS account",
        description="Write a Gradescope autograder zip: for every submission (account.txt: the student's AWS "
                    "account id) it assumes --role-name in that account, grades the lab read-only and writes "
                    "results.json with a test per task.")
    autograder.add_argument("lab", metavar="LAB")
    autograder.add_argument("-o", "--output", default="autograder.zip", metavar="FILE",
                            help="the zip to write (default autograder.zip)")
    autograder.add_argument("--role-name", required=True, metavar="NAME",
                            help="the grader role every student creates in their account (see grade --print-policy)")
    autograder.add_argument("--profile", metavar="NAME",
                            help="put this AWS profile's keys in the zip: the identity that assumes the grader "
                                 "role (best an IAM user allowed only sts:AssumeRole)")
    autograder.add_argument("--region", help=f"AWS region (default: the lab's, else {DEFAULT_REGION})")
    autograder.add_argument("--task", action="append", default=[], metavar="ID", help="grade only these tasks")
    _add_var_option(autograder)
    autograder.add_argument("--visibility", default="visible", metavar="WHEN",
                            help="when students see the tests: visible (default), after_due_date, "
                                 "after_published or hidden")
    autograder.add_argument("--task-visibility", action="append", default=[], metavar="TASK=WHEN",
                            help="one task's test visibility, overriding --visibility")
    autograder.add_argument("--stdout-visibility", default="hidden", metavar="WHEN",
                            help="when students see the autograder's log (default hidden: it names every call)")

    cleanup = commands.add_parser("cleanup", help="remove what a run created, from its record (idempotent)",
                                  description="Delete every resource a run's ledger lists, newest first; "
                                              "safe to repeat, and works after a crash or kill -9.")
    cleanup.add_argument("record", metavar="RECORD")
    _add_target_options(cleanup)
    _add_output_options(cleanup)

    report = commands.add_parser("report", help="turn run or grade records into one self-contained HTML page",
                                 description="One page for the records named, and those in the folders named "
                                             "(a class folder of labrunner grade); a section a lab.")
    report.add_argument("records", nargs="+", metavar="RECORD|FOLDER")
    report.add_argument("--html", required=True, metavar="FILE")

    new = commands.add_parser("new", help="write a new lab file that validates, to start from")
    new.add_argument("name", metavar="NAME", help="lab name (lowercase letters, digits, -) or a path ending .yaml")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")

    emulator = commands.add_parser("emulator", help="serve the embedded AWS emulator until stopped")
    emulator.add_argument("--port", type=int, default=4566)
    emulator.add_argument("--host", default="127.0.0.1",
                          help="address to listen on (default loopback only; anything else exposes it)")
    emulator.add_argument("--log-delay", default="5s", metavar="DURATION",
                          help="delay before CloudTrail log files are delivered (default 5s)")
    _add_faults_option(emulator)
    return top


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """What the terminal shows: colour, and how much (the choices are `terminal.py`'s and `console.py`'s)."""
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the output: auto (default: on a terminal, unless NO_COLOR is set; "
                             "FORCE_COLOR forces it), always or never")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("-q", "--quiet", action="store_true", help="print only the result and what failed")
    level.add_argument("-v", "--verbose", action="store_true",
                       help="also print each AWS request: its operation, parameters and response (redacted "
                            "as records are)")


def _add_faults_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faults", metavar="PLAN",
                        help="emulator only: inject faults, e.g. throttle=0.2,error=0.05,latency=0.1:200ms,seed=7")


def _add_var_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="override a var")


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="emulator", metavar="TARGET",
                        help="'emulator' (default: embedded, started and stopped by the run), 'aws' "
                             "(the standard credential chain) or an endpoint URL")
    parser.add_argument("--region", help=f"AWS region (default: the lab's, else {DEFAULT_REGION})")
    parser.add_argument("--profile", help="AWS profile for --target aws")
    parser.add_argument("--yes", action="store_true", help="do not ask before using a real AWS account")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; its exit status. A bad command line exits from argparse (status 2, usage on stderr)."""
    stream = out or sys.stdout
    args = parser().parse_args(argv)
    from runner.errors import LabError, UsageError

    try:
        command = importlib.import_module(f"runner.commands.{args.command}")
        return int(command.command(args, stream))
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
