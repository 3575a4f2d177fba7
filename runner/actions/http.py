"""Unsigned HTTP requests, as a browser makes them: what an anonymous visitor of a URL sees."""

from __future__ import annotations

from typing import Any

from runner.registry import ActionContext, action


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
    AWS error document, `Error: {Code, Message}`.

    Example::

        action: http.request
        params:
          url: "{{ s3_object_url('my-bucket', 'Eiffel.jpg') }}"
        expect:
          status: 403
          Error.Code: AccessDenied
    """
    raise NotImplementedError("http.request runs with the engine")
