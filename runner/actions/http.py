"""Unsigned HTTP requests, as a browser makes them: what an anonymous visitor of a URL sees."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

from runner.actions.aws import read_stream
from runner.actions.declare import ActionContext, action
from runner.actions.failures import ActionFailed
from runner.durations import parse_duration

DEFAULT_TIMEOUT = 30.0


@action(
    "http.request",
    # Only safe methods are accepted, and the request is unsigned: it cannot change an account.
    read_only=True,
    permissions=(),
    params={
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "description": "Absolute http(s) URL."},
            "method": {"enum": ["GET", "HEAD", "OPTIONS"], "description": "Default GET."},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "timeout": {"$ref": "#/$defs/duration", "description": "Default 30s."},
        },
    },
)
def request(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Send an unsigned HTTP request, like pasting a URL into a browser.

    The result has `status`, `headers`, `body` (`{size, sha256, text}`) and, when the body is an
    AWS error document, `Error: {Code, Message}`. The body is hashed as it arrives, within
    `bounds.MAX_BODY_BYTES` and `timeout` (for the whole answer): a URL may lead to a student's server.

    Example::

        action: http.request
        params:
          url: "{{ s3_object_url('my-bucket', 'Eiffel.jpg') }}"
        expect:
          status: 403
          Error.Code: AccessDenied
    """
    url = params["url"]
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ActionFailed("InvalidURL", f"'{url}' is not an http(s) URL")
    method = params.get("method", "GET")
    timeout = parse_duration(params.get("timeout", DEFAULT_TIMEOUT))
    headers = {"User-Agent": "labrunner (like a browser: unsigned)", **dict(params.get("headers") or {})}
    request = urllib.request.Request(url, method=method, headers=headers)
    # S3 answers a busy moment with 503 SlowDown or a 500; a browser's user would reload, and so do
    # we (like botocore's standard mode) before reporting what the visitor finally sees.
    for attempt in range(TRANSIENT_ATTEMPTS):
        status, reply_headers, body = _send(request, method, url, timeout, last=attempt == TRANSIENT_ATTEMPTS - 1)
        if status not in TRANSIENT_STATUSES:
            break
        time.sleep(min(0.1 * 2**attempt, 2.0))
    result: dict[str, Any] = {"status": status, "headers": reply_headers, "body": body}
    # An error document is small: only a body kept as text can be one.
    error = aws_error(body["text"].encode()) if "text" in body else None
    if error is not None:
        result["Error"] = error
    return result


TRANSIENT_STATUSES = frozenset({500, 502, 503, 504, 0})
TRANSIENT_ATTEMPTS = 5


def _send(request: urllib.request.Request, method: str, url: str, timeout: float,
          *, last: bool) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One request: (status, headers, body digest); status 0 for a connection failure that may be retried."""
    deadline = time.monotonic() + timeout

    def body(response: Any) -> dict[str, Any]:
        length = response.headers.get("Content-Length", "")
        declared = int(length) if method != "HEAD" and length.isdigit() else None  # HEAD: a length, no body
        return read_stream(response, f"the body of {method} {url}", declared=declared, deadline=deadline)

    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), body(response)
    except urllib.error.HTTPError as exc:  # 4xx/5xx: what the visitor sees, not a failure of the action
        return exc.code, dict(exc.headers.items()), body(exc)
    except (urllib.error.URLError, OSError) as exc:
        if not last:
            return 0, {}, {}
        reason = getattr(exc, "reason", exc)
        raise ActionFailed("ConnectionError", f"{method} {url}: {reason}") from None


def aws_error(body: bytes) -> dict[str, str] | None:
    """`{Code, Message}` when a body is an AWS error document (S3's XML, or the JSON protocols')."""
    text = body.strip()
    if text.startswith(b"<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return None
        node = root if _local(root.tag) == "Error" else next(
            (n for n in root.iter() if _local(n.tag) == "Error"), None)
        if node is None:
            return None
        fields = {_local(child.tag): (child.text or "") for child in node}
        if "Code" not in fields:
            return None
        return {"Code": fields["Code"], "Message": fields.get("Message", "")}
    if text.startswith(b"{"):
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested past what Python's parser takes
            return None
        if isinstance(document, dict):
            code = document.get("__type") or document.get("code") or document.get("Code")
            if isinstance(code, str):
                message = document.get("message") or document.get("Message") or ""
                return {"Code": code.rsplit("#", 1)[-1], "Message": str(message)}
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
