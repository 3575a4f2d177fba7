"""The grader policy is enough, and no more: for every lab in labs/, grading through a role that holds exactly
the policy `labrunner grade LAB --print-policy` prints gives the grade the account's root user gets.

A student account does the lab (`labrunner run` as the account's root user, with every cleanup left out so
that there is something to grade), either up to its tasks that tear things down (the resources are there to
check) or to its end (what was deleted is credited by CloudTrail evidence). The instructor grades it twice:
with the account's own root credentials, and as a class of one through the account's Grader role, which trusts
the instructor's account and holds the printed policy. The emulator enforces IAM, so a permission the policy
lacks fails a check as AccessDenied.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from grading_helpers import GRADER_ROLE, ROOT, grade, make_grader

from runner.commands.main import main
from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator
from runner.loader import load_file

pytestmark = pytest.mark.e2e

LABS = sorted((ROOT / "labs").glob("*.yaml"))
REGION = "us-west-2"
LOG_DELAY = 1.0  # the KMS lab waits for its log files
# A task that tears down what earlier tasks made (the labs' delete-key and clean-up tasks).
DESTROYS = re.compile(r"\.(delete_|schedule_key_deletion|disable_key|empty_bucket)")


def _without_cleanups(lab: Path, folder: Path, to_the_end: bool) -> Path:
    """A copy of `lab` (beside its files) that leaves what it made in place, for grading; unless `to_the_end`,
    without the tasks that tear things down."""
    data = load_file(str(lab)).data
    data.pop("cleanup", None)
    if not to_the_end:
        data["tasks"] = [t for t in data["tasks"]
                         if not any(DESTROYS.search(s["action"]) for s in t.get("steps", []))]
    for task in data["tasks"]:
        for step in task.get("steps", []):
            step.pop("cleanup", None)
    for item in lab.parent.iterdir():
        if item.suffix != ".yaml":
            (folder / item.name).write_bytes(item.read_bytes())
    copy = folder / lab.name
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


def _as(monkeypatch: pytest.MonkeyPatch, access_key: str, secret: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _grades(record: dict[str, Any]) -> dict[str, tuple[str, float]]:
    return {t["id"]: (t["status"], t["score"]) for t in record["tasks"]}


def _denied(record: dict[str, Any]) -> list[str]:
    """Every refusal IAM gave the grader, as its message says."""
    return re.findall(r"is not authorized to perform: [\w:]+[^\"]*", json.dumps(record))


@pytest.mark.parametrize("to_the_end", [False, True], ids=["resources", "evidence"])
@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_grading_through_the_printed_policy_gives_the_root_users_grade(
    lab: Path, to_the_end: bool, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = f"41000000{LABS.index(lab):02d}{int(to_the_end):02d}"
    work = tmp_path / "lab"
    work.mkdir()
    copy = _without_cleanups(lab, work, to_the_end)

    _as(monkeypatch, account, "root")  # the student: the account's root user
    with (tmp_path / "run.txt").open("w") as out:
        main(["run", str(copy), "--target", emulator.endpoint, "--region", REGION, "--keep-going",
              "--record", str(tmp_path / "run.json")], out=out)
    _, output, record_path = grade([str(lab), "--target", emulator.endpoint, "--region", REGION], tmp_path, "root")
    as_root = json.loads(record_path.read_text())

    _as(monkeypatch, EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY)  # the instructor, in the default account
    make_grader(emulator, account, lab)
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(f"{account}\n")
    _, class_output, folder = grade([str(lab), "--target", emulator.endpoint, "--region", REGION, "--accounts",
                                     str(accounts), "--role-arn", GRADER_ROLE], tmp_path, "grader")
    as_grader = json.loads((folder / f"{account}.json").read_text())

    assert as_grader.get("error") is None, class_output
    assert _denied(as_grader) == [], "the printed policy lacks a permission a check needs"
    assert _grades(as_grader) == _grades(as_root), output
    assert as_root["score"] > 0, output
