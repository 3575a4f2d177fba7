"""What verify plans for a lab: its cases, how far each runs, when it grades, and what it expects."""

from __future__ import annotations

from pathlib import Path

from testkit import lab_from

from runner.verify.cases import plan
from runner.verify.mode import Verify

LAB = """\
lab: plan
title: Plan
tasks:
  - id: one
    title: One
    steps: [{action: aws.s3.list_buckets}]
    checks: [{action: aws.s3.list_buckets}]
    alternatives:
      other: [{action: aws.kms.list_keys}]
  - id: two
    title: Two, with nothing to leave out
    checks: [{action: aws.s3.list_buckets}]
  - id: three
    title: Three
    steps: [{action: aws.s3.list_buckets}]
    checks: [{action: aws.s3.list_buckets}]
    mistakes:
      wrong: [{action: aws.kms.list_aliases}]
"""


def test_every_case_with_how_far_it_runs_and_when_it_grades(tmp_path: Path) -> None:
    lab = lab_from(tmp_path, LAB)
    cases = {case.name: case for case in plan(lab)}
    assert list(cases) == ["untouched", "reference", "leave-out/one", "leave-out/two", "leave-out/three",
                           "alternative/one/other", "mistake/three/wrong"]
    assert {name: (c.stop, c.phases) for name, c in cases.items() if c.skip is None} == {
        "untouched": (0, ("as-it-goes",)),
        "reference": (3, ("as-it-goes", "after-clean-up")),
        "leave-out/one": (3, ("as-it-goes",)),
        "leave-out/three": (3, ("as-it-goes",)),
        "alternative/one/other": (1, ("as-it-goes", "after-clean-up")),  # later tasks would repeat the reference
        "mistake/three/wrong": (3, ("as-it-goes",)),
    }
    assert cases["leave-out/two"].skip == "the task has no steps to leave out"
    assert cases["leave-out/one"].routes == {"one": ()}
    assert [s.key for s in cases["mistake/three/wrong"].routes["three"]] == ["three.mistakes.wrong[0]"]


def test_what_each_case_expects_of_each_task(tmp_path: Path) -> None:
    lab = lab_from(tmp_path, LAB)
    expects = {case.name: [case.expect(lab, i) for i in range(3)] for case in plan(lab)}
    assert expects["untouched"] == ["zero", "zero", "zero"]
    assert expects["reference"] == ["full", "full", "full"]
    assert expects["leave-out/one"] == ["zero", "full-or-dependent", "full-or-dependent"]
    assert expects["leave-out/three"] == ["full", "full", "zero"]
    assert expects["alternative/one/other"] == ["full", "none", "none"]
    assert expects["mistake/three/wrong"] == ["full", "full", "zero"]


def test_the_verify_mode_runs_a_case_s_steps_and_nothing_else(tmp_path: Path) -> None:
    lab = lab_from(tmp_path, LAB)
    case = next(c for c in plan(lab) if c.name == "mistake/three/wrong")
    mode = Verify(case.routes)
    one, _, three = lab.tasks
    assert mode.sections(one) == (("steps", one.steps),)
    assert mode.sections(three) == (("steps", three.mistakes["wrong"]),)
    assert mode.name == "run" and mode.cleans_up  # steps run as `labrunner run` runs them, cleanups too
