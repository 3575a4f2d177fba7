"""`pytest --labrunner-verify`: a lab's verify cases as pytest items (the plugin, `runner.pytest_plugin`,
collects them instead of the lab's tasks).

One item per case (`verify[<case>]`); the first to run verifies the whole lab (its cases in parallel,
`verifier.verify`) on the `--labrunner-target` emulator or endpoint and keeps the verdict on the lab's
node; each item then fails with its own case's disagreements, worded as `labrunner verify` words them
(`matrix.describe`), and a case that means nothing is skipped with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from runner.model import Lab
from runner.safe_text import escape_controls
from runner.verify.cases import Case, plan

if TYPE_CHECKING:
    from pathlib import Path

    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from runner.verify.verifier import Verdict

_verdict_key = pytest.StashKey["Verdict"]()


class Disagreement(Exception):
    """A case's disagreements (or why the lab could not be verified), as text: no traceback."""


def verify_items(parent: pytest.Collector, lab: Lab) -> Iterator[VerifyItem]:
    for case in plan(lab):
        yield VerifyItem.from_parent(parent, name=f"verify[{case.name}]", case=case, lab=lab)


def verdict(node: pytest.Collector, lab: Lab) -> Verdict:
    """The lab's verify, run once for all its items."""
    if _verdict_key not in node.stash:
        from runner.errors import UsageError
        from runner.regions import DEFAULT_REGION
        from runner.verify.case_run import Settings
        from runner.verify.pools import open_pool
        from runner.verify.verifier import verify

        config = node.config
        region = str(config.getoption("labrunner_region") or lab.region or DEFAULT_REGION)
        try:
            pool = open_pool(str(config.getoption("labrunner_target")), [(lab, region)],
                             Settings(seed=config.getoption("labrunner_seed")))
            try:
                node.stash[_verdict_key] = verify(lab, pool)
            finally:
                pool.close()
        except (UsageError, OSError) as exc:
            raise Disagreement(f"--labrunner-target: {exc}") from None
    return node.stash[_verdict_key]


class VerifyItem(pytest.Item):
    """One case of a lab's verify: it fails on its case's disagreements."""

    def __init__(self, *, case: Case, lab: Lab, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.lab = lab

    def runtest(self) -> None:
        if self.case.skip is not None:
            pytest.skip(self.case.skip)
        from runner.verify.matrix import describe

        assert self.parent is not None
        found = verdict(self.parent, self.lab)
        wrong = [cell for cell in found.disagreements if cell.case.name == self.case.name]
        if wrong:
            raise Disagreement(escape_controls("\n".join(f"{cell.row}, task {cell.task.id}: {describe(cell)}"
                                                         for cell in wrong)))

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, Disagreement):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"verify {self.case.title}"
