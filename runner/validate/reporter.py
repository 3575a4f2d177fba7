"""Where the validator's problems go: each placed at its line and column, with its task and step.

Every layer of `runner.validate` (`schema_errors`, `semantics`) reports through one `Reporter`, which
drops a problem already reported at the same place and remembers every path reported, so that a later
layer can skip a value an earlier one has explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.errors import Problem
from runner.loader import Document
from runner.loader import Path as YamlPath


@dataclass
class Reporter:
    """The problems found in one document so far."""

    doc: Document
    problems: list[Problem] = field(default_factory=list)
    flagged: set[YamlPath] = field(default_factory=set)  # paths layer 2 reported: layer 3 skips them
    seen: set[tuple[str, int, int, str]] = field(default_factory=set)

    def add(self, path: YamlPath, message: str, hint: str = "", *, key: bool = False, rule: str = "invalid",
            line_offset: int = 0) -> None:
        self.flagged.add(path)
        mark = self.doc.mark(path, key=key)
        task, step = self.context(path)
        file = self.doc.file_of(path)  # the lab's, or the fragment's it was included from
        signature = (file, mark.line + line_offset, mark.column, message)
        if signature in self.seen:
            return
        self.seen.add(signature)
        self.problems.append(Problem(file, mark.line + line_offset, mark.column, message, hint,
                                     task=task, step=step, rule=rule))

    def context(self, path: YamlPath) -> tuple[str | None, str | None]:
        data = self.doc.data
        task: str | None = None
        step: str | None = None
        if len(path) >= 2 and path[0] == "tasks" and isinstance(path[1], int):
            tasks = data.get("tasks")
            raw = tasks[path[1]] if isinstance(tasks, list) and path[1] < len(tasks) else None
            task = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{path[1] + 1}"
            if len(path) >= 4 and path[2] in ("steps", "checks", "evidence", "advice") and isinstance(path[3], int):
                step = step_name(raw.get(path[2]) if isinstance(raw, dict) else None, str(path[2]), path[3])
            elif len(path) >= 5 and path[2] in ("alternatives", "mistakes") and isinstance(path[4], int):
                routes = raw.get(path[2]) if isinstance(raw, dict) else None
                steps = routes.get(path[3]) if isinstance(routes, dict) else None
                step = step_name(steps, f"{path[2]}.{path[3]}", path[4])
        elif len(path) >= 2 and path[0] == "cleanup" and isinstance(path[1], int):
            step = step_name(data.get("cleanup"), "cleanup", path[1])
        return task, step

    def sorted(self) -> list[Problem]:
        # The lab's own problems first, then each fragment's, each by position.
        return sorted(self.problems, key=lambda p: (p.file != self.doc.path, p.file, p.line, p.column, p.message))


def step_name(steps: Any, section: str, index: int) -> str:
    raw = steps[index] if isinstance(steps, list) and index < len(steps) else None
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return str(raw["id"])
    return f"{section}[{index}]"


def step_label(raw: dict[str, Any], path: YamlPath) -> str:
    """How a message names a step: by its id, else by its action."""
    if isinstance(raw.get("id"), str):
        return f"step '{raw['id']}'"
    return f"the {raw.get('action', 'step')} step"
