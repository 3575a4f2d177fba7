"""A run's record on GitHub Actions: each failing step an annotation on its YAML line, and a summary.

When `GITHUB_ACTIONS` is `true`, `labrunner run` and `grade` and the pytest plugin `publish`: the
annotations on their output, and the Markdown summary appended to the job's summary file (the formats
and their escaping are `runner.workflow_commands`'). Like JUnit (`junit.py`, whose `failure_lines`
word each failure), everything comes from the record's JSON form, so secrets are already redacted;
what an account holds reaches Markdown through `safe_text.escape_markdown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from runner.engine.junit import failure_lines
from runner.engine.record import RunRecord
from runner.engine.record_json import to_json
from runner.engine.redaction import Redactor
from runner.safe_text import escape_markdown, markdown_code
from runner.workflow_commands import Annotation, append_summary, enabled, relative

_ICONS = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️", "interrupted": "⏹️"}
_KINDS = {"steps": "step", "checks": "check", "evidence": "evidence", "cleanup": "cleanup"}


def step_annotation(step: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Annotation | None:
    """A failed step (its JSON) as an annotation on its YAML line; None when it passed or has no place."""
    if step.get("status") not in ("failed", "error"):
        return None
    parts = str(step.get("location") or "").rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    file, line, col = parts
    label = step.get("title") or step.get("id") or step.get("key")
    title = f"{_KINDS.get(str(step.get('section')), 'step')} '{label}' ({step.get('action')}) {step['status']}"
    message = "\n".join([str(step.get("summary") or step["status"]), *failure_lines(dict(step))])
    return Annotation(relative(file, env), int(line), title, message, int(col) if col.isdigit() else None)


def record_annotations(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> list[Annotation]:
    """Every failed step of a task that did not pass, and every failed cleanup, in the order they ran.

    A task a grade credited by evidence passed: its failed checks are no failure of the run."""
    steps = [step for task in data["tasks"] if task["status"] in ("failed", "error")
             for section in ("steps", "checks", "evidence") for step in task.get(section) or []]
    steps += data.get("cleanup") or []
    return [a for a in (step_annotation(step, env) for step in steps) if a is not None]


def _number(value: float) -> str:
    return f"{value:g}"


def summary(data: Mapping[str, Any]) -> str:
    """The run's Markdown: its status and score, a row a task, and why each failed step failed."""
    status = data["status"]
    target = data.get("target") or {}
    where = " · ".join(str(v) for v in (target.get("kind"), target.get("region"), target.get("account")) if v)
    who = f" · {escape_markdown(str(data['student']))}" if data.get("student") else ""
    lines = [f"### {_ICONS.get(status, '')} {escape_markdown(data['title'])}: {status}, "
             f"{_number(data['score'])}/{_number(data['points'])} points",
             "", f"{markdown_code(data['lab'])} · {data['mode']} {markdown_code(data['run_id'])} · "
                 f"{escape_markdown(where)}{who}", "",
             "| | Task | Status | Score |", "|---|---|---|---|"]
    for task in data["tasks"]:
        lines.append(f"| {_ICONS.get(task['status'], '')} | {escape_markdown(task['title'])} "
                     f"({escape_markdown(task['id'])}) | {task['status']} | "
                     f"{_number(task['score'])}/{_number(task['points'])} |")
    failures = record_annotations(data, {})
    if failures:
        lines += ["", "**What failed**", ""]
        for annotation in failures:
            first, *rest = annotation.message.splitlines()
            lines.append(f"- {markdown_code(f'{annotation.file}:{annotation.line}')} "
                         f"{escape_markdown(annotation.title)}: {escape_markdown(first)}")
            lines += [f"  - {escape_markdown(line)}" for line in rest]
    if data.get("error"):
        lines += ["", f"**{escape_markdown(str(data['error']))}**"]
    return "\n".join(lines) + "\n"


def publish(record: RunRecord, redact: Redactor | None, out: TextIO | None,
            env: Mapping[str, str] | None = None) -> None:
    """On GitHub Actions: an annotation for each failed step, on `out` (unless None), and the summary."""
    if not enabled(env):
        return
    data = to_json(record, redact)
    if out is not None:
        for annotation in record_annotations(data, env):
            out.write(annotation.command() + "\n")
    append_summary(summary(data), env)
