"""What an instructor chose when the autograder was built, as `autograder.json` in its zip.

A leaf of `runner.autograder`: `package.py` writes it, `run.py` reads it on Gradescope for every
submission. A malformed file is a `ValueError` naming what is wrong: the zip was edited by hand, or
built by another labrunner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from runner.grading.gradescope import VISIBILITIES, Settings

FILE = "autograder.json"


@dataclass(frozen=True)
class Config:
    lab: str  # the lab's file name, in the zip's root
    role_name: str  # the grader role in each student's account
    labrunner: str  # the version that built the zip (and whose wheel is in it)
    region: str | None = None
    tasks: tuple[str, ...] = ()
    vars: dict[str, Any] = field(default_factory=dict)
    gradescope: Settings = field(default_factory=Settings)

    def to_json(self) -> str:
        return json.dumps({
            "lab": self.lab, "role_name": self.role_name, "labrunner": self.labrunner, "region": self.region,
            "tasks": list(self.tasks), "vars": self.vars,
            "visibility": self.gradescope.visibility, "stdout_visibility": self.gradescope.stdout_visibility,
            "test_visibility": dict(self.gradescope.tests),
        }, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Config:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{FILE} is not a JSON object")
        for key in ("lab", "role_name", "labrunner"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"{FILE}: '{key}' is missing or not a string")
        visibilities = {"visibility": data.get("visibility", "visible"),
                        "stdout_visibility": data.get("stdout_visibility", "hidden"),
                        **{f"test_visibility.{k}": v for k, v in (data.get("test_visibility") or {}).items()}}
        for key, value in visibilities.items():
            if value not in VISIBILITIES:
                raise ValueError(f"{FILE}: {key} is {value!r}, not one of {', '.join(VISIBILITIES)}")
        return cls(lab=data["lab"], role_name=data["role_name"], labrunner=data["labrunner"],
                   region=data.get("region") or None, tasks=tuple(data.get("tasks") or ()),
                   vars=dict(data.get("vars") or {}),
                   gradescope=Settings(visibilities["visibility"], visibilities["stdout_visibility"],
                                       dict(data.get("test_visibility") or {})))
