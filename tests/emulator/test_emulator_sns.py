"""SNS through the emulator: a topic delivers to an SQS queue only when the queue's policy lets it."""

from __future__ import annotations

import json

from emulator_helpers import ACCOUNT, REGION, ClientFactory


def _subscribed_queue(aws: ClientFactory, name: str) -> tuple[str, str, str]:
    """A topic with the queue `name` subscribed to it: (topic ARN, queue URL, queue ARN)."""
    topic = aws("sns").create_topic(Name="lab-topic")["TopicArn"]
    url = aws("sqs").create_queue(QueueName=name)["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, url, queue_arn


def _received(aws: ClientFactory, url: str) -> list[str]:
    messages = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"])["Message"] for m in messages.get("Messages", [])]


def test_a_message_reaches_a_queue_only_if_the_queue_policy_lets_the_topic_send(aws: ClientFactory) -> None:
    topic, url, queue_arn = _subscribed_queue(aws, "lab-queue")
    aws("sns").publish(TopicArn=topic, Message="dropped")
    assert _received(aws, url) == []

    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
    aws("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    aws("sns").publish(TopicArn=topic, Message="delivered")
    assert _received(aws, url) == ["delivered"]

    other = aws("sns").create_topic(Name="other-topic")["TopicArn"]
    aws("sns").subscribe(TopicArn=other, Protocol="sqs", Endpoint=queue_arn)
    aws("sns").publish(TopicArn=other, Message="from another topic")  # the policy names lab-topic only
    assert _received(aws, url) == []
    # The subscriptions themselves are untouched by the refusals.
    assert len(aws("sns").list_subscriptions()["Subscriptions"]) == 2
