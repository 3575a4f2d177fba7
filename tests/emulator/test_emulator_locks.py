"""The emulator's locks: requests in different accounts run side by side, one account's one at a time,
and what every account shares (bucket names, access keys, moto's own API) is changed with the emulator
to itself. The waits below bound a hang; no test measures how fast anything is."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from runner.emulator import Emulator
from runner.emulator.locks import Gate, Locks, accounts_named, whole_emulator
from runner.emulator.model import Behaviour, Call, Context, rule
from runner.emulator.server import BEHAVIOURS
from runner.engine.targets import new_session

WAIT = 60.0
ONE, TWO, THREE = "410000000001", "410000000002", "410000000003"
TRAIL_BUCKET_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": ["s3:GetBucketAcl", "s3:PutObject"],
    "Resource": ["arn:aws:s3:::locks-trail", "arn:aws:s3:::locks-trail/*"]}]}


class Held:
    """A behaviour that holds every ListKeys of account ONE until released, and notes who got in."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.inside = threading.Event()
        self.release = threading.Event()

    def hold(self, call: Call, _: Context) -> None:
        self.entered.append(call.account_id)
        if call.account_id == ONE:
            self.inside.set()
            assert self.release.wait(WAIT)

    @property
    def behaviour(self) -> Behaviour:
        return Behaviour("kms", (rule("the test holds ListKeys in one account", "ListKeys", before=self.hold),))


@pytest.fixture
def held() -> Iterator[tuple[Held, Emulator]]:
    holder = Held()
    with Emulator(behaviours=(holder.behaviour, *BEHAVIOURS), log_delay=3600) as emulator:
        yield holder, emulator
        holder.release.set()


def client(emulator: Emulator, account: str, service: str) -> Any:
    session = new_session(aws_access_key_id=account, aws_secret_access_key="root", region_name="us-east-1")
    return session.client(service, endpoint_url=emulator.endpoint)


def test_another_account_is_served_while_one_account_s_request_runs(held: tuple[Held, Emulator]) -> None:
    holder, emulator = held
    with ThreadPoolExecutor(2) as pool:
        first: Future[Any] = pool.submit(client(emulator, ONE, "kms").list_keys)
        assert holder.inside.wait(WAIT)
        assert client(emulator, TWO, "kms").list_keys()["Keys"] == []  # served while ONE's is held
        assert not first.done()
        holder.release.set()
        assert first.result(WAIT)["Keys"] == []


def test_one_account_s_requests_run_one_at_a_time(held: tuple[Held, Emulator]) -> None:
    holder, emulator = held
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client(emulator, ONE, "kms").list_keys)
        assert holder.inside.wait(WAIT)
        second = pool.submit(client(emulator, ONE, "kms").list_aliases)
        # The second cannot get in while the first holds the account. The pause gives a lock that would
        # let it through the time to show it; a right one passes however long the pause.
        threading.Event().wait(0.2)
        assert not second.done() and not first.done()
        holder.release.set()
        first.result(WAIT)
        assert second.result(WAIT)["Aliases"] is not None


def test_a_new_bucket_name_waits_for_every_account(held: tuple[Held, Emulator]) -> None:
    holder, emulator = held
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client(emulator, ONE, "kms").list_keys)
        assert holder.inside.wait(WAIT)
        made = pool.submit(client(emulator, TWO, "s3").create_bucket, Bucket="locks-test-bucket")
        threading.Event().wait(0.2)
        assert not made.done()  # bucket names are global: CreateBucket has the emulator to itself
        holder.release.set()
        first.result(WAIT)
        made.result(WAIT)
    assert [b["Name"] for b in client(emulator, TWO, "s3").list_buckets()["Buckets"]] == ["locks-test-bucket"]


