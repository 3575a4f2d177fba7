"""Template builtins and vars: what a step's templates can see."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from engine_helpers import CALLER, StubTarget, context, lab_from

from runner import templates
from runner.engine.context import VarError, render_vars
from runner.engine.targets import Target, partition_for

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


@pytest.mark.parametrize(("kind", "region", "endpoint", "url"), [
    ("aws", "us-east-1", None, "https://b.s3.amazonaws.com/a%20b/c.jpg"),
    ("aws", "eu-west-3", None, "https://b.s3.eu-west-3.amazonaws.com/a%20b/c.jpg"),
    ("aws", "cn-north-1", None, "https://b.s3.cn-north-1.amazonaws.com.cn/a%20b/c.jpg"),
    ("endpoint", "us-east-1", "http://127.0.0.1:4566/", "http://127.0.0.1:4566/b/a%20b/c.jpg"),
])
def test_s3_object_url(kind: str, region: str, endpoint: str | None, url: str) -> None:
    target = Target(kind, region, session=None, endpoint=endpoint)  # type: ignore[arg-type]
    assert target.object_url("b", "a b/c.jpg") == url


def test_partitions() -> None:
    assert [partition_for(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1")] == ["aws", "aws-cn", "aws-us-gov"]
