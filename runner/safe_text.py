"""Text from an account made safe to show: control characters become visible escapes.

A leaf module. What a lab reads from an account (object keys, tags, log records, error messages) is
written by whoever owns the account, and a student owns theirs. An escape sequence in a bucket tag
must not move the cursor or recolour a grader's terminal, a NUL or a form feed must not make a JUnit
file ill-formed XML (XML 1.0 forbids most C0 characters even as references), and a right-to-left
override must not make a report say something it does not. So every output that shows such text
(the console, JUnit, Gradescope, HTML and Markdown) passes it through `escape_controls` first, and
Markdown (Gradescope's `md` output, a GitHub job summary) through `escape_markdown` (or, as code,
`markdown_code`), so that a tag value cannot become a link, an image or a table cell of its own.

Escapes read as Python writes them (`\\x1b`, `\\u202e`), so the text stays one line and what was
there can still be told.
"""

from __future__ import annotations

import re

#: C0 controls (but tab and newline, which callers choose to keep), DEL, C1 controls, and the Unicode
#: characters that reorder or hide text: bidirectional embeddings, overrides and isolates, and the
#: line and paragraph separators that some viewers break lines on. Surrogates cannot be encoded.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff"
                     "\ud800-\udfff\ufffe\uffff]")
_UNSAFE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, multiline: bool = True) -> str:
    """`text` with every control or reordering character written as an escape (`\\x1b`, `\\u202e`).

    `multiline`: keep newlines and tabs (a message, a description); False escapes them too (a title,
    a name, a table cell, anything that must stay on one line).
    """
    pattern = _UNSAFE if multiline else _UNSAFE_LINE
    return pattern.sub(_escape, text) if pattern.search(text) else text


#: What Markdown could read as syntax: CommonMark lets a backslash escape any ASCII punctuation.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~&])")


def escape_markdown(text: str) -> str:
    """`text` shown literally in Markdown, on one line: controls escaped, syntax characters backslashed."""
    return _MARKDOWN.sub(r"\\\1", escape_controls(text, multiline=False))


def markdown_code(text: str) -> str:
    """`text` as a Markdown code span, on one line: backslashes mean nothing inside one, so instead of
    escaping, the fence is a run of backticks longer than any in the text (CommonMark's rule)."""
    shown = escape_controls(text, multiline=False)
    longest = max((len(run) for run in re.findall("`+", shown)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {shown} " if shown.startswith("`") or shown.endswith("`") else shown
    return f"{fence}{padded}{fence}"


#: What starts a formula in a spreadsheet (OWASP's "CSV injection" list; its tab and carriage return are
#: already escaped by `escape_controls`): such a cell is read as text.
_FORMULA_START = ("=", "+", "-", "@")


def csv_cell(text: str) -> str:
    """`text` safe as a spreadsheet cell: one line, no controls, and never a formula.

    A student's name or an error quoting their data can start with `=` (`=HYPERLINK(...)`); a
    spreadsheet opening the class summary would run it. A leading `'` makes it text, as OWASP advises.
    """
    shown = escape_controls(text, multiline=False)
    return f"'{shown}" if shown.startswith(_FORMULA_START) else shown
