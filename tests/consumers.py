"""What labrunner's outputs are checked against: each consumer's own schema, not our idea of it.

- JUnit XML: Jenkins xUnit's junit-10.xsd (`data/junit-10.xsd`, copied unchanged from
  jenkinsci/xunit-plugin, MIT licence, its notice kept in the file), the schema pytest's own
  `--junitxml` output follows and Jenkins' xUnit plugin validates against, checked by libxml2 (lxml).
- Gradescope's results.json: `data/gradescope-results.schema.json`, a JSON Schema written from
  Gradescope's autograder specification (cited in the file).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree

DATA = Path(__file__).parent / "data"


@functools.cache
def _junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "junit-10.xsd")))


def assert_valid_junit(document: str | Path) -> etree._Element:
    """Parse a JUnit file (its text, or a path) and fail with libxml2's messages unless junit-10.xsd holds."""
    text = document.read_bytes() if isinstance(document, Path) else document.encode("utf-8")
    root = etree.fromstring(text)  # raises on a file that is not well-formed XML
    schema = _junit_schema()
    if not schema.validate(root):
        problems = "\n".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"not valid against junit-10.xsd:\n{problems}\n--- the file:\n{text.decode()[:4000]}")
    return root


@functools.cache
def _gradescope_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((DATA / "gradescope-results.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def assert_valid_gradescope(results: dict[str, Any] | Path) -> dict[str, Any]:
    """Fail unless `results` (or the file at that path) is a results.json Gradescope reads."""
    data = json.loads(results.read_text()) if isinstance(results, Path) else results
    jsonschema.validate(data, _gradescope_schema(), cls=jsonschema.Draft202012Validator)
    return data
