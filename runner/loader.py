"""Load a lab's YAML into plain data, remembering where every value came from.

First stage of the pipeline; imports only `errors`. We build values from the parser's event stream
ourselves instead of using a PyYAML constructor, because that is the one place that can, at once:
- keep the line and column of every key and value (errors point at the YAML the author wrote);
- reject duplicate keys (PyYAML silently keeps the last one) and every non-plain-data tag
  (`!!python/object`, custom tags), so YAML can never construct objects;
- resolve plain scalars by the YAML 1.2 core schema, which is what the YAML language server uses:
  `on`, `yes`, `no` stay strings (`retry: {on: [...]}` must not become `{True: [...]}`);
- count the size of the document with aliases expanded, so an alias bomb is refused after a bounded
  amount of work instead of exhausting memory in a later stage;
- bound nesting depth without relying on the C stack.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.errors import LabError, Mark, Problem

Path = tuple[str | int, ...]

#: Lab files are hand-written; anything bigger is a mistake or an attack, refused before parsing.
MAX_BYTES = 4 * 1024 * 1024
#: Values in the document counted with aliases expanded (a 2,000-step lab holds about 60,000).
MAX_VALUES = 1_000_000
MAX_DEPTH = 64

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

#: First characters of every null, bool, int and float of the core schema.
_MAY_NOT_BE_STRING = frozenset("0123456789+-.~nNtTfF")
_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")} | {"!"}


@dataclass
class Document:
    """A loaded lab: plain data plus the position of every key and value in the source."""

    path: str
    data: Any
    marks: dict[Path, Mark] = field(default_factory=dict)
    key_marks: dict[Path, Mark] = field(default_factory=dict)
    #: Paths of literal block scalars (`|`): their text starts on the line after their mark.
    literal_blocks: frozenset[Path] = frozenset()
    #: Where a value came from another file (`runner.includes`): its path -> that file, as shown.
    sources: dict[Path, str] = field(default_factory=dict)

    def file_of(self, path: Path) -> str:
        """The file the value at `path` was written in: the lab's, or the fragment it was included from."""
        probe = tuple(path)
        while probe and self.sources:
            if probe in self.sources:
                return self.sources[probe]
            probe = probe[:-1]
        return self.sources.get((), self.path)

    def mark(self, path: Path, *, key: bool = False) -> Mark:
        """Where the value (or with `key`, the key) at `path` was written.

        Falls back to the nearest enclosing value: inside an alias, positions are those of the alias.
        """
        if key and path in self.key_marks:
            return self.key_marks[path]
        probe = tuple(path)
        while probe:
            if probe in self.marks:
                return self.marks[probe]
            probe = probe[:-1]
        return self.marks.get((), Mark(1, 1))


def _problem(path: str, mark: Mark, message: str, hint: str = "", rule: str = "yaml") -> LabError:
    return LabError([Problem(path, mark.line, mark.column, message, hint, rule=rule)])


_new_tuple = tuple.__new__


def _mark_of(event: Any) -> Mark:
    m = event.start_mark
    # tuple.__new__ builds the named tuple without its Python-level __new__: one per YAML node adds up.
    return _new_tuple(Mark, (m.line + 1, m.column + 1)) if m is not None else Mark(1, 1)


def read_source(path: str, display: str | None = None) -> str:
    """Read a lab file as UTF-8 text, refusing oversized or undecodable input with a position."""
    shown = display or path
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise _problem(shown, Mark(1, 1), f"cannot read the lab: {exc.strerror}",
                       "check the path", rule="file") from None
    if size > MAX_BYTES:
        raise _problem(shown, Mark(1, 1), f"the file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit",
                       "a lab is one hand-written YAML file; split generated content out", rule="size")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _problem(shown, Mark(1, 1), f"cannot read the lab: {exc.strerror}",
                       "check the path and its permissions", rule="file") from None
    return decode_source(raw, shown)


def decode_source(raw: bytes, shown: str) -> str:
    if len(raw) > MAX_BYTES:
        raise _problem(shown, Mark(1, 1), f"the file is over the {MAX_BYTES:,}-byte limit",
                       "a lab is one hand-written YAML file", rule="size")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise _problem(shown, Mark(line, column), f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                       "save the file as UTF-8", rule="encoding") from None


def load_file(path: str, display: str | None = None) -> Document:
    return load_text(read_source(path, display), display or path)


