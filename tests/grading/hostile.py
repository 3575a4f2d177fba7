"""A hostile student's account, as the grader finds it: what such a student puts where a grade reads.

A student has admin rights in their account and knows the lab. They can put a gzip bomb into the trail
bucket under a name CloudTrail would give a log file, flood the log folders with files, replace the image
by an object of many gigabytes, and write terminal control sequences into object keys, tags and
descriptions. The tests (`test_grading_hostile.py`) and the benchmark (`bench/bench_hostile.py`) make
accounts with these helpers, cheaply: a bomb is a few compressed members repeated, a flood goes straight
into the emulator's store, and a large object is one the emulator says is large (`LARGE_OBJECTS`), whose
bytes are never made.
"""

from __future__ import annotations

import functools
import gzip
import secrets
import threading
from datetime import UTC, datetime
from email.utils import format_datetime

from runner.emulator import Emulator
from runner.emulator.model import Behaviour, Call, Context, Reply, rule

MiB = 1024 * 1024
GiB = 1024 * MiB
#: Control sequences a terminal would act on: clear the screen, set the window title, ring the bell, turn
#: text red, and a right-to-left override that makes "gpj.exe" read as "exe.jpg".
CONTROL = "\x1b[2J\x1b]0;owned\x07\x1b[31m\u202egpj.exe\x9b1m"
#: What GitHub's runner reads as a workflow command anywhere in a line of a step's output (its older form):
#: `##[stop-commands]` would silence every annotation after it. (A line of its own that starts with `::`
#: needs a newline, which a key may hold on AWS but not on the emulator: tests/engine holds that one.)
WORKFLOW = "##[stop-commands]owned"
#: What a tag can hold of that: AWS allows letters, digits, separators (Unicode's Z, which has the line
#: and paragraph separators some viewers break lines on) and `_.:/=+-@` in tag keys and values.
TAG_CONTROL = "\u2028\u2029"


@functools.cache
def _member(byte: bytes) -> bytes:
    return gzip.compress(byte * (16 * MiB), compresslevel=9)


def gzip_bomb(size: int = GiB, prefix: bytes = b'{"Records": [') -> bytes:
    """A gzip file that is `size` bytes once decompressed (about 1 MiB a GiB): `prefix`, then spaces."""
    return gzip.compress(prefix) + _member(b" ") * (size // (16 * MiB))


def log_name(account: str, region: str, when: datetime, label: str = "") -> str:
    """A key where CloudTrail writes a log file, in `when`'s folder; `label` starts the file's name."""
    unique = secrets.token_hex(8)
    return (f"AWSLogs/{account}/CloudTrail/{region}/{when:%Y/%m/%d}/"
            f"{label}{account}_CloudTrail_{region}_{when:%Y%m%dT%H%M}Z_{unique}.json.gz")


def put_directly(emu: Emulator, bucket: str, objects: dict[str, bytes]) -> None:
    """Put objects into a bucket through the emulator's store: tens of thousands in a second."""
    from moto.s3.models import s3_backends

    with emu.locks.whole():  # moto's stores are not thread-safe: no request runs meanwhile (emulator/locks.py)
        partition, account = s3_backends.bucket_accounts[bucket]
        backend = s3_backends[account][partition]
        for key, body in objects.items():
            backend.put_object(bucket, key, body)


def flood(emu: Emulator, bucket: str, account: str, region: str, count: int) -> None:
    """`count` small files named as log files, in today's log folder."""
    now = datetime.now(UTC)
    body = gzip.compress(b'{"Records": []}')
    put_directly(emu, bucket, {log_name(account, region, now): body for _ in range(count)})


# ---- objects the emulator says are large

#: (bucket, key) -> the size the emulator answers for that object.
_LARGE: dict[tuple[str, str], int] = {}
_LARGE_LOCK = threading.Lock()


def claim_size(bucket: str, key: str, size: int) -> None:
    """From now on, the emulator answers HeadObject and GetObject of `bucket/key` as an object of `size` bytes."""
    with _LARGE_LOCK:
        _LARGE[(bucket, key)] = size


def _large(call: Call, context: Context) -> Reply | None:
    with _LARGE_LOCK:
        size = _LARGE.get((str(call.params.get("bucketName")), str(call.params.get("key"))))
    if size is None:
        return None
    headers = (("Content-Type", "image/jpeg"), ("Content-Length", str(size)), ("ETag", '"large"'),
               ("Last-Modified", format_datetime(datetime.now(UTC), usegmt=True)),
               ("x-amz-request-id", call.request_id))
    # The headers of an object of `size` bytes, and none of its body: a reader that trusts them reads
    # nothing; one that reads on finds the body cut short.
    return Reply(200, headers, b"")


#: Put after the emulator's own behaviours (`Emulator(behaviours=(*BEHAVIOURS, LARGE_OBJECTS))`): S3's own
#: rules (access, SSE-KMS) and CloudTrail's names for S3 calls come first; then objects given to
#: `claim_size` are answered from here.
LARGE_OBJECTS = Behaviour("s3", rules=(
    rule("An object a student made large: its headers say so, its bytes are never made", "GetObject",
         "HeadObject", before=_large),
))
