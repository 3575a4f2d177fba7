"""IAM enforced through the emulator, as AWS's policy evaluation logic decides: identity policies of users,
groups and roles (inline, customer managed, AWS managed), resource policies, trust policies, permissions
boundaries, session policies, explicit deny over allow, and both sides across accounts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import (
    ACCOUNT,
    ClientFactory,
    allow,
    credentials_of,
    make_role,
    make_user,
    session,
    trust,
)

OTHER = "210987654321"  # a second account: its root user signs with the access key "210987654321"


def _error(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def _code(call: Callable[[], Any]) -> str:
    return _error(call)[0]


def _deny(*actions: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": list(actions), "Resource": "*"}]}


def test_a_user_without_policies_may_do_nothing_and_each_service_says_so_its_own_way(aws: ClientFactory) -> None:
    arn, as_bob = make_user(aws, "bob")
    assert _error(lambda: as_bob("s3").list_buckets()) == (
        "AccessDenied", 403,
        f"User: {arn} is not authorized to perform: s3:ListAllMyBuckets because no identity-based policy allows "
        "the s3:ListAllMyBuckets action")
    code, status, message = _error(lambda: as_bob("kms").create_key())
    assert (code, status) == ("AccessDeniedException", 400)
    assert message.endswith("because no identity-based policy allows the kms:CreateKey action")
    assert _error(lambda: as_bob("iam").list_users())[:2] == ("AccessDenied", 403)
    assert _error(lambda: as_bob("cloudtrail").describe_trails())[:2] == ("AccessDeniedException", 400)
    assert _error(lambda: as_bob("dynamodb").list_tables())[:2] == ("AccessDeniedException", 400)
    assert _error(lambda: as_bob("sns").list_topics())[:2] == ("AuthorizationError", 403)
    assert _error(lambda: as_bob("sqs").list_queues())[0] == "AccessDenied"
    # Who am I needs no permission, even against an explicit deny (STS API Reference, GetCallerIdentity).
    aws("iam").put_user_policy(UserName="bob", PolicyName="deny", PolicyDocument=json.dumps(_deny("*")))
    assert as_bob("sts").get_caller_identity()["Arn"] == arn


def test_group_and_managed_policies_grant_and_detaching_takes_the_grant_away(aws: ClientFactory) -> None:
    iam = aws("iam")
    _, as_ann = make_user(aws, "ann")
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="ann")
    aws("s3").create_bucket(Bucket="lab-data")
    policy = iam.create_policy(PolicyName="ListData", PolicyDocument=json.dumps(
        allow("s3:ListBucket", resource="arn:aws:s3:::lab-data")))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy)
    assert as_ann("s3").list_objects_v2(Bucket="lab-data")["KeyCount"] == 0
    assert _code(lambda: as_ann("s3").list_objects_v2(Bucket="lab-other")) == "AccessDenied"  # another resource
    assert _code(lambda: as_ann("s3").put_object(Bucket="lab-data", Key="k", Body=b"x")) == "AccessDenied"
    iam.detach_group_policy(GroupName="readers", PolicyArn=policy)
    assert _code(lambda: as_ann("s3").list_objects_v2(Bucket="lab-data")) == "AccessDenied"


def test_aws_managed_policies_exist_and_grant_what_they_say(aws: ClientFactory) -> None:
    iam = aws("iam")
    for name in ("ReadOnlyAccess", "AdministratorAccess", "SecurityAudit", "job-function/ViewOnlyAccess",
                 "PowerUserAccess"):
        arn = f"arn:aws:iam::aws:policy/{name}"
        assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS")
    names = {p["PolicyName"] for page in pages for p in page["Policies"]}
    assert {"AmazonS3ReadOnlyAccess", "AWSKeyManagementServicePowerUser", "IAMReadOnlyAccess"} <= names
    _, as_reader = make_user(aws, "reader")
    iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    aws("s3").create_bucket(Bucket="lab-data")
    assert [b["Name"] for b in as_reader("s3").list_buckets()["Buckets"]] == ["lab-data"]
    assert as_reader("kms").list_keys()["Keys"] == []
    assert _code(lambda: as_reader("s3").create_bucket(Bucket="lab-more")) == "AccessDenied"
    assert _code(lambda: as_reader("kms").create_key()) == "AccessDeniedException"


def test_an_explicit_deny_wins_over_AdministratorAccess(aws: ClientFactory) -> None:
    _, as_admin = make_user(aws, "admin", _deny("s3:DeleteBucket"))
    aws("iam").attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    as_admin("s3").create_bucket(Bucket="lab-keep")
    code, _, message = _error(lambda: as_admin("s3").delete_bucket(Bucket="lab-keep"))
    assert code == "AccessDenied" and message.endswith("with an explicit deny in an identity-based policy")


def test_a_bucket_policy_grants_a_user_of_the_account_and_its_deny_stops_even_an_administrator(
    aws: ClientFactory,
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-shared")
    s3.put_object(Bucket="lab-shared", Key="notes.txt", Body=b"hello")
    carol, as_carol = make_user(aws, "carol")
    _, as_admin = make_user(aws, "admin", allow("s3:*"))
    s3.put_bucket_policy(Bucket="lab-shared", Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": carol}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::lab-shared/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::lab-shared/*"},
    ]}))
    # Within one account a resource policy naming the user is enough (IAM User Guide, policy evaluation logic).
    assert as_carol("s3").get_object(Bucket="lab-shared", Key="notes.txt")["Body"].read() == b"hello"
    code, _, message = _error(lambda: as_admin("s3").delete_object(Bucket="lab-shared", Key="notes.txt"))
    assert code == "AccessDenied" and message.endswith("with an explicit deny in a resource-based policy")
    # The account root too; but the owner may always change the policy that locks it out.
    assert _code(lambda: s3.delete_object(Bucket="lab-shared", Key="notes.txt")) == "AccessDenied"
    s3.delete_bucket_policy(Bucket="lab-shared")
    s3.delete_object(Bucket="lab-shared", Key="notes.txt")


def test_across_accounts_both_the_identity_policy_and_the_resource_policy_must_allow(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-cross")
    s3.put_object(Bucket="lab-cross", Key="a.txt", Body=b"a")
    other_root: dict[str, Any] = {"aws_access_key_id": OTHER}
    other_iam = aws("iam", **other_root)
    other_iam.create_user(UserName="dave")
    other_iam.put_user_policy(UserName="dave", PolicyName="read", PolicyDocument=json.dumps(allow("s3:GetObject")))
    dave = credentials_of(other_iam.create_access_key(UserName="dave")["AccessKey"])
    other_iam.create_user(UserName="erin")  # no identity policy
    erin = credentials_of(other_iam.create_access_key(UserName="erin")["AccessKey"])

    get = {"Bucket": "lab-cross", "Key": "a.txt"}
    code, _, message = _error(lambda: aws("s3", **dave).get_object(**get))
    assert code == "AccessDenied"
    assert message.endswith("because no resource-based policy allows the s3:GetObject action")
    s3.put_bucket_policy(Bucket="lab-cross", Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::lab-cross/*"}]}))
    assert aws("s3", **dave).get_object(**get)["Body"].read() == b"a"
    assert aws("s3", **other_root).get_object(**get)["Body"].read() == b"a"  # the other account's root
    assert _code(lambda: aws("s3", **erin).get_object(**get)) == "AccessDenied"  # its IAM policy must allow too


def test_assume_role_needs_a_role_that_exists_and_trusts_the_caller(aws: ClientFactory) -> None:
    sts = aws("sts")
    missing = f"arn:aws:iam::{ACCOUNT}:role/nobody"
    assert _error(lambda: sts.assume_role(RoleArn=missing, RoleSessionName="s1")) == (
        "AccessDenied", 403,
        f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: sts:AssumeRole on resource: {missing}")
    frank, as_frank = make_user(aws, "frank")
    gina, as_gina = make_user(aws, "gina", allow("sts:AssumeRole"))
    only_frank = make_role(aws, "only-frank", trusted=(frank,))
    assert _code(lambda: sts.assume_role(RoleArn=only_frank, RoleSessionName="s1")) == "AccessDenied"
    assert _code(lambda: as_gina("sts").assume_role(RoleArn=only_frank, RoleSessionName="s1")) == "AccessDenied"
    # Named by the trust policy itself, frank needs no permission of his own (same account).
    assert as_frank("sts").assume_role(RoleArn=only_frank, RoleSessionName="s1")["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/only-frank/s1")
    # A trust policy naming the account delegates to IAM: gina's policy allows it, frank's does not.
    account_role = make_role(aws, "any-in-account")
    as_gina("sts").assume_role(RoleArn=account_role, RoleSessionName="s1")
    assert _code(lambda: as_frank("sts").assume_role(RoleArn=account_role, RoleSessionName="s1")) == "AccessDenied"
    assert gina


def test_a_role_session_has_its_role_policies_within_its_boundary_and_session_policy(aws: ClientFactory) -> None:
    role = make_role(aws, "app", allow("s3:*", "kms:*"))
    aws("s3").create_bucket(Bucket="lab-app")
    as_app = session(aws, role)
    assert as_app("s3").list_objects_v2(Bucket="lab-app")["KeyCount"] == 0
    as_app("kms").list_keys()
    # A permissions boundary caps the role's policies.
    aws("iam").create_policy(PolicyName="S3Only", PolicyDocument=json.dumps(allow("s3:*")))
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/S3Only"
    aws("iam").put_role_permissions_boundary(RoleName="app", PermissionsBoundary=boundary)
    code, _, message = _error(lambda: as_app("kms").list_keys())
    assert code == "AccessDeniedException"
    assert message.endswith("because no permissions boundary allows the kms:ListKeys action")
    # A session policy caps the session.
    reply = aws("sts").assume_role(RoleArn=role, RoleSessionName="narrow",
                                   Policy=json.dumps(allow("s3:ListAllMyBuckets")))
    narrow = credentials_of(reply["Credentials"])
    aws("s3", **narrow).list_buckets()
    assert _code(lambda: aws("s3", **narrow).list_objects_v2(Bucket="lab-app")) == "AccessDenied"


def test_queue_and_topic_policies_are_resource_policies(aws: ClientFactory) -> None:
    hal, as_hal = make_user(aws, "hal")
    url = aws("sqs").create_queue(QueueName="lab-queue")["QueueUrl"]
    assert _code(lambda: as_hal("sqs").send_message(QueueUrl=url, MessageBody="x")) == "AccessDenied"
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:lab-queue"
    aws("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": hal}, "Action": "sqs:SendMessage", "Resource": queue_arn}]})})
    as_hal("sqs").send_message(QueueUrl=url, MessageBody="x")

    topic = aws("sns").create_topic(Name="lab-topic")["TopicArn"]
    # The default topic policy lets the account's own principals only through IAM.
    assert _code(lambda: as_hal("sns").publish(TopicArn=topic, Message="x")) == "AuthorizationError"
    aws("sns").add_permission(TopicArn=topic, Label="hal", AWSAccountId=[ACCOUNT], ActionName=["Publish"])
    aws("iam").put_user_policy(UserName="hal", PolicyName="sns", PolicyDocument=json.dumps(allow("sns:Publish")))
    as_hal("sns").publish(TopicArn=topic, Message="x")


def test_dynamodb_policies_name_tables(aws: ClientFactory) -> None:
    dynamodb = aws("dynamodb")
    for name in ("lab-open", "lab-closed"):
        dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
    open_table = f"arn:aws:dynamodb:*:{ACCOUNT}:table/lab-open"
    _, as_ivy = make_user(aws, "ivy", allow("dynamodb:PutItem", resource=open_table))
    as_ivy("dynamodb").put_item(TableName="lab-open", Item={"id": {"S": "1"}})
    code, _, message = _error(lambda: as_ivy("dynamodb").put_item(TableName="lab-closed", Item={"id": {"S": "1"}}))
    assert code == "AccessDeniedException"
    assert f"on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/lab-closed" in message


def test_a_12_digit_access_key_is_the_root_user_of_that_account(aws: ClientFactory) -> None:
    identity = aws("sts", aws_access_key_id=OTHER).get_caller_identity()
    assert (identity["Account"], identity["Arn"]) == (OTHER, f"arn:aws:iam::{OTHER}:root")
    aws("s3", aws_access_key_id=OTHER).create_bucket(Bucket="lab-other-account")
    assert aws("s3", aws_access_key_id=OTHER).list_buckets()["Buckets"][0]["Name"] == "lab-other-account"
    assert aws("s3").list_buckets()["Buckets"] == []


def test_temporary_credentials_stop_working_when_they_expire(aws: ClientFactory) -> None:
    from moto.sts.models import sts_backends

    as_app = session(aws, make_role(aws, "app", allow("s3:*")))
    as_app("s3").list_buckets()
    for assumed in sts_backends[ACCOUNT]["aws"].assumed_roles:  # an hour passes
        assumed.expiration = datetime.now(UTC) - timedelta(seconds=1)
    assert _error(lambda: as_app("s3").list_buckets())[:2] == ("ExpiredToken", 400)
    assert _error(lambda: as_app("sts").get_caller_identity())[:2] == ("ExpiredToken", 403)
    assert _error(lambda: as_app("kms").list_keys())[:2] == ("ExpiredTokenException", 400)


def test_trust_policies_must_be_json_with_principals_that_exist(aws: ClientFactory) -> None:
    iam = aws("iam")
    assert _error(lambda: iam.create_role(RoleName="r", AssumeRolePolicyDocument="{not json")) == (
        "MalformedPolicyDocument", 400, "This policy contains invalid Json")
    no_principal = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})
    assert _error(lambda: iam.create_role(RoleName="r", AssumeRolePolicyDocument=no_principal))[:2] == (
        "MalformedPolicyDocument", 400)
    ghost = f"arn:aws:iam::{ACCOUNT}:user/ghost"
    assert _error(lambda: iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust(ghost))) == (
        "MalformedPolicyDocument", 400, f'Invalid principal in policy: "AWS":"{ghost}"')
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust(ACCOUNT))
    assert _code(lambda: iam.update_assume_role_policy(RoleName="r", PolicyDocument=trust(ghost))) == (
        "MalformedPolicyDocument")


def test_any_service_is_authorized_by_its_operations_action(aws: ClientFactory) -> None:
    # Lambda has no module of its own here: its REST operation is read from botocore's model.
    _, as_jay = make_user(aws, "jay")
    code, _, message = _error(lambda: as_jay("lambda").list_functions())
    assert code == "AccessDeniedException" and "lambda:ListFunctions" in message
    aws("iam").put_user_policy(UserName="jay", PolicyName="l", PolicyDocument=json.dumps(allow("lambda:List*")))
    assert as_jay("lambda").list_functions()["Functions"] == []
    events = aws("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "lambda.amazonaws.com"}])["Events"]
    assert [e["EventName"] for e in events] == ["ListFunctions", "ListFunctions"]


def test_an_access_key_deleted_made_inactive_or_never_issued_is_refused(aws: ClientFactory) -> None:
    iam = aws("iam")
    iam.create_user(UserName="kim")
    iam.attach_user_policy(UserName="kim", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="kim")["AccessKey"]
    as_kim = credentials_of(key)
    assert aws("sts", **as_kim).get_caller_identity()["Arn"].endswith(":user/kim")
    iam.update_access_key(UserName="kim", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert _error(lambda: aws("sts", **as_kim).get_caller_identity()) == (
        "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    assert _error(lambda: aws("kms", **as_kim).list_keys())[:2] == ("UnrecognizedClientException", 400)
    assert _error(lambda: aws("s3", **as_kim).list_buckets())[:2] == ("InvalidAccessKeyId", 403)
    iam.update_access_key(UserName="kim", AccessKeyId=key["AccessKeyId"], Status="Active")
    aws("s3", **as_kim).list_buckets()
    iam.delete_access_key(UserName="kim", AccessKeyId=key["AccessKeyId"])
    assert _code(lambda: aws("s3", **as_kim).list_buckets()) == "InvalidAccessKeyId"
    never = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x"}
    assert _code(lambda: aws("sts", **never).get_caller_identity()) == "InvalidClientTokenId"
