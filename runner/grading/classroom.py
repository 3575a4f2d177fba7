"""Grade a class: one account per student, a role assumed in each, graded in parallel.

For each student, the instructor's credentials (the base target's) assume `--role-arn` with `{account}`
filled in; a new read-only target uses the temporary credentials, and `grader.grade` runs the lab on it.
Whatever goes wrong for one account (the role is missing, STS refuses, throttling outlasts the retries,
a timeout, the role lands in another account, the grade outlasts `RunOptions.time_limit`) becomes that
student's `error` result; the others go on. A student's calls have tighter limits than a run's
(`GRADING_CALLS`), so that no single call holds a grade long past its time limit. Then the summary
(students x tasks) for the terminal and CSV, and one record per student.
"""

from __future__ import annotations

import csv
import io
import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.engine.loop import RunOptions
from runner.engine.record import NOT_SELECTED, RunRecord, TargetRecord, TaskRecord
from runner.engine.record_files import write_record, write_text
from runner.engine.targets import CallLimits, Target, new_session
from runner.grading.accounts import Student
from runner.grading.grader import grade
from runner.model import Lab
from runner.safe_text import csv_cell, escape_controls

SESSION_NAME = "labrunner-grade"
#: One call of a student's grade: an endpoint that never answers costs it 5 x (5 s + 20 s) and the
#: backoff between attempts (at most 1 + 2 + 4 + 8 s): under 2.5 minutes. Five attempts still ride out
#: LookupEvents' throttling (2 requests a second, and a grade asks one question at a time).
GRADING_CALLS = CallLimits(connect_timeout=5, read_timeout=20, max_attempts=5)


@dataclass(frozen=True)
class StudentResult:
    student: Student
    record: RunRecord
    error: str | None = None  # why the account could not be graded at all

    @property
    def passed(self) -> bool:
        return self.error is None and self.record.status == "passed"


def role_arn(template: str, account: str) -> str:
    return template.replace("{account}", account)


def _failure(exc: BaseException) -> str:
    from runner.actions.failures import failure_from

    failure = failure_from(exc)
    if failure is not None:
        return f"{failure.code}: {failure.message}" if failure.message else failure.code
    return f"{type(exc).__name__}: {exc}"


class Classroom:
    """Grades many accounts with the same lab; `sts` is the instructor's STS client (thread-safe)."""

    def __init__(self, lab: Lab, base: Target, role_template: str, options: RunOptions,
                 runner_options: dict[str, Any] | None = None,
                 on_target: Callable[[Target, str], None] | None = None) -> None:
        """`on_target` is given each student's target and account as it is made (`--verbose` watches its
        requests)."""
        self.lab = lab
        self.on_target = on_target
        self.base = base
        self.role_template = role_template
        self.options = options
        self.runner_options = runner_options or {}
        # One client made here, in one thread: boto3 sessions are not thread-safe, clients are.
        self.sts = base.client("sts")
        self.started = datetime.now(UTC).replace(microsecond=0)

    def target_for(self, student: Student) -> Target:
        """A target in the student's account, as the assumed grader role."""
        arn = role_arn(self.role_template, student.account)
        try:
            reply = self.sts.assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME, DurationSeconds=3600)
        except Exception as exc:
            raise GradingError(f"cannot assume {arn}: {_failure(exc)}") from None
        credentials = reply["Credentials"]
        session = new_session(aws_access_key_id=credentials["AccessKeyId"],
                              aws_secret_access_key=credentials["SecretAccessKey"],
                              aws_session_token=credentials["SessionToken"], region_name=self.base.region)
        target = Target(self.base.kind, self.base.region, session, self.base.endpoint, limits=GRADING_CALLS)
        if self.on_target is not None:
            self.on_target(target, student.account)
        return target

    def grade_student(self, student: Student) -> StudentResult:
        try:
            target = self.target_for(student)
            try:
                account = target.identity().account
            except Exception as exc:
                raise GradingError(f"the grader role's credentials do not work: {_failure(exc)}") from None
            if account != student.account:
                raise GradingError(f"the role landed in account {account}, not {student.account}")
            options = replace(self.options, run_id=secrets.token_hex(4))
            record = grade(self.lab, target, options, student=student.name, **self.runner_options)
            # A grade that could not finish (its time limit, a var that did not render) says why.
            return StudentResult(student, record, record.error if record.status == "error" else None)
        except GradingError as exc:
            return StudentResult(student, self.error_record(student, str(exc)), str(exc))
        except Exception as exc:  # one account's surprise must not stop the class
            message = f"grading failed: {_failure(exc)}"
            return StudentResult(student, self.error_record(student, message), message)

    def error_record(self, student: Student, message: str) -> RunRecord:
        """The record of an account that could not be graded: every selected task an error."""
        where = TargetRecord(kind=self.base.kind, region=self.base.region, account=student.account,
                             partition=self.base.partition, endpoint=self.base.endpoint)
        return not_graded(self.lab, self.options, where, student, message)

    def grade_all(self, students: Sequence[Student], parallel: int,
                  on_done: Callable[[StudentResult], None] | None = None) -> list[StudentResult]:
        """Grade every student, `parallel` at a time; results in the class list's order."""
        lock = threading.Lock()

        def one(student: Student) -> StudentResult:
            result = self.grade_student(student)
            if on_done is not None:
                with lock:
                    on_done(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="grade") as pool:
            return list(pool.map(one, students))


