"""Invariants over the whole action registry, and how names resolve."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runner import aws_models, registry
from runner.actions import declare
from runner.loader import load_text
from runner.validate import validate_file

BUILTINS = registry.builtin_actions()
PERMISSION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*]+$")


def test_the_format_s_required_actions_are_registered() -> None:
    for name in ("s3.upload_file", "s3.empty_bucket", "http.request", "cloudtrail.find_events",
                 "kms.key_users", "kms.key_administrators"):
        assert name in BUILTINS


@pytest.mark.parametrize("spec", BUILTINS.values(), ids=list(BUILTINS))
def test_every_higher_level_action_is_fully_declared(spec: registry.ActionSpec) -> None:
    assert re.fullmatch(r"[a-z0-9]+\.[a-z0-9_]+", spec.name) and not spec.name.startswith("aws.")
    assert spec.summary and spec.summary != spec.name and not spec.summary.endswith(":")
    assert isinstance(spec.permissions, tuple)
    assert spec.permissions or spec.name == "http.request", "declare the IAM permissions the action needs"
    for permission in spec.permissions:
        assert PERMISSION.fullmatch(permission), permission
    assert spec.run is not None and spec.operation is None and not spec.is_aws
    jsonschema.Draft202012Validator.check_schema(dict(spec.params))
    assert spec.params.get("type") == "object"
    assert spec.params.get("additionalProperties") is False, "parameter schemas reject unknown keys"
    for name, prop in spec.params.get("properties", {}).items():
        assert prop.get("description") or name == "extra_args" or "additionalProperties" in prop, \
            f"describe parameter '{name}' (labrunner actions shows it)"
    for name in spec.files:
        assert name in spec.params["properties"], f"file parameter '{name}' is not in the schema"
    assert spec.example, "give the action an example (a docstring section 'Example::')"


def _wrap(spec: registry.ActionSpec, lab_dir: Path) -> Path:
    step = load_text(spec.example, spec.name).data  # YAML 1.2, as labs are read
    assert isinstance(step, dict) and step.get("action") == spec.name, "the example is one step using the action"
    for name in spec.files:  # files the example names exist beside the lab
        (lab_dir / step["params"][name]).write_text("example\n")
    section = "checks" if spec.read_only else "steps"
    lab: dict[str, Any] = {"lab": "example", "title": "Example",
                           "tasks": [{"id": "t", "title": "Example", section: [step]}]}
    path = lab_dir / "example.yaml"
    path.write_text(yaml.safe_dump(lab, sort_keys=False))
    return path


@pytest.mark.parametrize("spec", BUILTINS.values(), ids=list(BUILTINS))
def test_every_example_validates(spec: registry.ActionSpec, tmp_path: Path) -> None:
    lab, problems = validate_file(_wrap(spec, tmp_path))
    assert not problems, "\n".join(p.format() for p in problems)
    assert lab is not None


@pytest.mark.parametrize(("action", "read_only"), [
    ("aws.kms.describe_key", True), ("aws.kms.list_aliases", True), ("aws.kms.get_key_policy", True),
    ("aws.s3.head_object", True), ("aws.s3.get_object", True), ("aws.cloudtrail.lookup_events", True),
    ("aws.kms.create_key", False), ("aws.kms.decrypt", False), ("aws.kms.generate_data_key", False),
    ("aws.s3.put_object", False), ("aws.s3.delete_bucket", False), ("aws.cloudtrail.start_logging", False),
])
def test_aws_read_only_examples(action: str, read_only: bool) -> None:
    assert registry.resolve(action).read_only is read_only


@pytest.mark.parametrize("service", ["kms", "s3", "cloudtrail", "iam", "sts", "ec2"])
def test_aws_read_only_follows_the_operation_kinds(service: str) -> None:
    for op in aws_models.operations(service).values():
        # The format's prefixes are read-only (tests/test_operation_kinds.py holds every service to it).
        spec = registry.resolve(op.action)
        assert spec.read_only is aws_models.is_read_only(service, op.name), op.name
        assert not op.name.startswith(("Get", "Describe", "List", "Head", "Lookup")) or spec.read_only, op.name
        assert spec.repeatable is (spec.read_only or aws_models.kind(service, op.name).kind.repeatable)
        assert spec.is_aws and spec.params == {} and spec.run is None
        assert spec.permissions and all(PERMISSION.fullmatch(p) for p in spec.permissions)


def test_aws_permissions() -> None:
    assert registry.resolve("aws.kms.create_key").permissions == ("kms:CreateKey",)
    assert registry.resolve("aws.s3.list_objects_v2").permissions == ("s3:ListBucket",)
    assert registry.resolve("aws.s3.put_public_access_block").permissions == ("s3:PutBucketPublicAccessBlock",)


def test_pagination() -> None:
    assert registry.resolve("aws.s3.list_objects_v2").can_paginate
    assert registry.resolve("aws.kms.list_keys").can_paginate
    assert not registry.resolve("aws.kms.describe_key").can_paginate
    assert not registry.resolve("s3.empty_bucket").can_paginate


def test_every_service_resolves() -> None:
    services = aws_models.service_names()
    assert len(services) > 300 and {"kms", "s3", "cloudtrail", "sts", "iam"} <= set(services)


def _unknown(name: str) -> registry.UnknownAction:
    with pytest.raises(registry.UnknownAction) as info:
        registry.resolve(name)
    return info.value


@pytest.mark.parametrize(("name", "message", "hint"), [
    ("s3.upload_fil", "unknown action 's3.upload_fil'", "did you mean 's3.upload_file'?"),
    ("http.requests", "unknown action 'http.requests'", "did you mean 'http.request'?"),
    ("aws.kmss.create_key", "unknown AWS service 'kmss' in action 'aws.kmss.create_key'",
     "did you mean 'aws.kms.create_key'?"),
    ("aws.kms.CreateKey", "unknown operation 'CreateKey' for service 'kms'",
     "operations are snake_case: did you mean 'aws.kms.create_key'?"),
    ("aws.kms.creat_key", "unknown operation 'creat_key' for service 'kms'", "did you mean 'aws.kms.create_key'?"),
    ("aws.s3.list_objects_v3", "unknown operation 'list_objects_v3' for service 's3'", "did you mean 'aws.s3."),
    ("aws.kms", "'aws.kms' is not an AWS action name", "write aws.<service>.<operation>"),
    ("sts.get_caller_identity", "unknown action 'sts.get_caller_identity'",
     "for an AWS API call write 'aws.sts.get_caller_identity'"),
    ("nothing", "unknown action 'nothing'", "'labrunner actions' lists every action"),
])
def test_unknown_names_say_what_was_meant(name: str, message: str, hint: str) -> None:
    error = _unknown(name)
    assert error.message == message
    assert hint in error.hint


def test_registering_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        declare.action("http.request", read_only=True, permissions=(), params={"type": "object"})(
            lambda ctx, params: None)
