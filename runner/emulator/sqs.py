"""SQS as CloudTrail and IAM see it: which calls are data events, and what IAM is asked for a call
(`asks`, with the queue's access policy). The queue policy also decides SNS deliveries (`sns.py`).
"""

from __future__ import annotations

from typing import Any

from .access import Ask, asks_on
from .model import Behaviour, Call, Reply

# CloudTrail logs these as data events (CloudTrail User Guide, "Logging data events": AWS::SQS::Queue).
DATA_EVENTS = frozenset({
    "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
    "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
})


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def find_queue(region: str, account: str, name: str) -> Any | None:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account][region].queues.get(name)


def _named(call: Call) -> tuple[str, str] | None:
    """The account and name of the queue a call names, by QueueUrl (`.../ACCOUNT/NAME`) or QueueName."""
    url = call.params.get("QueueUrl")
    if url:
        parts = str(url).rstrip("/").split("/")
        return (parts[-2], parts[-1]) if len(parts) >= 2 and parts[-2].isdigit() else None
    name = call.params.get("QueueName")
    if name:
        return str(call.params.get("QueueOwnerAWSAccountId") or call.account_id), str(name)
    return None


def asks(call: Call) -> list[Ask]:
    """sqs:<Operation> on the queue, under its access policy (SQS Developer Guide, "Identity and access
    management in Amazon SQS"); ListQueues and the like on "*"."""
    named = _named(call)
    if named is None:
        return asks_on("sqs", call.operation)
    account, name = named
    policy = getattr(find_queue(call.region, account, name), "policy", None) or None
    return asks_on("sqs", call.operation, queue_arn(call.region, account, name), account, policy)


def _resources(call: Call, reply: Reply) -> list[dict[str, str]]:
    named = _named(call)
    if named is None:
        return []
    account, name = named
    return [{"accountId": account, "type": "AWS::SQS::Queue", "ARN": queue_arn(call.region, account, name)}]


BEHAVIOUR = Behaviour(service="sqs", data_events=DATA_EVENTS, resources=_resources)
