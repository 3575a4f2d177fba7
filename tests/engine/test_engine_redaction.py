"""Redaction: secrets never reach the record, JUnit or the terminal; what the Redactor learns and hides."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
from engine_helpers import SECRET, make_record, redactor_for
from testkit import RECORD_SCHEMA as SCHEMA

from runner.engine import junit
from runner.engine.console import Console
from runner.engine.record_files import write_record
from runner.engine.redaction import Redactor, contains_redacted


def test_secrets_never_reach_the_record(tmp_path: Path) -> None:
    record = make_record()
    path = write_record(tmp_path / "r.json", record, redactor_for(record))
    text = path.read_text()
    assert SECRET not in text and "hunter2" not in text and "toktok" not in text
    data = json.loads(text)
    jsonschema.validate(data, SCHEMA)
    step = data["tasks"][0]["steps"][0]
    assert step["params"]["Password"] == "***" and step["saved"]["secret"] == "***"
    assert data["tasks"][0]["steps"][1]["params"]["Note"] == "key=***"


def test_secrets_never_reach_junit_or_the_terminal() -> None:
    record = make_record()
    redact = redactor_for(record)
    xml = junit.render(record, redact)
    assert SECRET not in xml
    out = io.StringIO()
    console = Console(out, redact)
    for step in record.steps():
        console.step_finished(step)
    assert SECRET not in out.getvalue() and "***" in out.getvalue()


def test_presigned_url_signatures_and_session_tokens_are_redacted_but_the_url_stays() -> None:
    url = ("http://127.0.0.1:4566/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261129"
           "&X-Amz-Date=20261129T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
           "&X-Amz-Security-Token=FwoGZXIvYXdzEJr%2Fsecret&X-Amz-Signature=0123abcd")
    shown = Redactor()({"url": url, "note": f"open {url} now"})
    for text in (shown["url"], shown["note"]):
        assert "0123abcd" not in text and "FwoGZXIvYXdzEJr" not in text
        assert "X-Amz-Signature=***" in text and "X-Amz-Security-Token=***" in text
        assert text.count("X-Amz-Expires=300") == 1


def test_the_redactor_s_generation_moves_only_when_it_learns_something_new() -> None:
    redact = Redactor()
    redact.add_secret({"password": "correct horse"})
    redact.learn({"SecretAccessKey": SECRET})
    known = redact.generation
    redact.add_secret("correct horse")  # the engine repeats the lab's marked values before every step
    redact.learn({"SecretAccessKey": SECRET, "Other": "plain"})
    assert redact.generation == known  # so the record's cached JSON stays valid
    redact.add_secret("battery staple")
    assert redact.generation > known and redact.text("a battery staple") == "a ***"


def test_a_value_read_back_tells_whether_anything_in_it_was_redacted() -> None:
    assert contains_redacted({"Bucket": "b1", "Tags": [{"Key": "k", "Value": "key=***"}]})
    assert contains_redacted(["a", ("b", "***")])
    assert not contains_redacted({"Bucket": "b1", "Tags": [{"Key": "k", "Value": "v"}], "Count": 3, "On": True})
    assert not contains_redacted(None) and not contains_redacted(7)
    redacted = Redactor()({"Password": "hunter2", "Note": "fine"})
    assert contains_redacted(redacted) and not contains_redacted(redacted["Note"])


def test_every_kind_of_value_is_redacted_as_the_kind_it_is() -> None:
    from collections import UserDict
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Part:
        name: object
        Password: object = None

    class Text(str):
        pass

    redact = Redactor()
    redact.learn({"SecretAccessKey": "wJalrXUtnFEMI"})
    redact.add_secret(42)  # a short marked value: hidden only where a whole value equals it
    value = {"n": [None, True, False, 42, 42.0, 7, 1.5], "t": (Part("wJalrXUtnFEMI", "x"), Part),
             "m": UserDict({"Password": "p", "k": Text("key wJalrXUtnFEMI")}), "b": b"raw"}
    assert redact(value) == {"n": [None, True, False, "***", 42.0, 7, 1.5],
                             "t": [{"name": "***", "Password": "***"}, Part],  # a dataclass type stays as it is
                             "m": {"Password": "***", "k": "key ***"}, "b": b"raw"}
