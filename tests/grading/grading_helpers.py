"""Helpers for the grading tests: students in their own emulator accounts, and `labrunner grade` runs.

A student works in one account of a shared emulator, as an assumed role (`Student`, with
AdministratorAccess), the way a class member signs in; the grader assumes `Grader` in that account, a
role that holds exactly the policy `labrunner grade LAB --print-policy` prints. Both trust the instructor's
account, the emulator's default one, whose root user (the emulator's own key) assumes them. Each account's
roles are made by that account's root user (its 12-digit access key). moto's state is process-global, so
every test uses its own account ids and its own bucket names.
"""

from __future__ import annotations

import functools
import json
import secrets
from pathlib import Path
from typing import Any

from botocore.config import Config

from runner.commands.main import main
from runner.emulator import DEFAULT_ACCOUNT, EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator
from runner.engine.targets import new_session
from runner.grading import policy
from runner.validate import load_lab

ROOT = Path(__file__).resolve().parents[2]
KMS_LAB = ROOT / "labs" / "kms-basics.yaml"
IMAGE = ROOT / "labs" / "Eiffel.jpg"
REGION = "us-west-2"
GRADER_ROLE = "arn:aws:iam::{account}:role/Grader"


_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
#: The emulator serves every bucket on its one host, as the runner's endpoint targets address it.
_PATH_STYLE = _RETRIES.merge(Config(s3={"addressing_style": "path"}))


@functools.cache
def _admin(endpoint: str, service: str) -> Any:
    session = new_session(aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY,
                          region_name=REGION)
    return session.client(service, endpoint_url=endpoint, config=_RETRIES)


def admin_client(emu: Emulator, service: str) -> Any:
    """A client with the emulator's own (root) credentials; one per service, shared by the tests."""
    return _admin(emu.endpoint, service)


ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


def account_client(emu: Emulator, account: str, service: str) -> Any:
    """A client signing as the root user of `account` (an access key of 12 digits, on the emulator)."""
    session = new_session(aws_access_key_id=account, aws_secret_access_key="root", region_name=REGION)
    return session.client(service, endpoint_url=emu.endpoint, config=_RETRIES)


def make_role(emu: Emulator, account: str, name: str, *, policy: dict[str, Any] | None = None,
              managed: str | None = None, trusted: str = DEFAULT_ACCOUNT) -> str:
    """The role `name` in `account`, trusting `trusted` (the instructor's account by default); made if missing."""
    iam = account_client(emu, account, "iam")
    arn = f"arn:aws:iam::{account}:role/{name}"
    try:
        iam.get_role(RoleName=name)
        return arn
    except iam.exceptions.NoSuchEntityException:
        pass
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}Policy", PolicyDocument=json.dumps(policy))
    if managed is not None:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    return arn


@functools.cache
def grader_policy(lab: Path) -> dict[str, Any]:
    """What `labrunner grade LAB --print-policy` prints for the whole lab."""
    return policy.document(load_lab(lab))


def make_grader(emu: Emulator, account: str, lab: Path = KMS_LAB, trusted: str = DEFAULT_ACCOUNT) -> str:
    """The Grader role in `account`, holding exactly the lab's printed grader policy."""
    return make_role(emu, account, "Grader", policy=grader_policy(lab), trusted=trusted)


def assume(emu: Emulator, account: str, role: str = "Student") -> dict[str, str]:
    """Credentials of `role` in `account`, assumed by the instructor (a Student role is made if missing)."""
    if role == "Student":
        make_role(emu, account, "Student", managed=ADMINISTRATOR)
    reply = admin_client(emu, "sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}",
                                                 RoleSessionName=f"{role.lower()}-session")
    return dict(reply["Credentials"])


def session_clients(emu: Emulator, credentials: dict[str, str], *services: str) -> list[Any]:
    """Clients of `services` signing with `credentials` (from `assume`); S3's path-style."""
    # One session for all of them, sharing botocore's parsed models (new_session): a class of 50 would
    # otherwise spend seconds parsing the same JSON.
    session = new_session(aws_access_key_id=credentials["AccessKeyId"],
                          aws_secret_access_key=credentials["SecretAccessKey"],
                          aws_session_token=credentials["SessionToken"], region_name=REGION)
    return [session.client(service, endpoint_url=emu.endpoint, config=_PATH_STYLE if service == "s3" else _RETRIES)
            for service in services]


def grade(args: list[str], tmp_path: Path, name: str = "grade") -> tuple[int, str, Path]:
    """`labrunner grade ARGS`; returns the exit status, what it printed, and the record path it was given."""
    record = tmp_path / f"{name}-{secrets.token_hex(3)}"
    out = tmp_path / f"{record.name}.txt"
    with out.open("w") as stream:
        code = main(["grade", *args, "--record", str(record)], out=stream)
    return code, out.read_text(), record


def grade_student(emu: Emulator, account: str, tmp_path: Path, *extra: str,
                  lab: Path = KMS_LAB) -> tuple[int, dict[str, Any], str]:
    """Grade one student's account as its Grader role (a class of one); returns status, record, output."""
    make_grader(emu, account, lab)
    accounts = tmp_path / f"accounts-{account}.txt"
    accounts.write_text(f"{account}\n")
    code, output, folder = grade([str(lab), "--target", emu.endpoint, "--region", REGION, "--accounts",
                                  str(accounts), "--role-arn", GRADER_ROLE, *extra], tmp_path)
    return code, json.loads((folder / f"{account}.json").read_text()), output


def tasks_of(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {task["id"]: task for task in record["tasks"]}


def cloudtrail_statements(bucket: str, account: str, trail: str) -> list[dict[str, Any]]:
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{trail}"
    return [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}}},
    ]


def key_policy(account: str, users: list[str], admins: list[str]) -> dict[str, Any]:
    """The policy the console writes for the chosen administrators and users."""
    statements: list[dict[str, Any]] = [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": admins},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"], "Resource": "*"},
    ]
    if users:
        statements += [
            {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": users},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": "*"},
            {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": users},
             "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        ]
    return {"Version": "2012-10-17", "Id": "key-consolepolicy-3", "Statement": statements}
