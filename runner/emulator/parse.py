"""Request parsing: a WSGI request (environ and body) read as the `Call` the behaviours see.

`parse_call` finds the service, operation, region and protocol from the signature and the wire
format (S3's operation by moto's own router, a REST service's by its botocore model's HTTP bindings), the
parameters from the JSON body, the query or form parameters, or S3's bucket and key, and asks
`identity.py` who signed it. `middleware.py` calls it
once per request; `Call` is `model.py`'s.
"""

from __future__ import annotations

import functools
import io
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from . import identity as identity_mod
from .model import Auth, Call

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
    """S3's operation and the members of its URI (bucket, key), as moto's own router reads them."""
    from moto.core.request import Request
    from moto.core.routing import get_service_router

    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    try:
        operation, uri = get_service_router("s3").match(Request(copy))
    except Exception:  # an unroutable request is still recorded, as "Unknown"
        return "Unknown", {}
    return str(operation.name), {str(k): str(v) for k, v in uri.items()}


# botocore's name of a REST service whose signing name is not its name.
_REST_SERVICES = {"elasticfilesystem": "efs", "execute-api": "apigateway", "es": "opensearch"}


@functools.cache
def _rest_routes(signing_name: str) -> tuple[tuple[str, re.Pattern[str], frozenset[str], int, str], ...]:
    """Each operation of a REST service as (method, path pattern, required query keys, literal length, name),
    the most specific first: the service's botocore model, read once."""
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(_REST_SERVICES.get(signing_name, signing_name))
    except Exception:  # a service botocore does not know under this name
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = str(http.get("requestUri", "/")).partition("?")
        parts = re.split(r"(\{[^}]+\})", uri)  # literal text and {Member} (or {Member+}: slashes too)
        literal = "".join(p for p in parts if not p.startswith("{"))
        pattern = "".join((".+" if p.endswith("+}") else "[^/]+") if p.startswith("{") else re.escape(p)
                          for p in parts)
        keys = frozenset(part.split("=", 1)[0] for part in query.split("&") if part)
        specificity = len(literal) + 10 * len(keys)
        routes.append((str(http.get("method", "GET")), re.compile(pattern), keys, specificity, name))
    return tuple(sorted(routes, key=lambda r: -r[3]))


def rest_operation(service: str, method: str, path: str, query: Mapping[str, str]) -> str:
    """The operation a REST-JSON (or non-S3 REST-XML) request calls, from its method, path and query."""
    paths = (path, path.rstrip("/") or "/")  # SDKs send some collections with a trailing slash
    for verb, pattern, keys, _, name in _rest_routes(service):
        if verb == method and any(pattern.fullmatch(p) for p in paths) and keys <= set(query):
            return name
    return "Unknown"


def parse_call(environ: Mapping[str, Any], body: bytes, default_region: str) -> Call:
    """The call a request makes; `default_region` for one whose signature names none (SigV2, unsigned)."""
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
        protocol = "rest-json"
        operation = rest_operation(service, str(environ.get("REQUEST_METHOD", "GET")),
                                   str(environ.get("PATH_INFO", "/")), query)
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
        raw_path=str(environ.get("RAW_URI") or environ.get("PATH_INFO", "/")).split("?", 1)[0],
        raw_query=str(environ.get("QUERY_STRING", "")),
    )
