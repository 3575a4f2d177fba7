"""A pytest plugin: `pytest labs/` collects every lab and runs it, one test item per task.

Registered through the `pytest11` entry point as `labrunner` (disable it with `-p no:labrunner`).
It sits beside `labrunner run` (`runner.commands.run`): it validates a lab with `runner.validate`, opens a target with
`runner.engine.targets`, runs the tasks one at a time with `runner.engine.loop.TaskByTask`, and writes
the same JSON record as `labrunner run`.

What is collected, so that a project's other YAML files are never mistaken for labs:
- a `.yaml`/`.yml` file whose text has a top-level `lab:` key, and
- that is either named on the command line, or lies under one of the `labrunner_paths` directories
  (an ini option; default `labs`, relative to the ini file's folder, else the invocation folder).

With `--labrunner-verify`, a lab is collected as its verify cases instead (`runner.verify.plugin`):
one item per case, each failing on its own disagreements.

The tasks of one lab share one run: one target, one context (saved values carry over), and the lab's
cleanups run when pytest leaves the lab's file (after its last item, or at the end of the session).
Running a task whose earlier tasks were not selected (`-k`, a node id, or another xdist worker ran
them) first runs those earlier tasks, unreported, because a task may need what they saved.
A failure is shown as the failing step's YAML with line numbers and every expected versus actual
value, never as a Python traceback; an invalid lab is one collection error listing every problem.

Nothing heavy is imported at module level: pytest loads this plugin in every session of every project
that has labrunner installed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from runner import workflow_commands  # leaves: importing them costs a session nothing
from runner.regions import DEFAULT_REGION
from runner.safe_text import escape_controls

if TYPE_CHECKING:
    from collections.abc import Iterator

    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from runner.engine.checkpoint import Checkpoint
    from runner.engine.loop import TaskByTask
    from runner.engine.record import StepRecord, TaskRecord
    from runner.engine.redaction import Redactor
    from runner.engine.targets import Target
    from runner.model import Lab, Step, Task

#: A top-level `lab:` key: cheap to find without parsing, and present even when the YAML is broken.
_LAB_KEY = re.compile(r"^(?:lab|\"lab\"|'lab')[ \t]*:", re.MULTILINE)
_SUFFIXES = (".yaml", ".yml")
#: The failing step's YAML is shown in full up to this many lines, else around the marked lines.
_MAX_YAML_LINES = 30
NOT_RUN = "skipped: not selected (pytest)"

#: A failed item's GitHub annotations ride in its report's user_properties under this name, from the
#: worker that ran it (xdist) to the process that prints; they are taken out before `--junitxml` sees them.
_ANNOTATIONS = "labrunner_github_annotations"

_records_key = pytest.StashKey[list[Path]]()
_explicit_key = pytest.StashKey[frozenset[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labrunner", "labrunner: run YAML labs as tests")
    group.addoption("--labrunner-target", default="emulator", metavar="TARGET",
                    help="'emulator' (default: embedded, one per lab), 'aws' (the standard credential "
                         "chain; runs without asking) or an endpoint URL")
    group.addoption("--labrunner-region", default=None, metavar="REGION",
                    help=f"AWS region (default: the lab's, else {DEFAULT_REGION})")
    group.addoption("--labrunner-seed", type=int, default=None, metavar="N",
                    help="seed for random_digits/random_id (recorded; replays names)")
    group.addoption("--labrunner-records", default="runs", metavar="DIR",
                    help="folder for the JSON records of the runs (default: runs)")
    group.addoption("--labrunner-verify", action="store_true",
                    help="test each lab's grader instead (labrunner verify): one test per case, each in a "
                         "fresh account of the emulator or endpoint")
    parser.addini("labrunner_paths", type="linelist", default=["labs"],
                  help="folders whose lab files are collected (default: labs), relative to the ini file")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_records_key] = []
    _printer["worker"] = hasattr(config, "workerinput")
    explicit: set[Path] = set()
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        for arg in config.args:
            explicit.add((config.invocation_params.dir / arg.split("::")[0]).resolve())
    config.stash[_explicit_key] = frozenset(explicit)


def _lab_dirs(config: pytest.Config) -> list[Path]:
    base = config.inipath.parent if config.inipath is not None else config.invocation_params.dir
    return [(base / entry).resolve() for entry in config.getini("labrunner_paths")]


def _is_lab(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as stream:
            return _LAB_KEY.search(stream.read(1024 * 1024)) is not None
    except OSError:
        return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> LabFile | None:
    if file_path.suffix not in _SUFFIXES:
        return None
    config = parent.config
    resolved = file_path.resolve()
    wanted = resolved in config.stash.get(_explicit_key, frozenset()) or any(
        resolved.is_relative_to(folder) for folder in _lab_dirs(config))
    if not wanted or not _is_lab(file_path):
        return None
    lab_file: LabFile = LabFile.from_parent(parent, path=file_path)
    return lab_file


@pytest.hookimpl(tryfirst=True)  # before junitxml reads user_properties: <properties> in a testcase is invalid
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _printer["worker"]:  # an xdist worker sends the report on, annotations and all, to the controller
        return
    keep = [(name, value) for name, value in report.user_properties if name != _ANNOTATIONS]
    if len(keep) == len(report.user_properties):
        return
    for name, value in report.user_properties:
        # every later phase's report repeats the item's user_properties: print the call's
        if name == _ANNOTATIONS and isinstance(value, list) and report.when == "call":
            _session_annotations.extend(str(command) for command in value)
    report.user_properties[:] = keep


#: What `pytest_runtest_logreport` took from the reports, printed by `pytest_terminal_summary` (the
#: hooks run in the process that prints; under xdist, the controller); and whether this is a worker.
_session_annotations: list[str] = []
_printer = {"worker": False}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for command in _session_annotations:  # GitHub Actions reads workflow commands from the log
        terminalreporter.write_line(command)
    _session_annotations.clear()
    records = config.stash.get(_records_key, [])
    if records:
        terminalreporter.section("labrunner")
        for path in records:
            terminalreporter.write_line(f"record: {_display(config, path)}")


class InvalidLab(Exception):
    """A lab that does not validate: its problems, already formatted."""


class LabFailure(Exception):
    """A task, the target or the cleanup failed: carries the text pytest shows (no traceback)."""


def _display(config: pytest.Config, path: Path) -> str:
    """The path as a user would type it: relative to where pytest was started, when inside it."""
    try:
        return str(path.resolve().relative_to(config.invocation_params.dir.resolve()))
    except ValueError:
        return str(path)


class LabFile(pytest.File):
    """One lab file: a test item per task, sharing one run that this node starts and finishes."""

    lab: Lab | None = None
    lab_run: _LabRun | None = None

    def collect(self) -> Iterator[pytest.Item]:
        from runner.validate import validate_file

        lab, problems = validate_file(self.path, _display(self.config, self.path))
        if problems or lab is None:
            count = len(problems)
            lines = [problem.format() for problem in problems]
            lines.append(f"{count} problem{'s' if count != 1 else ''}: the lab is invalid; nothing was run")
            raise InvalidLab("\n".join(lines))
        self.lab = lab
        if self.config.getoption("labrunner_verify"):
            from runner.verify.plugin import verify_items

            yield from verify_items(self, lab)
            return
        for index, task in enumerate(lab.tasks):
            yield TaskItem.from_parent(self, name=task.id, task=task, index=index)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException]) -> str | TerminalRepr:  # type: ignore[override]
        if isinstance(excinfo.value, InvalidLab):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def start_run(self) -> _LabRun:
        """The lab's run, started by its first item to run (so collecting alone never opens a target)."""
        if self.lab_run is None:
            assert self.lab is not None
            self.lab_run = _LabRun.start(self.config, self.lab)
        return self.lab_run

    def teardown(self) -> None:
        run, self.lab_run = self.lab_run, None
        if run is None:
            return
        try:
            record = run.by_task.finish(NOT_RUN)
        finally:
            run.target.close()
        run.checkpoint.finish(record)
        self.config.stash[_records_key].append(run.path)
        from runner.engine.github import publish

        publish(record, run.redactor, None)  # on GitHub Actions, the lab's job summary
        failed = [step for step in record.cleanup if step.failed]
        if failed:
            shown = _display(self.config, run.path)
            text = [f"cleanup of lab '{record.lab}' failed: some resources may remain (record: {shown})"]
            for step in failed:
                text.append(format_step(step, run.steps.get(step.key), self.path, run.redactor))
            pytest.fail("\n".join(text), pytrace=False)


