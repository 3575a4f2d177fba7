"""How an action is declared: the `@action` decorator, the `ActionSpec` it makes, and the `ActionContext`
an action runs with.

A leaf module (imports only `aws_models`): every module of `runner/actions/` declares its actions here,
and `runner.registry`, which loads those modules, reads `DECLARED`. Actions never import the registry
or the engine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from runner import aws_models


class CallerIdentity(Protocol):
    """Who a run's calls run as (STS GetCallerIdentity)."""

    @property
    def account(self) -> str: ...

    @property
    def arn(self) -> str: ...


class ActionContext(Protocol):
    """What an action may use while it runs; the engine provides it."""

    @property
    def lab_dir(self) -> Path: ...

    @property
    def region(self) -> str: ...

    @property
    def run_started(self) -> datetime: ...

    @property
    def cache(self) -> dict[str, Any]:
        """Per-run scratch space shared by every call of an action (e.g. log files already read)."""
        ...

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for the run's target, cached per service and region."""
        ...

    def lab_path(self, relative: str) -> Path:
        """A file named relative to the lab; refuses paths that leave the lab's folder."""
        ...

    def caller(self) -> CallerIdentity:
        """Who the run's calls run as: STS GetCallerIdentity, asked once per target (botocore errors raise)."""
        ...


ActionFunc = Callable[[ActionContext, dict[str, Any]], Any]


@dataclass(frozen=True)
class ActionSpec:
    """Everything the runner knows about one action."""

    name: str
    summary: str
    read_only: bool
    permissions: tuple[str, ...]
    params: Mapping[str, Any]  # JSON Schema of `params`; {} for the aws.* family (botocore validates)
    run: ActionFunc | None = None
    files: tuple[str, ...] = ()  # parameters that name files relative to the lab
    example: str = ""  # a YAML step using the action; a test validates every one
    operation: aws_models.AwsOperation | None = None
    doc: str = field(default="", repr=False)
    #: May be repeated until the step's expectations hold, with no `retry.on` (every read-only action may).
    repeatable: bool = False
    #: What a waiting step shows of an attempt's result ("3 log files read, 0 events found"); None:
    #: the values its failed expectations found.
    progress: Callable[[Any], str] | None = field(default=None, repr=False)

    @property
    def is_aws(self) -> bool:
        return self.operation is not None

    @property
    def can_paginate(self) -> bool:
        return self.operation is not None and self.operation.can_paginate


#: Every higher-level action declared so far, by name (the registry loads every module that declares one).
DECLARED: dict[str, ActionSpec] = {}


def action(
    name: str,
    *,
    read_only: bool,
    permissions: tuple[str, ...] | list[str],
    params: Mapping[str, Any],
    files: tuple[str, ...] = (),
    repeatable: bool | None = None,
    progress: Callable[[Any], str] | None = None,
) -> Callable[[ActionFunc], ActionFunc]:
    """Register a higher-level action. The function's docstring: a summary line, then an example.

    `repeatable` (default: `read_only`) says a step may repeat the action until its expectations hold
    without naming error codes in `retry.on`: it reads, or doing it again changes nothing more.

    The example is the YAML after a line `Example::`; `params` is the JSON Schema of the step's
    `params` (objects default to no unknown keys, so a misspelt parameter is caught before running).
    `progress` words what an attempt found, from its result, for a step that waits on the action.
    """

    def register(func: ActionFunc) -> ActionFunc:
        if name in DECLARED:
            raise ValueError(f"action {name} registered twice")
        doc = inspect.getdoc(func) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else name
        example = inspect.cleandoc(doc.split("Example::", 1)[1]) if "Example::" in doc else ""
        DECLARED[name] = ActionSpec(
            name=name,
            summary=summary,
            read_only=read_only,
            permissions=tuple(permissions),
            params=_closed(dict(params)),
            run=func,
            files=files,
            example=example,
            progress=progress,
            doc=doc,
            repeatable=read_only if repeatable is None else repeatable,
        )
        return func

    return register


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """Default every object schema to `additionalProperties: false` unless it says otherwise."""
    schema = dict(schema)
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)
        schema["properties"] = {k: _closed(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = _closed(schema["items"])
    return schema
