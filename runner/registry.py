"""The action registry: every action a lab can name, with its parameters, read-only flag and permissions.

Two kinds of action:
- higher-level actions, each one function in its service's module under `runner/actions/`, declared with
  `@action(...)` (`runner.actions.declare`) together with its parameter schema, read-only flag and IAM
  permissions. The registry imports those modules on first use, so it sits just above them; they import
  only `declare`, never this module;
- the `aws.<service>.<operation>` family, resolved on demand from botocore's service models (`aws_models`).
The lab JSON Schema (`runner.schema`), the validator and the engine read this registry; nothing else
declares what an action accepts.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from runner import aws_models
from runner.actions.declare import DECLARED, ActionSpec
from runner.errors import did_you_mean

__all__ = ["ActionSpec", "UnknownAction", "builtin_actions", "resolve"]

_loaded = False


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
    return dict(sorted(DECLARED.items()))


class UnknownAction(LookupError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def resolve(name: str) -> ActionSpec:
    """The action called `name`; raises `UnknownAction` with a did-you-mean."""
    # Called for every step the engine runs: the common cases are plain dict lookups.
    _load_builtins()
    spec = DECLARED.get(name)
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
        repeatable=op.repeatable,
        permissions=op.permissions,
        params={},
        operation=op,
    )