@dataclass
class _LabRun:
    """What the items of one lab share: the target, the run, its record path, the source lines."""

    target: Target
    by_task: TaskByTask
    checkpoint: Checkpoint
    steps: dict[str, Step] = field(default_factory=dict)
    records: dict[str, TaskRecord] = field(default_factory=dict)

    @property
    def redactor(self) -> Redactor:
        return self.checkpoint.redactor

    @property
    def path(self) -> Path:
        assert self.checkpoint.path is not None  # the run's start wrote the record: it has a path
        return self.checkpoint.path

    @classmethod
    def start(cls, config: pytest.Config, lab: Lab) -> _LabRun:
        run = cls._start(config, lab)
        _name_in_junit(config, run.path)
        return run

    @classmethod
    def _start(cls, config: pytest.Config, lab: Lab) -> _LabRun:
        from runner.engine.checkpoint import Checkpoint
        from runner.engine.loop import Runner, RunOptions, TaskByTask
        from runner.engine.redaction import Redactor
        from runner.engine.resume import lab_digest
        from runner.engine.targets import open_target
        from runner.errors import UsageError

        region = str(config.getoption("labrunner_region") or lab.region or DEFAULT_REGION)
        try:
            target = open_target(str(config.getoption("labrunner_target")), region)
        except (UsageError, OSError) as exc:
            raise LabFailure(f"--labrunner-target: {exc}") from None
        redactor = Redactor()
        options = RunOptions(seed=config.getoption("labrunner_seed"))
        # As `labrunner run` does: the record is the run's ledger, written as the run goes, so a pytest
        # session killed half-way leaves what `labrunner cleanup RECORD` needs.
        folder = config.invocation_params.dir / str(config.getoption("labrunner_records"))
        checkpoint = Checkpoint(None, redactor, lab_digest=lab_digest(lab), folder=folder)
        try:
            by_task = TaskByTask(Runner(lab, target, options, redactor=redactor, checkpoint=checkpoint))
        except BaseException:
            target.close()
            raise
        steps = {step.key: step for step in _every_step(lab)}
        return cls(target, by_task, checkpoint, steps)

    def task_record(self, task: Task) -> TaskRecord:
        if task.id not in self.records:
            self.records[task.id] = self.by_task.run_task(task)
        return self.records[task.id]