def not_graded(lab: Lab, options: RunOptions, where: TargetRecord, student: Student, message: str) -> RunRecord:
    """The record of an account that could not be graded (its role, or the submission that names it):
    every selected task an `error` worth nothing, `status: error` and `message` in `error`."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    tasks = tuple(
        TaskRecord(id=t.id, title=t.title, status="error", points=t.points, score=0,
                   summary=f"not graded: {message}")
        if not options.tasks or t.id in options.tasks else
        TaskRecord(id=t.id, title=t.title, status="skipped", points=t.points, score=0,
                   summary=NOT_SELECTED)
        for t in lab.tasks)
    points = sum(t.points for t in tasks if t.status == "error")
    since = options.since.strftime("%Y-%m-%dT%H:%M:%SZ") if options.since else None
    return RunRecord(
        lab=lab.name, title=lab.title, file=str(lab.path), run_id=secrets.token_hex(4), mode=options.mode.name,
        target=where, seed=0, started=now, finished=now, status="error", vars={}, tasks=tasks, points=points,
        error=message, student=student.name, since=since)


class GradingError(Exception):
    """One account could not be graded (its role, its credentials): reported for that student only."""


# --------------------------------------------------------------------------------------------------
# The class summary


def _points(value: float) -> str:
    return f"{value:g}"


def summary_rows(lab: Lab, results: Sequence[StudentResult], tasks: tuple[str, ...] = ()) -> list[list[str]]:
    """Header then one row per student: name, account, status, each task's score, total, points, error."""
    ids = [t.id for t in lab.tasks if not tasks or t.id in tasks]
    rows = [["name", "account", "status", *ids, "total", "points", "error"]]
    for result in results:
        scores = {t.id: t for t in result.record.tasks}
        cells = [_points(scores[i].score) if scores[i].status != "error" or result.error is None else ""
                 for i in ids]
        rows.append([result.student.name, result.student.account, result.record.status, *cells,
                     _points(result.record.score), _points(result.record.points), result.error or ""])
    return rows


def summary_csv(lab: Lab, results: Sequence[StudentResult], tasks: tuple[str, ...] = ()) -> str:
    """The summary as CSV; each cell one line, without control characters or formulas (an error can quote
    an account, and a roster's names are whatever was typed)."""
    buffer = io.StringIO()
    rows = [[csv_cell(cell) for cell in row] for row in summary_rows(lab, results, tasks)]
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def summary_table(lab: Lab, results: Sequence[StudentResult], tasks: tuple[str, ...] = ()) -> str:
    """The summary as aligned plain text; an account that could not be graded shows why instead of scores.
    Each cell is one line without controls (an error can quote an account)."""
    rows = [[escape_controls(cell, multiline=False) for cell in row] for row in summary_rows(lab, results, tasks)]
    header, body = rows[0], rows[1:]
    shown = [[*row[:2], *row[3:-2], f"{row[-3]}/{row[-2]}"] for row in [header, *body]]
    shown[0][-1] = "total"
    widths = [max(len(r[i]) for r in shown) for i in range(len(shown[0]))]
    lines = []
    for index, row in enumerate(shown):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        line = "  ".join(cells).rstrip()
        if index and body[index - 1][-1]:
            line = f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  ERROR {body[index - 1][-1]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_records(folder: Path, results: Sequence[StudentResult]) -> list[Path]:
    written = []
    for result in results:
        slug = result.student.slug
        name = result.student.account if slug == result.student.account else f"{slug}-{result.student.account}"
        written.append(write_record(folder / f"{name}.json", result.record))
    return written


def write_summary(path: str | Path, lab: Lab, results: Sequence[StudentResult], tasks: tuple[str, ...] = ()) -> Path:
    return write_text(path, summary_csv(lab, results, tasks), shared=True)
