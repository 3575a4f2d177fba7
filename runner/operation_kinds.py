"""What an AWS operation does to an account: it only reads it, it changes it in a way that is safe to
repeat, or it changes it.

A leaf module: `aws_models` reads the facts from botocore's service models (`Facts`) and asks `decide`.
Everything that cares asks it, through `aws_models` or the registry, and gets the same answer: the
validator (checks must only read; a step retries without `retry.on` only when its action is safe to
repeat), the engine (which failed attempts it repeats), grading's read-only guard (which calls may leave
the process) and the grader policy (which actions its role is given: those of read-only checks).

The decision, first match wins:
1. `RULES`, a short reviewed table: each entry an AWS fact in a sentence, the operations it covers and
   what they are, where the model or the name would say otherwise;
2. botocore's `readonly` flag, the model's own documentation that an operation only reads;
3. a GET or HEAD in a REST protocol: HTTP's safe methods only read;
4. the name's verb: `Get`, `Describe`, `List`, `Head`, `Lookup` (the lab format's rule), and `BatchGet`,
   `Search`, `Query`, `Scan`, `Select`, the verbs AWS gives reads of many items;
5. anything else changes the account, and is repeated only on the error codes a step's `retry.on` names.

botocore's `idempotent` flag is not taken to mean "safe to repeat until the expectations hold": CloudTrail's
CreateTrail has it, and a second call only fails with TrailAlreadyExistsException. Changes worth polling
(SQS ReceiveMessage) are in the table.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Kind(enum.Enum):
    READ = "read-only"
    REPEATABLE = "safe to repeat"
    CHANGE = "changes the account"

    @property
    def read_only(self) -> bool:
        """Only reads the account: fit for checks and grading."""
        return self is Kind.READ

    @property
    def repeatable(self) -> bool:
        """May be repeated until a step's expectations hold, with no error codes named."""
        return self is not Kind.CHANGE


@dataclass(frozen=True)
class Facts:
    """What botocore's model says of one operation."""

    service: str  # botocore's service name: `dynamodb`
    operation: str  # its CamelCase operation name: `Query`
    method: str = "POST"  # the HTTP method
    protocol: str = "json"  # the service's protocol: json, query, ec2, rest-json, rest-xml
    readonly: bool = False  # the model's `readonly` flag

    @classmethod
    def of(cls, service: str, protocol: str, operation: str, entry: Mapping[str, Any]) -> Facts:
        """The facts of one entry of a service model's `operations` (botocore's `service-2.json`)."""
        return cls(service, operation, method=str(entry.get("http", {}).get("method", "POST")), protocol=protocol,
                   readonly=bool(entry.get("readonly")))


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    why: str  # the rule that decided, in words


@dataclass(frozen=True)
class Rule:
    aws: str  # the AWS fact the entry rests on, as a sentence
    service: str
    operations: frozenset[str]
    kind: Kind


def rule(aws: str, service: str, *operations: str, kind: Kind) -> Rule:
    return Rule(aws, service, frozenset(operations), kind)


#: The reviewed exceptions. Everything else follows from botocore's model and the operation's name.
RULES: tuple[Rule, ...] = (
    rule("DynamoDB TransactGetItems reads up to 100 items in one all-or-nothing read and changes nothing",
         "dynamodb", "TransactGetItems", kind=Kind.READ),
    rule("the IAM policy simulator evaluates policies; it does not perform the API operations it evaluates",
         "iam", "SimulatePrincipalPolicy", "SimulateCustomPolicy", kind=Kind.READ),
    rule("STS DecodeAuthorizationMessage decodes the reason an earlier request was denied",
         "sts", "DecodeAuthorizationMessage", kind=Kind.READ),
    rule("CloudWatch Logs FilterLogEvents reads the events of a log group that match a pattern",
         "logs", "FilterLogEvents", kind=Kind.READ),
    rule("SQS ReceiveMessage is how a consumer polls a queue: it hides the messages it returns for the "
         "visibility timeout and counts the receive (a queue's redrive policy acts on that count), so it is "
         "not read-only; repeating it is how a consumer waits for a message",
         "sqs", "ReceiveMessage", kind=Kind.REPEATABLE),
    rule("KMS's cryptographic operations use a key without changing it (CloudTrail records them readOnly), so "
         "repeating one is harmless; they are not read-only here, because they reveal or make data with a "
         "student's key, which a grader has no business doing",
         "kms", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
         "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "Sign", "Verify",
         "GenerateRandom", "DeriveSharedSecret", kind=Kind.REPEATABLE),
    rule("Cognito GetId and GetOpenIdTokenForDeveloperIdentity create the identity they return when it does "
         "not exist yet (and link the logins they are given)",
         "cognito-identity", "GetId", "GetOpenIdTokenForDeveloperIdentity", kind=Kind.CHANGE),
    rule("IVS StartViewerSessionRevocation and its batch form end viewers' sessions, although botocore's model "
         "flags them readonly", "ivs", "StartViewerSessionRevocation", "BatchStartViewerSessionRevocation",
         kind=Kind.CHANGE),
    rule("IoT ConfirmTopicRuleDestination is a GET that confirms a topic rule destination",
         "iot", "ConfirmTopicRuleDestination", kind=Kind.CHANGE),
    rule("S3 CreateSession is a GET that creates a session, with credentials, for a directory bucket",
         "s3", "CreateSession", kind=Kind.CHANGE),
)

_TABLE: Mapping[tuple[str, str], Rule] = {(r.service, op): r for r in RULES for op in r.operations}

#: Verbs that only read: the lab format's five, then how AWS names reads of many items.
READ_VERBS = ("Get", "Describe", "List", "Head", "Lookup", "BatchGet", "Search", "Query", "Scan", "Select")
_READ_VERB = re.compile(rf"^(?:{'|'.join(READ_VERBS)})(?:[A-Z0-9]|$)")
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def decide(facts: Facts) -> Verdict:
    """What `facts`' operation does to an account, and which rule says so."""
    entry = _TABLE.get((facts.service, facts.operation))
    if entry is not None:
        return Verdict(entry.kind, entry.aws)
    if facts.readonly:
        return Verdict(Kind.READ, "botocore's model flags it readonly")
    if facts.protocol.startswith("rest") and facts.method in _SAFE_METHODS:
        return Verdict(Kind.READ, f"it is an HTTP {facts.method}, which only reads")
    if _READ_VERB.match(facts.operation):
        return Verdict(Kind.READ, "its verb reads (" + ", ".join(READ_VERBS) + ")")
    return Verdict(Kind.CHANGE, "it changes the account")
