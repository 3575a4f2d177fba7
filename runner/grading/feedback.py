"""What a student is told about one graded task, from the record's JSON form (secrets already redacted).

Shared by the Gradescope results, the grading JUnit file and the terminal, so that every place says the
same thing: which check failed, the lab's `message` for it, and each failed expectation with expected
versus actual; or that the task was credited by evidence; then the task's advice that the account does
not follow, with its message, marked as worth no points.
"""

from __future__ import annotations

from typing import Any

from runner.engine.assertions import failed_lines, show_json

_KIND = {"checks": "Check", "evidence": "Evidence", "advice": "Advice"}


def step_lines(step: dict[str, Any]) -> list[str]:
    """The lines that explain one failed check, evidence or advice step."""
    label = step.get("title") or step.get("id") or step["key"]
    status = "not followed" if step["section"] == "advice" and step["status"] == "failed" else step["status"]
    lines = [f"{_KIND.get(step['section'], 'Check')} '{label}' {status}"
             + (f" ({step['action']})" if step.get("action") else "")]
    if step.get("hint"):
        lines.append(f"  {step['hint']}")
    lines += failed_lines(step.get("assertions") or [], indent="  ", hint="  ",
                          render=lambda value: show_json(value, 200))
    error = step.get("error")
    if error:
        code = f"{error['code']}: " if error.get("code") else ""
        lines.append(f"  error: {code}{error['message']}")
    elif step["status"] == "skipped" and step.get("summary"):
        lines.append(f"  {step['summary']}")
    return lines


def missed_advice(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's advice that the account does not follow (or that could not be checked)."""
    return [step for step in task.get("advice") or [] if step["status"] in ("failed", "error")]


def task_text(task: dict[str, Any]) -> str:
    """The feedback for one task, then the advice it missed (worth no points)."""
    text = _graded_text(task)
    missed = missed_advice(task)
    if not missed:
        return text
    return "\n\n".join([text, "Advice (worth no points: the score above is unchanged):",
                         *("\n".join(step_lines(step)) for step in missed)])


def _graded_text(task: dict[str, Any]) -> str:
    """What the task's score rests on: empty lines only between steps."""
    if task["status"] == "passed":
        if task.get("credited_by") == "evidence":
            lines = ["Credited by CloudTrail evidence: the resources are gone, but the calls that made them "
                     "were found in the lab's window."]
            failed = [c for c in task["checks"] if c["status"] != "passed"]
            if failed:
                lines.append("Checks that no longer pass (expected after clean-up):")
                for check in failed:
                    lines.extend("  " + line for line in step_lines(check)[:1])
            return "\n".join(lines)
        return "All checks passed."
    if task["status"] == "skipped":
        return task.get("summary") or "Not graded."
    blocks = ["\n".join(step_lines(s)) for s in task["checks"] if s["status"] in ("failed", "error")]
    if task.get("evidence"):
        missing = [s for s in task["evidence"] if s["status"] != "passed"]
        if missing:
            blocks.append("No evidence found in CloudTrail either:\n" + "\n".join(
                "\n".join(step_lines(s)) for s in missing))
    return "\n\n".join(blocks) or (task.get("summary") or task["status"])
