"""JUnit XML from a record: one testcase a step, failures with their type, place and attempts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine_helpers import make_record

from runner.engine import junit


def test_junit_structure() -> None:
    root = ET.fromstring(junit.render(make_record()))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    cases = root.findall(".//testcase")
    assert [c.get("classname") for c in cases] == ["t", "t", "t"]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "AccessDenied"
    assert failure.text is not None and "at lab.yaml:9:7" in failure.text and "3 attempts" in failure.text
    assert cases[1].get("file") == "lab.yaml" and cases[1].get("line") == "9"
