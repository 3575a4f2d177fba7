"""The run context: what a step can see while it runs, replaced (never mutated) as values are saved.

Built by `loop.py` from the lab, the target (`targets.py`) and the run's identity. It holds
- `Services`, the `ActionContext` that actions get (`runner.actions.declare`): the target's clients cached per
  service and region, the lab's folder, the region, when the run began, and a per-run cache;
- the template variables: the lab's `vars` (rendered once, in order), then every value saved so far;
- the builtins of `runner.templates`: `run`, `target`, `caller` (STS, asked once, only if a template
  reads it), `random_digits`/`random_id` (one seeded generator, so `--seed` replays names),
  `file_sha256`/`file_size` (inside the lab's folder only) and `s3_object_url`.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from runner import templates
from runner.actions.failures import ActionFailed
from runner.engine.redaction import Redactor
from runner.engine.targets import Identity, Target
from runner.model import Lab

_ID_ALPHABET = string.ascii_lowercase + string.digits  # valid in bucket, key and role names alike
_MAX_RANDOM = 64


@dataclass(frozen=True)
class RunInfo:
    id: str
    started: datetime  # UTC
    mode: str = "run"
    window_start: datetime | None = None  # grading: when the lab's window began (`--since`)

    @property
    def started_text(self) -> str:
        return self.started.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def since(self) -> datetime:
        """Where "since the lab began" starts: the grading window, else the run's own start."""
        return self.window_start or self.started


@dataclass(frozen=True)
class Services:
    """The `ActionContext` of a run (see `runner.actions.declare.ActionContext`)."""

    target: Target
    lab_dir: Path
    run_started: datetime
    cache: dict[str, Any] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)
    template_builtins: dict[str, Any] = field(default_factory=dict, repr=False)  # see RunContext.template_context

    @property
    def region(self) -> str:
        return self.target.region

    def client(self, service: str, region: str | None = None) -> Any:
        return self.target.client(service, region)

    def caller(self) -> Identity:
        return self.target.identity()

    def lab_path(self, relative: str) -> Path:
        base = self.lab_dir.resolve()
        if Path(relative).is_absolute():
            raise ActionFailed("InvalidPath", f"file '{relative}' is an absolute path; name files relative to "
                               "the lab file")
        path = (base / relative).resolve()
        if not path.is_relative_to(base):
            raise ActionFailed("InvalidPath", f"file '{relative}' is outside the lab's folder")
        return path


class _Caller:
    """`caller.*`: asks STS on first use only, so a lab that never reads it never needs STS."""

    def __init__(self, target: Target) -> None:
        self._target = target

    @property
    def arn(self) -> str:
        return self._target.identity().arn

    @property
    def account(self) -> str:
        return self._target.identity().account

    @property
    def user_id(self) -> str:
        return self._target.identity().user_id


class _TargetNamespace:
    def __init__(self, target: Target) -> None:
        self._target = target
        self.region = target.region
        self.partition = target.partition
        self.kind = target.kind

    @property
    def account(self) -> str:
        return self._target.identity().account


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_RANDOM:
        raise ValueError(f"expected a whole number from 1 to {_MAX_RANDOM}, got {n!r}")
    return n


@dataclass(frozen=True)
class RunContext:
    lab: Lab
    run: RunInfo
    services: Services
    seed: int
    rng: random.Random
    variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def create(cls, lab: Lab, run: RunInfo, target: Target, seed: int,
               redactor: Redactor | None = None) -> RunContext:
        # Actions read "since the run began" (log searches); a grade looks back over the lab's window.
        services = Services(target=target, lab_dir=lab.directory, run_started=run.since,
                            redactor=redactor or Redactor())
        return cls(lab=lab, run=run, services=services, seed=seed, rng=random.Random(seed))

    @property
    def target(self) -> Target:
        return self.services.target

    @property
    def redactor(self) -> Redactor:
        return self.services.redactor

    def with_variables(self, values: Mapping[str, Any]) -> RunContext:
        """A context that also sees `values` (later saves replace earlier values of the same name)."""
        if not values:
            return self
        return replace(self, variables=MappingProxyType({**self.variables, **values}))

    # ---- templates

    def template_context(self) -> dict[str, Any]:
        """What templates see: the variables and the builtins (a lab's names cannot hide them)."""
        builtins = self.services.template_builtins
        if not builtins:
            # Made once per run: they depend only on the run, its seed and its target, which every
            # context of the run shares (`with_variables` changes the variables only).
            builtins.update(self._builtins())
        return {**self.variables, **builtins}

    def _builtins(self) -> dict[str, Any]:
        target = self.services.target
        return {
            "run": {"id": self.run.id, "started": self.run.started_text, "mode": self.run.mode,
                    "since": self.run.since.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "target": _TargetNamespace(target),
            "caller": _Caller(target),
            "random_digits": self._random_digits,
            "random_id": self._random_id,
            "file_sha256": self._file_sha256,
            "file_size": self._file_size,
            "s3_object_url": target.object_url,
        }

    def render(self, value: Any) -> Any:
        """Render every template in `value`; raises `runner.templates.TemplateError`."""
        return templates.render(value, self.template_context())

    def _random_digits(self, n: int = 5) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(_count(n)))

    def _random_id(self, n: int = 8) -> str:
        return "".join(self.rng.choice(_ID_ALPHABET) for _ in range(_count(n)))

    def _file(self, relative: str) -> Path:
        path = self.services.lab_path(str(relative))
        if not path.is_file():
            raise ActionFailed("FileNotFound", f"file '{relative}' does not exist beside the lab")
        return path

    def _file_sha256(self, relative: str) -> str:
        digest = hashlib.sha256()
        with self._file(relative).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def _file_size(self, relative: str) -> int:
        return self._file(relative).stat().st_size


class VarError(Exception):
    """A var that did not render; names the var."""

    def __init__(self, name: str, error: templates.TemplateError) -> None:
        super().__init__(f"var '{name}': {error.message}")
        self.name = name
        self.error = error


def render_vars(ctx: RunContext, overrides: Mapping[str, Any] | None = None) -> RunContext:
    """The context with the lab's vars rendered in order (each sees the earlier ones).

    An override from `--var` replaces the var's value as given: it is a literal, not a template.
    """
    overrides = overrides or {}
    for name, raw in ctx.lab.vars.items():
        if name in overrides:
            value = overrides[name]
        else:
            try:
                value = ctx.render(raw)
            except templates.TemplateError as exc:
                raise VarError(name, exc) from None
        ctx = ctx.with_variables({name: value})
    return ctx
