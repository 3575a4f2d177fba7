"""The emulator's vocabulary: a call, its reply, the rules and behaviours that act on them, and
AWS's error replies in each wire protocol.

Every other module of the emulator speaks these types: `parse.py` reads a request into a `Call`;
`middleware.py` runs each `Behaviour`'s `Rule`s around moto; the behaviours (`kms.py`, `s3.py`,
`cloudtrail.py`, `sts.py`, `iam.py`, `faults.py`) answer with `Reply`s, many of them `error_reply`;
`events.py` turns a call and its reply into a CloudTrail `Record`, which `trail.py` keeps. This
module imports none of them, only `identity.py` (who made a call): the imports all point here.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, Literal, Protocol

from .identity import Identity

Auth = Literal["sigv4", "presigned-v4", "sigv2", "presigned-v2", "anonymous"]
Record = dict[str, Any]  # one CloudTrail record, as AWS writes it


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
    raw_path: str = ""  # the path and the query string as sent, still URI-encoded: what a signature signs
    raw_query: str = ""

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


# --- error replies --------------------------------------------------------------------------------

ErrorFormat = Literal["json", "query", "ec2", "rest-xml"]

# The namespace of a query service's `<ErrorResponse>`, for the services that send one.
_QUERY_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def error_format(call: Call) -> ErrorFormat:
    """How the call's service writes an error: JSON (JSON and REST-JSON services), query XML (STS, IAM,
    ...), EC2's own query XML, or S3's REST-XML."""
    if call.protocol in ("json", "rest-json"):
        return "json"
    if call.protocol == "query":
        return "ec2" if call.service == "ec2" else "query"
    return "rest-xml"


def error_reply(call: Call, code: str, message: str, status: int = 400, **extra: str) -> Reply:
    """The AWS error `code` as the call's service sends it, in its wire format, so that an SDK parses
    and classifies (retries or not) it as it would AWS's. `extra` are further members of the error
    (S3's `ArgumentName`, ...)."""
    form = error_format(call)
    headers: list[tuple[str, str]]
    if form == "json":
        body = json.dumps({"__type": code, "message": message, **extra}).encode()
        headers = [("Content-Type", _json_content_type(call)), ("x-amzn-RequestId", call.request_id)]
        headers.append(("x-amzn-ErrorType", code))
    elif form == "rest-xml":
        # S3 names the host that answered twice, in the body's HostId and the x-amz-id-2 header.
        host = base64.b64encode(call.request_id.encode()).decode()
        error = _error(code, message, extra)
        ET.SubElement(error, "RequestId").text = call.request_id
        ET.SubElement(error, "HostId").text = host
        body = _XML_DECLARATION + ET.tostring(error)
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", call.request_id), ("x-amz-id-2", host)]
    elif form == "ec2":
        root = ET.Element("Response")
        ET.SubElement(root, "Errors").append(_error(code, message, extra))
        ET.SubElement(root, "RequestID").text = call.request_id
        body = _XML_DECLARATION + ET.tostring(root)
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", call.request_id)]
    else:
        namespace = _QUERY_NAMESPACES.get(call.service)
        root = ET.Element("ErrorResponse", {"xmlns": namespace} if namespace else {})
        # The query services say whose fault an error is: the caller's (4xx) or their own (5xx).
        root.append(_error(code, message, extra, kind="Sender" if status < 500 else "Receiver"))
        ET.SubElement(root, "RequestId").text = call.request_id
        body = _XML_DECLARATION + ET.tostring(root)
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", call.request_id)]
    if call.method == "HEAD":
        body = b""  # S3 answers HEAD errors with the status alone
    headers.append(("Content-Length", str(len(body))))
    return Reply(status, tuple(headers), body)


def _error(code: str, message: str, extra: Mapping[str, str], kind: str | None = None) -> ET.Element:
    error = ET.Element("Error")
    if kind is not None:
        ET.SubElement(error, "Type").text = kind
    for name, value in (("Code", code), ("Message", message), *extra.items()):
        ET.SubElement(error, name).text = value
    return error


def _json_content_type(call: Call) -> str:
    # Answer in the JSON version the client spoke (KMS and CloudTrail 1.1, DynamoDB 1.0, ...).
    if call.protocol == "rest-json":
        return "application/json"
    sent = (call.header("content-type") or "").split(";", 1)[0]
    return sent if sent.startswith("application/x-amz-json-") else "application/x-amz-json-1.1"


# --- rules and behaviours ------------------------------------------------------------------------


class EventHistory(Protocol):
    """The account's CloudTrail event history, as `trail.Recorder` keeps it."""

    def history(self, account_id: str, region: str) -> list[Record]: ...


class Context:
    """What a hook may use besides the call: the event history (`recorder`), a way to emit extra
    records, notes between its hooks, and work to defer until the request lets go of its locks."""

    def __init__(self, recorder: EventHistory) -> None:
        self.recorder = recorder
        self.emitted: list[Record] = []
        self.notes: dict[str, Any] = {}  # what a `before` hook leaves for an `after` hook
        self.deferred: list[Callable[[], None]] = []

    def emit(self, record: Record) -> None:
        """Record an event that the call caused, e.g. the KMS calls S3 makes for SSE-KMS."""
        self.emitted.append(record)

    def defer(self, action: Callable[[], None]) -> None:
        """Run `action` after the request lets go of its locks (`locks.py`), before its reply is sent:
        waiting (injected latency) must not hold up other requests in its accounts."""
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
    # Other accounts whose stores a call uses, found from what they hold (a bucket's owner, the key of its
    # default encryption): the request holds their locks too (`locks.py`).
    accounts: Callable[[Call], Iterable[str]] | None = None
