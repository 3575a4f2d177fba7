"""The typed, immutable model of a validated lab: what the engine runs.

A leaf module (imports `errors` and `loader` types only). `build` turns a document that passed
validation into frozen dataclasses; every step keeps its source location so that a failure at run
time points at the YAML the author wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from runner.durations import parse_duration
from runner.loader import Document

Section = Literal["steps", "checks", "cleanup", "evidence", "advice"]

DEFAULT_POINTS = 1
#: The name of the current item in the templates of a step with `loop`.
LOOP_ITEM = "item"
DEFAULT_TIMEOUT = 60.0
DEFAULT_INTERVAL = 5.0
DEFAULT_BACKOFF = 1.0
DEFAULT_MAX_INTERVAL = 60.0


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Retry:
    timeout: float = DEFAULT_TIMEOUT
    interval: float = DEFAULT_INTERVAL
    backoff: float = DEFAULT_BACKOFF
    max_interval: float = DEFAULT_MAX_INTERVAL
    on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expectation:
    path: str  # a template: rendered before it is compiled as JMESPath
    operator: str
    expected: Any  # templates inside are rendered at evaluation time
    message: str | None
    location: Location


@dataclass(frozen=True)
class Step:
    key: str  # unique in the lab: the id, or a generated `task.section[index]`
    section: Section
    task_id: str | None
    action: str
    params: Any
    location: Location
    id: str | None = None
    title: str | None = None
    save: Mapping[str, str] = field(default_factory=dict)
    expect: tuple[Expectation, ...] = ()
    expect_error: tuple[str, ...] = ()
    ignore_errors: tuple[str, ...] = ()
    retry: Retry | None = None
    when: str | bool | None = None
    cleanup: Step | None = None
    message: str | None = None
    paginate: bool = False
    loop: Any = None  # a list, or a template that renders to one: the step runs once per item (`{{ item }}`)
    yaml_path: tuple[str | int, ...] = ()

    @property
    def label(self) -> str:
        """What reports call the step: its title, else its id, else its action."""
        return self.title or self.id or self.action


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    points: float
    steps: tuple[Step, ...]
    checks: tuple[Step, ...]
    location: Location
    description: str = ""
    # Read-only proof, for grading only, that credits the task when its checks fail (resources deleted).
    evidence: tuple[Step, ...] = ()
    # Read-only checks of good practice, run after the checks: shown to the student, never scored.
    advice: tuple[Step, ...] = ()
    # Other valid routes and typical mistakes (name -> steps): only `labrunner verify` runs them, each
    # in place of `steps` (their steps are in section `steps`, keyed `<task>.alternatives.<name>[i]`).
    alternatives: Mapping[str, tuple[Step, ...]] = field(default_factory=dict)
    mistakes: Mapping[str, tuple[Step, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Lab:
    name: str
    title: str
    path: Path
    tasks: tuple[Task, ...]
    vars: Mapping[str, Any]
    cleanup: tuple[Step, ...] = ()
    region: str | None = None
    description: str = ""
    document: Document | None = field(default=None, compare=False, repr=False)
    secrets: tuple[str, ...] = ()  # names of vars and saved values never shown (`secrets:`)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)


def codes(value: Any) -> tuple[str, ...]:
    """Error codes as a lab writes them (a code, or a list), as text: `404` is the code boto3 gives as "404"."""
    if value is None:
        return ()
    return tuple(str(code) for code in (value if isinstance(value, list) else [value]))


def step_key(task_id: str | None, section: str, index: int, raw: Mapping[str, Any]) -> str:
    """A step's id, else where it is: `task.section[index]` (`section` may be `alternatives.<name>`)."""
    given = raw.get("id")
    if isinstance(given, str):
        return given
    return f"{task_id}.{section}[{index}]" if task_id else f"{section}[{index}]"


