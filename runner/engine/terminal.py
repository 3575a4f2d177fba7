"""How output reaches a person's terminal: whether to colour it, the colours, and the live line.

A leaf of the engine; `console.py` writes with it and the commands choose with it. `wants_colour`
follows the conventions, the first that applies: `--color always` or `never`; `NO_COLOR` set and not
empty (https://no-color.org); `FORCE_COLOR` set and neither empty nor `0`; else colour only on a
terminal whose `TERM` is not `dumb`. `Style` paints text by what it means (a status, a heading, a
hint), or leaves it as it is. `LiveLine` is one line rewritten in place: a carriage return, the text
cut to the terminal's width (a line that wraps can no longer be rewritten), and an erase to the end
of the line, or spaces on a terminal that knows no erase.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Literal, TextIO

ColourChoice = Literal["auto", "always", "never"]
COLOUR_CHOICES: tuple[ColourChoice, ...] = ("auto", "always", "never")

#: SGR parameters by what the text means.
_SGR = {
    "passed": "32",  # green
    "failed": "1;31",  # bold red
    "error": "1;31",
    "interrupted": "1;33",  # bold yellow
    "skipped": "33",  # yellow
    "waiting": "33",
    "heading": "1",  # bold
    "hint": "36",  # cyan
    "muted": "2",  # faint
}
_RESET = "\x1b[0m"
_ERASE_TO_END = "\x1b[K"
_FALLBACK_COLUMNS = 80


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (a closed or unusual stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def is_dumb(environ: Mapping[str, str] | None = None) -> bool:
    """`TERM=dumb`: a terminal that moves the cursor back on a carriage return, and knows no escape codes."""
    return (environ if environ is not None else os.environ).get("TERM") == "dumb"


def wants_colour(choice: ColourChoice, stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether output to `stream` is coloured, by the conventions (this module's docstring)."""
    env = environ if environ is not None else os.environ
    if choice != "auto":
        return choice == "always"
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return is_terminal(stream) and not is_dumb(env)


class Style:
    """Paints text by what it means: `paint("FAILED", "failed")`; with colour off, text is left alone."""

    def __init__(self, colour: bool = False) -> None:
        self.colour = colour

    def paint(self, text: str, role: str) -> str:
        if not self.colour or not text or role not in _SGR:
            return text
        return f"\x1b[{_SGR[role]}m{text}{_RESET}"


def columns(stream: TextIO) -> int:
    """The terminal's width in columns (80 when it cannot be told)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or _FALLBACK_COLUMNS
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_COLUMNS


class LiveLine:
    """One line of a terminal, rewritten in place: what to write to show a new text, or to remove it.

    The texts are plain (no escape codes), so they can be measured and cut to fit; `paint` colours
    what is shown. Writing is the caller's.
    """

    def __init__(self, width: Callable[[], int], *, dumb: bool = False) -> None:
        self._width = width
        self._dumb = dumb
        self._shown = 0  # how many columns the line shows now

    def show(self, text: str, paint: Callable[[str], str] = lambda text: text) -> str:
        # One column spare: a line that fills the last column wraps on some terminals.
        room = max(self._width() - 1, 10)
        if len(text) > room:
            text = text[:room - 3] + "..."
        padding = " " * max(0, self._shown - len(text)) if self._dumb else _ERASE_TO_END
        self._shown = len(text)
        return f"\r{paint(text)}{padding}"

    def clear(self) -> str:
        """Remove what the line shows; the cursor stays at its start, for what replaces it."""
        shown, self._shown = self._shown, 0
        return "\r" + " " * shown + "\r" if self._dumb else "\r" + _ERASE_TO_END
