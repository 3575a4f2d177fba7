"""Run or grade records as one self-contained HTML page (what `labrunner report` writes).

Reads only the JSON records that `labrunner run` and `labrunner grade` write (`docs/record.md`), from
files or from folders of them (the class folder `grade` writes), never an account, and decides
nothing: statuses and scores are the record's. Each lab is one section of the page: one record of a
run is shown as the run (header, then each task with its steps, checks and advice, failures with their
location and expected versus actual, advice not followed marked as such); several records of one lab,
or grade records, are a class (a students × tasks grid with scores, then each student's run in a
collapsible `<details>`). Several labs open with an overview that links to each.

The page is one file: inline CSS, no scripts, no external fetches, so it can be mailed, attached to a
CI run or uploaded to an LMS. Record values are untrusted (a student controls resource names, tags
and error messages): the template is Jinja2 with autoescaping, nothing is marked safe, and every value
passes through `safe_text.escape_controls` (the environment's `finalize`), so a right-to-left
override cannot make a line say something else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from runner.durations import format_duration
from runner.engine.record_files import read_json
from runner.errors import UsageError
from runner.safe_text import escape_controls

#: Statuses with a colour; anything else a record holds is shown as `unknown`, never as a CSS class.
STATUSES = ("passed", "failed", "error", "skipped", "interrupted")
#: A value longer than this (as JSON) is cut in the page; the record keeps all of it.
MAX_VALUE_CHARS = 2000
_TASK_KEYS = ("id", "title", "status", "points", "score", "steps", "checks")
_STEP_KEYS = ("key", "action", "section", "status")


# ---- loading


@dataclass(frozen=True)
class Loaded:
    """One record file: where it came from and its JSON."""

    path: str
    data: dict[str, Any]


def load_record(path: str) -> Loaded:
    """Read one record; a missing file, bad JSON or a shape that is not a record is a `UsageError`."""
    data = read_json(path, "pass the record a run or a grade wrote (runs/*.json)")
    problems = shape_problems(data)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise UsageError(f"{path}: not a labrunner record: {shown}")
    return Loaded(path, data)


def load_records(paths: Sequence[str]) -> tuple[list[Loaded], list[str]]:
    """The records named: a file must be one; a folder gives the records among its `*.json` files.

    Also returns the files of a folder that were passed over (a Gradescope results.json beside the
    records, say); a folder with no record at all is a `UsageError`.
    """
    loaded: list[Loaded] = []
    passed_over: list[str] = []
    for path in paths:
        folder = Path(path)
        if not folder.is_dir():
            loaded.append(load_record(path))
            continue
        found = 0
        for file in sorted(folder.glob("*.json")):
            try:
                loaded.append(load_record(str(file)))
                found += 1
            except UsageError:
                passed_over.append(str(file))
        if not found:
            raise UsageError(f"{path}: a folder with no labrunner record in it (records are the *.json files a "
                             "run or a grade writes)")
    return loaded, passed_over


def shape_problems(data: Any) -> list[str]:
    """What keeps `data` from being a record this page can show (see schemas/record.schema.json).

    Checks only what the page reads, and ignores keys it does not know: records gain fields (grading
    adds the student), and an older page should still show a newer record.
    """
    if not isinstance(data, dict):
        return [f"expected a JSON object, got {type(data).__name__}"]
    problems = []
    if data.get("version") != 1:
        problems.append(f"version is {data.get('version')!r}, this labrunner reads version 1")
    for key in ("lab", "status"):
        if not isinstance(data.get(key), str):
            problems.append(f"'{key}' is missing or not a string")
    for key in ("score", "points"):
        if not _is_number(data.get(key)):
            problems.append(f"'{key}' is missing or not a number")
    if not isinstance(data.get("target", {}), dict):
        problems.append("'target' is not an object")
    tasks = data.get("tasks")
    if not isinstance(tasks, list):
        return [*problems, "'tasks' is missing or not a list"]
    for t, task in enumerate(tasks):
        if not isinstance(task, dict) or any(key not in task for key in _TASK_KEYS):
            problems.append(f"tasks[{t}] lacks one of {', '.join(_TASK_KEYS)}")
            continue
        for section in ("steps", "checks"):
            problems += _step_problems(task[section], f"tasks[{t}].{section}")
    problems += _step_problems(data.get("cleanup", []), "cleanup")
    return problems


def _step_problems(steps: Any, where: str) -> list[str]:
    if not isinstance(steps, list):
        return [f"{where} is not a list"]
    return [f"{where}[{i}] lacks one of {', '.join(_STEP_KEYS)}" for i, step in enumerate(steps)
            if not isinstance(step, dict) or any(key not in step for key in _STEP_KEYS)]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---- what the page shows (plain data for the template: the template only lays it out)


def status_class(status: Any) -> str:
    return status if status in STATUSES else "unknown"


def duration(seconds: Any) -> str:
    """A record's duration as the console prints it; empty when the record holds no number."""
    return format_duration(float(seconds)) if _is_number(seconds) else ""


