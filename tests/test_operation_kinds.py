"""What each AWS operation does to an account, checked over every operation of every service the emulator
offers (moto's services that botocore knows: about 150 services, 10,000 operations).

The models are read as plain JSON, once, for the whole module (botocore's own loader takes three times as
long); `Facts.of` reads each entry exactly as `aws_models.facts` does at run time, and one test holds
the two to the same answer.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from runner import aws_models, registry
from runner.operation_kinds import READ_VERBS, RULES, Facts, Kind, decide

#: Verbs that say an operation changes something. A read-only verdict for one of these is a mistake
#: unless the reviewed table says why.
_CHANGE_VERBS = """
    Abort Accept Acknowledge Acquire Activate Add Advertise Allocate Apply Archive Assign Associate Assume Attach
    Authorize Backtrack Batch Begin Bundle Cancel Change Checkpoint Claim Clear Clone Close Commit Complete
    Confirm Connect Continue Copy Create Deactivate Decline Decrease Delete Deploy Deprecate Deprovision
    Deregister Detach Disable Disallow Disassociate Disconnect Dismiss Dissociate Enable Execute Expire Extend
    Failover Flush Forget Grant Import Increase Index Ingest Initiate Insert Invalidate Invite Invoke Issue
    Label Launch Leave Lock Merge Migrate Modify Monitor Move Populate Post Promote Provision Publish Purchase
    Purge Push Put Reboot Rebuild Record Redrive Register Reimport Reject Release Remove Rename Renew Reorder
    Replace Replicate Reset Resize Restart Restore Resume Retire Revoke Rollback Rotate Run Schedule Send Set
    Share Signal Split Start Stop Submit Subscribe Suspend Swap Switchover Tag Terminate Transfer Unarchive
    Unassign Undeprecate Ungroup Unlabel Unlink Unlock Unmonitor Unshare Unsubscribe Untag Update Upgrade Upload
    Vote Withdraw Write
"""
CHANGE_VERBS = frozenset(_CHANGE_VERBS.split())
#: The lab format's promise: an operation named with these is read-only. Only the table may say otherwise.
FORMAT_PREFIXES = ("Get", "Describe", "List", "Head", "Lookup")


def offered_services() -> list[str]:
    """The services the embedded emulator serves: moto's backends that botocore has a model for."""
    import moto.backends

    moto_names = set(re.findall(r"'([a-z0-9-]+)'", str(moto.backends.SERVICE_NAMES)))
    return sorted(moto_names & set(aws_models.service_names()))


def _model_file(service: str) -> Path:
    import botocore

    loader = aws_models._session().get_component("data_loader")
    version = loader.determine_latest_version(service, "service-2")
    for root in loader.search_paths:
        base = Path(root) / service / version / "service-2.json"
        if base.exists() or base.with_suffix(".json.gz").exists():
            return base
    return Path(botocore.__file__).parent / "data" / service / version / "service-2.json"  # pragma: no cover


def _load(service: str) -> dict[str, Any]:
    path = _model_file(service)
    raw = path.read_bytes() if path.exists() else gzip.decompress(path.with_suffix(".json.gz").read_bytes())
    data: dict[str, Any] = json.loads(raw)
    return data


@pytest.fixture(scope="module")
def every_operation() -> dict[tuple[str, str], Facts]:
    found: dict[tuple[str, str], Facts] = {}
    for service in offered_services():
        model = _load(service)
        protocol = model["metadata"]["protocol"]
        for name, entry in model["operations"].items():
            found[(service, name)] = Facts.of(service, protocol, name, entry)
    return found


def _verb(operation: str) -> str:
    return re.match(r"[A-Z][a-z]*", operation).group(0) if re.match(r"[A-Z]", operation) else operation


def test_the_emulator_offers_the_services_labs_use(every_operation: dict[tuple[str, str], Facts]) -> None:
    services = {service for service, _ in every_operation}
    assert {"dynamodb", "sqs", "sns", "s3", "kms", "iam", "sts", "cloudtrail", "secretsmanager"} <= services
    assert len(services) > 100 and len(every_operation) > 5000


