"""IAM through the emulator: the policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy), which moto lacks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import ACCOUNT, ClientFactory

USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/lab-student"
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab-reading-*/*"},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::lab-reading-*"},
    ],
}


def _policy(document: dict[str, Any]) -> str:
    return json.dumps(document)


def _student_in_readers(aws: ClientFactory) -> Any:
    """lab-student, a member of lab-readers, which has the customer managed policy LabS3ReadOnly."""
    iam = aws("iam")
    arn = iam.create_policy(PolicyName="LabS3ReadOnly", PolicyDocument=_policy(READ_ONLY))["Policy"]["Arn"]
    iam.create_group(GroupName="lab-readers")
    iam.attach_group_policy(GroupName="lab-readers", PolicyArn=arn)
    iam.create_user(UserName="lab-student")
    iam.add_user_to_group(GroupName="lab-readers", UserName="lab-student")
    return iam


def _decisions(response: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (result["EvalActionName"], specific["EvalResourceName"]): specific["EvalResourceDecision"]
        for result in response["EvaluationResults"]
        for specific in result.get("ResourceSpecificResults", [])
    }


def test_simulate_principal_policy_allows_what_a_group_managed_policy_grants_and_nothing_else(
    aws: ClientFactory,
) -> None:
    iam = _student_in_readers(aws)
    response = iam.simulate_principal_policy(
        PolicySourceArn=USER_ARN,
        ActionNames=["s3:GetObject", "s3:DeleteObject"],
        ResourceArns=["arn:aws:s3:::lab-reading-1/notes.txt", "arn:aws:s3:::other-bucket/notes.txt"],
    )
    assert _decisions(response) == {
        ("s3:GetObject", "arn:aws:s3:::lab-reading-1/notes.txt"): "allowed",
        ("s3:GetObject", "arn:aws:s3:::other-bucket/notes.txt"): "implicitDeny",
        ("s3:DeleteObject", "arn:aws:s3:::lab-reading-1/notes.txt"): "implicitDeny",
        ("s3:DeleteObject", "arn:aws:s3:::other-bucket/notes.txt"): "implicitDeny",
    }
    # One result per action, whose decision is the most restrictive across the resources.
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in response["EvaluationResults"]] == [
        ("s3:GetObject", "implicitDeny"),
        ("s3:DeleteObject", "implicitDeny"),
    ]
    [allowed] = [r for r in response["EvaluationResults"][0]["ResourceSpecificResults"]
                 if r["EvalResourceDecision"] == "allowed"]
    assert allowed["MatchedStatements"] == [{"SourcePolicyId": "LabS3ReadOnly", "SourcePolicyType": "user-managed"}]


def test_simulate_principal_policy_explicit_deny_in_an_inline_policy_wins(aws: ClientFactory) -> None:
    iam = _student_in_readers(aws)
    deny = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::lab-reading-secret/*"}]}
    iam.put_user_policy(UserName="lab-student", PolicyName="no-secrets", PolicyDocument=_policy(deny))
    response = iam.simulate_principal_policy(
        PolicySourceArn=USER_ARN, ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::lab-reading-secret/a"]
    )
    [result] = response["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert result["MatchedStatements"] == [
        {"SourcePolicyId": "user_lab-student_no-secrets", "SourcePolicyType": "user"}
    ]


def test_simulate_principal_policy_without_policies_is_implicitDeny(aws: ClientFactory) -> None:
    iam = aws("iam")
    iam.create_user(UserName="lab-student")
    response = iam.simulate_principal_policy(PolicySourceArn=USER_ARN, ActionNames=["iam:CreateUser"])
    [result] = response["EvaluationResults"]
    assert (result["EvalActionName"], result["EvalResourceName"], result["EvalDecision"]) == (
        "iam:CreateUser", "*", "implicitDeny")


def test_simulate_principal_policy_follows_group_membership_and_detachment(aws: ClientFactory) -> None:
    iam = _student_in_readers(aws)
    ask = {"PolicySourceArn": USER_ARN, "ActionNames": ["s3:ListBucket"],
           "ResourceArns": ["arn:aws:s3:::lab-reading-1"]}
    assert iam.simulate_principal_policy(**ask)["EvaluationResults"][0]["EvalDecision"] == "allowed"
    iam.remove_user_from_group(GroupName="lab-readers", UserName="lab-student")
    assert iam.simulate_principal_policy(**ask)["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    group = {**ask, "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:group/lab-readers"}
    assert iam.simulate_principal_policy(**group)["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_simulate_principal_policy_for_a_role_and_with_PolicyInputList(aws: ClientFactory) -> None:
    iam = aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="lab-role", AssumeRolePolicyDocument=_policy(trust))
    role = f"arn:aws:iam::{ACCOUNT}:role/lab-role"
    response = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject"],
                                             PolicyInputList=[_policy(READ_ONLY)],
                                             ResourceArns=["arn:aws:s3:::lab-reading-1/a"])
    [result] = response["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"] == [{"SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "none"}]


def test_simulate_principal_policy_for_an_unknown_user_is_NoSuchEntity(aws: ClientFactory) -> None:
    with pytest.raises(ClientError) as caught:
        aws("iam").simulate_principal_policy(PolicySourceArn=USER_ARN, ActionNames=["s3:GetObject"])
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_simulate_custom_policy_evaluates_only_the_policies_it_is_given(aws: ClientFactory) -> None:
    # Nothing in the account: the simulator needs no principal, only the documents.
    response = aws("iam").simulate_custom_policy(
        PolicyInputList=[_policy(READ_ONLY)], ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=["arn:aws:s3:::lab-reading-1/notes.txt", "arn:aws:s3:::other-bucket/notes.txt"],
    )
    assert _decisions(response) == {
        ("s3:GetObject", "arn:aws:s3:::lab-reading-1/notes.txt"): "allowed",
        ("s3:GetObject", "arn:aws:s3:::other-bucket/notes.txt"): "implicitDeny",
        ("s3:PutObject", "arn:aws:s3:::lab-reading-1/notes.txt"): "implicitDeny",
        ("s3:PutObject", "arn:aws:s3:::other-bucket/notes.txt"): "implicitDeny",
    }


def test_simulate_custom_policy_without_policies_is_InvalidInput(aws: ClientFactory) -> None:
    with pytest.raises(ClientError) as caught:
        aws("iam").simulate_custom_policy(PolicyInputList=[], ActionNames=["s3:GetObject"])
    assert caught.value.response["Error"]["Code"] == "InvalidInput"
