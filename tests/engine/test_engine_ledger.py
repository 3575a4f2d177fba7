"""The ledger: a registered cleanup kept as a rendered step, read back into one that runs, in order."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from engine_helpers import make_record

from runner import registry
from runner.engine.ledger import describe_entries, entry_for, ledger_of, pending, prepared_from
from runner.engine.record_json import json_text
from runner.model import Location, Retry

ENTRY: dict[str, Any] = {
    "seq": 4, "key": "make.cleanup", "action": "aws.s3.put_bucket_policy",
    "params": {"Bucket": "b1", "Policy": {"Version": "2012-10-17", "Statement": []}},
    "registered_by": "make", "task": "storage", "location": "labs/l.yaml:12:9", "id": "unpolicy",
    "title": "Drop the policy", "ignore_errors": ["NoSuchBucket"], "expect_error": [],
    "retry": {"timeout": 30.0, "interval": 2.0, "backoff": 1.5, "max_interval": 10.0, "on": ["Busy"]},
    "state": "failed",
}


def test_an_entry_read_back_is_the_cleanup_it_recorded() -> None:
    prepared = prepared_from(ENTRY)
    step = prepared.step
    assert (step.key, step.section, step.task_id, step.action) == ("make.cleanup", "cleanup", "storage",
                                                                  "aws.s3.put_bucket_policy")
    assert step.location == Location("labs/l.yaml", 12, 9) and step.ignore_errors == ("NoSuchBucket",)
    assert step.retry == Retry(timeout=30.0, interval=2.0, backoff=1.5, max_interval=10.0, on=("Busy",))
    assert prepared.registered_by == "make" and prepared.params == ENTRY["params"]
    # botocore takes a policy as text: the compact JSON the CLI sends, as when the run called it
    assert prepared.call_params["Policy"] == '{"Version":"2012-10-17","Statement":[]}'
    again = json.loads(json_text(dataclasses.asdict(entry_for(4, prepared, "failed"))))
    assert again == ENTRY


def test_an_entry_without_a_usable_location_points_at_the_lab() -> None:
    entry = {**ENTRY, "location": "", "retry": None}
    step = prepared_from(entry, "labs/kms.yaml").step
    assert step.location == Location("labs/kms.yaml", 1, 1) and step.retry is None


def test_an_entry_whose_action_no_longer_exists_is_refused() -> None:
    with pytest.raises(registry.UnknownAction):
        prepared_from({**ENTRY, "action": "aws.s3.delete_bukket"})


def test_the_ledger_lists_what_can_be_replayed_numbered_by_registration() -> None:
    first, third = prepared_from({**ENTRY, "key": "a.cleanup"}), prepared_from({**ENTRY, "key": "c.cleanup"})
    skipped = make_record().tasks[0].checks[0]  # a cleanup skipped by its `when`: nothing to replay
    ledger = ledger_of([(first, None), (skipped, None), (third, None)], {id(third): "done"})
    assert [(e.seq, e.key, e.state) for e in ledger] == [(0, "a.cleanup", "pending"), (2, "c.cleanup", "done")]


def test_pending_entries_come_newest_first() -> None:
    ledger = [{"seq": 0, "state": "pending"}, {"seq": 3, "state": "done"}, "not an entry",
              {"seq": 2, "state": "failed"}, {"seq": 1, "state": "pending"}, {"state": "pending"}]
    assert pending({"ledger": ledger}) == [3, 4, 0, 5]
    assert pending({}) == [] and pending({"ledger": None}) == []


def test_an_entry_is_described_by_what_it_does_to_what() -> None:
    lines = describe_entries([ENTRY, {"action": "aws.kms.schedule_key_deletion",
                                      "params": {"KeyId": "k-1", "PendingWindowInDays": 7}, "registered_by": None},
                              {"key": "odd.cleanup", "action": "aws.sts.get_caller_identity", "params": {}}])
    assert lines == ["put bucket policy b1 (aws.s3.put_bucket_policy)",
                     "schedule key deletion k-1 (aws.kms.schedule_key_deletion)",
                     "odd.cleanup (aws.sts.get_caller_identity)"]
