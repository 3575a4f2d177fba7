"""The action registry: every action a lab can name, with its parameters, read-only flag and permissions.

A leaf module (imports only `errors` and `aws_models`). Two kinds of action live here:
- higher-level actions, each one decorated function in its service's module under `runner/actions/`,
  registered with `@action(...)` together with its parameter schema, read-only flag and IAM permissions;
- the `aws.<service>.<operation>` family, resolved on demand from botocore's service models.
The lab JSON Schema (`runner.schema`) and the validator both read this registry; nothing else
declares what an action accepts.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from runner import aws_models
from runner.errors import did_you_mean


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

    @property
    def is_aws(self) -> bool:
        return self.operation is not None

    @property
    def can_paginate(self) -> bool:
        return self.operation is not None and self.operation.can_paginate


_BUILTINS: dict[str, ActionSpec] = {}
_loaded = False


def action(
    name: str,
    *,
    read_only: bool,
    permissions: tuple[str, ...] | list[str],
    params: Mapping[str, Any],
    files: tuple[str, ...] = (),
) -> Callable[[ActionFunc], ActionFunc]:
    """Register a higher-level action. The function's docstring: a summary line, then an example.

    The example is the YAML after a line `Example::`; `params` is the JSON Schema of the step's
    `params` (objects default to no unknown keys, so a misspelt parameter is caught before running).
    """

    def register(func: ActionFunc) -> ActionFunc:
        if name in _BUILTINS:
            raise ValueError(f"action {name} registered twice")
        doc = inspect.getdoc(func) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else name
        example = inspect.cleandoc(doc.split("Example::", 1)[1]) if "Example::" in doc else ""
        _BUILTINS[name] = ActionSpec(
            name=name,
            summary=summary,
            read_only=read_only,
            permissions=tuple(permissions),
            params=_closed(dict(params)),
            run=func,
            files=files,
            example=example,
            doc=doc,
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


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    import runner.actions as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    _loaded = True


def builtin_actions() -> dict[str, ActionSpec]:
    """Every higher-level action, by name."""
    _load_builtins()
    return dict(sorted(_BUILTINS.items()))


class UnknownAction(LookupError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def resolve(name: str) -> ActionSpec:
    """The action called `name`; raises `UnknownAction` with a did-you-mean."""
    # Called for every step the engine runs: the common cases are plain dict lookups.
    _load_builtins()
    spec = _BUILTINS.get(name)
    if spec is not None:
        return spec
    if name.startswith("aws."):
        try:
            return _aws_action(name)
        except aws_models.UnknownOperation as exc:
            raise UnknownAction(exc.message, exc.hint) from None
    builtins = builtin_actions()
    guess = did_you_mean(name, builtins)
    if guess:
        hint = f"did you mean '{guess}'?"
    elif name.count(".") == 1:
        hint = f"for an AWS API call write 'aws.{name}'; 'labrunner actions' lists every action"
    else:
        hint = "'labrunner actions' lists every action"
    raise UnknownAction(f"unknown action '{name}'", hint)


@functools.cache  # the botocore models do not change: an `aws.*` name resolves once (a miss raises, uncached)
def _aws_action(name: str) -> ActionSpec:
    return _aws_spec(aws_models.lookup(name))


def _aws_spec(op: aws_models.AwsOperation) -> ActionSpec:
    # `run` stays None: the engine calls `runner.actions.aws.call_operation` with the operation.
    return ActionSpec(
        name=op.action,
        summary=f"Call {op.service} {op.name} through boto3",
        read_only=op.read_only,
        permissions=op.permissions,
        params={},
        operation=op,
    )
