"""docs/emulator.md lists every rule the emulator adds to moto, in the rule's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.emulator.fault_plan import FaultPlan
from runner.emulator.faults import FaultInjector
from runner.emulator.server import BEHAVIOURS

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text()
RULES = [r for b in (FaultInjector(FaultPlan()).behaviour, *BEHAVIOURS) for r in b.rules]


@pytest.mark.parametrize("sentence", [r.aws for r in RULES], ids=[r.aws[:40] for r in RULES])
def test_every_rule_is_listed_in_docs_emulator_md(sentence: str) -> None:
    assert f"- {sentence}\n" in DOCS, "add the rule's sentence to its service's list in docs/emulator.md"


def test_every_rule_names_what_aws_does_once() -> None:
    sentences = [r.aws for r in RULES]
    assert len(sentences) == len(set(sentences))
