"""`labrunner grade LAB`: run a lab's checks, read-only, on one account or a class; an exit status.

One account (the target, made read-only by `runner.grading.grader`, or the role `--role-arn` names in
it), or a class (`--accounts` with a `--role-arn` template, `--parallel`, `--student-timeout`:
`runner.grading.classroom`); then the records, JUnit, Gradescope results and a class's summary CSV (and
on GitHub Actions, the job summary), each named by its absolute path. A path that names a file is
written as one file (`names_a_file`). One account is graded with the run's console (`--color`,
`--quiet`, `--verbose`); a class prints a line per student as each is done, and its table.
`--print-policy` prints the grader role's policy (`runner.grading.policy`) and touches nothing. Shared
option values: `options.py`; statuses: `exits.py`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from runner import workflow_commands
from runner.commands.confirm import check_reachable
from runner.commands.display import console_for, watcher
from runner.commands.exits import EXIT_FAILED, EXIT_OK
from runner.commands.options import check_output, check_tasks, check_vars, choose_region, parse_faults, parse_vars
from runner.durations import parse_duration, parse_moment
from runner.engine import github
from runner.engine.console import Part
from runner.engine.loop import RunOptions
from runner.engine.record import RunRecord
from runner.engine.record_files import write_record
from runner.engine.redaction import Redactor
from runner.engine.retrying import TimeLimit
from runner.engine.targets import Target, open_target
from runner.errors import UsageError
from runner.grading import classroom, gradescope, junit, policy
from runner.grading.accounts import Student, read_accounts
from runner.grading.grader import GradeConsole, grade, options
from runner.model import Lab
from runner.safe_text import escape_controls

DEFAULT_SINCE = "7d"
#: How long one student's grade may take in a class. An ordinary student of the KMS lab is graded in
#: seconds (docs/benchmarks.md); the slowest honest grade the read bounds allow (a search of 600 log
#: files at 100 ms a request, every evidence question paging LookupEvents to its bound) takes about
#: 4 minutes. A hostile account then holds one of the `--parallel` slots for at most this (plus one
#: call: `classroom.GRADING_CALLS`); docs/grading.md says more.
DEFAULT_STUDENT_TIMEOUT = "10m"


def parse_since(text: str | None, now: datetime | None = None) -> datetime:
    """`--since`: an ISO 8601 time (UTC unless it says otherwise) or a duration ago (30m, 2h, 7d, 2w)."""
    now = now or datetime.now(UTC)
    try:
        moment = parse_moment(text or DEFAULT_SINCE, now)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    if moment > now:
        raise UsageError(f"--since: {moment:%Y-%m-%dT%H:%M:%SZ} is in the future")
    return moment


#: A role ARN (any partition), with a 12-digit account where `{account}` may stand.
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")


def check_role_template(template: str | None, accounts: str | None) -> str | None:
    """`--role-arn`: for a class (`--accounts`), a template naming `{account}`; for one account, its ARN."""
    if template is None:
        if accounts:
            raise UsageError("--accounts needs --role-arn, the role to assume in each account, e.g. "
                             "'arn:aws:iam::{account}:role/Grader'")
        return None
    if not _ROLE_ARN.match(template.replace("{account}", "123456789012")):
        raise UsageError(f"--role-arn: '{template}' is not a role ARN such as 'arn:aws:iam::123456789012:role/Grader'"
                         + (" (or, for a class, 'arn:aws:iam::{account}:role/Grader')" if accounts else ""))
    if accounts and "{account}" not in template:
        raise UsageError(f"--role-arn: '{template}' has no {{account}}; write e.g. "
                         "'arn:aws:iam::{account}:role/Grader' so each student's account is filled in")
    if not accounts and "{account}" in template:
        raise UsageError(f"--role-arn: '{template}' names no account; to grade one account through a role, give "
                         "its ARN (arn:aws:iam::123456789012:role/Grader), or a class with --accounts FILE")
    return template


def role_account(arn: str) -> str:
    """The account of a role ARN that `check_role_template` accepted."""
    match = _ROLE_ARN.match(arn)
    assert match is not None
    return match.group(1)


def names_a_file(path: str | Path) -> bool:
    """Whether an output path names one file rather than a folder: an existing file, or a new `.json` path."""
    where = Path(path)
    return where.is_file() or (not where.is_dir() and where.suffix.lower() == ".json")


def student_time_limit(text: str | None, accounts: str | None) -> TimeLimit | None:
    """`--student-timeout` for a class (default `DEFAULT_STUDENT_TIMEOUT`); one account has none."""
    if not accounts:
        if text is not None:
            raise UsageError("--student-timeout applies to a class (--accounts FILE); grading one account, "
                             "stop it with Ctrl-C")
        return None
    value = text or DEFAULT_STUDENT_TIMEOUT
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--student-timeout: {exc}") from None
    if seconds <= 0:
        raise UsageError(f"--student-timeout: expected a duration above zero, got '{value}'")
    return TimeLimit(seconds, f"this account's grade took longer than --student-timeout ({value.strip()})")


def command(args: argparse.Namespace, out: TextIO) -> int:
    """`labrunner grade`: 0 every selected task passed for every student, 1 something is missing (or an
    account could not be graded), 2 bad input (nothing touched)."""
    from runner.validate import lab_warnings, load_lab

    overrides = parse_vars(list(args.var or []))
    lab = load_lab(args.lab, args.lab)  # LabError: every problem is printed, exit 2
    check_vars(lab, overrides)
    tasks = check_tasks(lab, list(args.task or []))
    for warning in lab_warnings(lab):  # a task this grade cannot grade: it counts for no points
        if not tasks or warning.task in tasks:
            sys.stderr.write(warning.format() + "\n")
    if args.print_policy:
        if not policy.permissions(lab, tasks):
            # IAM refuses a statement with no actions: say so instead of printing one.
            sys.stderr.write(f"labrunner grade: the checks of '{lab.name}' make no AWS call (http.request only): "
                             "a grader role needs no policy for them\n")
            return EXIT_OK
        out.write(policy.render(lab, tasks))
        return EXIT_OK
    since = parse_since(args.since)
    region = choose_region(args.region, lab.region)
    template = check_role_template(args.role_arn, args.accounts)
    if args.parallel < 1:
        raise UsageError(f"--parallel: expected at least 1, got {args.parallel}")
    time_limit = student_time_limit(args.student_timeout, args.accounts)
    if args.csv and not args.accounts:
        raise UsageError("--csv applies to a class (--accounts FILE)")
    students = read_accounts(args.accounts) if args.accounts else None
    # A class writes a folder of records and of results.json, one per account; a path that names a
    # file (results.json) is one file, which only a class of one can fill.
    files = {option: students is None or bool(path and names_a_file(path))
             for option, path in (("--record", args.record), ("--gradescope", args.gradescope))}
    for option, path in (("--record", args.record), ("--gradescope", args.gradescope)):
        if path and students is not None and len(students) > 1 and files[option]:
            raise UsageError(f"{option} {path}: names one file, and the class has {len(students)} accounts; "
                             "name a folder (each account gets its own file in it)")
    for option, path, folder in (("--record", args.record or "runs", not args.record or not files["--record"]),
                                  ("--junit", args.junit, False), ("--csv", args.csv, False),
                                  ("--gradescope", args.gradescope, not files["--gradescope"])):
        if path:
            check_output(path, option, folder=folder)
    target = open_target(args.target, region, args.profile, faults=parse_faults(args.faults))
    try:
        check_reachable(target)
        if students is not None:
            assert template is not None
            opts = replace(options(tasks, overrides, since), time_limit=time_limit)
            return _grade_class(args, out, lab, target, students, template, opts, files)
        redactor = Redactor()
        console = console_for(args, out, target, redactor, GradeConsole, since=since)
        if template is not None:
            # One account through a role: a class of one, written as one account's files.
            room = classroom.Classroom(lab, target, template, options(tasks, overrides, since),
                                       {"observer": console, "redactor": redactor}, on_target=watcher(console))
            result = room.grade_student(Student(role_account(template), role_account(template)))
            if result.error:
                out.write(f"ERROR {_shown(result.error)}\n")
            record = result.record
        else:
            record = grade(lab, target, options(tasks, overrides, since), observer=console, redactor=redactor)
    finally:
        target.close()
    path = write_record(args.record or _default_record(lab.name, record), record, redactor)
    out.write(f"record: {path}\n")
    if args.junit:
        out.write(f"junit: {junit.write(args.junit, [record], redactor)}\n")
    if args.gradescope:
        out.write(f"gradescope: {gradescope.write(args.gradescope, record, redactor)}\n")
    github.publish(record, redactor, out)  # on GitHub Actions: annotations and the job summary
    return EXIT_OK if record.status == "passed" else EXIT_FAILED


def _shown(text: str) -> str:
    """Text an account may have written (an error can quote what it holds), on one line of the terminal:
    controls escaped, and nothing GitHub Actions would read as a command."""
    return workflow_commands.inert(escape_controls(text, multiline=False))


def _stamp(record: RunRecord) -> str:
    return record.started.replace("-", "").replace(":", "")


def _default_record(lab: str, record: RunRecord) -> Path:
    return Path("runs") / f"grade-{lab}-{_stamp(record)}-{record.run_id}.json"


def _grade_class(args: argparse.Namespace, out: TextIO, lab: Lab, target: Target, students: list[Student],
                 template: str, opts: RunOptions, files: dict[str, bool]) -> int:
    """Grade every student's account, `args.parallel` at a time; the table, the records and the exports.
    `files`: which of `--record` and `--gradescope` name one file (a class of one) rather than a folder."""
    console = console_for(args, out, target, Redactor())
    room = classroom.Classroom(lab, target, template, opts, on_target=watcher(console, marked=True))
    count = f"{len(students)} account{'s' if len(students) != 1 else ''}"
    if console.level != "quiet":
        console.line(("labrunner grade", "heading"), f" {lab.name}: {count}, {min(args.parallel, len(students))} "
                     f"at a time, as {template} (read-only), evidence since {opts.since:%Y-%m-%dT%H:%M:%SZ}")

    def done(result: classroom.StudentResult) -> None:
        if console.level == "quiet" and not result.error:
            return  # the table says how each did
        what: Part = ("ERROR", "error") if result.error else f"{result.record.score:g}/{result.record.points:g} points"
        # An error can quote what the account holds: on one line.
        error = f" {escape_controls(result.error, multiline=False)}" if result.error else ""
        console.line(f"  graded {result.student.name} ({result.student.account}): ", what, error)

    results = room.grade_all(students, args.parallel, on_done=done)
    out.write("\n" + workflow_commands.inert(classroom.summary_table(lab, results, opts.tasks)))
    if args.record and files["--record"]:
        out.write(f"record: {write_record(args.record, results[0].record)}\n")
    else:
        stamp = room.started.strftime("%Y%m%dT%H%M%SZ")
        folder = Path(os.path.abspath(args.record or Path("runs") / f"grade-{lab.name}-{stamp}"))
        classroom.write_records(folder, results)
        classroom.write_summary(folder / "summary.csv", lab, results, opts.tasks)
        out.write(f"records: {folder}/ (one per student, and summary.csv)\n")
    if args.csv:
        out.write(f"csv: {classroom.write_summary(args.csv, lab, results, opts.tasks)}\n")
    records = [r.record for r in results]
    if args.junit:
        out.write(f"junit: {junit.write(args.junit, records)}\n")
    if args.gradescope and files["--gradescope"]:
        out.write(f"gradescope: {gradescope.write(args.gradescope, records[0])}\n")
    elif args.gradescope:
        # Gradescope reads one results.json per submission: a class gets a folder of them.
        gs = Path(os.path.abspath(args.gradescope))
        for result in results:
            gradescope.write(gs / f"{result.student.account}.json", result.record)
        out.write(f"gradescope: {gs}/ (one results.json per account)\n")
    if workflow_commands.enabled():
        workflow_commands.append_summary(workflow_commands.table(f"{lab.title}: {count}",
                                                                 classroom.summary_rows(lab, results, opts.tasks)))
    errors = sum(1 for r in results if r.error)
    if errors:
        out.write(f"{errors} account{'s' if errors != 1 else ''} could not be graded (see the table)\n")
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED
