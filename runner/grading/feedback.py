"""What a student is told about one graded task, from the record's JSON form (secrets already redacted).

Shared by the Gradescope results, the grading JUnit file and the terminal, so that every place says the
same thing: which check failed, the lab's `message` for it, and each failed expectation with expected
versus actual; or that the task was credited by evidence.
"""

from __future__ import annotations

from typing import Any

from runner.engine.assertions import failed_lines, show_json


def step_lines(step: dict[str, Any]) -> list[str]:
    """The lines that explain one failed check or evidence step."""
    label = step.get("title") or step.get("id") or step["key"]
    lines = [f"{'Check' if step['section'] == 'checks' else 'Evidence'} '{label}' {step['status']}"
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


def task_text(task: dict[str, Any]) -> str:
    """The feedback for one task: empty lines only between steps."""
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
