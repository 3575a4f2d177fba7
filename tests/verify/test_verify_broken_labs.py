"""Labs whose graders are wrong in the ways verify must catch, each with the disagreements it must report.

A lab in tests/data/verify/ declares them in header comments, one per line:

    # disagrees: ROW | TASK | text in the reason

ROW is the matrix row (the case, and `(after clean-up)` for its second grade), TASK the task's id and the
text a part of the reason, which names the check behind the disagreement. Verify must report exactly
those (good.yaml declares none, and passes). The labs run in fresh accounts of the shared emulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.emulator import Emulator
from runner.engine.targets import Target
from runner.validate import load_lab
from runner.verify.case_run import Settings
from runner.verify.pools import Threads
from runner.verify.verifier import verify

pytestmark = pytest.mark.e2e

LABS = sorted((Path(__file__).resolve().parents[1] / "data" / "verify").glob("*.yaml"))


def declared(path: Path) -> set[tuple[str, str, str]]:
    found = set()
    for line in path.read_text().splitlines():
        if line.startswith("# disagrees:"):
            row, task, text = (part.strip() for part in line.removeprefix("# disagrees:").split("|"))
            found.add((row, task, text))
    return found


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_verify_reports_exactly_what_is_wrong_with_the_grader(path: Path, emulator: Emulator) -> None:
    lab = load_lab(path)
    verdict = verify(lab, Threads(Target.for_emulator(emulator, "us-east-1"), [(lab, "us-east-1")], Settings(), 4))
    reported = {(cell.row, cell.task.id, cell.reason) for cell in verdict.disagreements}
    wanted = declared(path)
    matched = {(row, task, text) for row, task, text in wanted
               if any(r == row and t == task and text in reason for r, t, reason in reported)}
    assert matched == wanted, f"not reported: {wanted - matched}\nreported: {reported}"
    assert len(reported) == len(wanted), f"more than declared: {reported}"
    assert verdict.passed is (not wanted)
    assert not [run.error for run in verdict.runs if run.error]
