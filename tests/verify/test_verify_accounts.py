"""Verify's fresh accounts (`runner.verify.accounts`): the endpoint is checked once to make accounts on
demand; every case's target then knows who it is (the account's root user) without asking STS."""

from __future__ import annotations

import pytest

from runner.emulator import Emulator
from runner.engine import calls
from runner.engine.targets import Target
from runner.verify.accounts import Accounts
from runner.verify.pools import Recording

pytestmark = pytest.mark.e2e


def test_a_case_s_target_knows_it_is_its_account_s_root_user_as_sts_would_say(emulator: Emulator) -> None:
    accounts = Accounts(Target.for_emulator(emulator, "us-east-1"))
    accounts.fresh()  # the endpoint's check
    account, target = accounts.fresh()
    asked = Recording()
    calls.watch(target, asked)
    known = target.identity()
    assert asked.told == []  # no request: a case's two targets used to cost an STS client and call each
    reply = target.client("sts").get_caller_identity()  # what the emulator says, as AWS says for a root user
    assert (known.account, known.arn, known.user_id) == (account, reply["Arn"], reply["UserId"])
    assert reply["Account"] == account


def test_only_the_first_account_asks_the_endpoint_who_it_is(emulator: Emulator) -> None:
    accounts = Accounts(Target.for_emulator(emulator, "us-east-1"))
    asked = Recording()
    made = accounts.target

    def watched(account: str) -> Target:
        target = made(account)
        calls.watch(target, asked)
        return target

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "target", watched)
        for _ in range(3):
            accounts.fresh()
    assert [told[1][0] for told in asked.told if told[0] == "request"] == ["sts.GetCallerIdentity"]
