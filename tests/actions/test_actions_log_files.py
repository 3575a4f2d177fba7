"""One CloudTrail log file read as it streams: the same records as `json.loads` for any file that is
one, and a clear failure, never an exhausted machine, for a file that is not (a gzip bomb, a record
nested ten thousand deep, a megabyte string, tens of millions of tiny records)."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.actions import bounds, log_files
from runner.actions.failures import ActionFailed

MiB = 1024 * 1024


class Body(io.BytesIO):
    """An S3 body: `read(n)` and `close()`."""


def read(data: bytes, spend: Any = None) -> list[Any]:
    return [value for value, _ in log_files.records(Body(data), "k.json.gz", spend or (lambda **_: None))]


def failure(data: bytes, spend: Any = None) -> ActionFailed:
    with pytest.raises(ActionFailed) as error:
        read(data, spend)
    return error.value


def bomb(total: int, *, byte: bytes = b" ", prefix: bytes = b"") -> bytes:
    """A gzip file that is `total` bytes once decompressed: members of 16 MiB each, compressed once."""
    member = gzip.compress(byte * (16 * MiB), compresslevel=9)
    return gzip.compress(prefix) + member * (total // (16 * MiB))


RECORD = {"eventVersion": "1.09", "eventTime": "2025-03-01T10:00:00Z", "eventSource": "kms.amazonaws.com",
          "eventName": "GenerateDataKey", "requestParameters": {"encryptionContext": {"aws:s3:arn": "x"}},
          "resources": [{"ARN": "arn:aws:kms:us-east-1:1:key/k", "type": "AWS::KMS::Key"}], "eventID": "e1"}

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
                    max_leaves=20)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(JSON, max_size=6), other=st.dictionaries(st.text().filter(lambda k: k != "Records"), JSON,
                                                               max_size=2),
       chunk=st.integers(min_value=1, max_value=40), indent=st.sampled_from([None, 1]), gz=st.booleans())
def test_records_are_json_loads_records_whatever_the_chunks(items: list[Any], other: dict[str, Any], chunk: int,
                                                            indent: int | None, gz: bool) -> None:
    text = json.dumps({**other, "Records": items}, indent=indent).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(log_files, "_CHUNK", chunk)  # values cut anywhere: inside strings, numbers, escapes
        assert read(gzip.compress(text) if gz else text) == json.loads(text)["Records"]


def test_a_real_log_file_its_records_and_their_lengths() -> None:
    text = json.dumps({"Records": [RECORD, {**RECORD, "eventID": "e2"}]})
    found = list(log_files.records(Body(gzip.compress(text.encode())), "k", lambda **_: None))
    assert [r["eventID"] for r, _ in found] == ["e1", "e2"]
    assert [n for _, n in found] == [len(json.dumps(RECORD))] * 2


def test_a_gzip_file_of_several_members_is_read_whole() -> None:
    text = json.dumps({"Records": [RECORD]}).encode()
    assert read(gzip.compress(text[:20]) + gzip.compress(text[20:])) == [RECORD]


def test_a_gzip_bomb_is_read_up_to_the_bound_in_bounded_memory() -> None:
    data = bomb(1024 * MiB, prefix=b'{"Records": [')  # 1 GiB of spaces in ~1 MiB
    assert len(data) < 2 * MiB
    spent: list[int] = []
    tracemalloc.start()
    try:
        error = failure(data, lambda size: spent.append(size))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.code == bounds.CODE
    assert error.message == ("log file k.json.gz is larger than any CloudTrail log file once decompressed "
                             "(over 128 MiB): not read")
    assert sum(spent) <= bounds.MAX_LOG_FILE_BYTES + MiB
    assert peak < 16 * MiB  # spaces are dropped as they are passed, never piled up


def test_a_file_larger_than_any_log_file_as_stored_is_not_read_past_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_LOG_FILE_BYTES", 4 * MiB)
    monkeypatch.setattr(log_files, "MAX_LOG_FILE_BYTES", 4 * MiB)
    assert failure(b" " * (5 * MiB)).message == ("log file k.json.gz is larger than any CloudTrail log file "
                                                 "(over 4 MiB): not read")


def test_a_record_nested_deeper_than_python_parses_fails_cleanly() -> None:
    deep = b'{"Records": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    error = failure(gzip.compress(deep))
    assert error.code == bounds.CODE
    assert error.message == ("log file k.json.gz holds a record nested deeper than any CloudTrail record "
                             "(over 64 levels): not read")


def test_check_depth_allows_what_cloudtrail_nests_and_refuses_past_the_bound() -> None:
    log_files.check_depth(RECORD, "log file k")
    nested: Any = "leaf"
    for _ in range(bounds.MAX_RECORD_DEPTH - 1):
        nested = [nested]
    log_files.check_depth(nested, "log file k")
    with pytest.raises(ActionFailed) as error:
        log_files.check_depth({"a": nested}, "log file k")
    assert error.value.message == ("log file k holds a record nested deeper than any CloudTrail record "
                                   "(over 64 levels): not read")


def test_a_record_larger_than_any_cloudtrail_record_is_not_read() -> None:
    huge = b'{"Records": [{"a": "' + b"x" * (2 * MiB) + b'"}]}'
    error = failure(gzip.compress(huge))
    assert error.message == ("log file k.json.gz holds a record larger than any CloudTrail record "
                             "(over 1 MiB): not read")


def test_every_byte_once_decompressed_is_charged_to_the_search() -> None:
    tiny = b'{"Records": [' + b",".join([b"{}"] * 1000) + b"]}"
    spent: list[int] = []
    assert len(read(gzip.compress(tiny), lambda size: spent.append(size))) == 1000
    assert sum(spent) == len(tiny)


@pytest.mark.parametrize(("data", "why"), [
    (b"\x1f\x8b\x08\x00garbage-not-deflate", "damaged gzip"),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b"[]", "not JSON: expected '{', found '['"),
    (b'{"Records": [{"a": 1}', "not JSON: it ends too soon"),
    (b'{"Records": [{"a": 1}]} trailing', "not JSON: text after the end"),
    (b'{"Records": [{"a": tru}]}', "not JSON: Expecting value"),
    (b'{"Records": [{"a": 1} {"b": 2}]}', "not JSON: expected ']', found '{'"),
    (b"", "not JSON: it ends too soon"),
])
def test_a_file_that_is_not_a_log_file_says_so(data: bytes, why: str) -> None:
    error = failure(data)
    assert (error.code, error.message) == ("InvalidLogFile", f"k.json.gz is not a CloudTrail log file ({why})")


def test_bytes_that_are_not_gzip_are_read_as_they_are() -> None:
    assert failure(zlib.compress(b"{}")).message == "k.json.gz is not a CloudTrail log file (not UTF-8 text)"
    assert read(json.dumps({"Records": [RECORD]}).encode()) == [RECORD]
