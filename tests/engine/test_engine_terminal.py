"""What the terminal is told: colour by the conventions, paint by meaning, and the live line's bytes."""

from __future__ import annotations

import io
import os

import pytest

from runner.engine.terminal import LiveLine, Style, columns, is_terminal, wants_colour


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("choice", "tty", "environ", "coloured"), [
    ("auto", True, {}, True),
    ("auto", False, {}, False),  # a pipe, a file, CI
    ("auto", True, {"NO_COLOR": "1"}, False),  # https://no-color.org: any value but empty
    ("auto", True, {"NO_COLOR": ""}, True),
    ("auto", False, {"FORCE_COLOR": "1"}, True),
    ("auto", False, {"FORCE_COLOR": "0"}, False),
    ("auto", True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
    ("auto", True, {"TERM": "dumb"}, False),
    ("always", False, {"NO_COLOR": "1"}, True),  # the command line overrides the environment
    ("never", True, {"FORCE_COLOR": "1"}, False),
])
def test_colour_follows_the_conventions(choice: str, tty: bool, environ: dict[str, str], coloured: bool) -> None:
    stream = Terminal() if tty else io.StringIO()
    assert wants_colour(choice, stream, environ) is coloured  # type: ignore[arg-type]


def test_a_closed_or_odd_stream_is_no_terminal() -> None:
    closed = open(os.devnull)  # noqa: SIM115  # closed at once: that is the point
    closed.close()
    assert not is_terminal(closed) and not is_terminal(object())  # type: ignore[arg-type]
    assert columns(io.StringIO()) == 80


def test_style_paints_by_meaning_or_not_at_all() -> None:
    assert Style(colour=True).paint("FAILED", "failed") == "\x1b[1;31mFAILED\x1b[0m"
    assert Style(colour=True).paint("x", "no such role") == "x"
    assert Style(colour=False).paint("FAILED", "failed") == "FAILED"


def test_the_live_line_is_rewritten_in_place_and_never_wraps() -> None:
    line = LiveLine(lambda: 20)
    assert line.show("waiting, 1s") == "\rwaiting, 1s\x1b[K"
    assert line.show("waiting for something long, 2s") == "\rwaiting for some...\x1b[K"  # 19 columns
    assert line.show("x", lambda text: f"<{text}>") == "\r<x>\x1b[K"
    assert line.clear() == "\r\x1b[K"


def test_on_a_dumb_terminal_spaces_erase_what_was_longer() -> None:
    line = LiveLine(lambda: 80, dumb=True)
    assert line.show("waiting, 10s") == "\rwaiting, 10s"
    assert line.show("done") == "\rdone        "
    assert line.clear() == "\r    \r"