def load_text(text: str, path: str = "<lab>") -> Document:
    """Parse one YAML document into a `Document`; raises `LabError` on any YAML-level mistake."""
    if len(text) > MAX_BYTES:
        raise _problem(path, Mark(1, 1), f"the lab is over the {MAX_BYTES:,}-character limit",
                       "a lab is one hand-written YAML file", rule="size")
    unprintable = [_unprintable(path, text, match) for match in _NON_PRINTABLE.finditer(text)]
    if unprintable:
        raise LabError(unprintable[:_MAX_REPORTED])
    builder = _Builder(path)
    try:
        builder.run(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        context = ""
        if exc.context and exc.problem:
            started = exc.context_mark
            if started is not None and mark is not None and started.line != mark.line:
                context = f" ({exc.context} that starts at line {started.line + 1})"
            else:
                context = f" ({exc.context})"
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            raise _problem(path, where, "YAML syntax error: a tab character where YAML expects indentation "
                           "or a value", "indent with spaces; YAML does not allow tabs for indentation",
                           rule="yaml-syntax") from None
        raise _problem(path, where, f"YAML syntax error: {what}{context}",
                       "fix the YAML at this position (check indentation, quotes and colons)",
                       rule="yaml-syntax") from None
    except yaml.YAMLError as exc:
        raise _problem(path, Mark(1, 1), f"YAML error: {exc}", "fix the YAML", rule="yaml-syntax") from None
    return builder.document()


#: What YAML may not hold (its "printable" set, as PyYAML's reader checks it): NUL and other control bytes.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_CONTROL_NAMES = {0x00: "NUL", 0x07: "BEL", 0x08: "backspace", 0x0B: "vertical tab", 0x0C: "form feed",
                  0x1B: "ESC", 0x7F: "DEL"}
_MAX_REPORTED = 20


