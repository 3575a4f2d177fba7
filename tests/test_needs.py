"""What a task needs from the tasks before it: the values their steps and checks save that it names."""

from __future__ import annotations

from pathlib import Path

from testkit import lab_from

from runner.needs import Need, needed

LAB = """\
lab: chain
title: A chain of saved values
vars: {name: orders}
tasks:
  - id: topic
    title: Topic
    steps:
      - action: aws.sns.create_topic
        params: {Name: "{{ name }}"}
        save: {topic_arn: TopicArn}
  - id: queue
    title: Queue
    steps:
      - action: aws.sqs.create_queue
        params: {QueueName: "{{ name }}"}
        save: {queue_url: QueueUrl}
    checks:
      - action: aws.sqs.get_queue_url
        params: {QueueName: "{{ name }}"}
        save: {checked_url: QueueUrl}
      - action: aws.sqs.get_queue_attributes
        params: {QueueUrl: "{{ checked_url }}", AttributeNames: [QueueArn]}
        save: {queue_arn: Attributes.QueueArn}
  - id: subscribe
    title: Subscribe
    steps:
      - action: aws.sns.subscribe
        params: {TopicArn: "{{ topic_arn }}", Protocol: sqs, Endpoint: "{{ queue_arn }}"}
        save: {subscription: SubscriptionArn}
  - id: unrelated
    title: Unrelated
    steps:
      - action: aws.sqs.list_queues
  - id: publish
    title: Publish
    steps:
      - action: aws.sns.publish
        params: {TopicArn: "{{ topic_arn }}", Message: "{{ subscription }}"}
"""


def test_a_task_needs_the_tasks_that_save_what_it_names_and_what_they_need(tmp_path: Path) -> None:
    lab = lab_from(tmp_path, LAB)
    assert needed(lab, ("publish",)) == [Need("topic", "topic_arn", "publish"), Need("queue", "queue_arn", "subscribe"),
                                         Need("subscribe", "subscription", "publish")]
    assert needed(lab, ("topic", "publish", "subscribe", "queue")) == []
    assert needed(lab, ("queue",)) == [] and needed(lab, ()) == []
