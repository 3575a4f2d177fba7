"""`run_autograder` on Gradescope: grade the AWS account a student submitted, write results.json.

Called for every submission by the zip's `run_autograder` (as `python -m runner.autograder SOURCE`).
Reads the instructor's choices (`config.py`) and the lab from the zip's folder (`/autograder/source`),
the submission (`submission.py`), assumes the grader role in the student's account and grades it
read-only (`runner.grading.classroom`, a class of one), then writes `results/results.json`
(`runner.grading.gradescope`): a test per task. What it prints is the instructor's log (Gradescope
keeps it as `results/stdout`).

Every way it can end writes results.json, each a result a student can act on: the grade; the
submission names no account; the role cannot be assumed (every task an error worth nothing, and what
to check); the autograder itself is broken (then exit 1). `AUTOGRADER_ROOT` (default `/autograder`) and
`LABRUNNER_TARGET` (default `aws`; an endpoint URL for the emulator) let it run outside Gradescope.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import TextIO

from runner.autograder import config as configuration
from runner.autograder import submission as submitted
from runner.commands.exits import EXIT_FAILED, EXIT_OK
from runner.engine.record import TargetRecord
from runner.engine.record_files import write_text
from runner.engine.redaction import Redactor
from runner.engine.targets import open_target, partition_for
from runner.grading import classroom, gradescope
from runner.grading.accounts import Student
from runner.grading.grader import GradeConsole, options
from runner.model import Lab
from runner.safe_text import escape_markdown, markdown_code

DEFAULT_ROOT = "/autograder"
DEFAULT_TARGET = "aws"


def root() -> Path:
    return Path(os.environ.get("AUTOGRADER_ROOT") or DEFAULT_ROOT)


def results_path(base: Path) -> Path:
    return base / "results" / "results.json"


def load(source: Path) -> tuple[configuration.Config, Lab]:
    """The instructor's choices and the lab, from the zip's folder; `LabError` or `ValueError` if broken."""
    from runner.commands.options import check_tasks, check_vars
    from runner.validate import load_lab

    config = configuration.Config.from_json((source / configuration.FILE).read_text(encoding="utf-8"))
    lab = load_lab(source / config.lab, config.lab)
    check_vars(lab, config.vars)
    check_tasks(lab, list(config.tasks))
    return config, lab


def grade(base: Path, source: Path, out: TextIO) -> int:
    """Grade the submission under `base` with the autograder in `source`; results.json is always written."""
    from runner.commands.options import choose_region

    config, lab = load(source)
    found = submitted.read(base)
    for note in found.notes:
        out.write(f"note: {note}\n")
    region = choose_region(config.region, lab.region)
    opts = options(config.tasks, dict(config.vars), found.since)
    student = Student(found.account, found.student)
    spec = os.environ.get("LABRUNNER_TARGET") or DEFAULT_TARGET
    if found.problem is not None:
        out.write(f"labrunner autograder: the submission names no account: {found.problem}\n")
        where = TargetRecord(kind="aws" if spec == "aws" else "endpoint", region=region,
                             partition=partition_for(region))
        record = classroom.not_graded(lab, opts, where, student, found.problem)
        header = f"**Your submission could not be graded.** {escape_markdown(found.problem)}"
        gradescope.write(results_path(base), record, settings=config.gradescope, header=header)
        return EXIT_OK
    redactor = Redactor()
    target = open_target(spec, region)
    try:
        role = found.role_arn or f"arn:{target.partition}:iam::{found.account}:role/{config.role_name}"
        out.write(f"labrunner autograder: grading account {found.account} ({found.student}) as {role}\n")
        room = classroom.Classroom(lab, target, role, opts,
                                   {"observer": GradeConsole(out, redactor, found.since), "redactor": redactor})
        result = room.grade_student(student)
    finally:
        target.close()
    if result.error:
        out.write(f"ERROR {result.error}\n")
        header = (f"**Your account {found.account} could not be graded:** {escape_markdown(result.error)}\n\n"
                  f"Check that {submitted.ACCOUNT_FILE} holds your own account id, and that the role "
                  f"{markdown_code(role.rsplit('/', 1)[-1])} exists in that account with the trust policy "
                  "your instructions give; then submit again.")
    else:
        header = f"Graded AWS account {found.account} (read-only, as {markdown_code(role)})."
    gradescope.write(results_path(base), result.record, redactor, config.gradescope, header)
    out.write(f"results: {results_path(base)} ({result.record.score:g}/{result.record.points:g} points)\n")
    return EXIT_OK


def broken(base: Path, message: str) -> None:
    """results.json for an autograder that could not run at all: the student is not at fault."""
    text = gradescope.failure_json(f"The autograder could not grade this submission ({message}). This is not "
                                   "your fault: please tell your instructor.")
    write_text(results_path(base), text, shared=True)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """`python -m runner.autograder [SOURCE]` grades; `--check SOURCE` only loads (setup.sh runs it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    stream = out or sys.stdout
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    base = root()
    source = Path(args[0]) if args else base / "source"
    if check:
        _, lab = load(source)
        stream.write(f"labrunner autograder: lab '{lab.name}' loads ({len(lab.tasks)} tasks)\n")
        return EXIT_OK
    try:
        return grade(base, source, stream)
    except BaseException as exc:
        from runner.errors import LabError

        if isinstance(exc, LabError):
            stream.write("".join(problem.format() + "\n" for problem in exc.problems))
        else:
            traceback.print_exc(file=stream)
        broken(base, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if not isinstance(exc, Exception):
            raise
        return EXIT_FAILED
