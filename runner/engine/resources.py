"""What a run made, named as a person would look for it: read from the cleanups it registered.

A lab says what it makes only through the cleanups that remove it, so each registered cleanup (the
ledger's entries, `record.LedgerEntry`: an action and its rendered params) names one resource:
- the service is the action's (`aws.s3.delete_bucket`, `s3.empty_bucket`: S3);
- the kind and name come from the params that identify something (`Bucket`, `Key`, and those ending in
  Name, Id, Arn or Url: `KeyId`, `AliasName`, `key_id`, SQS's `QueueUrl`), the one whose own kind the operation names
  (`delete_alias` takes `AliasName`), else the operation's noun and every such value (`delete_trail`
  `Name`: trail myCustomTrail; `delete_object` `Bucket`, `Key`: object my-bucket/hello.txt);
- a cleanup that deletes (`delete_*`, `schedule_*_deletion`, `terminate_*`, `deregister_*`, or one
  told to, `delete_bucket: true`) removes it; any other undoes a change to it
  (`put_public_access_block`, `detach_group_policy`).
`made` lists each resource once, with what became of it; `cleanup_phrase` names a cleanup line by
what it does to what ("delete bucket my-bucket"); `console_link` is the resource's page in the AWS
console. Used by `console.py` and `labrunner cleanup`.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_ID_ENDINGS = ("name", "id", "arn", "url")  # SQS names a queue by its URL
_ID_WORDS = ("bucket", "key")  # S3 names a bucket and an object's key with no suffix
_REMOVING = frozenset({"delete", "terminate", "deregister", "destroy", "release"})


@functools.lru_cache(maxsize=512)
def _kind_of(key: str) -> str | None:
    """The kind a parameter identifies ("AliasName": alias, "key_id": key, "Name": ""), or None."""
    words: list[str] = [word.lower() for word in _WORD.findall(key)]
    if words and words[-1] in _ID_ENDINGS:
        return " ".join(words[:-1])
    if len(words) == 1 and words[0] in _ID_WORDS:
        return words[0]
    return None


@dataclass(frozen=True)
class Touched:
    """What one cleanup acts on: a resource (service, kind, name), by an operation, removing it or not."""

    service: str  # botocore's name: "s3"
    kind: str  # "bucket", "key", "access key"
    name: str
    operation: str  # the operation's words: "delete bucket", "schedule key deletion"
    removes: bool
    identifiers: tuple[str, ...]  # every identifying value the params give, in their order

    @property
    def key(self) -> tuple[str, str, str]:
        return self.service, self.kind, self.name


def touched(action: str, params: Any) -> Touched | None:
    """The resource a cleanup acts on, or None when its params name none (or it is no AWS action)."""
    parts = action.split(".")
    if len(parts) == 3 and parts[0] == "aws":
        service, operation = parts[1], parts[2]
    elif len(parts) == 2:
        service, operation = parts
    else:
        return None
    if not isinstance(params, Mapping):
        return None
    found: list[tuple[str, str]] = []  # (kind, value) of each identifying param
    for key, value in params.items():
        kind = _kind_of(str(key)) if isinstance(value, str) and value else None
        if kind is not None:
            found.append((kind, value))
    if not found:
        return None
    verbs = operation.split("_")
    # `delete_*`, `schedule_*_deletion`, or an action told to delete as well (`delete_bucket: true`).
    removes = (verbs[0] in _REMOVING or (verbs[0] == "schedule" and verbs[-1] == "deletion")
               or any(value is True and str(key).split("_")[0] in _REMOVING for key, value in params.items()))
    noun = " ".join(verbs[1:-1] if verbs[-1] == "deletion" else verbs[1:])
    values = tuple(value for _, value in found)
    if removes:
        match = next((value for kind, value in found if kind and kind == noun), None)
        kind, name = (noun, match) if match is not None else (noun, "/".join(values))
    else:  # a change undone: it belongs to the first thing the params name
        kind, name = found[0][0] or noun, found[0][1]
    return Touched(service, kind or noun, name, " ".join(verbs), removes, values)


def cleanup_phrase(action: str, params: Any) -> str | None:
    """A cleanup line's name: what it does to what ("delete bucket my-bucket"), or None."""
    what = touched(action, params)
    if what is None:
        return None
    named = what.name if what.removes else ", ".join(what.identifiers)
    return f"{what.operation} {named}"


def service_label(service: str) -> str:
    """How AWS names a service in short ("S3", "KMS", "CloudTrail"): botocore's service id."""
    from runner import aws_models

    try:
        return str(aws_models.service_model(service).metadata.get("serviceId") or service.upper())
    except Exception:  # not a botocore service
        return service.upper()


#: A resource's page in the AWS console (the `aws` partition), by service and kind.
_CONSOLE = {
    ("s3", "bucket"): "https://s3.console.aws.amazon.com/s3/buckets/{name}?region={region}",
    ("kms", "key"): "https://{region}.console.aws.amazon.com/kms/home?region={region}#/kms/keys/{name}",
    ("cloudtrail", "trail"): "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}"
                             "#/trails/arn:aws:cloudtrail:{region}:{account}:trail/{name}",
    ("iam", "user"): "https://console.aws.amazon.com/iam/home#/users/details/{name}",
    ("iam", "group"): "https://console.aws.amazon.com/iam/home#/groups/details/{name}",
    ("iam", "role"): "https://console.aws.amazon.com/iam/home#/roles/details/{name}",
    ("iam", "policy"): "https://console.aws.amazon.com/iam/home#/policies/details/{name}",
}


def console_link(service: str, kind: str, name: str, region: str, account: str | None) -> str | None:
    """The resource's page in the AWS console, or None when there is none to give."""
    template = _CONSOLE.get((service, kind))
    if template is None or ("{account}" in template and not account):
        return None
    return template.format(name=urllib.parse.quote(name, safe=""), region=region, account=account)


@dataclass(frozen=True)
class Made:
    """A resource a run made (or changed), and what became of it."""

    service: str
    kind: str
    name: str
    state: str  # "removed", "deletion scheduled", "restored", "left: ..."
    gone: bool  # nothing of it is left to clean up
    link: str | None = None

    @property
    def label(self) -> str:
        return f"{service_label(self.service)} {self.kind}"


def made(entries: Iterable[tuple[str, Any, str]], *, region: str, account: str | None = None,
         links: Callable[[str], bool] | None = None) -> list[Made]:
    """Each resource the cleanups `(action, params, ledger state)` act on, once, in registration order.

    A resource is removed when every cleanup that removes it is `done`; one that only had a change
    undone is `restored`. `links(service)`: whether to give its AWS console page (`Target.on_aws`:
    the service's calls went to AWS itself).
    """
    grouped: dict[tuple[str, str, str], list[tuple[Touched, str]]] = {}
    for action, params, state in entries:
        what = touched(action, params)
        if what is not None:
            grouped.setdefault(what.key, []).append((what, state))
    found = []
    for (service, kind, name), acts in grouped.items():
        removing = [(what, state) for what, state in acts if what.removes]
        deciding = removing or acts
        states = {state for _, state in deciding}
        if states == {"done"}:
            gone = True
            if not removing:
                state = "restored"
            elif any(what.operation.startswith("schedule ") for what, _ in removing):
                state = "deletion scheduled"
            else:
                state = "removed"
        else:
            gone = False
            state = "left: its cleanup failed" if "failed" in states else "left: its cleanup has not run"
        link = console_link(service, kind, name, region, account) if links is not None and links(service) else None
        found.append(Made(service, kind, name, state, gone, link))
    return found
