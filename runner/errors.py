"""Problems found in a lab, and the errors that carry them.

A leaf module: everything else may import it. A `Problem` says where (file, line, column, task, step),
what is wrong and how to fix it; `LabError` carries a list of them so a caller can report all at once.
The wording problems share lives here too: a did-you-mean, a value's kind, a value quoted briefly.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Mark(NamedTuple):
    """A 1-based position in a source file (a named tuple: the loader makes one per YAML node)."""

    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    """One mistake in a lab, with where it is and what would fix it."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""
    task: str | None = None
    step: str | None = None
    rule: str = "invalid"
    #: "error": the lab cannot be used; "warning": it can, but something in it will not work as meant.
    severity: str = "error"

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}:"
        context = []
        if self.task is not None:
            context.append(f"task '{self.task}'")
        if self.step is not None:
            context.append(f"step '{self.step}'")
        prefix = f" [{' '.join(context)}]" if context else ""
        hint = f"; {self.hint}" if self.hint else ""
        severity = " warning:" if self.severity == "warning" else ""
        return f"{where}{prefix}{severity} {self.message}{hint}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "task": self.task,
            "step": self.step,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "text": self.format(),
        }


@dataclass
class LabError(Exception):
    """Raised when a lab cannot be used; carries every problem found."""

    problems: Sequence[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class UsageError(Exception):
    """A mistake on the command line (bad option value, missing file): exit status 2."""


def did_you_mean(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate the author most likely meant, or None.

    A case-insensitive exact match wins (`keyid` -> `KeyId`); then difflib's closest match.
    """
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    normalized = {c.lower().replace("_", "").replace("-", ""): c for c in pool}
    key = word.lower().replace("_", "").replace("-", "")
    if key in normalized and normalized[key] != word:
        return normalized[key]
    close = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if close:
        return close[0]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[close[0]] if close else None


def suggestion(word: str, candidates: Iterable[str]) -> str:
    """`did you mean 'x'?` or an empty string."""
    match = did_you_mean(word, candidates)
    return f"did you mean '{match}'?" if match else ""


def kind_of(value: Any) -> str:
    """What kind of YAML value this is, as a message names it: a string, a list, a mapping..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def brief(value: Any) -> str:
    """A value as a message quotes it: a string in quotes, anything cut to 60 characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
