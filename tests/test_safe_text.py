"""Control characters from an account never reach an output as themselves."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from runner.safe_text import csv_cell, escape_controls, escape_markdown, markdown_code


def test_terminal_escape_sequences_become_visible() -> None:
    assert escape_controls("key\x1b[2J\x1b]0;owned\x07") == "key\\x1b[2J\\x1b]0;owned\\x07"


def test_reordering_characters_are_escaped() -> None:
    assert escape_controls("invoice\u202egpj.exe") == "invoice\\u202egpj.exe"
    assert escape_controls("a\u2066b\u2069") == "a\\u2066b\\u2069"


def test_newlines_and_tabs_kept_unless_one_line() -> None:
    assert escape_controls("a\tb\nc") == "a\tb\nc"
    assert escape_controls("a\tb\nc\r", multiline=False) == "a\\x09b\\x0ac\\x0d"


def test_plain_text_and_non_ascii_unchanged() -> None:
    for text in ("Eiffel.jpg", "café ☕ 東京", "tab\tin", ""):
        assert escape_controls(text) == text


@given(st.text())
def test_escaped_text_is_well_formed_xml(text: str) -> None:
    element = ET.Element("failure", message=escape_controls(text))
    element.text = escape_controls(text)
    ET.fromstring(ET.tostring(element, encoding="unicode"))  # raises on an ill-formed document


@given(st.text())
def test_escaped_text_has_no_control_or_reordering_characters(text: str) -> None:
    escaped = escape_controls(text, multiline=False)
    assert not [ch for ch in escaped if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
                or unicodedata.bidirectional(ch) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")]


def test_markdown_shows_text_as_written() -> None:
    assert escape_markdown("![x](http://a/b.png) <b>|*_") == "\\!\\[x\\]\\(http://a/b\\.png\\) \\<b\\>\\|\\*\\_"
    assert escape_markdown("a\nb\x1b") == "a\\\\x0ab\\\\x1b"  # one line; the escapes' backslashes shown too


def test_a_markdown_code_span_outfences_the_backticks_inside() -> None:
    assert markdown_code("arn:aws:iam::1:role/a-b") == "`arn:aws:iam::1:role/a-b`"  # nothing escaped inside
    assert markdown_code("x`y") == "``x`y``"
    assert markdown_code("`start") == "`` `start ``"
    assert markdown_code("a\x1bb\n") == "`a\\x1bb\\x0a`"


def test_csv_cells_are_never_formulas() -> None:
    assert csv_cell('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    assert [csv_cell(c) for c in ("+1", "-cmd", "@SUM(A1)", "\tx")] == ["'+1", "'-cmd", "'@SUM(A1)", "\\x09x"]
    assert [csv_cell(c) for c in ("ana", "100", "12.5", "")] == ["ana", "100", "12.5", ""]