def number(value: Any) -> str:
    """Points as written: 15, 2.5."""
    if not _is_number(value):
        return "?"
    return f"{value:g}"


def show_value(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + f"… ({len(text)} characters)"


def _step_view(step: dict[str, Any]) -> dict[str, Any]:
    failed_assertions = [a for a in step.get("assertions") or [] if isinstance(a, dict) and not a.get("passed")]
    error = step.get("error") if isinstance(step.get("error"), dict) else None
    status = step.get("status")
    # Advice is worth no points: one not followed is shown as advice, not as a failure.
    advice = step.get("section") == "advice" and status in ("failed", "error")
    return {
        "name": step.get("title") or step.get("id") or (
            f"cleanup of {step['registered_by']}" if step.get("registered_by") else step.get("key")),
        "key": step.get("key"),
        "action": step.get("action"),
        "section": {"steps": "step", "checks": "check"}.get(str(step.get("section")), str(step.get("section") or "")),
        "status": "advice" if advice else status_class(status),
        "status_text": "not followed" if advice else str(status),
        "attempts": step.get("attempts", ""),
        "duration": duration(step.get("duration_s")),
        "waited": duration(step.get("waited_s")) if (step.get("waited_s") or 0) > 0 else "",
        "location": step.get("location") or "",
        "summary": step.get("summary") or "",
        "hint": step.get("hint") or "",
        "ignored_error": step.get("ignored_error") or "",
        "failed": status in ("failed", "error"),
        "assertions": [{
            "path": a.get("path"), "operator": a.get("operator"), "expected": show_value(a.get("expected")),
            "actual": show_value(a.get("actual")), "message": a.get("message") or "",
            "location": a.get("location") or "", "detail": a.get("detail") or "",
        } for a in failed_assertions],
        "checked": len(step.get("assertions") or []),
        "error": None if error is None else {
            "kind": error.get("kind"), "code": error.get("code") or "", "message": error.get("message") or "",
        },
    }


def _task_view(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": task["id"], "title": task["title"], "status": status_class(task["status"]),
        "status_text": str(task["status"]), "score": number(task["score"]), "points": number(task["points"]),
        "duration": duration(task.get("duration_s")), "summary": task.get("summary") or "",
        # advice runs after the checks; grading adds `evidence`: steps run only when the checks failed
        "steps": [_step_view(s) for s in (*task["steps"], *task["checks"], *(task.get("advice") or []),
                                          *(task.get("evidence") or [])) if isinstance(s, dict)],
    }


def run_view(loaded: Loaded) -> dict[str, Any]:
    data = loaded.data
    target = data.get("target") or {}
    where = [str(target.get("kind") or "?"), str(target.get("region") or "")]
    if target.get("account"):
        where.append(f"account {target['account']}")
    if target.get("endpoint") and target.get("kind") == "endpoint":
        where.append(str(target["endpoint"]))
    tasks = [_task_view(t) for t in data["tasks"]]
    return {
        "lab": data["lab"], "title": data.get("title") or data["lab"], "file": data.get("file") or "",
        "record": loaded.path, "mode": data.get("mode") or "run",
        "status": status_class(data["status"]), "status_text": data["status"],
        "score": number(data["score"]), "points": number(data["points"]),
        "percent": _percent(data["score"], data["points"]),
        "duration": duration(data.get("duration_s")), "started": data.get("started") or "",
        "finished": data.get("finished") or "", "run_id": data.get("run_id") or "",
        "seed": data.get("seed", ""), "target": " · ".join(w for w in where if w),
        "caller": target.get("caller_arn") or "", "error": data.get("error") or "",
        "student": student_name(loaded),
        "tasks": tasks,
        "counts": {s: sum(1 for t in tasks if t["status"] == s) for s in STATUSES},
        "cleanup": [_step_view(s) for s in data.get("cleanup") or []],
    }


def _percent(score: Any, points: Any) -> int | None:
    if not _is_number(score) or not _is_number(points) or points <= 0:
        return None
    return round(float(100 * score / points))


def student_name(loaded: Loaded) -> str:
    """Who a record is about: the grader's `student`, else the account, else the file's name."""
    data = loaded.data
    for value in (data.get("student"), data.get("account"), (data.get("target") or {}).get("account")):
        if isinstance(value, str) and value:
            return value
    return Path(loaded.path).stem


def class_view(records: Sequence[Loaded]) -> dict[str, Any]:
    first = records[0].data
    columns: dict[str, dict[str, Any]] = {}
    for loaded in records:
        for task in loaded.data["tasks"]:
            columns.setdefault(task["id"], {"id": task["id"], "title": task["title"],
                                            "points": number(task["points"]), "passed": 0, "graded": 0})
    names: dict[str, int] = {}
    students = []
    for loaded in records:
        run = run_view(loaded)
        name = run["student"]
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:  # two records of one student: keep both rows, tell them apart
            name = f"{name} ({Path(loaded.path).name})"
        by_id = {task["id"]: task for task in loaded.data["tasks"]}
        cells = []
        for column in columns.values():
            task = by_id.get(column["id"])
            if task is None:
                cells.append({"status": "unknown", "status_text": "not in this record", "score": "–"})
                continue
            if task["status"] != "skipped":
                column["graded"] += 1
            if task["status"] == "passed":
                column["passed"] += 1
            cells.append({"status": status_class(task["status"]), "status_text": str(task["status"]),
                          "score": number(task["score"]), "summary": task.get("summary") or ""})
        students.append({"name": name, "cells": cells, "run": run})
    students.sort(key=lambda s: s["name"].lower())
    scores = [loaded.data["score"] for loaded in records]
    return {
        "lab": first["lab"], "title": first.get("title") or first["lab"],
        "columns": list(columns.values()), "students": students,
        "points": number(max(loaded.data["points"] for loaded in records)),
        "mean": number(round(sum(scores) / len(scores), 1)),
        "passed": sum(1 for loaded in records if loaded.data["status"] == "passed"),
        "count": len(records),
    }


# ---- rendering


def _shown(value: Any) -> Any:
    """Every value the template prints: controls and reordering characters as visible escapes. Markup
    (a macro's output) is the template's own, made of values that already went through here."""
    import markupsafe

    return escape_controls(value) if isinstance(value, str) and not isinstance(value, markupsafe.Markup) else value


def _environment() -> Any:
    import jinja2

    # Our own template, not a lab's: a plain Environment is fine, autoescape is what matters.
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: resources.files("runner").joinpath("data", name).read_text("utf-8")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=_shown,
    )


