"""`labrunner actions [NAME]`: what each action is, whether it is read-only, what it needs and takes.

Every action, one AWS service's operations (`aws.kms`), or one action in full (`aws.kms.create_key`,
`s3.upload_file`), as text or JSON. Reads the registry (`runner.registry`) and botocore's models
(`runner.aws_models`); decides nothing.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any, TextIO

from runner import aws_models, registry
from runner.commands.exits import EXIT_OK
from runner.errors import UsageError, suggestion
from runner.operation_kinds import Kind

_TAGS = re.compile(r"<[^>]+>")
#: How a service's listing names what each operation does to an account.
_KIND_WORDS = {Kind.READ: "read-only", Kind.REPEATABLE: "repeatable", Kind.CHANGE: "mutating"}


def _first_sentence(html: str) -> str:
    text = " ".join(_TAGS.sub("", html or "").split())
    end = text.find(". ")
    return text[: end + 1] if end > 0 else text


def _builtin_params(spec: registry.ActionSpec) -> list[dict[str, Any]]:
    schema = spec.params
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or ("one of " + "/".join(map(str, prop["enum"])) if "enum" in prop else "any")
        if "$ref" in prop:
            kind = prop["$ref"].rsplit("/", 1)[-1]
        if "anyOf" in prop:
            kind = " or ".join(str(p.get("type", "?")) for p in prop["anyOf"])
        rows.append({"name": name, "type": kind, "required": name in required,
                     "description": prop.get("description", "")})
    return rows


def _aws_params(op: aws_models.AwsOperation) -> list[dict[str, Any]]:
    shape = op.model.input_shape
    if shape is None:
        return []
    required = set(shape.required_members)
    return [
        {"name": name, "type": _aws_type(member), "required": name in required,
         "description": _first_sentence(member.documentation)}
        for name, member in shape.members.items()
    ]


def _aws_type(shape: Any) -> str:
    """A parameter's type as an author writes it: enums list their values (botocore checks none of them)."""
    enum = getattr(shape, "enum", None)
    if shape.type_name == "string" and enum:
        return "one of " + "/".join(enum) if len(enum) <= 8 else f"string ({len(enum)} values)"
    if shape.type_name == "list":
        return f"list of {_aws_type(shape.member)}"
    return str(shape.type_name)


def _summary(spec: registry.ActionSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "summary": spec.summary,
        "read_only": spec.read_only,
        "repeatable": spec.repeatable,
        "permissions": list(spec.permissions),
    }


def command(args: argparse.Namespace, out: TextIO) -> int:
    name, fmt = args.name, args.format
    if name is None:
        return _list_all(fmt, out)
    if name.startswith("aws.") and name.count(".") == 1:
        return _list_service(name.split(".", 1)[1], fmt, out)
    try:
        spec = registry.resolve(name)
    except registry.UnknownAction as exc:
        raise UsageError(f"{exc.message}; {exc.hint}") from None
    params = _aws_params(spec.operation) if spec.operation else _builtin_params(spec)
    info = {**_summary(spec), "parameters": params, "example": spec.example,
            "paginate": spec.can_paginate}
    if fmt == "json":
        out.write(json.dumps(info, indent=2) + "\n")
        return EXIT_OK
    out.write(f"{spec.name}: {spec.summary}\n")
    out.write(f"  read-only: {'yes' if spec.read_only else 'no'}\n")
    out.write(f"  safe to repeat: {'yes' if spec.repeatable else 'no'}"
              + (f" ({spec.operation.kind.why})" if spec.operation else "") + "\n")
    out.write(f"  permissions: {', '.join(spec.permissions) or 'none'}\n")
    if spec.operation:
        out.write(f"  paginate: {'yes' if spec.can_paginate else 'no'}\n")
    out.write("  parameters:\n")
    for row in params:
        flag = " (required)" if row["required"] else ""
        out.write(f"    {row['name']}: {row['type']}{flag}  {row['description']}\n".rstrip() + "\n")
    if spec.example:
        out.write("  example:\n" + "".join(f"    {line}\n" for line in spec.example.splitlines()))
    return EXIT_OK


def _list_all(fmt: str, out: TextIO) -> int:
    builtins = registry.builtin_actions()
    if fmt == "json":
        rows = [{**_summary(s), "parameters": _builtin_params(s)} for s in builtins.values()]
        out.write(json.dumps({"actions": rows, "aws_services": list(aws_models.service_names())}, indent=2) + "\n")
        return EXIT_OK
    width = max(len(n) for n in builtins)
    out.write(f"{'ACTION':<{width}}  READ-ONLY  PERMISSIONS / PARAMETERS\n")
    for spec in builtins.values():
        params = ", ".join(r["name"] + ("" if r["required"] else "?") for r in _builtin_params(spec))
        out.write(f"{spec.name:<{width}}  {'yes' if spec.read_only else 'no':<9}  "
                  f"{', '.join(spec.permissions) or '-'}\n{'':<{width}}             params: {params}\n")
    out.write(f"\naws.<service>.<operation>: any of {len(aws_models.service_names())} services' operations, "
              "snake_case; read-only when it only reads (Get, Describe, List, Head, Lookup, Query, Scan...).\n"
              "  'labrunner actions aws.kms' lists a service's operations; "
              "'labrunner actions aws.kms.create_key' shows one.\n")
    return EXIT_OK


def _list_service(service: str, fmt: str, out: TextIO) -> int:
    if service not in aws_models.service_names():
        hint = suggestion(service, aws_models.service_names())
        raise UsageError(f"unknown AWS service '{service}'" + (f"; {hint}" if hint else ""))
    ops = aws_models.operations(service)
    if fmt == "json":
        rows = [{"name": op.action, "read_only": op.read_only, "repeatable": op.repeatable,
                 "permissions": list(op.permissions)} for op in ops.values()]
        out.write(json.dumps({"service": service, "operations": rows}, indent=2) + "\n")
        return EXIT_OK
    for op in ops.values():
        out.write(f"{op.action:<60} {_KIND_WORDS[op.kind.kind]}\n")
    return EXIT_OK
