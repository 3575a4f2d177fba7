"""Durations and moments, read the one way every part of labrunner reads them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from runner.durations import PATTERN, format_duration, parse_duration, parse_moment

NOW = datetime(2026, 3, 1, 12, 0, 30, 500000, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [
    ("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h", 3600), ("7d", 7 * 86400), ("2w", 14 * 86400),
    (" 1.5s ", 1.5), (".5s", 0.5), ("12", 12), (3, 3), (0.25, 0.25),
])
def test_durations_in_every_unit(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds
    if isinstance(text, str):
        assert re.match(PATTERN, text)  # the lab schema accepts exactly what the parser reads


@pytest.mark.parametrize("bad", ["5 minutes", "-1s", "s", "", True, -3, "1y"])
def test_what_is_not_a_duration_says_how_to_write_one(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)
    if isinstance(bad, str):
        assert not re.match(PATTERN, bad)


def test_a_unit_can_be_required() -> None:
    assert parse_duration("200ms", units=("ms", "s")) == 0.2
    for text in ("200", "1m", 2):
        with pytest.raises(ValueError):
            parse_duration(text, units=("ms", "s"))


def test_moments_are_an_iso_time_or_a_duration_ago_in_whole_seconds() -> None:
    assert parse_moment("2h", NOW) == datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)
    assert parse_moment("7d", NOW) == (NOW - timedelta(days=7)).replace(microsecond=0)
    assert parse_moment("2025-03-01T09:00:00Z", NOW) == datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert parse_moment("2025-03-01T09:00:00", NOW) == datetime(2025, 3, 1, 9, tzinfo=UTC)  # UTC unless told
    assert parse_moment("2025-03-01T10:00:00+01:00", NOW) == datetime(2025, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"neither an ISO 8601 time .* nor a duration ago"):
        parse_moment("yesterday", NOW)


def test_durations_shown_as_people_read_them() -> None:
    assert [format_duration(s) for s in (0.04, 12.34, 290, 3720)] == ["0.04s", "12.3s", "4m50s", "1h02m"]
