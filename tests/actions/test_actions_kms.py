"""kms.key_users and kms.key_administrators: key-policy edits as the console makes them, on stubbed clients;
kms.key_user_history: who was removed from a key's users and added back, from the emulator's event history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from testkit import ACCOUNT, CALLER, StubTarget, fresh_account, services

from runner.actions import kms
from runner.actions.failures import ActionFailed
from runner.emulator import Emulator
from runner.engine.context import Services
from runner.engine.targets import Target

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


# ---- kms.key_user_history, on the emulator's event history


def recent(target: Target) -> Services:
    return services(target, datetime.now(UTC) - timedelta(minutes=5))


def user_policy(account_id: str, users: list[str]) -> str:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*",
         "Resource": "*"}]
    if users:
        statements.append({"Effect": "Allow", "Principal": {"AWS": users}, "Resource": "*",
                           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"]})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_key_user_history_names_who_was_removed_then_added_back(emulator: Emulator) -> None:
    account = fresh_account(emulator, REGION)
    account_id = account.client("sts").get_caller_identity()["Account"]
    alice, bob = (account.client("iam").create_user(UserName=name)["User"]["Arn"] for name in ("alice", "bob"))
    client = account.client("kms")
    key = client.create_key(Policy=user_policy(account_id, [alice, bob]))["KeyMetadata"]
    ctx = recent(account)
    assert kms.key_user_history(ctx, {"key_id": key["Arn"]})["AddedBack"] == []  # created: nothing changed yet

    # Several edits in one second: the event history keeps their order.
    for users in ([bob], [], [alice]):
        client.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=user_policy(account_id, users))
    found = kms.key_user_history(recent(account), {"key_id": key["Arn"]})
    assert [v["Users"] for v in found["Versions"]] == [[bob], [], [alice]]
    assert found["AddedBack"] == [alice]  # bob was removed and never came back
    assert found["Users"] == [alice]

    client.create_alias(AliasName="alias/history", TargetKeyId=key["KeyId"])
    client.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert kms.key_user_history(recent(account), {"key_id": "alias/history"})["AddedBack"] == [alice]


def test_key_user_history_of_a_key_only_ever_narrowed_is_empty(emulator: Emulator) -> None:
    account = fresh_account(emulator, REGION)
    account_id = account.client("sts").get_caller_identity()["Account"]
    alice = account.client("iam").create_user(UserName="alice")["User"]["Arn"]
    client = account.client("kms")
    key = client.create_key(Policy=user_policy(account_id, [alice]))["KeyMetadata"]
    client.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=user_policy(account_id, []))
    found = kms.key_user_history(recent(account), {"key_id": key["Arn"]})
    assert found["AddedBack"] == [] and [v["Users"] for v in found["Versions"]] == [[]]
    assert found["Users"] == []


def test_a_policy_a_record_holds_that_cannot_be_read_names_no_users() -> None:
    deep = "[" * 100_000 + "]" * 100_000  # past Python's parser: a forged record must not crash the check
    assert [kms._policy_users({"requestParameters": {"policy": text}}) for text in (deep, "{", 7)] == [[], [], []]