def test_no_operation_that_says_it_changes_something_is_read_only(
        every_operation: dict[tuple[str, str], Facts]) -> None:
    tabled = {(r.service, op) for r in RULES for op in r.operations}
    wrong = [f"{service}.{name}: {decide(facts).why}" for (service, name), facts in every_operation.items()
             if _verb(name) in CHANGE_VERBS and not name.startswith(READ_VERBS) and decide(facts).kind.read_only
             and (service, name) not in tabled]
    assert not wrong, "read-only, yet named as a change; review them and add them to RULES:\n" + "\n".join(wrong)


def test_the_formats_prefixes_stay_read_only(every_operation: dict[tuple[str, str], Facts]) -> None:
    # Labs rely on it (the lab format's rule: "read-only when the name starts with Get, Describe, List,
    # Head or Lookup"): only a reviewed AWS fact may take one back.
    overruled = {(s, n) for (s, n), facts in every_operation.items()
                 if n.startswith(FORMAT_PREFIXES) and not decide(facts).kind.read_only}
    assert overruled == {("cognito-identity", "GetId"), ("cognito-identity", "GetOpenIdTokenForDeveloperIdentity")}


def test_every_rule_names_offered_operations_and_decides_something(
        every_operation: dict[tuple[str, str], Facts]) -> None:
    for entry in RULES:
        assert entry.aws.strip() and entry.operations
        for name in entry.operations:
            facts = every_operation.get((entry.service, name))
            assert facts is not None, f"{entry.service}.{name} is not an operation the emulator offers"
            # The same facts under a service the table does not name: what the model alone would say.
            alone = decide(dataclasses.replace(facts, service=f"not-{facts.service}"))
            assert alone.kind is not entry.kind, f"{entry.service}.{name}: the rule repeats what the model says"
            assert decide(facts).why == entry.aws


def test_botocores_flags_are_followed_unless_reviewed(every_operation: dict[tuple[str, str], Facts]) -> None:
    tabled = {(r.service, op) for r in RULES for op in r.operations}
    for key, facts in every_operation.items():
        if key in tabled:
            continue
        verdict = decide(facts).kind
        if facts.readonly or (facts.protocol.startswith("rest") and facts.method in ("GET", "HEAD")):
            assert verdict is Kind.READ, key


@pytest.mark.parametrize(("action", "kind"), [
    # Reads that do not start with the format's prefixes (issue 15: refused in checks as "changes").
    ("aws.dynamodb.query", Kind.READ), ("aws.dynamodb.scan", Kind.READ), ("aws.dynamodb.batch_get_item", Kind.READ),
    ("aws.dynamodb.transact_get_items", Kind.READ), ("aws.dynamodb.get_item", Kind.READ),
    ("aws.s3.head_object", Kind.READ), ("aws.s3.head_bucket", Kind.READ), ("aws.s3.select_object_content", Kind.READ),
    ("aws.iam.simulate_principal_policy", Kind.READ), ("aws.logs.filter_log_events", Kind.READ),
    # The polling API: not read-only, safe to repeat.
    ("aws.sqs.receive_message", Kind.REPEATABLE), ("aws.kms.decrypt", Kind.REPEATABLE),
    ("aws.kms.generate_data_key", Kind.REPEATABLE),
    # Changes.
    ("aws.dynamodb.put_item", Kind.CHANGE), ("aws.dynamodb.transact_write_items", Kind.CHANGE),
    ("aws.sqs.send_message", Kind.CHANGE), ("aws.sqs.delete_message", Kind.CHANGE), ("aws.sns.publish", Kind.CHANGE),
    ("aws.kms.create_key", Kind.CHANGE), ("aws.s3.create_session", Kind.CHANGE),
    ("aws.cloudtrail.create_trail", Kind.CHANGE),  # botocore flags it idempotent: a second call fails
])
def test_what_labs_meet(action: str, kind: Kind) -> None:
    spec = registry.resolve(action)
    assert spec.operation is not None and spec.operation.kind.kind is kind
    assert (spec.read_only, spec.repeatable) == (kind.read_only, kind.repeatable)


def test_run_time_facts_are_the_tests_facts(every_operation: dict[tuple[str, str], Facts]) -> None:
    for key in [("dynamodb", "Query"), ("s3", "HeadObject"), ("sqs", "ReceiveMessage"), ("lambda", "CreateAlias"),
                ("ssm", "GetParameter"), ("ivs", "StartViewerSessionRevocation")]:
        assert aws_models.facts(*key) == every_operation[key]