def test_a_call_into_another_account_waits_for_that_account(held: tuple[Held, Emulator]) -> None:
    holder, emulator = held
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TWO}:root"}, "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::locks-shared"}]}
    owner = client(emulator, ONE, "s3")
    owner.create_bucket(Bucket="locks-shared")
    owner.put_bucket_policy(Bucket="locks-shared", Policy=json.dumps(policy))
    owner.put_object(Bucket="locks-shared", Key="shared", Body=b"x")
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client(emulator, ONE, "kms").list_keys)
        assert holder.inside.wait(WAIT)
        across = pool.submit(client(emulator, TWO, "s3").list_objects_v2, Bucket="locks-shared")
        threading.Event().wait(0.2)
        assert not across.done()  # TWO's call reads ONE's bucket: it holds ONE's lock too
        holder.release.set()
        first.result(WAIT)
        assert [o["Key"] for o in across.result(WAIT)["Contents"]] == ["shared"]


def test_accounts_interleave_and_each_sees_only_its_own() -> None:
    accounts = [f"4200000000{n:02d}" for n in range(4)]

    def work(account: str) -> tuple[list[str], list[str]]:
        kms, s3 = client(emulator, account, "kms"), client(emulator, account, "s3")
        bucket = f"locks-{account}"
        s3.create_bucket(Bucket=bucket)
        for n in range(5):
            key = kms.create_key()["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=f"alias/k{n}", TargetKeyId=key)
            s3.put_object(Bucket=bucket, Key=f"o{n}", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
        aliases = sorted(a["AliasName"] for a in kms.list_aliases()["Aliases"] if "/aws/" not in a["AliasName"])
        return aliases, sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])

    with Emulator(log_delay=3600) as emulator, ThreadPoolExecutor(len(accounts)) as pool:
        results = list(pool.map(work, accounts))
        buckets = {a: [b["Name"] for b in client(emulator, a, "s3").list_buckets()["Buckets"]] for a in accounts}
    assert results == [([f"alias/k{n}" for n in range(5)], [f"o{n}" for n in range(5)])] * len(accounts)
    assert buckets == {a: [f"locks-{a}"] for a in accounts}


def test_a_delivery_that_finds_nothing_left_waits_for_the_one_writing() -> None:
    with Emulator(log_delay=3600) as emulator:
        s3, trails = client(emulator, ONE, "s3"), client(emulator, ONE, "cloudtrail")
        s3.create_bucket(Bucket="locks-trail")
        s3.put_bucket_policy(Bucket="locks-trail", Policy=json.dumps(TRAIL_BUCKET_POLICY))
        trails.create_trail(Name="locks", S3BucketName="locks-trail")
        trails.start_logging(Name="locks")
        client(emulator, ONE, "kms").create_key()  # a management event: one log file pending
        writing, release = threading.Event(), threading.Event()
        write = emulator.recorder._write

        def slow_write(*args: Any) -> int:
            writing.set()
            assert release.wait(WAIT)
            return write(*args)

        emulator.recorder._write = slow_write  # type: ignore[method-assign]
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(emulator.deliver_logs_now)
            assert writing.wait(WAIT)
            second = pool.submit(emulator.deliver_logs_now)
            threading.Event().wait(0.2)
            assert not second.done()  # the file it did not take is not written yet: it waits for it
            release.set()
            assert (first.result(WAIT), second.result(WAIT)) == (1, 0)
        listed = s3.list_objects_v2(Bucket="locks-trail", Prefix=f"AWSLogs/{ONE}/CloudTrail/")
        assert listed["KeyCount"] == 1


def _call(service: str, operation: str, account: str = ONE, **params: Any) -> Call:
    from datetime import UTC, datetime

    from runner.emulator.identity import ANONYMOUS

    return Call(service=service, operation=operation, region="us-east-1", account_id=account, identity=ANONYMOUS,
                auth="sigv4", protocol="json", method="POST", path="/", query={}, headers={}, body=b"",
                params=params, request_id="r", time=datetime.now(UTC), source_ip="127.0.0.1", user_agent="")


def _reached(call: Call) -> set[str]:
    return accounts_named(call, [b for b in BEHAVIOURS if b.service in ("*", call.service)])


