"""The fault plan (`runner/emulator/fault_plan.py`): the syntax `--faults` reads, what it refuses and
how it says so, and the plan written back and in words."""

from __future__ import annotations

from typing import Any

import pytest

from runner.emulator import FaultPlan
from runner.emulator.fault_plan import ACCEPTED, EXAMPLE


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        (EXAMPLE, FaultPlan(throttle=0.2, error=0.05, latency=0.1, latency_seconds=0.2, seed=7)),
        ("throttle=1", FaultPlan(throttle=1.0)),
        (" error = 0.5 , seed=0 ", FaultPlan(error=0.5)),
        ("latency=1:1.5s", FaultPlan(latency=1.0, latency_seconds=1.5)),
        ("latency=0.25:.5ms", FaultPlan(latency=0.25, latency_seconds=0.0005)),
        ("throttle=0.5,error=0.5", FaultPlan(throttle=0.5, error=0.5)),
        ("throttle=0.1,spare=sts+kms.Decrypt", FaultPlan(throttle=0.1, spare=frozenset({"sts", "kms.Decrypt"}))),
        ("throttle=0", FaultPlan()),
    ],
)
def test_parse_reads_the_compact_syntax(text: str, plan: FaultPlan) -> None:
    assert FaultPlan.parse(text) == plan


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE,
        "throttle=1",
        "latency=0.5:1.5s,seed=3",
        "error=0.01,spare=iam+s3.GetObject",
        "throttle=0.1234567",
        "seed=4",
    ],
)
def test_a_plan_prints_in_the_syntax_it_parses_from(text: str) -> None:
    plan = FaultPlan.parse(text)
    assert FaultPlan.parse(str(plan)) == plan
    assert str(FaultPlan.parse("error=0.05,throttle=0.2,seed=7,latency=0.1:200ms")) == EXAMPLE


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["empty fault plan"]),
        ("throttle", ["'throttle': expected NAME=VALUE"]),
        ("throtle=0.2", ["unknown setting 'throtle' (did you mean 'throttle'?)"]),
        ("faults=0.2", ["unknown setting 'faults'"]),
        ("throttle=2", ["'throttle=2': a rate is a number from 0 to 1"]),
        ("error=-0.1", ["'error=-0.1': a rate is a number from 0 to 1"]),
        ("error=lots", ["'error=lots': a rate"]),
        ("throttle=nan", ["'throttle=nan': a rate"]),
        ("latency=0.1", ["'latency=0.1': latency needs a duration: latency=RATE:DURATION"]),
        ("latency=0.1:200", ["'200' is not a duration; write it like 200ms or 1.5s"]),
        ("latency=0.1:0ms", ["'0ms' is not a duration"]),
        ("latency=2:1s", ["'latency=2:1s': a rate"]),
        ("seed=-1", ["'seed=-1': a seed is a non-negative integer"]),
        ("seed=x", ["'seed=x': a seed"]),
        ("spare=kms.", ["'kms.' is not SERVICE or SERVICE.Operation"]),
        ("spare=", ["'' is not SERVICE"]),
        ("throttle=0.1,throttle=0.2", ["'throttle=0.2': throttle is given twice"]),
        ("throttle=0.8,error=0.5", ["'throttle=0.8' and 'error=0.5' together exceed 1"]),
        ("throttle=0.1,,seed=1", ["an empty setting (a stray comma?)"]),
        # Every problem at once, not just the first.
        ("throttle=2,seed=x,bogus=1", ["'throttle=2'", "'seed=x'", "'bogus=1'"]),
    ],
)
def test_parse_names_each_bad_part_and_the_accepted_form(text: str, fragments: list[str]) -> None:
    with pytest.raises(ValueError) as caught:
        FaultPlan.parse(text)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert message.endswith(ACCEPTED)
    assert EXAMPLE in message
    assert "\n" not in message  # the CLI prints it as one line


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"throttle": 1.5}, "throttle is 1.5, not a rate"),
        ({"throttle": 0.6, "error": 0.6}, "together exceed 1"),
        ({"latency": 0.5}, "latency needs a positive latency_seconds"),
        ({"seed": -3}, "seed is -3"),
        ({"spare": frozenset({"KMS!"})}, "spare 'KMS!'"),
    ],
)
def test_a_plan_built_directly_is_checked_too(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match="bad fault plan") as caught:
        FaultPlan(**fields)
    assert fragment in str(caught.value)


def test_describe_says_the_plan_in_words() -> None:
    plan = FaultPlan.parse(EXAMPLE + ",spare=sts")
    assert plan.describe() == "throttling 20%, server errors 5%, 200ms latency 10% of calls, seed 7, sparing sts"
    assert FaultPlan().describe() == "no faults, seed 0"