def _name_in_junit(config: pytest.Config, record: Path) -> None:
    """Name the record in `--junitxml`'s file, as a property of the suite.

    Not as the test's `user_properties`: pytest writes those as `<properties>` inside `<testcase>`,
    which junit-10.xsd (the schema pytest's own output otherwise follows) does not allow. Under xdist
    the file is written by the controller, which a worker cannot reach: the terminal names the records.
    """
    from _pytest.junitxml import xml_key  # what pytest's record_testsuite_property fixture uses

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property("labrunner_record", str(record))


def _every_step(lab: Lab) -> Iterator[Step]:
    def with_cleanup(step: Step) -> Iterator[Step]:
        yield step
        if step.cleanup is not None:
            yield from with_cleanup(step.cleanup)

    for task in lab.tasks:
        for step in (*task.steps, *task.checks):
            yield from with_cleanup(step)
    for step in lab.cleanup:
        yield from with_cleanup(step)


class TaskItem(pytest.Item):
    """One task of a lab: its steps, then its checks, in the lab's shared run."""

    def __init__(self, *, task: Task, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task = task
        self.index = index
        self.record: TaskRecord | None = None

    @property
    def lab_file(self) -> LabFile:
        assert isinstance(self.parent, LabFile)
        return self.parent

    def runtest(self) -> None:
        lab_file = self.lab_file
        assert lab_file.lab is not None
        run = lab_file.start_run()
        for earlier in lab_file.lab.tasks[:self.index]:
            record = run.task_record(earlier)
            if record.status in ("failed", "error"):
                self._skip(run, f"task '{earlier.id}' failed earlier in this run")
            if record.status == "skipped" and run.by_task.error:
                self._skip(run, f"the run could not start: {run.by_task.error}")
        record = self.record = run.task_record(self.task)
        if record.status == "skipped" and run.by_task.error:
            raise LabFailure(f"the run could not start: {run.by_task.error}")
        if record.status in ("failed", "error"):
            self._annotate(record, run.redactor)
            raise LabFailure(format_task(record, run.steps, lab_file.path, run.redactor))

    def _annotate(self, record: TaskRecord, redactor: Redactor) -> None:
        """On GitHub Actions: each failed step an annotation on its YAML line, carried by the report."""
        if not workflow_commands.enabled():
            return
        from runner.engine.github import step_annotation
        from runner.engine.record_json import step_to_json

        made = (step_annotation(step_to_json(step, redactor)) for step in (*record.steps, *record.checks))
        self.user_properties.append((_ANNOTATIONS, [a.command() for a in made if a is not None]))

    def _skip(self, run: _LabRun, reason: str) -> None:
        """Skip this task, in pytest's report and in the record; the report points at the task's YAML."""
        if self.task.id not in run.records:
            run.records[self.task.id] = run.by_task.skip_task(self.task, f"skipped: {reason}")
        try:
            # Without this, pytest would show the plugin's source line as the skip's location.
            raise pytest.skip.Exception(reason, _use_item_location=True)
        except TypeError:  # pragma: no cover - a pytest without the (private) keyword
            pytest.skip(reason)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, (LabFailure, InvalidLab)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        # pytest counts lines from 0
        return self.path, self.task.location.line - 1, f"task {self.task.id}: {self.task.title}"


# ---- failure text


def _show(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def format_task(record: TaskRecord, steps: dict[str, Step], source: Path, redactor: Redactor) -> str:
    """What pytest shows for a failed task: a headline, then each failed step (see `format_step`)."""
    lines = [f"task '{record.id}' ({record.title}) {record.status}: {record.summary or record.status}"]
    for step in (*record.steps, *record.checks):
        if step.failed:
            lines.append("")
            lines.append(format_step(step, steps.get(step.key), source, redactor))
    return workflow_commands.inert(escape_controls(redactor.text("\n".join(lines))))


def format_step(record: StepRecord, step: Step | None, source: Path, redactor: Redactor) -> str:
    """A failed step: where, its YAML with line numbers (failing lines marked `>`), expected versus
    actual for each failed assertion, the error, the hint, and the attempts."""
    kind = {"steps": "step", "checks": "check", "cleanup": "cleanup"}.get(record.section, "step")
    lines = [f"{kind} '{record.key}' ({record.action}) {record.status} at {record.location}"]
    failed = [a for a in record.assertions if not a.passed]
    if step is not None:
        marked = {line for line in (_line_of(a.location) for a in failed) if line is not None}
        written = Path(step.location.file)  # a step from an included fragment is shown from the fragment
        lines.extend(_yaml_excerpt(written if written.is_file() else source, step, marked))
    if failed:
        lines.append("expected vs actual:")
        for check in failed:
            where = _line_of(check.location)
            at = f" (line {where})" if where else ""
            lines.append(f"  {check.path} {check.operator}{at}")
            lines.append(f"    expected: {_show(redactor(check.expected))}")
            lines.append(f"    actual:   {_show(redactor(check.actual))}")
            if check.detail and not check.detail.startswith("expected "):  # else it repeats the two lines above
                lines.append(f"    {check.detail}")
            if check.message:
                lines.append(f"    hint: {check.message}")
    if record.error is not None:
        code = f" {record.error.code}" if record.error.code else ""
        lines.append(f"error ({record.error.kind}){code}: {record.error.message}")
    elif not failed and record.summary:
        lines.append(record.summary)
    if record.hint:
        lines.append(f"hint: {record.hint}")
    if record.attempts > 1:
        lines.append(f"after {record.attempts} attempts, {record.waited_s:g}s waiting")
    return workflow_commands.inert(escape_controls(redactor.text("\n".join(lines))))


def _line_of(location: str) -> int | None:
    """The line of `file:line:column`."""
    parts = location.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _yaml_excerpt(source: Path, step: Step, marked: set[int]) -> list[str]:
    """The step's lines from the lab file, numbered; `>` marks the failing lines (else the first)."""
    try:
        text = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    first = step.location.line
    if not 1 <= first <= len(text):
        return []
    # The step is its first line and every following line indented at least as deep as its keys
    # (a block scalar included); the next `- ` item or a dedented key ends it.
    indent = step.location.column - 1
    last = first
    for number in range(first + 1, len(text) + 1):
        line = text[number - 1]
        if not line.strip():
            continue
        if len(line) - len(line.lstrip(" ")) < indent:
            break
        last = number
    marks = {m for m in marked if first <= m <= last} or {first}
    numbers = list(range(first, last + 1))
    if len(numbers) > _MAX_YAML_LINES:
        keep = {first} | {m + d for m in marks for d in range(-3, 4)}
        numbers = [n for n in numbers if n in keep]
    width = len(str(last))
    shown: list[str] = []
    previous: int | None = None
    for number in numbers:
        if previous is not None and number != previous + 1:
            shown.append(f"    {'.' * width} |")
        marker = ">" if number in marks else " "
        shown.append(f"  {marker} {number:>{width}} | {text[number - 1]}")
        previous = number
    return shown
