"""`labrunner autograder LAB -o autograder.zip`: a Gradescope autograder that grades students' AWS accounts.

Checks the lab and the options as `labrunner grade` would (nothing is touched), builds the zip
(`runner.autograder.package`) and loads the lab from the zip's copy, then writes it: shared, or
owner-only when it holds the keys of `--profile`. Statuses: `exits.py`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TextIO

from runner import __version__
from runner.autograder import package
from runner.autograder.config import Config
from runner.commands.exits import EXIT_OK
from runner.commands.options import check_output, check_tasks, check_vars, choose_region, parse_vars
from runner.engine.record_files import write_bytes
from runner.errors import UsageError
from runner.grading.gradescope import VISIBILITIES, Settings

#: An IAM role name, with an optional path before it (`graders/Grader`).
_ROLE_NAME = re.compile(r"^(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


def _visibility(option: str, value: str) -> str:
    if value not in VISIBILITIES:
        raise UsageError(f"{option}: '{value}' is not one of {', '.join(VISIBILITIES)}")
    return value


def settings(args: argparse.Namespace, task_ids: list[str]) -> Settings:
    tests: dict[str, str] = {}
    for item in args.task_visibility or []:
        task, sep, when = item.partition("=")
        if not sep:
            raise UsageError(f"--task-visibility: expected TASK=WHEN, got '{item}'")
        if task not in task_ids:
            raise UsageError(f"--task-visibility: the lab has no task '{task}'; tasks: {', '.join(task_ids)}")
        tests[task] = _visibility("--task-visibility", when)
    return Settings(_visibility("--visibility", args.visibility),
                    _visibility("--stdout-visibility", args.stdout_visibility), tests)


def command(args: argparse.Namespace, out: TextIO) -> int:
    """0 the zip is written; 2 bad input (a lab that does not load, an option, a path)."""
    from runner.validate import lab_warnings, load_lab

    lab_path = Path(args.lab)
    lab = load_lab(args.lab, args.lab)  # LabError: every problem is printed, exit 2
    overrides = parse_vars(list(args.var or []))
    check_vars(lab, overrides)
    tasks = check_tasks(lab, list(args.task or []))
    for warning in lab_warnings(lab):  # a task the autograder cannot grade: it counts for no points
        if not tasks or warning.task in tasks:
            sys.stderr.write(warning.format() + "\n")
    if not _ROLE_NAME.match(args.role_name):
        raise UsageError(f"--role-name: '{args.role_name}' is not an IAM role name (letters, digits and +=,.@_-, "
                         "up to 64; a path before it with /)")
    region = choose_region(args.region, lab.region) if args.region else lab.region
    check_output(args.output, "--output")
    credentials = None
    if args.profile:
        try:
            credentials, expires = package.credentials_file(args.profile)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if expires:
            sys.stderr.write(f"labrunner autograder: --profile {args.profile} has temporary credentials: the "
                             "autograder stops working when they expire; give it an IAM user's access key\n")
    config = Config(lab=lab_path.name, role_name=args.role_name, labrunner=__version__, region=region,
                    tasks=tasks, vars=overrides, gradescope=settings(args, [t.id for t in lab.tasks]))
    archive = package.build(lab_path, config, credentials)
    package.check(archive)  # LabError: the zip's copy lacks a file the lab names
    path = write_bytes(args.output, archive, shared=credentials is None)
    files = package.lab_files(lab_path)
    out.write(f"autograder: {path} ({len(archive) // 1024} KiB): lab {lab.name}"
              + (f" and {len(files)} file{'s' if len(files) != 1 else ''} it names" if files else "")
              + f", labrunner {__version__}, grader role {args.role_name}"
              + (f", credentials of profile {args.profile} (the zip is owner-only)" if credentials else "") + "\n")
    out.write("Upload it as the assignment's autograder on Gradescope (Configure Autograder > Zip file upload).\n")
    return EXIT_OK
