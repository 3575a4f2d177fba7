"""One CloudTrail log file, read as it streams: its records one at a time, within `bounds.py`'s bounds.

A log file is `{"Records": [...]}`, gzipped; but the file in a student's bucket is whatever the student
put there, under any name. So nothing here holds a whole file: its bytes are read, gunzipped and
decoded a chunk at a time, and its JSON is parsed a record at a time, each no longer than
`MAX_RECORD_BYTES`. A file past `MAX_LOG_FILE_BYTES` (as stored or once decompressed) stops being read
there, and `spend` charges every byte and record to the search reading it. Used by `cloudtrail.py`,
whose `find_events` filters the records; `check_depth` is for the records a search keeps.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from runner.actions.bounds import MAX_LOG_FILE_BYTES, MAX_RECORD_BYTES, MAX_RECORD_DEPTH, exceeded, size_text
from runner.actions.failures import ActionFailed

#: Charges a search for what it reads: bytes once decompressed, then records (raises past its bounds).
Spend = Callable[..., None]

_CHUNK = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP = 16 + zlib.MAX_WBITS  # zlib's window bits that read a gzip header and trailer
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
#: A parse error this close to the end of what has arrived may be a value cut by a chunk's end.
_CUT_MARGIN = 16
#: What may follow the digits read so far in a number that is still arriving ("" is the end of the text).
_NUMBER_GOES_ON = ("", *"0123456789.eE+-")


def invalid(key: str, why: str) -> ActionFailed:
    return ActionFailed("InvalidLogFile", f"{key} is not a CloudTrail log file ({why})")


def records(body: Any, key: str, spend: Spend) -> Iterator[tuple[Any, int]]:
    """Each item of the file's `Records` array, with the length of its JSON text. Other members of the
    top-level object are read (within the bounds) and skipped, as is an item that is not an object."""
    doc = _Json(_text(body, key, spend), key)
    doc.take("{")
    while doc.peek() != "}":
        name, _ = doc.value()
        if not isinstance(name, str):
            raise invalid(key, "not JSON: a member's name is not a string")
        doc.take(":")
        if name == "Records" and doc.peek() == "[":
            doc.take("[")
            while doc.peek() != "]":
                yield doc.value()
                if doc.peek() != ",":
                    break
                doc.take(",")
            doc.take("]")
        else:
            doc.value()
        if doc.peek() != ",":
            break
        doc.take(",")
    doc.take("}")
    doc.end()


def check_depth(record: Any, where: str) -> None:
    """Fail when `record` (from `where`, "log file KEY") nests deeper than `MAX_RECORD_DEPTH`: what a
    search keeps is walked recursively later (the result, the record file, assertions)."""
    pending = [(record, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_RECORD_DEPTH:
            raise too_deep(where)
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


def too_deep(where: str) -> ActionFailed:
    return exceeded(f"{where} holds a record nested deeper than any CloudTrail record "
                    f"(over {MAX_RECORD_DEPTH} levels): not read")


def _stored(body: Any, key: str) -> Iterator[bytes]:
    stored = 0
    while chunk := body.read(_CHUNK):
        stored += len(chunk)
        if stored > MAX_LOG_FILE_BYTES:
            raise exceeded(f"log file {key} is larger than any CloudTrail log file "
                           f"(over {size_text(MAX_LOG_FILE_BYTES)}): not read")
        yield chunk


def _inflated(chunks: Iterator[bytes], key: str) -> Iterator[bytes]:
    """The bytes gunzipped, if they start as gzip does (of one member or several), else as they are;
    never more than `_CHUNK` at a time, however well they compress."""
    inflater: Any = None
    start = b""
    for chunk in chunks:
        if inflater is None:
            start += chunk
            if len(start) < len(_GZIP_MAGIC):
                continue
            if not start.startswith(_GZIP_MAGIC):
                yield start
                yield from chunks
                return
            chunk, inflater = start, zlib.decompressobj(_GZIP)
        while chunk:
            try:
                piece = inflater.decompress(chunk, _CHUNK)
            except zlib.error:
                raise invalid(key, "damaged gzip") from None
            chunk = inflater.unconsumed_tail
            if inflater.eof:  # a member ended: what follows is the next one
                chunk, inflater = inflater.unused_data, zlib.decompressobj(_GZIP)
            if piece:
                yield piece
    if inflater is None and start:
        yield start


def _text(body: Any, key: str, spend: Spend) -> Iterator[str]:
    utf8 = codecs.getincrementaldecoder("utf-8")()
    size = 0
    try:
        for piece in _inflated(_stored(body, key), key):
            size += len(piece)
            if size > MAX_LOG_FILE_BYTES:
                raise exceeded(f"log file {key} is larger than any CloudTrail log file once decompressed "
                               f"(over {size_text(MAX_LOG_FILE_BYTES)}): not read")
            spend(size=len(piece))
            if text := utf8.decode(piece):
                yield text
        utf8.decode(b"", final=True)
    except UnicodeDecodeError:
        raise invalid(key, "not UTF-8 text") from None


class _Json:
    """A JSON text that arrives in pieces, read a token or a value at a time; only the unread part
    (at most one value and a piece) is held, and whitespace is dropped as it is passed."""

    def __init__(self, pieces: Iterator[str], key: str) -> None:
        self.pieces = pieces
        self.key = key
        self.text = ""
        self.at = 0

    def _more(self) -> bool:
        piece = next(self.pieces, None)
        if piece is None:
            return False
        self.text = self.text[self.at:] + piece
        self.at = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace; "" at the end of the text."""
        while True:
            self.at = _WHITESPACE.match(self.text, self.at).end()  # type: ignore[union-attr]
            if self.at < len(self.text):
                return self.text[self.at]
            self.text, self.at = "", 0
            if not self._more():
                return ""

    def take(self, token: str) -> None:
        found = self.peek()
        if found != token:
            raise invalid(self.key, f"not JSON: expected '{token}', found {found!r}" if found
                          else "not JSON: it ends too soon")
        self.at += 1

    def end(self) -> None:
        if self.peek():
            raise invalid(self.key, "not JSON: text after the end")

    def value(self) -> tuple[Any, int]:
        """The next value, and the length of its text: at most `MAX_RECORD_BYTES`."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.at)
            except json.JSONDecodeError as error:
                cut = error.msg.startswith("Unterminated string") or error.pos >= len(self.text) - _CUT_MARGIN
                if cut and len(self.text) - self.at > MAX_RECORD_BYTES:
                    raise self._too_large() from None
                if cut and self._more():
                    continue
                raise invalid(self.key, f"not JSON: {error.msg}") from None
            except RecursionError:  # Python's parser stops near 1,000 levels
                raise too_deep(f"log file {self.key}") from None
            if end - self.at > MAX_RECORD_BYTES:
                raise self._too_large()
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and self.text[end:end + 1] in _NUMBER_GOES_ON and self._more():
                continue  # "12" may be "123" once the next piece is here
            length, self.at = end - self.at, end
            return value, length

    def _too_large(self) -> ActionFailed:
        return exceeded(f"log file {self.key} holds a record larger than any CloudTrail record "
                        f"(over {size_text(MAX_RECORD_BYTES)}): not read")
