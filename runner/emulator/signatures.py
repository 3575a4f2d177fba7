"""Authentication of presigned URLs and temporary credentials, as AWS checks them before anything else.

The rules here run in `authorization.py`'s behaviour, ahead of every service's own:
- a presigned URL (SigV4 `X-Amz-Signature`, or SigV2 `Signature`, which boto3 and AWS CLI v1 make by
  default for S3) must carry the signature its credentials make, else 403 SignatureDoesNotMatch;
- it must not have expired: SigV4 at `X-Amz-Date` + `X-Amz-Expires` (at most 7 days), SigV2 at
  `Expires`; else 403 AccessDenied "Request has expired";
- temporary credentials (STS sessions) stop working when they expire: ExpiredToken;
- an access key that AWS did not issue, or was deleted or made inactive, is refused.

The emulator can check a signature only when it knows the secret key: its own key's, an IAM user's
access key, an STS session's. Another access key (one of 12 digits, say) is taken at its word.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from . import identity
from .model import Call, Context, Reply, error_reply, rule

#: The longest a SigV4 presigned URL may live: seven days.
PRESIGN_MAX_EXPIRES = 604800
_ISO = "%Y-%m-%dT%H:%M:%SZ"
# Query parameters SigV2 signs as part of the resource (botocore's HmacV1Auth.QSAOfInterest, S3's list).
_SIGNED_SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "delete", "encryption", "inventory", "lifecycle", "location",
    "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "restore", "select",
    "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website",
})
_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your key and signing method.")


def _query_auth_error(call: Call, message: str) -> Reply:
    return error_reply(call, "AuthorizationQueryParametersError", message)


def _expired(call: Call, deadline: datetime, **extra: str) -> Reply:
    return error_reply(call, "AccessDenied", "Request has expired", 403,
                       **extra, Expires=deadline.strftime(_ISO), ServerTime=call.time.strftime(_ISO))


def _raw_query(call: Call) -> list[tuple[str, str]]:
    """The query string's pairs exactly as sent (still URI-encoded)."""
    return [(k, v) for k, _, v in (p.partition("=") for p in call.raw_query.split("&") if p)]


def _mismatch(call: Call, string_to_sign: str, provided: str, canonical: str | None = None) -> Reply:
    extra = {"AWSAccessKeyId": call.identity.access_key_id, "StringToSign": string_to_sign,
             "SignatureProvided": provided}
    if canonical is not None:
        extra["CanonicalRequest"] = canonical
    return error_reply(call, "SignatureDoesNotMatch", _MISMATCH, 403, **extra)


def _sigv4_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sigv4_canonical_request(call: Call, signed_headers: str, query: list[tuple[str, str]], payload: str) -> str:
    """The SigV4 canonical request (AWS General Reference, "Create a canonical request for Signature Version 4")."""
    pairs = sorted((k, v) for k, v in query if k != "X-Amz-Signature")
    headers = "".join(f"{name}:{' '.join((call.header(name) or '').split())}\n" for name in signed_headers.split(";"))
    return "\n".join([call.method, call.raw_path, "&".join(f"{k}={v}" for k, v in pairs), headers, signed_headers,
                      payload])


def _presigned_v4(call: Call, _: Context) -> Reply | None:
    query = call.query
    stamp, expires = query.get("X-Amz-Date"), query.get("X-Amz-Expires")
    if stamp is None or expires is None or "X-Amz-SignedHeaders" not in query:
        return _query_auth_error(
            call,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )
    try:
        signed = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return _query_auth_error(call, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if not expires.isdigit():
        return _query_auth_error(call, "X-Amz-Expires should be a number")
    if int(expires) > PRESIGN_MAX_EXPIRES:
        return _query_auth_error(
            call,
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be "
            f"less than {PRESIGN_MAX_EXPIRES} seconds",
        )
    secret = identity.secret_for(call.identity)
    if secret is not None:
        date, region, service = (query.get("X-Amz-Credential", "") + "////").split("/")[1:4]
        payload = "UNSIGNED-PAYLOAD" if service == "s3" else hashlib.sha256(call.body).hexdigest()
        canonical = sigv4_canonical_request(call, query["X-Amz-SignedHeaders"], _raw_query(call), payload)
        scope = f"{date}/{region}/{service}/aws4_request"
        string_to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        expected = hmac.new(_sigv4_key(secret, date, region, service), string_to_sign.encode(), hashlib.sha256)
        provided = query.get("X-Amz-Signature", "")
        if not hmac.compare_digest(expected.hexdigest(), provided):
            return _mismatch(call, string_to_sign, provided, canonical)
    deadline = signed + timedelta(seconds=int(expires))
    return None if call.time <= deadline else _expired(call, deadline, **{"X-Amz-Expires": expires})


def sigv2_string_to_sign(call: Call, expires: str) -> str:
    """What SigV2 query authentication signs (S3 User Guide, "Authenticating requests using the REST API")."""
    amz = {name: value for name, value in call.headers.items() if name.startswith("x-amz-")}
    if "x-amz-security-token" in call.query:
        amz["x-amz-security-token"] = call.query["x-amz-security-token"]
    resource = call.raw_path
    bucket = call.params.get("bucketName")
    if bucket and not unquote(resource).startswith(f"/{bucket}"):  # virtual-host style: the bucket is in Host
        resource = f"/{bucket}{resource}"
    signed = sorted((k, unquote(v)) for k, v in _raw_query(call) if k in _SIGNED_SUBRESOURCES)
    if signed:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in signed)
    lines = [call.method, call.header("content-md5") or "", call.header("content-type") or "", expires]
    lines += [f"{k}:{amz[k].strip()}" for k in sorted(amz)]
    return "\n".join([*lines, resource])