def _unprintable(path: str, text: str, match: re.Match[str]) -> Problem:
    """A character YAML does not allow, where it is (PyYAML would say `position 16` of its own buffer)."""
    start = match.start()
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    code = ord(match.group())
    name = _CONTROL_NAMES.get(code, "a control character")
    return Problem(path, line, column, f"the file holds {name} (U+{code:04X}), which YAML does not allow",
                   "remove it; to put it in a value, write it as an escape in a double-quoted string "
                   f'("\\u{code:04x}")', rule="encoding")


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based line and column of `text`, or ''."""
    lines = text.split("\n", line + 1)
    if line < len(lines) and column < len(lines[line]):
        return lines[line][column]
    return ""


@dataclass
class _Anchor:
    value: Any
    size: int
    mark: Mark


class _Builder:
    """Turns parser events into values, marks and problems (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.marks: dict[Path, Mark] = {}
        self.key_marks: dict[Path, Mark] = {}
        self.literal_blocks: set[Path] = set()
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: set[str] = set()
        self.total = 0
        self.result: Any = None
        self.documents = 0

    def document(self) -> Document:
        return Document(self.path, self.result, self.marks, self.key_marks, frozenset(self.literal_blocks))

    def fail(self, mark: Mark, message: str, hint: str = "", rule: str = "yaml") -> LabError:
        return _problem(self.path, mark, message, hint, rule)

    def count(self, n: int, mark: Mark) -> None:
        self.total += n
        if self.total > MAX_VALUES:
            raise self.fail(mark, f"the document expands to more than {MAX_VALUES:,} values",
                            "aliases that repeat aliases multiply; write the values out instead",
                            rule="yaml-size")

    def run(self, events: Iterator[Any]) -> None:
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise self.fail(_mark_of(event), "a lab file holds one YAML document; found a second",
                                    "remove the '---' line and what follows, or split it into its own file")
                self.anchors.clear()
                value, _ = self.node(next(events), events, (), 0)
                self.result = value
            elif isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue

    def check_tag(self, event: Any, kind: str) -> None:
        tag = event.tag
        if tag is None or tag in _ALLOWED_TAGS:
            if (tag == f"{_TAG}map" and kind != "map") or (tag == f"{_TAG}seq" and kind != "seq"):
                raise self.fail(_mark_of(event), f"tag '{tag}' does not fit a {kind}", "remove the tag")
            return
        shown = tag.replace(_TAG, "!!")
        raise self.fail(_mark_of(event), f"YAML tag '{shown}' is not allowed",
                        "labs hold plain data only (strings, numbers, booleans, null, lists, mappings); "
                        "remove the tag", rule="yaml-tag")

    def node(self, event: Any, events: Iterator[Any], path: Path, depth: int) -> tuple[Any, int]:
        """Build the value that starts with `event`; returns it with its expanded size."""
        mark = _mark_of(event)
        self.marks[path] = mark
        if depth > MAX_DEPTH:
            raise self.fail(mark, f"the document nests deeper than {MAX_DEPTH} levels",
                            "flatten the structure", rule="yaml-size")
        kind = type(event)
        if kind is yaml.ScalarEvent and event.anchor is None:  # the common case, kept short
            if event.tag is not None:
                self.check_tag(event, "scalar")
            if event.style == "|":
                self.literal_blocks.add(path)
            self.total += 1
            if self.total > MAX_VALUES:
                self.count(0, mark)
            return self.scalar(event), 1
        if kind is yaml.AliasEvent:
            name = event.anchor
            if name in self.open_anchors:
                raise self.fail(mark, f"alias '*{name}' refers to the value that contains it",
                                "a value cannot include itself; remove the alias")
            if name not in self.anchors:
                raise self.fail(mark, f"alias '*{name}' has no anchor '&{name}' before it",
                                "define the anchor earlier in the file", rule="yaml-syntax")
            anchor = self.anchors[name]
            self.count(anchor.size, mark)
            return anchor.value, anchor.size
        anchor_name = event.anchor
        if anchor_name is not None:
            self.open_anchors.add(anchor_name)
        if kind is yaml.ScalarEvent:
            self.check_tag(event, "scalar")
            value: Any = self.scalar(event)
            if event.style == "|":
                self.literal_blocks.add(path)
            size = 1
            self.count(1, mark)
        elif kind is yaml.SequenceStartEvent:
            self.check_tag(event, "seq")
            value, size = self.sequence(events, path, depth)
        elif kind is yaml.MappingStartEvent:
            self.check_tag(event, "map")
            value, size = self.mapping(events, path, depth)
        else:  # pragma: no cover - the parser never yields anything else here
            raise self.fail(mark, f"unexpected YAML event {kind.__name__}")
        if anchor_name is not None:
            self.open_anchors.discard(anchor_name)
            self.anchors[anchor_name] = _Anchor(value, size, mark)
        return value, size

    def sequence(self, events: Iterator[Any], path: Path, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        size = 1
        self.count(1, self.marks[path])
        for event in events:
            if type(event) is yaml.SequenceEndEvent:
                return items, size
            value, n = self.node(event, events, (*path, len(items)), depth + 1)
            items.append(value)
            size += n
        raise self.fail(self.marks[path], "unterminated sequence")  # pragma: no cover

    def mapping(self, events: Iterator[Any], path: Path, depth: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        size = 1
        self.count(1, self.marks[path])
        key_marks = self.key_marks
        for event in events:
            if type(event) is yaml.MappingEndEvent:
                for key, value in merged.items():
                    result.setdefault(key, value)  # explicit keys win over merged ones, as in YAML 1.1
                return result, size
            key_mark = _mark_of(event)
            if type(event) is not yaml.ScalarEvent:
                raise self.fail(key_mark, "a mapping key must be a plain string",
                                "write the key as text, not a list, mapping or alias")
            if event.tag is not None:
                self.check_tag(event, "scalar")
            if event.value == "<<" and event.implicit[0]:
                value_event = next(events)
                value, n = self.node(value_event, events, (*path, "<<"), depth + 1)
                size += n
                for part in value if isinstance(value, list) else [value]:
                    if not isinstance(part, dict):
                        raise self.fail(_mark_of(value_event), "a merge key '<<' takes a mapping or a list of them",
                                        "alias a mapping, for example '<<: *defaults'")
                    for key, val in part.items():
                        merged.setdefault(key, val)
                continue
            raw_key = self.scalar(event)
            key = raw_key if isinstance(raw_key, str) else event.value
            where = (*path, key)
            if key in result:
                first = key_marks[where]
                raise self.fail(key_mark, f"duplicate key '{key}' (first at line {first.line})",
                                "a key may appear once in a mapping; remove or rename one of them",
                                rule="duplicate-key")
            key_marks[where] = key_mark
            value, n = self.node(next(events), events, where, depth + 1)
            result[key] = value
            size += n
        raise self.fail(self.marks[path], "unterminated mapping")  # pragma: no cover

    def scalar(self, event: Any) -> Any:
        text: str = event.value
        tag = event.tag
        if tag is None:
            if event.style or not event.implicit[0]:
                return text  # quoted or block: always a string
            if text and text[0] not in _MAY_NOT_BE_STRING:
                return text  # most scalars are words: no core-schema pattern can match them
            return self._resolve(text, None, event)
        if tag in ("!", f"{_TAG}str"):
            return text
        return self._resolve(text, tag, event)

    def _resolve(self, text: str, tag: str | None, event: Any) -> Any:
        wanted = tag[len(_TAG):] if tag else None
        if wanted in (None, "null") and _NULL.match(text):
            return None
        if wanted in (None, "bool") and _BOOL.match(text):
            return text.lower() == "true"
        if wanted in (None, "int"):
            if _INT10.match(text):
                return int(text)
            if _INT8.match(text):
                return int(text[2:], 8)
            if _INT16.match(text):
                return int(text[2:], 16)
        if wanted in (None, "float"):
            if _FLOAT.match(text) or (wanted == "float" and _INT10.match(text)):
                return float(text)
            if _INF.match(text):
                return -math.inf if text.startswith("-") else math.inf
            if _NAN.match(text):
                return math.nan
        if wanted is None:
            return text
        raise self.fail(_mark_of(event), f"'{text}' is not a valid !!{wanted}", f"write a {wanted} or drop the tag")
