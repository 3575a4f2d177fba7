"""STS as AWS behaves for the emulator's own credentials: they belong to the account's root user.

moto answers GetCallerIdentity for an unknown access key with a made-up `user/moto` ARN; CloudTrail
records (`identity.py`) name such a caller the account root, as AWS would, so the two must agree.
"""

from __future__ import annotations

import re

from .model import Behaviour, Call, Context, Reply, rule


def _root_caller(call: Call, reply: Reply, _: Context) -> Reply | None:
    who = call.identity
    if who.type != "Root":
        return None
    document = reply.json()
    if isinstance(document, dict) and "Arn" in document:
        return reply.with_json({**document, "Arn": who.arn, "UserId": who.principal_id})
    text = reply.body.decode("utf-8", "replace")
    text = re.sub(r"<Arn>[^<]*</Arn>", f"<Arn>{who.arn}</Arn>", text)
    text = re.sub(r"<UserId>[^<]*</UserId>", f"<UserId>{who.principal_id}</UserId>", text)
    body = text.encode()
    headers = tuple((k, v) for k, v in reply.headers if k.lower() != "content-length")
    return Reply(reply.status, (*headers, ("Content-Length", str(len(body)))), body)


BEHAVIOUR = Behaviour(
    service="sts",
    rules=(
        rule(
            "GetCallerIdentity with the account's root credentials returns the root ARN",
            "GetCallerIdentity",
            after=_root_caller,
        ),
    ),
)
