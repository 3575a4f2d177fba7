"""CloudTrail records in AWS's format, built from the calls the middleware sees.

`api_call` turns a (Call, Reply) into the record CloudTrail would write; `service_call` builds the
records of calls one AWS service makes to another on a caller's behalf (S3 calling KMS for SSE-KMS).
What a record is then routed to (event history, trails, log files) is `trail.py`'s job.
"""

from __future__ import annotations

import functools
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from runner import aws_models

from .identity import Identity
from .model import Behaviour, Call, Record, Reply

EVENT_VERSION = "1.10"
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "Select")

# Members whose value is the caller's own data: their keys keep their spelling in the record.
_FREE_FORM = frozenset({"EncryptionContext", "Tags", "Tag", "TagsList", "Attributes", "Metadata"})
# Members never written to a record: secrets and bulk data.
_SCRUBBED = frozenset({"Plaintext", "CiphertextBlob", "Body", "Message", "PrivateKeyPlaintext", "Mac"})


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _record_shape(value: Any, free_form: bool = False) -> Any:
    """API members as CloudTrail writes them: lowerCamelCase names, secrets left out."""
    if isinstance(value, Mapping):
        if free_form:
            return dict(value)
        return {
            _camel(str(k)): _record_shape(v, str(k) in _FREE_FORM) for k, v in value.items() if str(k) not in _SCRUBBED
        }
    if isinstance(value, list):
        return [_record_shape(v) for v in value]
    return value


def is_read_only(call: Call, behaviour: Behaviour | None) -> bool:
    extra = behaviour.read_only if behaviour is not None else frozenset()
    return call.operation.startswith(READ_ONLY_PREFIXES) or call.operation in extra


def time_text(call: Call) -> str:
    return call.time.strftime("%Y-%m-%dT%H:%M:%SZ")


def api_call(call: Call, reply: Reply, behaviour: Behaviour | None) -> Record:
    """The record of one API call made through the emulator."""
    data = behaviour is not None and call.operation in behaviour.data_events
    if call.protocol == "rest-xml":
        parameters: Any = {**call.params, **_rest_xml_body(call)}
    elif call.protocol == "query":
        parameters = _record_shape(_query_typed(call)) or None
    else:
        parameters = _record_shape(call.params) or None
    request_id = reply.header("x-amzn-RequestId") or reply.header("x-amz-request-id") or call.request_id
    record: Record = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": call.identity.user_identity(),
        "eventTime": time_text(call),
        "eventSource": f"{call.service}.amazonaws.com",
        "eventName": behaviour.event_names.get(call.operation, call.operation) if behaviour else call.operation,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
    }
    error = reply.error()
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
    record["requestParameters"] = parameters
    record["responseElements"] = _response_elements(call, reply, read_only=is_read_only(call, behaviour))
    record["requestID"] = request_id
    record["eventID"] = str(uuid.uuid4())
    record["readOnly"] = is_read_only(call, behaviour)
    resources = behaviour.resources(call, reply) if behaviour and behaviour.resources else []
    if resources:
        record["resources"] = resources
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = not data
    record["recipientAccountId"] = call.account_id
    record["eventCategory"] = "Data" if data else "Management"
    return record


def _query_typed(call: Call) -> dict[str, Any]:
    """A query-protocol call's members with the JSON types CloudTrail writes: the wire carries every value
    as text, the record has `"setAsDefault": true` (IAM's CreatePolicyVersion), not `"true"`."""
    types = _scalar_types(call.service, call.operation)
    return {name: _typed(value, types.get(name)) for name, value in call.params.items()}


@functools.cache
def _scalar_types(service: str, operation: str) -> dict[str, str]:
    """The operation's top-level boolean and number members, by name, from its botocore model."""
    from botocore.exceptions import UnknownServiceError
    from botocore.model import OperationNotFoundError

    try:
        shape = aws_models.service_model(service).operation_model(operation).input_shape
    except (UnknownServiceError, OperationNotFoundError):
        return {}
    members = shape.members if shape is not None else {}
    return {name: m.type_name for name, m in members.items() if m.type_name in ("boolean", "integer", "long")}


def _typed(value: Any, type_name: str | None) -> Any:
    if not isinstance(value, str) or type_name is None:
        return value
    if type_name == "boolean":
        return {"true": True, "false": False}.get(value.lower(), value)
    return int(value) if value.lstrip("-").isdigit() else value


def _rest_xml_body(call: Call) -> dict[str, Any]:
    """A REST-XML request's body as CloudTrail writes it among the request parameters.

    S3 records a configuration's XML under its root element's name, with its namespace as `xmlns` and
    booleans and numbers typed (`PublicAccessBlockConfiguration`, `OwnershipControls`,
    `VersioningConfiguration`, `LifecycleConfiguration`, ...), and a bucket policy as `bucketPolicy`.
    An object's own bytes are never recorded.
    """
    body = call.body.lstrip()
    if call.operation in _OBJECT_BODIES or not body:
        return {}
    if call.operation == "PutBucketPolicy":
        try:
            return {"bucketPolicy": json.loads(body)}
        except ValueError:
            return {}
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return {}
    name, namespace = _xml_name(root.tag)
    element = _xml_value(root)
    members = {"xmlns": namespace, **element} if namespace and isinstance(element, dict) else element
    return {name: members}


# Operations whose body is an object's data, which CloudTrail never records.
_OBJECT_BODIES = frozenset({"PutObject", "UploadPart", "AppendObject"})


def _xml_name(tag: str) -> tuple[str, str | None]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return name, namespace
    return tag, None


def _xml_value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        if text in ("true", "false"):
            return text == "true"
        return int(text) if text.isdigit() else text
    members: dict[str, Any] = {}
    for child in children:
        name, _ = _xml_name(child.tag)
        value = _xml_value(child)
        if name in members:  # a repeated element (several lifecycle rules) becomes a list
            previous = members[name]
            members[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            members[name] = value
    return members


def _response_elements(call: Call, reply: Reply, read_only: bool) -> Any:
    # AWS leaves responseElements null for reads and failures; writes echo (some of) the response.
    if read_only or not reply.ok:
        return None
    if call.protocol in ("json", "rest-json"):
        document = reply.json()
        return (_record_shape(document) or None) if isinstance(document, dict) else None
    if call.protocol == "rest-xml":
        kept = {k: v for k, v in reply.headers if k.lower().startswith("x-amz-server-side-encryption")}
        return kept or None
    return None


def service_call(
    caller: Call,
    *,
    service: str,
    operation: str,
    invoked_by: str,
    region: str,
    account_id: str,
    request_parameters: Mapping[str, Any],
    resources: list[dict[str, str]],
    read_only: bool,
    error: tuple[str, str] | None = None,
    who: Identity | None = None,
) -> Record:
    """The record of a call that AWS service `invoked_by` made for `caller` (e.g. S3 -> KMS)."""
    identity = (who or caller.identity).user_identity()
    identity["invokedBy"] = invoked_by
    record: Record = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": time_text(caller),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": invoked_by,
        "userAgent": invoked_by,
    }
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
    record.update(
        {
            "requestParameters": dict(request_parameters),
            "responseElements": None,
            "requestID": str(uuid.uuid4()),
            "eventID": str(uuid.uuid4()),
            "readOnly": read_only,
            "resources": resources,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account_id,
            "eventCategory": "Management",
        }
    )
    return record
