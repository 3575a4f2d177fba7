"""KMS through the emulator: key states, the deletion window, key policies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import ACCOUNT, ClientFactory, allow, make_role, make_user, session


def _error(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _crypto_calls(kms: Any, key_id: str) -> dict[str, Callable[[], Any]]:
    return {
        "Encrypt": lambda: kms.encrypt(KeyId=key_id, Plaintext=b"secret"),
        "GenerateDataKey": lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256"),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
            KeyId=key_id, KeySpec="AES_256"
        ),
    }


def test_encrypt_decrypt_generate_data_key_with_a_disabled_key_are_DisabledException(aws: ClientFactory) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    calls = {**_crypto_calls(kms, key_id), "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob)}
    for name, call in calls.items():
        assert _error(call) == ("DisabledException", 400), name
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"


def test_crypto_disable_enable_and_schedule_while_PendingDeletion_are_KMSInvalidStateException(
    aws: ClientFactory,
) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    calls = {
        **_crypto_calls(kms, key_id),
        "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob),
        "DisableKey": lambda: kms.disable_key(KeyId=key_id),
        "EnableKey": lambda: kms.enable_key(KeyId=key_id),
        "ScheduleKeyDeletion": lambda: kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7),
    }
    for name, call in calls.items():
        assert _error(call) == ("KMSInvalidStateException", 400), name
    # Neither disable nor enable cancelled the deletion.
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


@pytest.mark.parametrize("days", [1, 6, 31, 365])
def test_schedule_key_deletion_outside_7_to_30_days_is_ValidationException(aws: ClientFactory, days: int) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    assert _error(lambda: kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)) == (
        "ValidationException",
        400,
    )
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_cancel_key_deletion_on_a_key_not_pending_deletion_is_KMSInvalidStateException(aws: ClientFactory) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    assert _error(lambda: kms.cancel_key_deletion(KeyId=key_id)) == ("KMSInvalidStateException", 400)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"  # as AWS leaves it


def _policy(*statements: dict[str, Any]) -> str:
    admin = {
        "Sid": "Admin",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [admin, *statements]})


def test_key_policy_refuses_principals_it_does_not_grant_with_AccessDeniedException(aws: ClientFactory) -> None:
    _, as_admin = make_user(aws, "admin", allow("kms:CreateKey"))
    user_arn, as_user = make_user(aws, "app")
    _, as_stranger = make_user(aws, "stranger", allow("kms:*"))
    use = {
        "Sid": "Use",
        "Effect": "Allow",
        "Principal": {"AWS": user_arn},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
    }
    key_id = as_admin("kms").create_key(Policy=_policy(use))["KeyMetadata"]["KeyId"]

    # Named by the key policy itself, `app` needs no IAM policy; `stranger`'s IAM policy does not count.
    blob = as_user("kms").encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert as_user("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    assert _error(lambda: as_user("kms").disable_key(KeyId=key_id)) == ("AccessDeniedException", 400)
    assert _error(lambda: as_stranger("kms").decrypt(CiphertextBlob=blob)) == ("AccessDeniedException", 400)
    assert _error(lambda: as_stranger("kms").describe_key(KeyId=key_id)) == ("AccessDeniedException", 400)
    # The emulator's own credentials are the account root, which this policy does not name.
    assert _error(lambda: aws("kms").encrypt(KeyId=key_id, Plaintext=b"x")) == ("AccessDeniedException", 400)
    as_admin("kms").disable_key(KeyId=key_id)


def test_key_policy_naming_the_account_delegates_to_the_IAM_policies(aws: ClientFactory) -> None:
    _, as_user = make_user(aws, "app")
    _, as_encrypter = make_user(aws, "encrypter", allow("kms:Encrypt"))
    root = {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    key_id = aws("kms").create_key(Policy=json.dumps({"Statement": [root]}))["KeyMetadata"]["KeyId"]
    aws("kms").encrypt(KeyId=key_id, Plaintext=b"x")
    as_encrypter("kms").encrypt(KeyId=key_id, Plaintext=b"x")
    error = _message(lambda: as_user("kms").encrypt(KeyId=key_id, Plaintext=b"x"))
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert error == (f"User: arn:aws:iam::{ACCOUNT}:user/app is not authorized to perform: kms:Encrypt on resource: "
                     f"{key_arn} because no identity-based policy allows the kms:Encrypt action")


def _message(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Message"])


def test_key_policy_explicit_deny_wins_over_allow(aws: ClientFactory) -> None:
    user_arn, as_user = make_user(aws, "app", allow("kms:*"))
    root = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*"}
    key_id = aws("kms").create_key(Policy=json.dumps({"Statement": [root, deny]}))["KeyMetadata"]["KeyId"]
    blob = as_user("kms").encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert _error(lambda: as_user("kms").decrypt(CiphertextBlob=blob)) == ("AccessDeniedException", 400)


def test_key_policy_matches_a_role_session_by_its_role_ARN(aws: ClientFactory) -> None:
    make_user(aws, "admin")
    role_arn = make_role(aws, "lab-app")
    as_session = session(aws, role_arn, "grader")
    grant = {"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "kms:Encrypt", "Resource": "*"}
    key_id = aws("kms").create_key(Policy=_policy(grant))["KeyMetadata"]["KeyId"]
    blob = as_session("kms").encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert _error(lambda: as_session("kms").decrypt(CiphertextBlob=blob)) == ("AccessDeniedException", 400)


def test_schedule_key_deletion_answers_key_arn_state_and_window_and_DescribeKey_shows_the_window(
    aws: ClientFactory,
) -> None:
    kms = aws("kms")
    metadata = kms.create_key()["KeyMetadata"]
    answer = kms.schedule_key_deletion(KeyId=metadata["KeyId"], PendingWindowInDays=9)
    assert answer["KeyId"] == metadata["Arn"]
    assert answer["KeyState"] == "PendingDeletion"
    assert answer["PendingWindowInDays"] == 9
    described = kms.describe_key(KeyId=metadata["KeyId"])["KeyMetadata"]
    assert described["PendingDeletionWindowInDays"] == 9
    kms.cancel_key_deletion(KeyId=metadata["KeyId"])
    assert "PendingDeletionWindowInDays" not in kms.describe_key(KeyId=metadata["KeyId"])["KeyMetadata"]


@pytest.mark.parametrize("operation", ["disable_key", "enable_key", "schedule_key_deletion"])
def test_a_key_ARN_names_the_key_for_state_changes_as_its_id_does(aws: ClientFactory, operation: str) -> None:
    kms = aws("kms")
    metadata = kms.create_key()["KeyMetadata"]
    extra = {"PendingWindowInDays": 7} if operation == "schedule_key_deletion" else {}
    getattr(kms, operation)(KeyId=metadata["Arn"], **extra)
    state = kms.describe_key(KeyId=metadata["KeyId"])["KeyMetadata"]["KeyState"]
    assert state == {"disable_key": "Disabled", "enable_key": "Enabled",
                     "schedule_key_deletion": "PendingDeletion"}[operation]
    if operation == "schedule_key_deletion":
        kms.cancel_key_deletion(KeyId=metadata["Arn"])
        assert kms.describe_key(KeyId=metadata["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_a_key_created_without_KeyUsage_is_an_ENCRYPT_DECRYPT_key(aws: ClientFactory) -> None:
    kms = aws("kms")
    made = kms.create_key()["KeyMetadata"]  # what `aws kms create-key` with no options does
    assert made["KeyUsage"] == "ENCRYPT_DECRYPT" and made["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert kms.describe_key(KeyId=made["KeyId"])["KeyMetadata"]["KeyUsage"] == "ENCRYPT_DECRYPT"
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert signing["KeyUsage"] == "SIGN_VERIFY"  # a usage that is named is kept


@pytest.mark.parametrize(("name", "code"), [
    ("myKey", "ValidationException"),  # no alias/ prefix
    ("alias/aws/myKey", "NotAuthorizedException"),  # reserved for AWS managed keys
    ("alias/aws/s3", "NotAuthorizedException"),
])
def test_create_alias_needs_the_alias_prefix_and_refuses_the_aws_prefix(aws: ClientFactory, name: str,
                                                                       code: str) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    assert _error(lambda: kms.create_alias(AliasName=name, TargetKeyId=key_id)) == (code, 400)
    assert name not in [a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]]


def test_a_key_policy_naming_a_principal_that_does_not_exist_is_MalformedPolicyDocumentException(
    aws: ClientFactory,
) -> None:
    kms = aws("kms")
    ghost = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/ghost"}, "Action": "kms:*",
             "Resource": "*"}
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
            "Resource": "*"}
    policy = json.dumps({"Statement": [root, ghost]})
    assert _error(lambda: kms.create_key(Policy=policy)) == ("MalformedPolicyDocumentException", 400)
    assert _error(lambda: kms.create_key(Policy="{not json")) == ("MalformedPolicyDocumentException", 400)
    key_id = kms.create_key(Policy=json.dumps({"Statement": [root]}))["KeyMetadata"]["KeyId"]
    assert _error(lambda: kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)) == (
        "MalformedPolicyDocumentException", 400)
    aws("iam").create_user(UserName="ghost")
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)  # now the principal exists


def test_the_aws_managed_key_for_s3_is_an_AWS_key_usable_only_through_S3(aws: ClientFactory) -> None:
    kms = aws("kms")
    metadata = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert metadata["KeyManager"] == "AWS"
    assert metadata["Description"] == "Default master key that protects my S3 objects when no other key is defined"
    assert kms.get_key_rotation_status(KeyId=metadata["KeyId"])["KeyRotationEnabled"] is True
    # AWS managed keys work only through their service (their key policy's kms:ViaService).
    assert _error(lambda: kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"x")) == ("AccessDeniedException", 400)
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-managed")
    s3.put_object(Bucket="lab-managed", Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    assert s3.head_object(Bucket="lab-managed", Key="k")["SSEKMSKeyId"] == metadata["Arn"]
    assert s3.get_object(Bucket="lab-managed", Key="k")["Body"].read() == b"x"


def test_key_rotation_reports_its_period_and_next_date(aws: ClientFactory) -> None:
    kms = aws("kms")
    metadata = kms.create_key()["KeyMetadata"]
    assert kms.get_key_rotation_status(KeyId=metadata["KeyId"]) | {"ResponseMetadata": None} == {
        "KeyId": metadata["Arn"], "KeyRotationEnabled": False, "ResponseMetadata": None}
    kms.enable_key_rotation(KeyId=metadata["KeyId"])
    status = kms.get_key_rotation_status(KeyId=metadata["KeyId"])
    assert (status["KeyId"], status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (
        metadata["Arn"], True, 365)
    assert 364 <= (status["NextRotationDate"] - metadata["CreationDate"]).days <= 365
    kms.enable_key_rotation(KeyId=metadata["KeyId"], RotationPeriodInDays=90)
    assert kms.get_key_rotation_status(KeyId=metadata["KeyId"])["RotationPeriodInDays"] == 90
    assert _error(lambda: kms.enable_key_rotation(KeyId=metadata["KeyId"], RotationPeriodInDays=2561)) == (
        "ValidationException", 400)


def test_decrypt_naming_another_key_is_IncorrectKeyException_with_AWS_message(aws: ClientFactory) -> None:
    kms = aws("kms")
    first, second = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    blob = kms.encrypt(KeyId=first, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as caught:
        kms.decrypt(KeyId=second, CiphertextBlob=blob)
    assert caught.value.response["Error"] == {
        "Code": "IncorrectKeyException",
        "Message": "The key ID in the request does not identify a CMK that can perform this operation.",
    }
    assert kms.decrypt(KeyId=first, CiphertextBlob=blob)["Plaintext"] == b"x"
