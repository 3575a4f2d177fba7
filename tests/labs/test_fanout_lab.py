"""The SNS and SQS fan-out lab end to end on the embedded emulator: its run, what reached the queues,
and that without the queues' access policy nothing does, as on AWS.

Its grader (untouched account, reference, each task left out, its alternatives and mistakes) is held by
`labrunner verify labs/*.yaml` in CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import drop_steps, run, statuses, task, variant

from runner.emulator import Emulator

LAB = Path(__file__).resolve().parents[2] / "labs" / "sns-sqs-fanout.yaml"
REGION = "us-west-2"
TASKS = ("create-topic", "create-queues", "allow-topic", "subscribe", "clean-up")

pytestmark = pytest.mark.e2e


def test_the_lab_passes_each_queue_gets_the_order_and_nothing_is_left(
        emu: Emulator, tmp_path: Path, aws: Callable[..., Any]) -> None:
    code, record, output = run([str(LAB), "--target", emu.endpoint, "--region", REGION], tmp_path)
    assert code == 0, output
    assert statuses(record) == dict.fromkeys(TASKS, "passed") and record["score"] == 100
    received = [s for s in task(record, "subscribe")["steps"] if s["id"].startswith("receive-order")]
    assert [s["title"] for s in received] == ["Receive the order from orders-billing",
                                              "Receive the order from orders-shipping"]
    for step in received:
        envelope = json.loads(step["result"]["Messages"][0]["Body"])
        assert envelope["Type"] == "Notification" and json.loads(envelope["Message"])["order"] == 1001
    assert aws("sqs").list_queues().get("QueueUrls", []) == []
    assert aws("sns").list_topics()["Topics"] == []


def test_without_the_queue_policy_the_topic_delivers_nothing(emu: Emulator, tmp_path: Path) -> None:
    lab = variant(LAB, tmp_path, drop_steps("queue-policy"))
    code, record, _ = run([str(lab), "--target", emu.endpoint, "--region", REGION, "--keep-going"], tmp_path)
    assert code == 1
    assert statuses(record) == {"create-topic": "passed", "create-queues": "passed", "allow-topic": "failed",
                                "subscribe": "failed", "clean-up": "passed"}
    failed = next(s for s in task(record, "subscribe")["steps"] if s["status"] == "failed")
    assert failed["id"] == "receive-order[0]"
