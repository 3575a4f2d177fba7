"""Identical read calls within one account's grade share one request; writes and errors never do."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from runner.emulator import Emulator
from runner.engine.targets import Target
from runner.grading.sharing import SharedReads, share_reads


def _kms() -> Any:
    return boto3.client("kms", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


def test_the_same_read_is_sent_once_and_answered_from_memory_after(emulator: Emulator,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.endpoint

    from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY

    sent: list[str] = []
    original = botocore.endpoint.Endpoint._send

    def counting(self: Any, request: Any) -> Any:
        sent.append(request.headers.get("X-Amz-Target", b"").decode())
        return original(self, request)

    emu = emulator
    kms = boto3.client("kms", endpoint_url=emu.endpoint, region_name="us-east-1",
                       aws_access_key_id=EMULATOR_ACCESS_KEY, aws_secret_access_key=EMULATOR_SECRET_KEY)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    shared = SharedReads()
    shared.attach(kms)
    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", counting)
    first = kms.describe_key(KeyId=key)
    first["KeyMetadata"]["KeyId"] = "changed by a caller"
    again = kms.describe_key(KeyId=key)
    kms.describe_key(KeyId=other)
    assert again["KeyMetadata"]["KeyId"] == key  # a caller's change does not leak into the next answer
    assert sent == ["TrentService.DescribeKey", "TrentService.DescribeKey"]
    assert (shared.sent, shared.shared) == (2, 1)


def test_errors_and_writes_are_never_shared() -> None:
    shared, kms = SharedReads(), _kms()
    shared.attach(kms)
    with Stubber(kms) as stub:
        stub.add_client_error("describe_key", "NotFoundException", expected_params={"KeyId": "alias/x"})
        stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "k"}}, {"KeyId": "alias/x"})
        stub.add_response("disable_key", {}, {"KeyId": "k"})
        stub.add_response("disable_key", {}, {"KeyId": "k"})
        with pytest.raises(ClientError):
            kms.describe_key(KeyId="alias/x")
        assert kms.describe_key(KeyId="alias/x")["KeyMetadata"]["KeyId"] == "k"
        kms.disable_key(KeyId="k")
        kms.disable_key(KeyId="k")
        stub.assert_no_pending_responses()
    assert shared.shared == 0


def test_sharing_is_per_target() -> None:
    first = Target("aws", "us-east-1", boto3.Session(aws_access_key_id="a", aws_secret_access_key="b"))
    second = Target("aws", "us-east-1", boto3.Session(aws_access_key_id="a", aws_secret_access_key="b"))
    one, two = share_reads(first), share_reads(second)
    assert one is not two
    assert one.attach in first.client_hooks and two.attach not in first.client_hooks


def test_a_target_graded_again_asks_the_account_again(emulator: Emulator) -> None:
    target = Target.for_emulator(emulator, "us-east-1")
    first = share_reads(target)
    kms = target.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.disable_key(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"  # within one grade: remembered
    assert share_reads(target) is first  # the next grade: the same memory, emptied
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
