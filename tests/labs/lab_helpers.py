"""What the lab tests share: running a lab through the real CLI, reading its record, making variants."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from runner.commands.main import main
from runner.loader import load_file

Change = Callable[[dict[str, Any]], None]


def run(args: list[str], tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    """`labrunner run ARGS` in process: exit code, the JSON record, the terminal output."""
    record_path = tmp_path / "record.json"
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        code = main(["run", *args, "--record", str(record_path)], out=stream)
    return code, json.loads(record_path.read_text()), out.read_text()


def statuses(record: dict[str, Any]) -> dict[str, str]:
    return {task["id"]: task["status"] for task in record["tasks"]}


def task(record: dict[str, Any], task_id: str) -> dict[str, Any]:
    return next(t for t in record["tasks"] if t["id"] == task_id)


def drop_steps(*step_ids: str) -> Change:
    """A change that removes these steps, as a student who skipped them."""

    def change(data: dict[str, Any]) -> None:
        for each in data["tasks"]:
            each["steps"] = [s for s in each.get("steps", []) if s.get("id") not in step_ids]

    return change


def variant(lab: Path, tmp_path: Path, change: Change, files: Sequence[str] = ()) -> Path:
    """A copy of `lab` in `tmp_path` with `change` applied, beside copies of the files it uses."""
    data = load_file(str(lab)).data
    change(data)
    for name in files:
        shutil.copy(lab.parent / name, tmp_path / name)
    path = tmp_path / lab.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
