"""`runner.engine.aliases.Aliaser` renames every event name exactly as botocore's `EventAliaser` does."""

from __future__ import annotations

import functools

import botocore.session
import pytest
from botocore.hooks import EVENT_ALIASES, EventAliaser, HierarchicalEmitter
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.engine.aliases import Aliaser

#: What botocore emits and registers for each operation of a client.
PREFIXES = ("provide-client-params", "before-parameter-build", "before-call", "request-created", "before-sign",
            "before-send", "response-received", "needs-retry", "after-call", "after-call-error", "choose-signer",
            "before-endpoint-resolution", "creating-client-class", "service-data-loaded", "docs.request-params")


def both(name: str) -> tuple[str, str]:
    ours, theirs = Aliaser(HierarchicalEmitter()), EventAliaser(HierarchicalEmitter())
    return ours._alias_event_name(name), theirs._alias_event_name(name)


@functools.cache
def every_real_name() -> list[str]:
    """Every event name a client of any service would use: service ids and their old names, every operation."""
    session = botocore.session.get_session()
    names: set[str] = set(session._original_handler._handlers.prefix_search("") or ())  # type: ignore[attr-defined]
    services = set(session.get_available_services()) | set(EVENT_ALIASES) | set(EVENT_ALIASES.values())
    with_models = set(session.get_available_services()) & (
        {"kms", "s3", "cloudtrail", "sts", "iam"} | set(EVENT_ALIASES.values()))  # parsing all ~400 takes 20 s
    for service in sorted(services):
        operations = ["ListThings", "GetObject"]
        if service in with_models:
            operations = session.get_service_model(service).operation_names
        for prefix in PREFIXES:
            names.add(f"{prefix}.{service}")
            names.update(f"{prefix}.{service}.{op}" for op in operations)
    return sorted(n for n in names if isinstance(n, str))


def test_every_name_a_client_uses_is_renamed_as_botocore_does() -> None:
    names = every_real_name()
    assert len(names) > 10_000
    ours, theirs = Aliaser(HierarchicalEmitter()), EventAliaser(HierarchicalEmitter())
    differ = [n for n in names if ours._alias_event_name(n) != theirs._alias_event_name(n)]
    assert differ == []
    renamed = [n for n in names if theirs._alias_event_name(n) != n]
    assert len(renamed) > 500  # the comparison met many names that change, not only names that stay


@pytest.mark.parametrize("name", [
    "before-call.runtime.sagemaker.InvokeEndpoint",  # a dotted pair
    "before-call.sagemaker.runtime.x",  # the parts of a dotted pair in the other order
    "before-call.api.sagemaker.runtime.sagemaker",  # two dotted pairs: the first in the table wins
    "a.runtime.sagemakerx.b",  # a dotted pair as text but not as whole parts: nothing changes
    "before-call.data.jobs.iot.x", "x.jobs.iot.data.iot", "apigateway.api.pricing", "x.y", "", ".", "a..b",
    "before-call.autoscaling.elasticloadbalancing",  # two plain pairs: the first in the table wins
    "elasticloadbalancing.elasticloadbalancing",  # a part twice: its first occurrence is replaced
])
def test_edge_cases_are_renamed_as_botocore_does(name: str) -> None:
    ours, theirs = both(name)
    assert ours == theirs


_PARTS = st.sampled_from(sorted({p for key in EVENT_ALIASES for p in key.split(".")} | set(EVENT_ALIASES.values())
                                | {"before-call", "x", "Op", "sagemakerx", ""}))


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PARTS, min_size=1, max_size=6))
def test_generated_names_are_renamed_as_botocore_does(parts: list[str]) -> None:
    ours, theirs = both(".".join(parts))
    assert ours == theirs


def test_sessions_the_runner_makes_and_their_clients_use_it_and_handlers_still_fire() -> None:
    from runner.engine.targets import new_session

    session = new_session(aws_access_key_id="AKIAX", aws_secret_access_key="s" * 20, region_name="us-east-1")
    client = session.client("sagemaker-runtime", endpoint_url="http://127.0.0.1:9")
    assert type(session._session._events) is Aliaser and type(client.meta.events) is Aliaser
    seen: list[str] = []
    # Registered under the old name: the aliasing is what makes it reach the new one.
    client.meta.events.register("labrunner-test.runtime.sagemaker", lambda **kw: seen.append(kw["event_name"]))
    client.meta.events.emit("labrunner-test.sagemaker-runtime.InvokeEndpoint")
    assert seen == ["labrunner-test.sagemaker-runtime.InvokeEndpoint"]
    # boto3's own sessions are left as they are.
    import boto3

    assert type(boto3.Session(region_name="us-east-1")._session._events) is EventAliaser
