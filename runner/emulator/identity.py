"""Who made a call: the caller's account and identity, from the access key it signed with.

Request parsing (`parse.py`) asks this module once per request; the result feeds authorization
(`access.py`), signature checks (`signatures.py`) and the `userIdentity` of CloudTrail records
(`events.py`). Keys come from moto's IAM users and STS sessions; an access key of 12 digits is the root
user of that account; any other key (the emulator's default `testing` key among them) acts as the root
user of the account moto picks for it, 123456789012 unless told otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .policy import Principal


@dataclass(frozen=True)
class Identity:
    type: str  # "Root", "IAMUser", "AssumedRole", "AWSAccount" (anonymous), "AWSService", "Unknown" (refused key)
    account_id: str
    arn: str
    principal_id: str
    access_key_id: str = ""
    user_name: str = ""
    role_arn: str = ""  # the role of an AssumedRole session
    role_id: str = ""

    @property
    def principal(self) -> Principal:
        if self.type == "AWSAccount":
            return Principal()
        arns = {self.arn}
        if self.role_arn:
            arns.add(self.role_arn)
        return Principal(arns=frozenset(arns), account_id=self.account_id)

    def user_identity(self) -> dict[str, Any]:
        """The `userIdentity` element of a CloudTrail record."""
        if self.type == "AWSAccount":
            return {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
        record: dict[str, Any] = {
            "type": self.type,
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
        }
        if self.type in ("IAMUser", "Root") and self.user_name:
            record["userName"] = self.user_name
        if self.type == "AssumedRole":
            record["sessionContext"] = {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": self.role_id,
                    "arn": self.role_arn,
                    "accountId": self.account_id,
                    "userName": self.role_arn.rsplit("/", 1)[-1],
                },
                "attributes": {"mfaAuthenticated": "false"},
            }
        return record


ANONYMOUS = Identity(type="AWSAccount", account_id="anonymous", arn="", principal_id="")

# An access key as AWS issues them (IAM users' AKIA..., temporary ASIA...): one the emulator does not know
# was never issued, or was deleted.
_ISSUED_KEY = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")

# The emulator's own credentials: the root user of the default account.
EMULATOR_ACCESS_KEY = "testing"
EMULATOR_SECRET_KEY = "testing"


def account_for(access_key: str | None, account_header: str | None) -> str:
    """The account moto will serve the request from (same precedence as moto's own)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if account_header:
        return account_header
    if access_key is not None and len(access_key) == 12 and access_key.isdigit():
        return access_key  # the root user of that account (LocalStack's convention too)
    if access_key:
        return str(get_account_id_from(access_key))
    return str(DEFAULT_ACCOUNT_ID)


def _role_id(account: str, role_arn: str) -> str:
    """The role's unique id; moto draws a new random one per lookup when the role does not exist."""
    from moto.iam.models import iam_backends

    try:
        return str(iam_backends[account]["aws"].get_role_by_arn(role_arn).id)
    except Exception:  # moto lets a session assume a role that was never created
        return "AROA" + hashlib.sha256(role_arn.encode()).hexdigest()[:17].upper()


def resolve(access_key: str | None, account_header: str | None) -> Identity:
    """The identity behind `access_key` (None = an unsigned request)."""
    if access_key is None:
        return ANONYMOUS
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    account = account_for(access_key, account_header)
    session = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    if session is not None:
        role_name = session.role_arn.rsplit("/", 1)[-1]
        role_id = _role_id(account, session.role_arn)
        return Identity(
            type="AssumedRole",
            account_id=account,
            arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{session.session_name}",
            principal_id=f"{role_id}:{session.session_name}",
            access_key_id=access_key,
            role_arn=f"arn:aws:iam::{account}:role/{role_name}",
            role_id=role_id,
        )
    user = iam_backends[account]["aws"].get_user_from_access_key_id(access_key)
    key = iam_backends[account]["aws"].access_keys.get(access_key)
    if (user is None and _ISSUED_KEY.match(access_key)) or (key is not None and key.status != "Active"):
        # A key AWS would not know (never issued, deleted) or would refuse (made inactive).
        return Identity(type="Unknown", account_id=account, arn="", principal_id="", access_key_id=access_key)
    if user is not None:
        return Identity(
            type="IAMUser",
            account_id=account,
            arn=str(user.arn),
            principal_id=str(user.id),
            access_key_id=access_key,
            user_name=str(user.name),
        )
    return Identity(
        type="Root",
        account_id=account,
        arn=f"arn:aws:iam::{account}:root",
        principal_id=account,
        access_key_id=access_key,
    )


def _session(who: Identity) -> Any | None:
    from moto.sts.models import sts_backends

    if who.type != "AssumedRole":
        return None
    return sts_backends[who.account_id]["aws"].get_assumed_role_from_access_key(who.access_key_id)


def secret_for(who: Identity) -> str | None:
    """The secret key behind the caller's access key, when the emulator knows it."""
    if who.type == "Root":
        return EMULATOR_SECRET_KEY if who.access_key_id == EMULATOR_ACCESS_KEY else None
    if who.type == "AssumedRole":
        session = _session(who)
        return None if session is None else str(session.secret_access_key)
    if who.type == "IAMUser":
        from moto.iam.models import iam_backends

        key = iam_backends[who.account_id]["aws"].access_keys.get(who.access_key_id)
        return None if key is None else str(key.secret_access_key)
    return None


def session_expiration(who: Identity) -> datetime | None:
    """When the caller's temporary credentials expire (None: they are not temporary)."""
    session = _session(who)
    if session is None:
        return None
    expiration: datetime = session.expiration
    return expiration if expiration.tzinfo else expiration.replace(tzinfo=UTC)
