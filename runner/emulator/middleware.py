"""The WSGI middleware between clients and moto, and the vocabulary of the behaviour modules.

Every request passes through `EmulatorMiddleware`:

    parse (service, operation, region, account, identity, params)        -> Call
    each behaviour's `refine`                                            -> Call
    each matching rule's `before`: may answer (Reply) or rewrite the call -> Reply | Call | None
    moto, unless a rule answered                                         -> Reply
    each matching rule's `after`: may replace the reply, may emit events  -> Reply
    the CloudTrail recorder (`trail.py`) gets one record for the call (`events.py`) plus any emitted
    work a hook deferred (injected latency) runs once the lock is released  -> the reply is sent

A behaviour (`Behaviour`) is one service's declarative table of `Rule`s plus what CloudTrail needs to
know about the service (read-only and data-event operations, the resources of a call). The
behaviours are an ordered list: a service-wide hook such as fault injection is a `Behaviour("*")`
placed first (`faults.py`). moto's stores are not thread-safe, so the whole of a request runs
under one lock.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from threading import RLock
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote

from . import identity as identity_mod
from .identity import Identity

if TYPE_CHECKING:
    from .trail import Recorder

log = logging.getLogger(__name__)

Auth = Literal["sigv4", "presigned-v4", "sigv2", "presigned-v2", "anonymous"]
Record = dict[str, Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Call:
    """One API call as the behaviours see it."""

    service: str  # signing name: "kms", "s3", "cloudtrail", ...
    operation: str  # API operation name: "Encrypt", "GetObject", ...
    region: str
    account_id: str  # the account whose resources the call acts on
    identity: Identity
    auth: Auth
    protocol: str  # "json", "query", "rest-xml", "rest-json"
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    params: Mapping[str, Any]  # JSON body, query/form parameters, or S3 bucket/key + query
    request_id: str
    time: datetime
    source_ip: str
    user_agent: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def with_headers(self, **changes: str | None) -> Call:
        """A copy with headers set (or removed, for None); names use `_` for `-`."""
        headers = dict(self.headers)
        for name, value in changes.items():
            key = name.lower().replace("_", "-")
            if value is None:
                headers.pop(key, None)
            else:
                headers[key] = value
        return dataclasses.replace(self, headers=headers)

    def with_json_params(self, **changes: Any) -> Call:
        """A copy of a JSON-protocol call with parameters set, in its body as in `params`."""
        document = {**self.params, **changes}
        return dataclasses.replace(self, body=json.dumps(document).encode(), params=document)

    @property
    def signed(self) -> bool:
        return self.auth != "anonymous"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def with_header(self, name: str, value: str) -> Reply:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return dataclasses.replace(self, headers=(*kept, (name, value)))

    def with_json(self, document: Any) -> Reply:
        body = json.dumps(document).encode()
        headers = tuple((k, v) for k, v in self.headers if k.lower() != "content-length")
        return Reply(self.status, (*headers, ("Content-Length", str(len(body)))), body)

    def error(self) -> tuple[str, str] | None:
        """(code, message) of an error reply, in whichever protocol it came."""
        if self.ok or self.status in (301, 304, 307):
            return None
        document = self.json()
        if isinstance(document, dict) and ("__type" in document or "code" in document):
            code = str(document.get("__type") or document.get("code") or "")
            message = document.get("message") or document.get("Message") or ""
            return code.rsplit("#", 1)[-1], str(message)
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError:
            return HTTPStatus(self.status).phrase.replace(" ", ""), ""
        code = next((e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Code"), "")
        message = next((e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Message"), "")
        return code, message


def error_reply(call: Call, code: str, message: str, status: int = 400, **extra: str) -> Reply:
    """An AWS error in the call's protocol: JSON `__type`, or an S3/query XML `<Error>`."""
    if call.protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", call.request_id)]
        headers.append(("x-amzn-ErrorType", code))
    else:
        error = ET.Element("Error")
        for name, value in (("Code", code), ("Message", message), *extra.items()):
            ET.SubElement(error, name).text = value
        ET.SubElement(error, "RequestId").text = call.request_id
        if call.protocol == "query":
            root = ET.Element("ErrorResponse")
            root.append(error)
            ET.SubElement(root, "RequestId").text = call.request_id
            error = root
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(error)
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", call.request_id)]
    if call.method == "HEAD":
        body = b""  # S3 answers HEAD errors with the status alone
    headers.append(("Content-Length", str(len(body))))
    return Reply(status, tuple(headers), body)


class Context:
    """What a hook may use besides the call: the recorder, and a way to emit extra records."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.emitted: list[Record] = []
        self.notes: dict[str, Any] = {}  # what a `before` hook leaves for an `after` hook
        self.deferred: list[Callable[[], None]] = []

    def emit(self, record: Record) -> None:
        """Record an event that the call caused, e.g. the KMS calls S3 makes for SSE-KMS."""
        self.emitted.append(record)

    def defer(self, action: Callable[[], None]) -> None:
        """Run `action` after the request lets go of the emulator's lock, before its reply is sent:
        waiting (injected latency) must not hold up every other request."""
        self.deferred.append(action)


BeforeHook = Callable[[Call, Context], "Reply | Call | None"]
AfterHook = Callable[[Call, Reply, Context], "Reply | None"]


@dataclass(frozen=True)
class Rule:
    """One AWS behaviour moto lacks: which operations it concerns, and the hooks that supply it."""

    aws: str  # the AWS behaviour, in one sentence
    operations: frozenset[str]  # empty: every operation of the service
    before: BeforeHook | None = None
    after: AfterHook | None = None
    after_errors: bool = False  # run `after` on error replies too

    def applies(self, operation: str) -> bool:
        return not self.operations or operation in self.operations


def rule(
    aws: str,
    *operations: str,
    before: BeforeHook | None = None,
    after: AfterHook | None = None,
    after_errors: bool = False,
) -> Rule:
    return Rule(aws, frozenset(operations), before, after, after_errors)


@dataclass(frozen=True)
class Behaviour:
    """One service's layer over moto, as data."""

    service: str  # signing name, or "*" for every service
    rules: tuple[Rule, ...] = ()
    refine: Callable[[Call], Call] | None = None  # fix up what generic parsing cannot know
    read_only: frozenset[str] = frozenset()  # read-only beyond Get*/List*/Describe*/Head*/Lookup*
    data_events: frozenset[str] = frozenset()  # operations CloudTrail logs as data events
    resources: Callable[[Call, Reply], list[dict[str, str]]] | None = None  # CloudTrail `resources`
    event_names: Mapping[str, str] = field(default_factory=dict)  # CloudTrail's name where it differs from the API's


