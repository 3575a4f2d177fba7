"""GitHub Actions' formats: workflow commands (annotations) and the job summary file.

A leaf (it imports only `safe_text`), so `labrunner validate` can annotate without loading the engine;
`runner.engine.github` makes annotations and a summary from a run's record with it.

A workflow command is one line: `::error file=F,line=L,col=C,title=T::MESSAGE` ("Workflow commands
for GitHub Actions" in GitHub's documentation; actions/toolkit's core/src/command.ts is the reference
implementation). A property escapes `%`, CR, LF, `:` and `,` as %25, %0D, %0A, %3A and %2C; the
message escapes `%`, CR and LF. Unescaped, a newline in a student's tag would end the command and let
the rest be read as a command of its own. Text passes through `safe_text.escape_controls` first.
The runner reads commands in every line a step prints, not only ours: `inert` keeps what an account
holds, printed on the terminal, from being one.
GitHub keeps 1 MiB of summary per step: a longer one is cut, and says so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runner.safe_text import escape_controls, escape_markdown

#: What GitHub keeps of one step's summary.
SUMMARY_LIMIT = 1024 * 1024


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether this runs as a step of a GitHub Actions job."""
    return (os.environ if env is None else env).get("GITHUB_ACTIONS") == "true"


#: Characters a culture-aware comparison skips (soft hyphen, zero-width space and joiners, word joiner,
#: invisible operators): the runner compares with one, so `#\u00ad#[` may read as `##[` to it.
_IGNORED = "\u00ad\u200b-\u200d\u2060-\u2064"
#: What the runner reads as a command in a line of a step's output (actions/runner's ActionCommand):
#: `::` at the line's start once whitespace is trimmed (TryParseV2), and the older `##[` anywhere in it
#: (TryParse, which it still tries; `##[error]`, `##[stop-commands]` and `##[add-mask]` among its commands).
_LINE_COMMAND = re.compile(rf"^((?:[^\S\n]|[{_IGNORED}])*):(?=[{_IGNORED}]*:)", re.MULTILINE)
_OLD_COMMAND = re.compile(rf"#(?=[{_IGNORED}]*#[{_IGNORED}]*\[)")


def inert(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` (controls already escaped) as a GitHub Actions step may print it: its runner reads no
    command in it. On GitHub Actions, the first character of a `::` that starts a line, and of every
    `##[`, is written as an escape (`\\x3a`, `\\x23`), as `safe_text` writes one; elsewhere `text` is
    unchanged. A key named `x\\n::error::...` then cannot annotate a course's CI, nor `##[stop-commands]`
    silence the annotations that follow it.
    """
    if not enabled(env):
        return text
    return _LINE_COMMAND.sub(r"\1\\x3a", _OLD_COMMAND.sub(r"\\x23", text))


def _data(text: str) -> str:
    return escape_controls(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(escape_controls(text, multiline=False)).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    file: str
    line: int
    title: str
    message: str
    col: int | None = None
    level: str = "error"  # error, warning or notice

    def command(self) -> str:
        where = [("file", self.file), ("line", str(self.line))]
        if self.col is not None:
            where.append(("col", str(self.col)))
        where.append(("title", self.title))
        return f"::{self.level} " + ",".join(f"{key}={_property(value)}" for key, value in where) + \
            f"::{_data(self.message)}"


def relative(file: str, env: Mapping[str, str] | None = None) -> str:
    """A path as GitHub wants it, relative to the checkout (`GITHUB_WORKSPACE`) when it lies inside it."""
    workspace = (os.environ if env is None else env).get("GITHUB_WORKSPACE")
    if workspace and os.path.isabs(file):
        inside = os.path.relpath(file, workspace)
        if not inside.startswith(".."):
            return inside
    return file


def table(title: str, rows: Sequence[Sequence[str]]) -> str:
    """A heading and a Markdown table whose first row is the header (a class's summary)."""
    header, *body = [[escape_markdown(cell) for cell in row] for row in rows]
    lines = [f"### {escape_markdown(title)}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> None:
    """Append to the job summary, when GitHub gave a file for it."""
    path = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    encoded = markdown.encode("utf-8")
    if len(encoded) > SUMMARY_LIMIT - 200:
        markdown = encoded[:SUMMARY_LIMIT - 200].decode("utf-8", "ignore") + "\n\n(cut: GitHub keeps 1 MiB)\n"
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(markdown + "\n")
