"""JUnit XML from a record: valid against junit-10.xsd, one testcase a step with `<lab>.<task>` as its
classname, failures with their type, place and attempts, and no text that XML cannot carry."""

from __future__ import annotations

import dataclasses

from consumers import assert_valid_junit
from engine_helpers import make_record

from runner.engine import junit
from runner.engine.record import TargetRecord


def test_junit_structure() -> None:
    root = assert_valid_junit(junit.render(make_record()))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "0")
    assert root.get("skipped") is None  # junit-10.xsd has it on a suite only
    suite = root.find("testsuite")
    assert suite is not None and (suite.get("name"), suite.get("skipped")) == ("demo.t", "1")
    cases = root.findall(".//testcase")
    assert [c.get("classname") for c in cases] == ["demo.t", "demo.t", "demo.t"]
    assert all(c.get("file") is None and c.get("line") is None for c in cases)
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "AccessDenied"
    assert failure.text is not None and failure.text.startswith("at lab.yaml:9:7") and "3 attempts" in failure.text


def test_an_endpoint_without_an_account_has_no_account_property() -> None:
    record = dataclasses.replace(make_record(), target=TargetRecord("endpoint", "us-east-1", None,
                                                                    endpoint="http://127.0.0.1:4566"))
    root = assert_valid_junit(junit.render(record))
    names = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert "target.account" not in names and names["target.kind"] == "endpoint"
    assert "None" not in names.values()


def test_control_characters_in_titles_hints_and_errors_stay_well_formed() -> None:
    record = make_record()
    task = record.tasks[0]
    nasty = "\x00\x1b[31mred\x0c\u202eevil\ud800"
    steps = tuple(dataclasses.replace(s, title=f"step {nasty}", hint=f"hint {nasty}", summary=f"why {nasty}")
                  for s in task.steps)
    record = dataclasses.replace(record, title=nasty, tasks=(dataclasses.replace(task, steps=steps, title=nasty),))
    text = junit.render(record)
    root = assert_valid_junit(text)
    failure = root.find(".//failure")
    assert failure is not None and "hint \\x00\\x1b[31mred\\x0c\\u202eevil\\ud800" in (failure.text or "")
    case = root.find(".//testcase")
    assert case is not None and case.get("name", "").startswith("step \\x00\\x1b[31mred")
