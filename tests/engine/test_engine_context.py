"""Template builtins and vars: what a step's templates can see."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import context
from testkit import CALLER, StubTarget, lab_from

from runner import templates
from runner.engine.context import VarError, render_vars
from runner.engine.targets import Target, new_session, partition_for

LAB = """\
lab: ctx
title: Context
vars:
  name: "b-{{ random_id(6) }}-{{ random_digits(3) }}"
  copy: "{{ name }}"
  days: "{{ 3 + 4 }}"
  policy: {Statement: [{Principal: "{{ caller.arn }}"}]}
tasks:
  - id: t
    title: T
"""


def test_vars_render_in_order_with_native_types(tmp_path: Path, stub_target: StubTarget) -> None:
    ctx = render_vars(context(lab_from(tmp_path, LAB), stub_target, seed=42))
    assert ctx.variables["copy"] == ctx.variables["name"]
    assert ctx.variables["days"] == 7
    assert ctx.variables["policy"] == {"Statement": [{"Principal": CALLER}]}


def test_the_seed_replays_random_names(tmp_path: Path, stub_target: StubTarget) -> None:
    lab = lab_from(tmp_path, LAB)
    first = render_vars(context(lab, stub_target, seed=42)).variables["name"]
    again = render_vars(context(lab, stub_target, seed=42)).variables["name"]
    other = render_vars(context(lab, stub_target, seed=43)).variables["name"]
    assert first == again != other
    assert len(first) == len("b-xxxxxx-123")


def test_overrides_are_literal(tmp_path: Path, stub_target: StubTarget) -> None:
    ctx = render_vars(context(lab_from(tmp_path, LAB), stub_target), {"name": "{{ not rendered }}"})
    assert ctx.variables["name"] == ctx.variables["copy"] == "{{ not rendered }}"


def test_a_var_that_fails_names_itself(tmp_path: Path, stub_target: StubTarget) -> None:
    lab = lab_from(tmp_path, LAB.replace('"{{ 3 + 4 }}"', '"{{ random_digits(0) }}"'))
    with pytest.raises(VarError, match="var 'days': template failed: ValueError: expected a whole number"):
        render_vars(context(lab, stub_target))


def test_builtins(tmp_path: Path, stub_target: StubTarget) -> None:
    (tmp_path / "data.txt").write_text("abc")
    ctx = context(lab_from(tmp_path, LAB), stub_target, started=datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC))
    render = ctx.render
    assert render("{{ run.id }}/{{ run.mode }}/{{ run.started }}") == "run1234/run/2026-03-01T12:00:05Z"
    assert render("{{ target.kind }} {{ target.region }} {{ target.partition }} {{ target.account }}") == \
        "aws us-east-1 aws 123456789012"
    assert render("{{ caller.arn }}|{{ caller.account }}|{{ caller.user_id }}") == f"{CALLER}|123456789012|AIDASTUDENT"
    assert render("{{ file_size('data.txt') }}") == 3
    assert render("{{ file_sha256('data.txt') }}").startswith("ba7816bf")
    assert render("{{ {'a': [1, '<b>']} | tojson }}") == '{"a": [1, "<b>"]}'
    assert render("{{ 'hi' | b64encode }}") == "aGk=" and render("{{ 'aGk=' | b64decode }}") == "hi"
    # fromjson reads JSON held in a string (an SNS envelope in an SQS body); a lone expression keeps its type.
    envelope = '{"Type": "Notification", "Message": "{\\"order\\": 7}"}'
    assert render("{{ (envelope | fromjson).Message | fromjson }}".replace("envelope", repr(envelope))) == {"order": 7}
    assert render("{{ none | fromjson }}") is None
    with pytest.raises(templates.TemplateError, match="JSONDecodeError"):
        render("{{ '{oops' | fromjson }}")
    # JSON past Python's parser fails as bad JSON does, saying why (not "RecursionError").
    with pytest.raises(templates.TemplateError, match=r"template failed: JSONNestingError: JSON nested deeper than "
                       r"Python's parser takes \(about [\d,]+ levels\)"):
        render("{{ text | fromjson }}".replace("text", repr("[" * 100_000 + "]" * 100_000)))
    for bad in ("{{ file_size('../x') }}", "{{ file_size('/etc/hostname') }}", "{{ file_size('nope.txt') }}"):
        with pytest.raises(templates.TemplateError):
            render(bad)
    with pytest.raises(templates.TemplateError, match="undefined variable 'nope'"):
        render("x {{ nope }}")


def test_caller_is_asked_once_and_only_when_used(tmp_path: Path) -> None:
    target = StubTarget()
    target._identity = None
    arn = "arn:aws:iam::111122223333:user/x"
    target.stub("sts").add_response("get_caller_identity", {"Account": "111122223333", "Arn": arn, "UserId": "U"})
    ctx = context(lab_from(tmp_path, LAB), target)
    assert ctx.render("{{ run.id }}") == "run1234" and target.known_identity is None
    assert ctx.render("{{ caller.arn }} {{ caller.account }} {{ target.account }}") == \
        "arn:aws:iam::111122223333:user/x 111122223333 111122223333"
    target.verify()  # one GetCallerIdentity, no more


LOCALSTACK = "http://localhost:4566"


@pytest.mark.parametrize(("kind", "region", "endpoint", "environment", "url"), [
    ("aws", "us-east-1", None, {}, "https://b.s3.amazonaws.com/a%20b/c.jpg"),
    ("aws", "eu-west-3", None, {}, "https://b.s3.eu-west-3.amazonaws.com/a%20b/c.jpg"),
    ("aws", "cn-north-1", None, {}, "https://b.s3.cn-north-1.amazonaws.com.cn/a%20b/c.jpg"),
    ("endpoint", "us-east-1", "http://127.0.0.1:4566/", {}, "http://127.0.0.1:4566/b/a%20b/c.jpg"),
    # The SDK's own endpoint settings (how tools are pointed at LocalStack): the URL goes where S3 calls go.
    ("aws", "us-west-2", None, {"AWS_ENDPOINT_URL": LOCALSTACK}, f"{LOCALSTACK}/b/a%20b/c.jpg"),
    ("aws", "us-west-2", None, {"AWS_ENDPOINT_URL": "http://other:1", "AWS_ENDPOINT_URL_S3": LOCALSTACK},
     f"{LOCALSTACK}/b/a%20b/c.jpg"),
    ("aws", "us-west-2", None, {"AWS_ENDPOINT_URL_KMS": LOCALSTACK}, "https://b.s3.us-west-2.amazonaws.com/a%20b/c.jpg"),
    # --target URL wins, for the URL as for the calls.
    ("endpoint", "us-east-1", "http://127.0.0.1:4566", {"AWS_ENDPOINT_URL_S3": LOCALSTACK},
     "http://127.0.0.1:4566/b/a%20b/c.jpg"),
])
def test_s3_object_url_goes_where_the_s3_calls_go(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str,
                                                  region: str, endpoint: str | None, environment: dict[str, str],
                                                  url: str) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))  # this machine's config names no endpoint
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    session = new_session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    target = Target(kind, region, session, endpoint=endpoint)  # type: ignore[arg-type]
    assert target.object_url("b", "a b/c.jpg") == url
    assert urllib.parse.urlsplit(target.service_endpoint("s3")).netloc in url
    assert target.on_aws("s3") == url.startswith("https://")


def test_partitions() -> None:
    assert [partition_for(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1")] == ["aws", "aws-cn", "aws-us-gov"]


EVENTS = ("before-parameter-build.s3.PutObject", "before-call.s3.PutObject", "choose-signer.s3",
          "before-sign.s3.GetObject", "creating-client-class.s3", "before-parameter-build.kms.Encrypt",
          "needs-retry.kms.Decrypt",
          "after-call.sts.GetCallerIdentity", "service-data-loaded.cloudtrail")


def test_sessions_share_botocore_s_handlers_and_models_yet_stay_separate() -> None:
    import boto3

    from runner.engine.targets import new_session

    def handlers(session: Any, event: str) -> list[str]:
        found = session._session._original_handler._handlers.prefix_search(event)
        return [f"{h.__module__}.{h.__qualname__}" if hasattr(h, "__qualname__") else repr(h) for h in found]

    plain = boto3.Session(aws_access_key_id="AKIAONE", aws_secret_access_key="x" * 20, region_name="us-east-1")
    one = new_session(aws_access_key_id="AKIAONE", aws_secret_access_key="x" * 20, region_name="us-east-1")
    two = new_session(aws_access_key_id="AKIATWO", aws_secret_access_key="y" * 20, region_name="eu-west-1")
    for event in EVENTS:  # the copied emitter calls what boto3's own session would, in the same order
        assert handlers(one, event) == handlers(plain, event), event
    one.events.register("before-call.kms", lambda **_: None, unique_id="only-on-one")
    assert "only-on-one" not in two._session._original_handler._unique_id_handlers
    assert one.get_credentials().access_key == "AKIAONE" and two.get_credentials().access_key == "AKIATWO"
    assert one._session.get_component("data_loader") is two._session.get_component("data_loader")
    assert one.client("kms").meta.region_name == "us-east-1"
    # Both sessions' KMS clients raise the same classes: code catching one catches the other's.
    kms_one, kms_two = one.client("kms"), two.client("kms")
    assert kms_one.exceptions.NotFoundException is kms_two.exceptions.NotFoundException
    assert kms_one.exceptions.NotFoundException is not one.client("s3").exceptions.NoSuchBucket


def test_a_target_makes_one_client_per_service_and_region_and_hooks_reach_every_one() -> None:
    from runner.engine.targets import Target

    target = Target.at_endpoint("http://127.0.0.1:9", "us-east-1", credentials=("AKIAX", "s" * 20))
    kms = target.client("kms")
    assert target.client("kms") is kms and target.client("kms", "us-east-1") is kms
    assert target.client("kms", "eu-west-1") is not kms
    seen: list[object] = []
    target.add_client_hook(seen.append)  # given the clients already made...
    assert seen == [kms, target.client("kms", "eu-west-1")]
    s3 = target.client("s3")  # ...and each one made later, once
    target.add_client_hook(seen.append)
    assert seen[-1] is s3 and len(seen) == 3


def test_an_endpoint_target_never_asks_the_instance_metadata_service(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    import botocore.utils

    from runner.engine.targets import Target

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    asked: list[str] = []
    monkeypatch.setattr(botocore.utils.InstanceMetadataFetcher, "retrieve_iam_role_credentials",
                        lambda self: asked.append("imds") or {})
    monkeypatch.setattr(botocore.utils.ContainerMetadataFetcher, "retrieve_full_uri",
                        lambda self, *a, **k: asked.append("container") or {})
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds")
    target = Target.at_endpoint("http://127.0.0.1:9", "us-east-1")
    assert target.session.get_credentials().access_key == "testing"  # the placeholder emulators accept
    assert asked == []
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAMINE")  # credentials of one's own are still used
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s" * 20)
    assert Target.at_endpoint("http://127.0.0.1:9", "us-east-1").session.get_credentials().access_key == "AKIAMINE"
