"""The live console's wording: a failed step's line, where it is, what was expected, and durations."""

from __future__ import annotations

import io

from engine_helpers import make_record

from runner.engine.console import Console, duration


def test_console_wording() -> None:
    out = io.StringIO()
    console = Console(out)
    record = make_record()
    console.step_finished(record.tasks[0].steps[1])
    text = out.getvalue()
    assert "use (aws.s3.list_buckets) ... FAILED" in text and ", 3 attempts" in text
    assert "at lab.yaml:9:7" in text
    assert "Owner.ID equals: expected 'wJalrX" in text and "actual 'someone'" in text and "hint: hint!" in text
    assert "aws error: AccessDenied: denied for" in text
    assert [duration(s) for s in (0.04, 12.34, 290, 3725)] == ["0.04s", "12.3s", "4m50s", "1h02m"]