def _presigned_v2(call: Call, _: Context) -> Reply | None:
    expires = call.query.get("Expires", "")
    if not expires.isdigit():
        return error_reply(call, "AccessDenied", "Query-string authentication requires the Signature, Expires and "
                           "AWSAccessKeyId parameters", 403)
    secret = identity.secret_for(call.identity)
    if secret is not None:
        string_to_sign = sigv2_string_to_sign(call, expires)
        expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()
        provided = call.query.get("Signature", "")
        if not hmac.compare_digest(expected, provided):
            return _mismatch(call, string_to_sign, provided)
    deadline = datetime.fromtimestamp(int(expires), UTC)
    return None if call.time <= deadline else _expired(call, deadline)


def _presigned(call: Call, context: Context) -> Reply | None:
    if call.auth == "presigned-v4":
        return _presigned_v4(call, context)
    if call.auth == "presigned-v2":
        return _presigned_v2(call, context)
    return None


_EXPIRED_TOKEN: Mapping[str, tuple[str, str, int]] = {
    "rest-xml": ("ExpiredToken", "The provided token has expired.", 400),
    "query": ("ExpiredToken", "The security token included in the request is expired", 403),
    "json": ("ExpiredTokenException", "The security token included in the request is expired", 400),
    "rest-json": ("ExpiredTokenException", "The security token included in the request is expired", 403),
}


def _session_expiry(call: Call, _: Context) -> Reply | None:
    expiration = identity.session_expiration(call.identity)
    if expiration is None or call.time <= expiration:
        return None
    code, message, status = _EXPIRED_TOKEN.get(call.protocol, _EXPIRED_TOKEN["query"])
    return error_reply(call, code, message, status)


# AWS's answer to an access key it does not know (S3 API Reference, "Error responses"; the common errors of
# the query and JSON services), by protocol.
_UNKNOWN_KEY: Mapping[str, tuple[str, str, int]] = {
    "rest-xml": ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403),
    "query": ("InvalidClientTokenId", "The security token included in the request is invalid.", 403),
    "json": ("UnrecognizedClientException", "The security token included in the request is invalid.", 400),
    "rest-json": ("UnrecognizedClientException", "The security token included in the request is invalid.", 403),
}


def _unknown_key(call: Call, _: Context) -> Reply | None:
    if call.identity.type != "Unknown":
        return None
    code, message, status = _UNKNOWN_KEY.get(call.protocol, _UNKNOWN_KEY["query"])
    extra = {"AWSAccessKeyId": call.identity.access_key_id} if call.protocol == "rest-xml" else {}
    return error_reply(call, code, message, status, **extra)


RULES = (
    rule(
        "an access key that was never issued, was deleted or is inactive is refused: InvalidClientTokenId "
        "(query services), UnrecognizedClientException (JSON services), InvalidAccessKeyId (S3)",
        before=_unknown_key,
    ),
    rule(
        "a presigned URL must carry the signature its credentials make (403 SignatureDoesNotMatch); a SigV4 one "
        "is refused once X-Amz-Date + X-Amz-Expires has passed and may not live over 7 days "
        "(AuthorizationQueryParametersError), a SigV2 one once Expires has passed (403 AccessDenied "
        "'Request has expired')",
        before=_presigned,
    ),
    rule(
        "temporary security credentials stop working when they expire: ExpiredToken",
        before=_session_expiry,
    ),
)
