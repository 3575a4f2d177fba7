"""The emulator's server layer: a WSGI middleware between clients and moto's app.

Every request passes through `EmulatorMiddleware`:

    read it as a `Call` (`parse.py`)                                      -> Call
    each behaviour's `refine`                                            -> Call
    each matching rule's `before`: may answer (Reply) or rewrite the call -> Reply | Call | None
    moto, unless a rule answered                                         -> Reply
    each matching rule's `after`: may replace the reply, may emit events  -> Reply
    the CloudTrail recorder (`trail.py`) gets one record for the call (`events.py`) plus any emitted
    work a hook deferred (injected latency) runs once the locks are released -> the reply is sent

The behaviours are an ordered list of `model.py`'s `Behaviour`s: a service-wide hook such as fault
injection is a `Behaviour("*")` placed first (`faults.py`); `server.py` builds the list and serves the
middleware. moto's stores are not thread-safe: a request runs holding the locks of the accounts it
reaches, or the whole emulator when it changes what accounts share (`locks.py`), so requests in different
accounts run side by side. `/moto-api` requests go straight to moto, with the emulator to themselves.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from runner.regions import DEFAULT_REGION

from . import events
from .connections import WSGIApp, run_app
from .locks import Locks, accounts_named, whole_emulator
from .model import Behaviour, Call, Context, Reply, Rule, error_reply
from .parse import parse_call
from .trail import Recorder

log = logging.getLogger(__name__)


def _apply_headers(environ: dict[str, Any], before: Mapping[str, str], after: Mapping[str, str]) -> None:
    """Carry the header changes rules made to the call into the environ moto reads."""
    for name in set(before) | set(after):
        if before.get(name) == after.get(name):
            continue
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
        if name in after:
            environ[key] = after[name]
        else:
            environ.pop(key, None)


@dataclass
class EmulatorMiddleware:
    app: WSGIApp
    behaviours: Sequence[Behaviour]
    recorder: Recorder
    default_region: str = DEFAULT_REGION
    locks: Locks = field(default_factory=Locks)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = self._read_body(environ)
        context = Context(self.recorder)
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            with self.locks.whole():
                reply = self._forward(environ, body)
                if environ.get("PATH_INFO") == "/moto-api/reset":
                    self.recorder.reset()
        else:
            reply = self._handle(environ, body, context)
        for action in context.deferred:
            try:
                action()
            except Exception:  # the reply is ready: a failed delay must not lose it
                log.exception("deferred emulator work failed")
        reason = HTTPStatus(reply.status).phrase if reply.status in HTTPStatus._value2member_map_ else ""
        start_response(f"{reply.status} {reason}", list(reply.headers))
        return [reply.body]

    def _handle(self, environ: dict[str, Any], body: bytes, context: Context) -> Reply:
        with self.locks.gate.shared():
            call = parse_call(environ, body, self.default_region)  # who signed it: read under the gate
            if not whole_emulator(call):
                mine = self._mine(call)
                with self.locks.named(lambda: accounts_named(call, mine)):
                    return self._serve(environ, body, call, context)
        with self.locks.whole():  # read again, alone: nothing it depends on can change under it now
            return self._serve(environ, body, parse_call(environ, body, self.default_region), context)

    def _mine(self, call: Call) -> list[Behaviour]:
        return [b for b in self.behaviours if b.service in ("*", call.service)]

    def _serve(self, environ: dict[str, Any], body: bytes, call: Call, context: Context) -> Reply:
        mine = self._mine(call)
        for behaviour in mine:
            if behaviour.refine is not None:
                call = behaviour.refine(call)
        rules = [r for b in mine for r in b.rules if r.applies(call.operation)]
        try:
            reply = self._run(environ, body, call, rules, context)
        except Exception:
            log.exception("emulator behaviour failed on %s.%s", call.service, call.operation)
            reply = error_reply(call, "InternalFailure", "The emulator failed on this request.", 500)
        service = next((b for b in mine if b.service == call.service), None)
        self.recorder.record(events.api_call(call, reply, service))
        for record in context.emitted:
            self.recorder.record(record)
        return reply

    def _run(self, environ: dict[str, Any], body: bytes, call: Call, rules: list[Rule], context: Context) -> Reply:
        original = call
        for r in rules:
            if r.before is None:
                continue
            outcome = r.before(call, context)
            if isinstance(outcome, Reply):
                return outcome
            if isinstance(outcome, Call):
                call = outcome
        _apply_headers(environ, original.headers, call.headers)
        if call.body is not original.body:  # a behaviour rewrote the request for moto
            body = call.body
            environ["CONTENT_LENGTH"] = str(len(body))
        reply = self._forward(environ, body)
        for r in rules:
            if r.after is not None and (reply.ok or r.after_errors):
                reply = r.after(call, reply, context) or reply
        return reply

    def _forward(self, environ: dict[str, Any], body: bytes) -> Reply:
        environ["wsgi.input"] = io.BytesIO(body)
        status, headers, reply_body = run_app(self.app, environ)
        return Reply(int(status.split()[0]), tuple(headers), reply_body)

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        length = environ.get("CONTENT_LENGTH")
        if length:
            return bytes(stream.read(int(length)))
        if environ.get("wsgi.input_terminated"):
            return bytes(stream.read())
        return b""
