"""The `aws.<service>.<operation>` family: any boto3 client operation, with no per-operation code.

Also what the other actions and the engine use to call botocore and read its answers: `prepare_params`
(a lab's YAML as botocore takes it), `plain`, which turns a boto3 response into JSON-ready data
(streaming bodies and bytes become `{size, sha256[, text]}`, datetimes ISO 8601 strings, secrets "***"),
`digest` and `read_stream`, which hashes a body as it arrives, within `bounds.MAX_BODY_BYTES`. How a
call fails (`ActionFailed`, `aws_errors`) is `failures.py`; how much a step may read is `bounds.py`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from runner.actions.bounds import MAX_BODY_BYTES, MAX_PAGINATED_ITEMS, exceeded, size_text
from runner.actions.declare import ActionContext
from runner.actions.failures import aws_errors
from runner.aws_models import AwsOperation
from runner.secret_keys import REDACTED, is_secret_key

#: Bodies up to this size that decode as UTF-8 are kept as `text` in results.
TEXT_LIMIT = 64 * 1024
#: How much of a body is read at a time while it is hashed.
_CHUNK = 1024 * 1024


def digest(data: bytes, *, text: bool = True) -> dict[str, Any]:
    """`{size, sha256}` of some bytes, plus `text` when they are small UTF-8."""
    return _summary(len(data), hashlib.sha256(data).hexdigest(), data if text else None)


def _summary(size: int, sha256: str, head: bytes | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"size": size, "sha256": sha256}
    if head is not None and size <= TEXT_LIMIT:
        with contextlib.suppress(UnicodeDecodeError):
            summary["text"] = head.decode("utf-8")
    return summary


def read_stream(stream: Any, what: str, *, declared: int | None = None, deadline: float | None = None,
                clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """`digest` of a body, read and hashed a chunk at a time, then closed: at most `MAX_BODY_BYTES`.

    Only the first `TEXT_LIMIT` bytes are kept (for `text`). A body that says (`declared`, its
    Content-Length) or turns out to be larger than the bound, or that is still arriving at `deadline`
    (on `clock`), fails the step (`bounds.CODE`): a multi-gigabyte object, or a server that sends a byte
    a minute, costs a check a known time and no memory. `what` names the body in that message.
    """
    try:
        if declared is not None and declared > MAX_BODY_BYTES:
            raise exceeded(f"{what} is {size_text(declared)}, more than the {size_text(MAX_BODY_BYTES)} "
                           "a step reads: not read")
        # `read1` returns what has arrived (http.client's responses have it): a slow sender cannot hold
        # a read past the deadline. botocore's StreamingBody has only `read`; AWS does not trickle.
        read = getattr(stream, "read1", None) or stream.read
        sha = hashlib.sha256()
        size = 0
        head = b""
        while chunk := read(_CHUNK):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise exceeded(f"{what} is larger than the {size_text(MAX_BODY_BYTES)} a step reads: "
                               "not read past that")
            if deadline is not None and clock() > deadline:
                raise exceeded(f"{what} was still arriving when the step's time ran out "
                               f"({size_text(size)} read): not read")
            sha.update(chunk)
            if len(head) <= TEXT_LIMIT:
                head += chunk[:TEXT_LIMIT + 1 - len(head)]
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()
    return _summary(size, sha.hexdigest(), head)


def plain(value: Any, key: str | None = None) -> Any:
    """JSON-ready data from a boto3 response, with secrets replaced by "***"."""
    # The common leaves and containers first, by exact type: `isinstance` against Mapping is slow, and
    # every step's response goes through here.
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is dict:
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    if is_secret_key(key) and isinstance(value, (bytes, bytearray)):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return digest(bytes(value), text=False)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "read") and callable(value.read):  # botocore StreamingBody
        return read_stream(value, f"the body of '{key}'" if key else "a response body")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def prepare_params(op: AwsOperation, params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as botocore takes them: a mapping or list given for a string parameter becomes JSON, and a
    number or boolean becomes its text.

    JSON is how a lab writes a policy document as YAML; AWS stores what it is sent, and compact JSON is
    what the CLI and the console send. A number reaches a string parameter from a template that is
    exactly one expression (`N: "{{ count }}"`, DynamoDB's numbers are strings): the author quoted it, and
    the model says it is text, so it is sent as text (the validator refuses an unquoted number written in
    the lab). Everything else is left to botocore (a string given for a blob parameter is sent as its
    UTF-8 bytes; an ISO 8601 string for a timestamp is parsed).
    """
    shape = op.model.input_shape

    def walk(shape: Any, value: Any) -> Any:
        if shape is None:
            return value
        kind = shape.type_name
        if kind == "string" and isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"))
        if kind == "string" and isinstance(value, (bool, int, float)):
            return json.dumps(value)  # true, 7, 1.5: as JSON and YAML write them
        if kind == "structure" and isinstance(value, Mapping):
            return {k: walk(shape.members.get(k), v) for k, v in value.items()}
        if kind == "list" and isinstance(value, list):
            return [walk(shape.member, v) for v in value]
        if kind == "map" and isinstance(value, Mapping):
            return {k: walk(shape.value, v) for k, v in value.items()}
        return value

    return dict(walk(shape, dict(params)) or {})


def call_operation(ctx: ActionContext, op: AwsOperation, params: dict[str, Any], *, paginate: bool) -> Any:
    """Call one operation on the run's target and return its response without `ResponseMetadata`.

    With `paginate`, the pages are fetched and merged by botocore's paginator (its result keys are
    concatenated), up to `MAX_PAGINATED_ITEMS`: an answer with more fails the step. A streaming body
    (GetObject's) is hashed as it arrives, and one whose Content-Length is over `MAX_BODY_BYTES` is not
    read at all. botocore errors are raised as `ActionFailed`.
    """
    client = ctx.client(op.service)
    prepared = prepare_params(op, params)
    with aws_errors():
        if paginate:
            config = {"PaginationConfig": {"MaxItems": MAX_PAGINATED_ITEMS}}
            response = client.get_paginator(op.snake).paginate(**prepared, **config).build_full_result()
            if "NextToken" in response:  # botocore stopped at MaxItems with more to come
                raise exceeded(f"{op.action} answered more than {MAX_PAGINATED_ITEMS:,} items: not all read; "
                               "ask for fewer (a prefix or a filter)")
        else:
            response = getattr(client, op.snake)(**prepared)
    response = dict(response)
    response.pop("ResponseMetadata", None)
    declared = response.get("ContentLength")
    for name, value in response.items():
        if hasattr(value, "read") and callable(value.read):
            response[name] = read_stream(value, _body_name(op, params),
                                         declared=declared if isinstance(declared, int) else None)
    return plain(response)


def _body_name(op: AwsOperation, params: Mapping[str, Any]) -> str:
    """How a message names the body an operation answered: the object, for S3."""
    if op.service == "s3" and "Bucket" in params and "Key" in params:
        return f"object s3://{params['Bucket']}/{params['Key']}"
    return f"the body of {op.service} {op.name}"