# --- parsing a request ---------------------------------------------------------------------------

# Query parameters of a presigned URL that are credentials, not request parameters.
_SIGNATURE_PARAMETERS = frozenset(
    {"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "Signature", "AWSAccessKeyId"}
)


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _auth(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[Auth, str | None, list[str]]:
    """How the request is signed, its access key, and its SigV4 scope [date, region, service]."""
    authorization = headers.get("authorization", "")
    if authorization.startswith("AWS4-"):
        credential = authorization.split("Credential=", 1)[-1].split(",", 1)[0].strip()
        key, *scope = credential.split("/")
        return "sigv4", key, scope
    if authorization.startswith("AWS "):
        return "sigv2", authorization[4:].split(":", 1)[0], []
    if "X-Amz-Credential" in query and "X-Amz-Signature" in query:
        key, *scope = query["X-Amz-Credential"].split("/")
        return "presigned-v4", key, scope
    if "Signature" in query and "AWSAccessKeyId" in query:
        return "presigned-v2", query["AWSAccessKeyId"], []
    return "anonymous", None, []


def _s3_operation(environ: Mapping[str, Any], body: bytes) -> tuple[str, dict[str, str]]:
    from moto.core.request import Request
    from moto.core.routing import get_service_router

    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    try:
        operation, uri = get_service_router("s3").match(Request(copy))
    except Exception:  # an unroutable request is still recorded, as "Unknown"
        return "Unknown", {}
    return str(operation.name), {str(k): str(v) for k, v in uri.items()}


def parse_call(environ: Mapping[str, Any], body: bytes, default_region: str) -> Call:
    headers = _headers(environ)
    query = dict(parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True))
    auth, access_key, scope = _auth(headers, query)
    region = scope[1] if len(scope) >= 3 else default_region
    service = scope[2].lower() if len(scope) >= 3 else "s3"
    target = headers.get("x-amz-target")
    form = {}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded") and body:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    params: dict[str, Any]
    if target:
        protocol, operation = "json", target.rsplit(".", 1)[-1]
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            params = {}
    elif "Action" in form or ("Action" in query and service != "s3"):
        protocol = "query"
        params = {**query, **form}
        operation = str(params.pop("Action"))
        params.pop("Version", None)
    elif service == "s3":
        protocol = "rest-xml"
        operation, uri = _s3_operation(environ, body)
        params = {k: v for k, v in query.items() if k not in _SIGNATURE_PARAMETERS}
        if "Bucket" in uri:
            params["bucketName"] = uri["Bucket"]
        if "Key" in uri:
            params["key"] = unquote(uri["Key"])
        params["Host"] = headers.get("host", "")
    else:
        protocol, operation = "rest-json", "Unknown"
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            params = {}
        params = {**query, **(params if isinstance(params, dict) else {})}
    who = identity_mod.resolve(access_key, headers.get("x-moto-account-id"))
    account = who.account_id if who.type != "AWSAccount" else identity_mod.account_for(None, None)
    return Call(
        service=service,
        operation=operation,
        region=region,
        account_id=account,
        identity=who,
        auth=auth,
        protocol=protocol,
        method=str(environ.get("REQUEST_METHOD", "GET")),
        path=str(environ.get("PATH_INFO", "/")),
        query=query,
        headers=headers,
        body=body,
        params=params if isinstance(params, dict) else {},
        request_id=str(uuid.uuid4()),
        time=datetime.now(UTC).replace(microsecond=0),
        source_ip=str(environ.get("REMOTE_ADDR", "127.0.0.1")),
        user_agent=headers.get("user-agent", ""),
    )


def _apply_headers(environ: dict[str, Any], before: Mapping[str, str], after: Mapping[str, str]) -> None:
    for name in set(before) | set(after):
        if before.get(name) == after.get(name):
            continue
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
        if name in after:
            environ[key] = after[name]
        else:
            environ.pop(key, None)


# --- the middleware ------------------------------------------------------------------------------


@dataclass
class EmulatorMiddleware:
    app: WSGIApp
    behaviours: Sequence[Behaviour]
    recorder: Recorder
    default_region: str = "us-east-1"
    lock: RLock = field(default_factory=RLock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = self._read_body(environ)
        context = Context(self.recorder)
        with self.lock:
            if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
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
        from . import events

        call = parse_call(environ, body, self.default_region)
        mine = [b for b in self.behaviours if b.service in ("*", call.service)]
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
        captured: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return written.append

        result = self.app(environ, start_response)
        try:
            chunks = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return Reply(int(captured["status"].split()[0]), tuple(captured["headers"]), b"".join(written) + chunks)

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
