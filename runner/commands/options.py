"""What the values of shared options mean: `--var`, `--task`, `--region`, `--faults`, output paths.

Each check turns a bad value into a `UsageError` that names the option and, where it can, says what was
meant; `main.py` prints it and exits 2, before anything is touched. The options themselves are declared
in `main.py`'s parser; the commands (`run.py`, `grade.py`, `cleanup.py`, `emulator.py`) call these.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import regions
from runner.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from runner.emulator import FaultPlan
    from runner.model import Lab

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGION = re.compile(regions.PATTERN)
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?$")


def parse_value(text: str) -> Any:
    """A `--var` value: numbers, true/false and null as YAML reads them; JSON lists and mappings; else text."""
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if text in ("null", "~"):
        return None
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def parse_vars(items: list[str]) -> dict[str, Any]:
    """Every `--var NAME=VALUE`, by name."""
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--var: expected NAME=VALUE, got '{item}'")
        name = name.strip()
        if not _VAR_NAME.match(name):
            raise UsageError(f"--var: '{name}' is not a var name (letters, digits and _, not starting with a digit)")
        overrides[name] = parse_value(value)
    return overrides


def check_vars(lab: Lab, overrides: Mapping[str, Any]) -> None:
    """Refuse a `--var` the lab does not declare."""
    for name in overrides:
        if name not in lab.vars:
            guess = did_you_mean(name, list(lab.vars))
            known = ", ".join(lab.vars) or "none"
            hint = f"did you mean '{guess}'?" if guess else f"the lab's vars: {known}"
            raise UsageError(f"--var: lab '{lab.name}' has no var '{name}'; {hint}")


def check_tasks(lab: Lab, wanted: list[str]) -> tuple[str, ...]:
    """The `--task` ids, each once, in the order given; refuses an id the lab does not have."""
    ids = [task.id for task in lab.tasks]
    for task_id in wanted:
        if task_id not in ids:
            guess = did_you_mean(task_id, ids)
            hint = f"did you mean '{guess}'?" if guess else "tasks: " + ", ".join(ids)
            raise UsageError(f"--task: lab '{lab.name}' has no task '{task_id}'; {hint}")
    return tuple(dict.fromkeys(wanted))


def choose_region(*choices: Any) -> str:
    """The first region given (`--region`, then the lab's or the record's), else the default; checked."""
    region = str(next((choice for choice in choices if choice), regions.DEFAULT_REGION))
    if not _REGION.match(region):
        raise UsageError(f"--region: '{region}' is not an AWS region code such as us-west-2")
    return region


def parse_faults(text: str | None) -> FaultPlan | None:
    """The emulator's FaultPlan for `--faults`, or None; a malformed plan is a usage error."""
    if not text:
        return None
    from runner.emulator import FaultPlan  # only --faults needs the emulator (and moto)

    try:
        return FaultPlan.parse(text)
    except ValueError as exc:
        raise UsageError(f"--faults: {exc}") from None


def check_output(path: str | os.PathLike[str], option: str, *, folder: bool = False) -> None:
    """Refuse an output path that cannot be written, before anything runs: a `UsageError` naming `option`.

    A run finds out only when it first writes its record, by then on an open target (and a grade only
    at its end, after the work); this asks first. Nothing is created: the folders the write would
    make are made then. `folder`: the path names a folder to write files into.
    """
    where = Path(path)
    if where.is_dir() and not folder:
        raise UsageError(f"{option} {where}: is a folder; name a file in it, e.g. {where / 'out.json'}")
    if where.exists() and folder and not where.is_dir():
        raise UsageError(f"{option} {where}: is a file; name a folder (it is made if missing)")
    if where.exists() and not folder and not os.access(where, os.W_OK):
        raise UsageError(f"{option} {where}: the file is read-only")
    existing = where if folder else where.parent
    while not existing.exists() and existing != existing.parent:  # the folders the write would make
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {where}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {where}: cannot write in {existing} (permission denied)")