def is_class(records: Sequence[Loaded]) -> bool:
    """A class: several records (of one lab), or records that grading wrote."""
    return len(records) > 1 or any(loaded.data.get("mode") == "grade" for loaded in records)


def by_lab(records: Sequence[Loaded]) -> dict[str, list[Loaded]]:
    """The records of each lab, labs in the order they first appear."""
    labs: dict[str, list[Loaded]] = {}
    for loaded in records:
        labs.setdefault(loaded.data["lab"], []).append(loaded)
    return labs


def lab_view(records: Sequence[Loaded], prefix: str) -> dict[str, Any]:
    """One lab's section: its run or its class, and the line the overview of several labs shows."""
    if is_class(records):
        cls = class_view(records)
        everyone = cls["passed"] == cls["count"]
        return {"kind": "class", "cls": cls, "prefix": prefix, "name": cls["lab"], "title": cls["title"],
                "what": f"class of {cls['count']}", "status": "passed" if everyone else "failed",
                "status_text": f"{cls['passed']} of {cls['count']} passed",
                "score": f"mean {cls['mean']} / {cls['points']}"}
    run = run_view(records[0])
    return {"kind": "run", "run": run, "prefix": prefix, "name": run["lab"], "title": run["title"], "what": "run",
            "status": run["status"], "status_text": run["status_text"], "score": f"{run['score']} / {run['points']}"}


def render(records: Sequence[Loaded]) -> str:
    if not records:
        raise UsageError("no records to report")
    groups = list(by_lab(records).values())
    # One lab keeps the ids a page of one lab always had (#grid, #score); several are told apart.
    labs = [lab_view(group, "" if len(groups) == 1 else f"lab{index}-") for index, group in enumerate(groups, 1)]
    if len(labs) > 1:
        title = f"{len(labs)} labs — labrunner report"
    elif labs[0]["kind"] == "run":
        run = labs[0]["run"]
        title = f"{run['title']} — {run['status_text']} {run['score']}/{run['points']}"
    else:
        title = f"{labs[0]['title']} — class of {labs[0]['cls']['count']}"
    return str(_environment().get_template("report.html.j2").render(labs=labs, title=title))
