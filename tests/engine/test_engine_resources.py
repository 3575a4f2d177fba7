"""What a run made, named from the cleanups that remove it: every lab's cleanups name a resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.engine.resources import cleanup_phrase, console_link, made, touched
from runner.model import Step
from runner.validate import load_lab

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted([*(ROOT / "labs").glob("*.yaml"), *(ROOT / "tests" / "data" / "labs").glob("*.yaml"),
               *(ROOT / "tests" / "reliability" / "labs").glob("*.yaml")])


def registered_cleanups(path: Path) -> list[Step]:
    lab = load_lab(path)
    steps = [step for task in lab.tasks for step in task.steps]
    return [step.cleanup for step in steps if step.cleanup is not None]


@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_every_cleanup_a_lab_registers_names_what_it_acts_on(path: Path) -> None:
    for cleanup in registered_cleanups(path):
        assert touched(cleanup.action, cleanup.params) is not None, f"{path.name}: {cleanup.action} {cleanup.params}"


@pytest.mark.parametrize(("action", "params", "kind", "name", "removes", "phrase"), [
    # The parameter whose kind the operation names.
    ("aws.kms.schedule_key_deletion", {"KeyId": "k-1", "PendingWindowInDays": 7}, "key", "k-1", True,
     "schedule key deletion k-1"),
    ("aws.kms.delete_alias", {"AliasName": "alias/a"}, "alias", "alias/a", True, "delete alias alias/a"),
    ("aws.iam.delete_access_key", {"UserName": "u", "AccessKeyId": "AKIA1"}, "access key", "AKIA1", True,
     "delete access key AKIA1"),
    ("s3.empty_bucket", {"bucket": "b"}, "bucket", "b", False, "empty bucket b"),
    ("s3.empty_bucket", {"bucket": "b", "delete_bucket": True}, "bucket", "b", True, "empty bucket b"),
    # Else the operation's noun, and every identifying value.
    ("aws.cloudtrail.delete_trail", {"Name": "t"}, "trail", "t", True, "delete trail t"),
    ("aws.sqs.delete_queue", {"QueueUrl": "http://q/1/orders"}, "queue", "http://q/1/orders", True,
     "delete queue http://q/1/orders"),
    ("aws.s3.delete_object", {"Bucket": "b", "Key": "k.txt"}, "object", "b/k.txt", True, "delete object b/k.txt"),
    # A change undone belongs to the first thing its params name.
    ("aws.s3.put_public_access_block", {"Bucket": "b", "PublicAccessBlockConfiguration": {}}, "bucket", "b",
     False, "put public access block b"),
    ("aws.iam.detach_group_policy", {"GroupName": "g", "PolicyArn": "arn:aws:iam::aws:policy/P"}, "group", "g",
     False, "detach group policy g, arn:aws:iam::aws:policy/P"),
])
def test_a_cleanup_names_its_resource(action: str, params: dict[str, Any], kind: str, name: str, removes: bool,
                                      phrase: str) -> None:
    what = touched(action, params)
    assert what is not None and (what.kind, what.name, what.removes) == (kind, name, removes)
    assert cleanup_phrase(action, params) == phrase


@pytest.mark.parametrize(("action", "params"), [
    ("aws.sts.get_caller_identity", {}), ("aws.s3.delete_bucket", {"Bucket": ""}), ("http.request", "x"),
    ("nodots", {"Name": "n"}), ("aws.s3.put_bucket_policy", {"Policy": "{}"}),
])
def test_a_cleanup_that_names_nothing_names_no_resource(action: str, params: Any) -> None:
    assert touched(action, params) is None and cleanup_phrase(action, params) is None


def test_made_lists_each_resource_once_with_what_became_of_it() -> None:
    found = made([
        ("aws.kms.schedule_key_deletion", {"KeyId": "k-1"}, "done"),
        ("aws.s3.delete_bucket", {"Bucket": "b"}, "done"),
        ("aws.s3.put_public_access_block", {"Bucket": "b"}, "failed"),  # the bucket is gone all the same
        ("s3.empty_bucket", {"bucket": "b"}, "done"),
        ("aws.cloudtrail.delete_trail", {"Name": "t"}, "failed"),
        ("aws.iam.delete_user", {"UserName": "u"}, "pending"),
        ("aws.s3.put_bucket_versioning", {"Bucket": "theirs"}, "done"),  # only changed, and changed back
    ], region="us-west-2")
    assert [(m.label, m.name, m.state, m.gone) for m in found] == [
        ("KMS key", "k-1", "deletion scheduled", True),
        ("S3 bucket", "b", "removed", True),
        ("CloudTrail trail", "t", "left: its cleanup failed", False),
        ("IAM user", "u", "left: its cleanup has not run", False),
        ("S3 bucket", "theirs", "restored", True),
    ]
    assert all(m.link is None for m in found)


def test_links_only_where_asked_and_known() -> None:
    found = made([("aws.s3.delete_bucket", {"Bucket": "b"}, "done"),
                  ("aws.kms.delete_alias", {"AliasName": "a"}, "done"),
                  ("aws.iam.delete_policy", {"PolicyArn": "arn:aws:iam::1:policy/p"}, "done")],
                 region="eu-west-3", account="1", links=lambda service: service != "kms")
    assert [m.link for m in found] == [
        "https://s3.console.aws.amazon.com/s3/buckets/b?region=eu-west-3", None,
        "https://console.aws.amazon.com/iam/home#/policies/details/arn%3Aaws%3Aiam%3A%3A1%3Apolicy%2Fp"]
    assert console_link("cloudtrail", "trail", "t", "us-east-1", None) is None  # its page needs the account
    assert console_link("cloudtrail", "trail", "t", "us-east-1", "1") == (
        "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/trails/"
        "arn:aws:cloudtrail:us-east-1:1:trail/t")