@pytest.mark.parametrize(("service", "operation", "whole"), [
    ("s3", "CreateBucket", True), ("s3", "DeleteBucket", True), ("s3", "PutObject", False),
    ("iam", "CreateAccessKey", True), ("iam", "CreateUser", True), ("iam", "GetUser", False),
    ("sts", "AssumeRole", True), ("sts", "GetCallerIdentity", False), ("kms", "CreateKey", False),
])
def test_what_changes_what_accounts_share_runs_alone(service: str, operation: str, whole: bool) -> None:
    assert whole_emulator(_call(service, operation)) is whole


@pytest.mark.parametrize("params", [
    {"KeyId": f"arn:aws:kms:us-east-1:{TWO}:key/1234"},
    {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/{TWO}/q"},
    {"QueueName": "q", "QueueOwnerAWSAccountId": TWO},
])
def test_a_request_holds_every_account_it_names(params: dict[str, str]) -> None:
    assert _reached(_call("sqs" if "Queue" in str(params) else "kms", "Op", **params)) == {ONE, TWO}


def test_a_request_holds_the_accounts_the_stores_say_it_reaches() -> None:
    with Emulator(log_delay=3600) as emulator:
        s3 = client(emulator, ONE, "s3")
        key = client(emulator, TWO, "kms").create_key()["KeyMetadata"]["Arn"]
        s3.create_bucket(Bucket="locks-owned")
        s3.put_bucket_encryption(Bucket="locks-owned", ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
        queue = client(emulator, TWO, "sqs").create_queue(QueueName="q")["QueueUrl"]
        topic = client(emulator, ONE, "sns").create_topic(Name="t")["TopicArn"]
        client(emulator, ONE, "sns").subscribe(TopicArn=topic, Protocol="sqs",
                                               Endpoint=f"arn:aws:sqs:us-east-1:{TWO}:q")
        # By THREE, into ONE's bucket whose default encryption is TWO's key: all three.
        assert _reached(_call("s3", "PutObject", THREE, bucketName="locks-owned", key="k")) == {ONE, TWO, THREE}
        # A copy from ONE's bucket into THREE's own: ONE through the copy's source.
        copy = dataclasses.replace(_call("s3", "CopyObject", THREE), headers={"x-amz-copy-source": "/locks-owned/k"})
        assert ONE in _reached(copy)
        # Publish to ONE's topic delivers to TWO's queue.
        assert _reached(_call("sns", "Publish", ONE, TopicArn=topic)) == {ONE, TWO}
        # A trail of THREE's checks the policy of ONE's bucket.
        assert _reached(_call("cloudtrail", "CreateTrail", THREE, Name="t", S3BucketName="locks-owned")) == {ONE, THREE}
        assert queue.endswith(f"/{TWO}/q")


def test_locks_are_taken_again_when_the_stores_name_more_accounts() -> None:
    locks, asked = Locks(), []

    def find() -> set[str]:
        asked.append(1)
        return {ONE} if len(asked) == 1 else {ONE, TWO}  # the stores changed before the first locks were held

    with locks.gate.shared(), locks.named(find):
        other = threading.Thread(target=lambda: locks.accounts([TWO]).__enter__())
        other.start()
        other.join(0.2)
        assert other.is_alive()  # TWO is held too
    other.join(WAIT)
    assert len(asked) == 3 and not other.is_alive()


def test_a_waiting_writer_goes_before_new_readers() -> None:
    gate, order = Gate(), []
    reading = threading.Event()

    def read(name: str, hold: threading.Event | None = None) -> None:
        with gate.shared():
            order.append(name)
            reading.set()
            if hold is not None:
                assert hold.wait(WAIT)

    def write() -> None:
        with gate.exclusive():
            order.append("writer")

    hold = threading.Event()
    first = threading.Thread(target=read, args=("first", hold))
    first.start()
    assert reading.wait(WAIT)
    writer = threading.Thread(target=write)
    writer.start()
    while not gate._writers_waiting:  # the writer is queued
        threading.Event().wait(0.001)
    late = threading.Thread(target=read, args=("late",))
    late.start()
    hold.set()
    for thread in (first, writer, late):
        thread.join(WAIT)
    assert order == ["first", "writer", "late"]
