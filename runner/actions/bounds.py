"""How much of an account's data one step may read, and how a step fails past a bound.

A leaf module (imports only `failures`). A grader reads what students control: objects, the log files in
their buckets, the names and messages of their resources. Students have admin rights in their accounts
and some will test the grader, so every read of their data is bounded here: one account then costs the
grader a known amount of memory and time, however it was made. Past a bound the step fails with
`ReadLimitExceeded` and a message saying what was not read and why; no retry can change that, so the
engine never retries it. docs/grading.md ("Reading student data safely") lists each bound and why its
value was chosen; the readers that keep them are `aws.read_stream` (object and HTTP bodies),
`aws.call_operation` (paginated `aws.*` calls) and `cloudtrail.py` (log files and event history).
"""

from __future__ import annotations

from runner.actions.failures import ActionFailed

MiB = 1024 * 1024
CODE = "ReadLimitExceeded"

#: Bytes of one body a step reads (S3 GetObject through `aws.*`, `http.request`). Bodies are hashed as
#: they stream and never held, so this bounds time, not memory: a check compares an object with a file
#: the lab ships, and the largest that `s3.upload_file` sends in one PutObject is 64 MiB.
MAX_BODY_BYTES = 64 * MiB

#: Items of one paginated listing (an `aws.*` call with `paginate: true`, `s3.describe_objects`' listing):
#: ten full pages of an S3 listing. A check asserts on a few of a lab's resources, not on everything an
#: account holds.
MAX_PAGINATED_ITEMS = 10_000

#: One CloudTrail log file, as stored and once decompressed. AWS documents no largest size; the largest
#: reported in the wild are about 5 MB compressed and 45 MB of JSON in very busy accounts.
MAX_LOG_FILE_BYTES = 128 * MiB
#: One record of a log file, as JSON text: CloudTrail caps an event at 256 KB (event version 1.05 on).
MAX_RECORD_BYTES = 1 * MiB
#: How deep a record that a step keeps may nest; CloudTrail's deepest (request parameters that echo a
#: policy document or EC2's item sets) nest about a dozen levels.
MAX_RECORD_DEPTH = 64
#: Keys listed in the log folders by one search, all of them read when they are log files: CloudTrail
#: delivers a file about every 5 minutes and a digest every hour in each region, so 600 keys are two
#: days of a trail that never stops logging; a lab's trail logs for the hours a student works. Each file
#: is a request (about 25 ms on the emulator, 20 to 100 ms on AWS): this bounds a search's time.
MAX_LOG_KEYS = 600
#: Decompressed bytes that one search reads, all its files together: 100 busy files' worth.
MAX_SEARCH_BYTES = 128 * MiB
#: Records that one search parses (25 µs each): 170 a file at the most files a search reads.
MAX_SEARCH_RECORDS = 100_000
#: JSON text of the records that one search keeps (those that match), which its result then holds:
#: hundreds of typical records, where a check looks for a few.
MAX_MATCHED_BYTES = 1 * MiB
#: LookupEvents pages of one question: 1,000 events, 10 seconds at the 2 requests a second it answers.
MAX_LOOKUP_PAGES = 20


def exceeded(message: str) -> ActionFailed:
    """The failure of a step that stopped at a bound; `message` says what was not read, and why."""
    return ActionFailed(CODE, message)


def size_text(count: int) -> str:
    """A byte count as a person reads it: `64 MiB`, `1.5 KiB`, `12 bytes`."""
    for unit, size in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
        if count >= size:
            return f"{count / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} byte{'s' if count != 1 else ''}"
