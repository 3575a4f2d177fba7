"""kms.key_users and kms.key_administrators: key-policy edits as the console makes them, on stubbed clients."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from testkit import ACCOUNT, CALLER, StubTarget, services

from runner.actions import kms
from runner.actions.failures import ActionFailed

REGION = "us-east-1"


CONSOLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Admins (any name)", "Effect": "Allow", "Principal": {"AWS": [CALLER]},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Put*", "kms:ScheduleKeyDeletion"], "Resource": "*"},
        {"Sid": "Users", "Effect": "Allow", "Principal": {"AWS": CALLER},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"},
        {"Sid": "Grants", "Effect": "Allow", "Principal": {"AWS": CALLER},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ],
}
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"


def stub_policy(target: StubTarget, policy: dict[str, Any], key: str = "k-1") -> Any:
    stub = target.stub("kms")
    stub.add_response("get_key_policy", {"Policy": json.dumps(policy)}, {"KeyId": key, "PolicyName": "default"})
    return stub


def test_lists_recognise_statements_by_what_they_grant(stub_target: StubTarget) -> None:
    stub = stub_target.stub("kms")
    stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "k-1"}}, {"KeyId": "alias/a"})
    stub_policy(stub_target, CONSOLE_POLICY)
    stub_policy(stub_target, CONSOLE_POLICY)
    # IncludesCaller compares with the target's identity (the stub target knows it: no STS call).
    ctx = services(stub_target, datetime.now(UTC))
    assert kms.list_key_administrators(ctx, {"key_id": "alias/a"}) == {
        "KeyId": "k-1", "Principals": [CALLER], "IncludesCaller": True}
    assert kms.list_key_users(ctx, {"key_id": "k-1"})["Principals"] == [CALLER]


def test_adding_a_user_edits_use_and_grant_statements(stub_target: StubTarget) -> None:
    stub = stub_policy(stub_target, CONSOLE_POLICY)
    edited = json.loads(json.dumps(CONSOLE_POLICY))
    edited["Statement"][2]["Principal"]["AWS"] = [CALLER, BOB]
    edited["Statement"][3]["Principal"]["AWS"] = [CALLER, BOB]
    stub.add_response("put_key_policy", {}, {"KeyId": "k-1", "PolicyName": "default", "Policy": json.dumps(edited)})
    result = kms.key_users(services(stub_target, datetime.now(UTC)), {"key_id": "k-1", "add": [BOB]})
    assert result == {"KeyId": "k-1", "Principals": [CALLER, BOB], "Changed": True}


def test_removing_the_last_user_drops_the_statements(stub_target: StubTarget) -> None:
    stub = stub_policy(stub_target, CONSOLE_POLICY)
    edited = json.loads(json.dumps(CONSOLE_POLICY))
    del edited["Statement"][2:]
    stub.add_response("put_key_policy", {}, {"KeyId": "k-1", "PolicyName": "default", "Policy": json.dumps(edited)})
    result = kms.key_users(services(stub_target, datetime.now(UTC)), {"key_id": "k-1", "remove": [CALLER]})
    assert result["Principals"] == [] and result["Changed"] is True


def test_an_admin_statement_is_created_when_missing_and_no_op_edits_write_nothing(stub_target: StubTarget) -> None:
    root_only = {"Version": "2012-10-17", "Statement": [CONSOLE_POLICY["Statement"][0]]}
    stub = stub_policy(stub_target, root_only)
    edited = json.loads(json.dumps(root_only))
    edited["Statement"].append({"Sid": "Allow access for Key Administrators", "Effect": "Allow",
                                "Principal": {"AWS": BOB}, "Action": kms._ADMIN_ACTIONS, "Resource": "*"})
    stub.add_response("put_key_policy", {}, {"KeyId": "k-1", "PolicyName": "default", "Policy": json.dumps(edited)})
    ctx = services(stub_target, datetime.now(UTC))
    assert kms.key_administrators(ctx, {"key_id": "k-1", "add": [BOB]})["Principals"] == [BOB]
    stub_policy(stub_target, CONSOLE_POLICY)  # already an admin: no PutKeyPolicy
    assert kms.key_administrators(ctx, {"key_id": "k-1", "add": [CALLER]})["Changed"] is False


def test_key_policy_errors_are_action_failures(stub_target: StubTarget) -> None:
    stub_target.stub("kms").add_client_error("get_key_policy", "NotFoundException", "no key")
    with pytest.raises(ActionFailed) as error:
        kms.list_key_users(services(stub_target, datetime.now(UTC)), {"key_id": "k-1"})
    assert error.value.code == "NotFoundException"
