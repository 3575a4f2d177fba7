"""Every AWS request a target's clients make, told to whoever watches (`--verbose`): operation, params, reply.

`watch(target, watcher)` registers on botocore's events of every client of the target (those made and
those to come, `Target.add_client_hook`): `before-parameter-build` gives the operation and the params
as the caller wrote them, `after-call` the parsed reply and its HTTP status, `after-call-error` what
stopped a request from getting one. A request of an `aws.*` step, of a higher-level action (`s3.upload_file`
and its parts), or of the engine itself (STS for `caller`) is reported alike, from the thread that made
it. What is reported is made safe to show first: streams and bytes are described, never read, since
the caller still has to read them; redaction is the watcher's (`console.Console`, the run's `Redactor`).
Where several accounts are at work at once (a class graded, verify's cases), `InAccount` marks each
request with its account and redacts it with that account's own `Redactor` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from runner.engine.redaction import Redactor
from runner.engine.targets import Target

_HOOK_ID = "labrunner-calls"


class Watcher(Protocol):
    def request(self, operation: str, params: Any) -> None: ...

    def response(self, operation: str, status: int | None, body: Any) -> None: ...


class InAccount:
    """Tells `watcher` of one account's requests, marked with the account, redacted as its records are."""

    def __init__(self, watcher: Watcher, account: str, redactor: Redactor | None = None) -> None:
        self.watcher, self.account, self.redact = watcher, account, redactor or Redactor()

    def request(self, operation: str, params: Any) -> None:
        self.watcher.request(f"{self.account} {operation}", self.redact(params))

    def response(self, operation: str, status: int | None, body: Any) -> None:
        self.watcher.response(f"{self.account} {operation}", status, self.redact(body))


def showable(value: Any) -> Any:
    """`value` with what cannot be shown without reading it (a stream, a file) or is not text (bytes) described."""
    if isinstance(value, Mapping):
        return {str(k): showable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [showable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if hasattr(value, "read"):  # a StreamingBody, a file being uploaded
        return "<stream>"
    return value


def _operation(model: Any) -> str:
    return f"{model.service_model.service_name}.{model.name}"


def watch(target: Target, watcher: Watcher) -> None:
    """Report every request of `target`'s clients to `watcher`, from now on."""

    def before(params: Any, model: Any, **_: Any) -> None:
        watcher.request(_operation(model), showable(params))

    def after(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"} if isinstance(parsed, Mapping) else parsed
        watcher.response(_operation(model), getattr(http_response, "status_code", None), showable(body))

    def failed(exception: Exception, model: Any, **_: Any) -> None:
        watcher.response(_operation(model), None, f"no reply: {type(exception).__name__}: {exception}")

    def hook(client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build", before, unique_id=f"{_HOOK_ID}-before")
        events.register("after-call", after, unique_id=f"{_HOOK_ID}-after")
        events.register("after-call-error", failed, unique_id=f"{_HOOK_ID}-error")

    target.add_client_hook(hook)
