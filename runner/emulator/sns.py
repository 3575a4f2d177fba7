"""SNS as AWS behaves where moto does not: a message reaches an SQS queue only if the queue's policy lets
the topic send to it; Publish is a data event; and what IAM is asked for a call (`asks`, with the topic's
access policy).
"""

from __future__ import annotations

from typing import Any

from . import sqs
from .access import Ask, asks_on
from .model import Behaviour, Call, Context, Reply, rule
from .policy import Decision, Principal, Request, evaluate

SNS = Principal(service="sns.amazonaws.com")
# CloudTrail logs these as data events (CloudTrail User Guide, "Logging data events": AWS::SNS::Topic).
DATA_EVENTS = frozenset({"Publish", "PublishBatch"})


def find_topic(arn: str) -> Any | None:
    from moto.sns.models import sns_backends

    parts = arn.split(":")
    if len(parts) < 6:
        return None
    return sns_backends[parts[4]][parts[3]].topics.get(":".join(parts[:6]))


def _topic_arn(call: Call) -> str | None:
    params = call.params
    if call.operation == "CreateTopic" and params.get("Name"):
        return f"arn:aws:sns:{call.region}:{call.account_id}:{params['Name']}"
    arn = params.get("TopicArn") or params.get("ResourceArn") or params.get("TargetArn")
    if arn:
        return str(arn)
    subscription = params.get("SubscriptionArn")
    return str(subscription).rsplit(":", 1)[0] if subscription else None


def asks(call: Call) -> list[Ask]:
    """sns:<Operation> on the topic, under its access policy (SNS Developer Guide, "Identity and access
    management in Amazon SNS"); ListTopics and the like on "*"."""
    arn = _topic_arn(call)
    if arn is None:
        return asks_on("sns", call.operation)
    topic = find_topic(arn)
    return asks_on("sns", call.operation, arn, arn.split(":")[4], topic.policy if topic is not None else None)


# --- SNS to SQS ----------------------------------------------------------------------------------


class _Refused:
    """A subscription filter that matches nothing: the way to keep moto from delivering to a queue."""

    def matches(self, attributes: Any, message: Any) -> bool:
        return False


def _queue_allows(topic_arn: str, queue_arn: str) -> bool:
    _, _, _, region, account, name = (queue_arn.split(":") + [""] * 6)[:6]
    queue = sqs.find_queue(region, account, name)
    if queue is None:
        return True  # moto finds no queue either, and delivers nothing
    context = {"aws:SourceArn": topic_arn, "aws:SourceAccount": topic_arn.split(":")[4]}
    decision = evaluate(getattr(queue, "policy", None), SNS, Request("sqs:SendMessage", queue_arn, context))
    return decision is Decision.ALLOW


def _hold_refused(call: Call, context: Context) -> None:
    topic = find_topic(str(call.params.get("TopicArn") or ""))
    if topic is None:
        return None
    refused = [
        s for s in list(topic.sns_backend.subscriptions.values())
        if s.topic is topic and s.protocol == "sqs" and not _queue_allows(topic.arn, s.endpoint)
    ]
    context.notes["sns-refused"] = [(s, s._filter_policy_matcher) for s in refused]
    for subscription in refused:
        subscription._filter_policy_matcher = _Refused()
    return None


def _release_refused(call: Call, reply: Reply, context: Context) -> None:
    for subscription, matcher in context.notes.pop("sns-refused", []):
        subscription._filter_policy_matcher = matcher
    return None


def _resources(call: Call, reply: Reply) -> list[dict[str, str]]:
    arn = _topic_arn(call)
    return [] if arn is None else [{"accountId": arn.split(":")[4], "type": "AWS::SNS::Topic", "ARN": arn}]


def _accounts(call: Call) -> set[str]:
    """The accounts of the queues a Publish may deliver to: its topic's SQS subscriptions' (`_queue_allows`
    reads their policies)."""
    topic = find_topic(str(call.params.get("TopicArn") or "")) if call.operation in DATA_EVENTS else None
    if topic is None:
        return set()
    endpoints = [s.endpoint for s in list(topic.sns_backend.subscriptions.values())
                 if s.topic is topic and s.protocol == "sqs"]
    return {(str(e).split(":") + [""] * 5)[4] for e in endpoints} - {""}


BEHAVIOUR = Behaviour(
    service="sns",
    accounts=_accounts,
    rules=(
        rule(
            "SNS delivers to an SQS queue only if the queue's access policy lets sns.amazonaws.com "
            "sqs:SendMessage (for this topic's aws:SourceArn); otherwise the message is dropped (SNS Developer "
            "Guide, \"Subscribing an Amazon SQS queue to an Amazon SNS topic\")",
            "Publish",
            "PublishBatch",
            before=_hold_refused,
            after=_release_refused,
            after_errors=True,
        ),
    ),
    data_events=DATA_EVENTS,
    resources=_resources,
)