def build(doc: Document) -> Lab:
    """The model of a document that passed validation (call `validate` first)."""
    data = doc.data

    def loc(path: tuple[str | int, ...]) -> Location:
        mark = doc.mark(path)
        return Location(doc.file_of(path), mark.line, mark.column)

    def expectations(raw: Any, path: tuple[str | int, ...]) -> tuple[Expectation, ...]:
        if raw is None:
            return ()
        if isinstance(raw, dict):
            return tuple(
                Expectation(str(key), "equals", value, None, loc((*path, key))) for key, value in raw.items()
            )
        result = []
        for i, entry in enumerate(raw):
            operator = next(op for op in entry if op not in ("path", "message"))
            result.append(Expectation(entry["path"], operator, entry[operator], entry.get("message"),
                                      loc((*path, i))))
        return tuple(result)

    def retry(raw: Any) -> Retry | None:
        if raw is None:
            return None
        return Retry(
            timeout=parse_duration(raw.get("timeout", DEFAULT_TIMEOUT)),
            interval=parse_duration(raw.get("interval", DEFAULT_INTERVAL)),
            backoff=float(raw.get("backoff", DEFAULT_BACKOFF)),
            max_interval=parse_duration(raw.get("max_interval", DEFAULT_MAX_INTERVAL)),
            on=codes(raw.get("on")),
        )

    def step(raw: dict[str, Any], path: tuple[str | int, ...], section: Section, task_id: str | None,
             index: int, place: str | None = None) -> Step:
        cleanup = raw.get("cleanup")
        return Step(
            key=step_key(task_id, place or section, index, raw),
            section=section,
            task_id=task_id,
            action=raw["action"],
            params=raw.get("params", {}),
            location=loc(path),
            id=raw.get("id"),
            title=raw.get("title"),
            save=MappingProxyType(dict(raw.get("save") or {})),
            expect=expectations(raw.get("expect"), (*path, "expect")),
            expect_error=codes(raw.get("expect_error")),
            ignore_errors=codes(raw.get("ignore_errors")),
            retry=retry(raw.get("retry")),
            when=raw.get("when"),
            cleanup=(step(cleanup, (*path, "cleanup"), "cleanup", task_id, index) if cleanup else None),
            message=raw.get("message"),
            paginate=bool(raw.get("paginate", False)),
            loop=raw.get("loop"),
            yaml_path=path,
        )

    def steps(raw_task: dict[str, Any], base: tuple[str | int, ...], section: Section) -> tuple[Step, ...]:
        return tuple(step(s, (*base, section, i), section, raw_task["id"], i)
                     for i, s in enumerate(raw_task.get(section) or []))

    def routes(raw_task: dict[str, Any], base: tuple[str | int, ...], kind: str) -> Mapping[str, tuple[Step, ...]]:
        return MappingProxyType({
            name: tuple(step(s, (*base, kind, name, i), "steps", raw_task["id"], i, f"{kind}.{name}")
                        for i, s in enumerate(items))
            for name, items in (raw_task.get(kind) or {}).items()})

    tasks = []
    for t, raw_task in enumerate(data["tasks"]):
        base: tuple[str | int, ...] = ("tasks", t)
        tasks.append(Task(
            id=raw_task["id"],
            title=raw_task["title"],
            points=raw_task.get("points", DEFAULT_POINTS),
            description=raw_task.get("description", ""),
            location=loc(base),
            steps=steps(raw_task, base, "steps"),
            checks=steps(raw_task, base, "checks"),
            evidence=steps(raw_task, base, "evidence"),
            advice=steps(raw_task, base, "advice"),
            alternatives=routes(raw_task, base, "alternatives"),
            mistakes=routes(raw_task, base, "mistakes"),
        ))
    return Lab(
        name=data["lab"],
        title=data["title"],
        path=Path(doc.path),
        tasks=tuple(tasks),
        vars=MappingProxyType(dict(data.get("vars") or {})),
        cleanup=tuple(step(s, ("cleanup", i), "cleanup", None, i) for i, s in enumerate(data.get("cleanup") or [])),
        region=data.get("region"),
        secrets=tuple(data.get("secrets") or ()),
        description=data.get("description", ""),
        document=doc,
    )
