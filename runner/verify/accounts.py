"""Fresh accounts for `labrunner verify`'s cases, and the time a case runs in.

Every case runs in an account nothing else has touched, on the embedded emulator or an endpoint that
makes accounts on demand (the emulator served by `labrunner emulator`, moto, LocalStack). A case's
target signs as the root user of its account: the access key is the 12-digit account id (LocalStack's
convention, and the emulator's), and each request names the account in moto's `x-moto-account-id`
header, which the emulator and moto serve it from. A case has two targets in its account: one for its
steps, and one that its grades make read-only (`runner.grading`).

On the embedded emulator a case also runs in its own time (`Timeline`): a pause (a step's retry)
delivers the CloudTrail log files due, then returns at once, advancing the case's clock. Nothing else
on the emulator takes time, so a retry that fails gives up at once instead of waiting out its
timeout. `settle` delivers the log files before each grade, as if the student had waited for them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from runner.engine.targets import Identity, Target, new_session
from runner.errors import UsageError

ACCOUNT_HEADER = "x-moto-account-id"
_SECRET = "labrunner-verify"


def new_account() -> str:
    """A 12-digit account id, not starting with 0, drawn at random: nothing has used it."""
    return str(10**11 + secrets.randbelow(9 * 10**11))


class Accounts:
    """Targets in fresh accounts of the endpoint behind `base` (the embedded emulator or a URL)."""

    def __init__(self, base: Target) -> None:
        if base.endpoint is None:
            raise UsageError("verify runs on the embedded emulator or an AWS-compatible endpoint (--target URL) "
                             "that makes accounts on demand: it needs a fresh account for every case")
        self.base = base
        self._checked = False  # whether the endpoint has shown that it makes accounts on demand
        self._lock = threading.Lock()

    def target(self, account: str) -> Target:
        """A new target signing as the root user of `account` (who it is needs no STS call)."""
        session = new_session(aws_access_key_id=account, aws_secret_access_key=_SECRET, region_name=self.base.region)
        root = Identity(account, f"arn:{self.base.partition}:iam::{account}:root", account)
        target = Target(self.base.kind, self.base.region, session, self.base.endpoint, self.base.emulator,
                        identity=root)
        target.add_client_hook(_naming(account))
        return target

    def fresh(self) -> tuple[str, Target]:
        """A new account, and a target in it. The first is checked to land there: the endpoint is asked
        who the caller is (after that, it has shown that it makes accounts on demand)."""
        from botocore.exceptions import BotoCoreError, ClientError

        account = new_account()
        target = self.target(account)
        with self._lock:
            if self._checked:
                return account, target
            try:  # asked of STS itself: the target already knows whom it means to be
                landed = str(target.client("sts").get_caller_identity()["Account"])
            except (BotoCoreError, ClientError) as exc:
                raise UsageError(f"{self.base.endpoint}: cannot make an account there (STS GetCallerIdentity): "
                                 f"{exc}") from None
            if landed != account:
                raise UsageError(f"{self.base.endpoint} served account {landed} when asked for {account}: verify "
                                 "needs an endpoint that makes accounts on demand (labrunner emulator, moto, "
                                 "LocalStack)")
            self._checked = True
        return account, target

    def check(self) -> None:
        """A `UsageError` unless the endpoint answers and makes accounts on demand: before any case runs."""
        self.base.check_listening()
        self.fresh()

    def settle(self) -> None:
        """Deliver the CloudTrail log files due, on the embedded emulator (elsewhere they come in their time)."""
        if self.base.emulator is not None:
            self.base.emulator.deliver_logs_now()


def _naming(account: str) -> Callable[[Any], None]:
    def hook(client: Any) -> None:
        def name_account(request: Any, **_: Any) -> None:
            request.headers[ACCOUNT_HEADER] = account

        client.meta.events.register_first("before-sign", name_account, unique_id="labrunner-verify-account")

    return hook


class Timeline:
    """A case's clock and pause on the embedded emulator: a pause delivers log files and takes no time."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.now = time.monotonic()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.accounts.settle()
        self.now += seconds
