"""The resource-policy evaluator the KMS and S3 behaviours rely on."""

from __future__ import annotations

from runner.emulator.policy import ANONYMOUS, Decision, Principal, Request, evaluate, glob_match

ALICE = Principal(arns=frozenset({"arn:aws:iam::111111111111:user/alice"}), account_id="111111111111")
SESSION = Principal(
    arns=frozenset({"arn:aws:sts::111111111111:assumed-role/app/s1", "arn:aws:iam::111111111111:role/app"}),
    account_id="111111111111",
)
CLOUDTRAIL = Principal(service="cloudtrail.amazonaws.com")


def _policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_principal_forms() -> None:
    use = Request("kms:Decrypt", "arn:aws:kms:us-east-1:111111111111:key/k")
    for principal in (
        "*",
        {"AWS": "*"},
        {"AWS": "111111111111"},
        {"AWS": "arn:aws:iam::111111111111:root"},
        {"AWS": ["arn:aws:iam::111111111111:user/alice"]},
    ):
        policy = _policy({"Effect": "Allow", "Principal": principal, "Action": "kms:*", "Resource": "*"})
        assert evaluate(policy, ALICE, use) is Decision.ALLOW, principal
    other = _policy({"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "kms:*", "Resource": "*"})
    assert evaluate(other, ALICE, use) is Decision.IMPLICIT_DENY
    role = _policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    assert evaluate(role, SESSION, use) is Decision.ALLOW
    assert evaluate(role, ANONYMOUS, use) is Decision.IMPLICIT_DENY


def test_explicit_deny_wins_and_actions_match_wildcards_case_insensitively() -> None:
    policy = _policy(
        {"Effect": "Allow", "Principal": "*", "Action": "kms:generatedatakey*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKeyPair*", "Resource": "*"},
    )
    assert evaluate(policy, ALICE, Request("kms:GenerateDataKey", "k")) is Decision.ALLOW
    assert evaluate(policy, ALICE, Request("kms:GenerateDataKeyPair", "k")) is Decision.EXPLICIT_DENY
    assert evaluate(policy, ALICE, Request("kms:Encrypt", "k")) is Decision.IMPLICIT_DENY


def test_conditions_on_known_keys_are_evaluated_and_unknown_ones_are_lenient() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::logs/AWSLogs/111111111111/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
    put = "arn:aws:s3:::logs/AWSLogs/111111111111/CloudTrail/us-east-1/f.json.gz"
    good = Request("s3:PutObject", put, {"s3:x-amz-acl": "bucket-owner-full-control"})
    bad = Request("s3:PutObject", put, {"s3:x-amz-acl": "private"})
    assert evaluate(_policy(statement), CLOUDTRAIL, good) is Decision.ALLOW
    assert evaluate(_policy(statement), CLOUDTRAIL, bad) is Decision.IMPLICIT_DENY
    assert evaluate(_policy(statement), CLOUDTRAIL, Request("s3:PutObject", "arn:aws:s3:::logs/x")) is (
        Decision.IMPLICIT_DENY
    )
    unknown = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "*",
        "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    }
    assert evaluate(_policy(unknown), ALICE, Request("kms:Encrypt", "k")) is Decision.IMPLICIT_DENY


def test_glob_match() -> None:
    assert glob_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c")
    assert not glob_match("arn:aws:s3:::b/*", "arn:aws:s3:::bb/a")
    assert glob_match("kms:?ncrypt", "kms:Encrypt")
