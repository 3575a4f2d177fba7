"""The `aws.<service>.<operation>` family: any boto3 client operation, with no per-operation code.

Also what the other actions and the engine use to call botocore and read its answers: `prepare_params`
(a lab's YAML as botocore takes it), `plain`, which turns a boto3 response into JSON-ready data
(streaming bodies and bytes become `{size, sha256[, text]}`, datetimes ISO 8601 strings, secrets "***"),
and `digest`. How a call fails (`ActionFailed`, `aws_errors`) is `failures.py`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from runner.actions.declare import ActionContext
from runner.actions.failures import aws_errors
from runner.aws_models import AwsOperation
from runner.secret_keys import REDACTED, is_secret_key

#: Bodies up to this size that decode as UTF-8 are kept as `text` in results.
TEXT_LIMIT = 64 * 1024


def digest(data: bytes, *, text: bool = True) -> dict[str, Any]:
    """`{size, sha256}` of some bytes, plus `text` when they are small UTF-8."""
    summary: dict[str, Any] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if text and len(data) <= TEXT_LIMIT:
        with contextlib.suppress(UnicodeDecodeError):
            summary["text"] = data.decode("utf-8")
    return summary


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
        try:
            data = value.read()
        finally:
            close = getattr(value, "close", None)
            if callable(close):
                close()
        return digest(data if isinstance(data, bytes) else str(data).encode())
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def prepare_params(op: AwsOperation, params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as botocore takes them: a mapping or list given for a string parameter becomes JSON.

    That is how a lab writes a policy document as YAML; AWS stores what it is sent, and compact JSON
    is what the CLI and the console send. Everything else is left to botocore (a string given for a
    blob parameter is sent as its UTF-8 bytes; an ISO 8601 string for a timestamp is parsed).
    """
    shape = op.model.input_shape

    def walk(shape: Any, value: Any) -> Any:
        if shape is None:
            return value
        kind = shape.type_name
        if kind == "string" and isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"))
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

    With `paginate`, every page is fetched and merged by botocore's paginator (its result keys are
    concatenated). botocore errors are raised as `ActionFailed`.
    """
    client = ctx.client(op.service)
    prepared = prepare_params(op, params)
    with aws_errors():
        if paginate:
            response = client.get_paginator(op.snake).paginate(**prepared).build_full_result()
        else:
            response = getattr(client, op.snake)(**prepared)
    response = dict(response)
    response.pop("ResponseMetadata", None)
    return plain(response)
