"""Validate a lab completely before anything touches an account.

Second stage of the pipeline: load (`loader`), splice includes (`includes`) -> **validate** -> model
(`model.build`). Layers run cheap to costly and every layer reports all it finds, to one `Reporter`
(`reporter.py`):
1. structure: the file loads as one YAML mapping (syntax, duplicate keys, tags, size, encoding);
2. the JSON Schema generated from the registry (`runner.schema`), with jsonschema's errors turned into
   messages that name the key, the fix and a did-you-mean (`schema_errors.py`);
3. meaning: actions exist and fit their section, botocore's own validation of static `aws.*`
   parameters, templates and the variables they name, JMESPath and operators' values, ids, durations,
   retries, files, a task's advice, alternatives and mistakes. Each rule is one method of `Semantics`
   (`semantics.py`), but for alternatives' saves, which need the whole lab (`routes.py`); a rule skips
   what layer 2 already reported.
A lab that passes all three may still earn warnings (`cautions.lab_warnings`): it is valid, and runs.
The checks the engine repeats on rendered values are `runner.value_checks` and `runner.operators`.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path

from runner import includes, model
from runner.errors import LabError, Problem, kind_of
from runner.loader import Document, load_file, load_text
from runner.validate.cautions import lab_warnings
from runner.validate.reporter import Reporter
from runner.validate.schema_errors import check_schema
from runner.validate.semantics import Semantics

__all__ = ["lab_warnings", "load_lab", "validate_document", "validate_file", "validate_text"]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a lab is loaded and checked.

    Loading builds tens of thousands of small containers that hold no cycles; the collector would scan
    them again and again as they are made (a quarter of the time on a large lab). Reference counting
    still frees everything; the collector resumes, and runs normally, afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_file(path: str | os.PathLike[str], display: str | None = None) -> tuple[model.Lab | None, list[Problem]]:
    """Load and validate a lab file; returns the model (when valid) and every problem found."""
    shown = display or str(path)
    with _gc_paused():
        try:
            doc = load_file(str(path), shown)
        except LabError as exc:
            return None, list(exc.problems)
        return _finish(doc, Path(path).resolve().parent)


def validate_text(text: str, path: str = "<lab>",
                  lab_dir: Path | None = None) -> tuple[model.Lab | None, list[Problem]]:
    """Validate a lab given as text; files it names are looked up in `lab_dir` (default: the current one)."""
    with _gc_paused():
        try:
            doc = load_text(text, path)
        except LabError as exc:
            return None, list(exc.problems)
        return _finish(doc, lab_dir or Path.cwd())


def load_lab(path: str | os.PathLike[str], display: str | None = None) -> model.Lab:
    """The model of a valid lab; raises `LabError` with every problem otherwise."""
    lab, problems = validate_file(path, display)
    if problems or lab is None:
        raise LabError(problems)
    return lab


def _finish(doc: Document, lab_dir: Path) -> tuple[model.Lab | None, list[Problem]]:
    try:
        doc = includes.expand(doc, lab_dir)
    except LabError as exc:
        return None, list(exc.problems)
    problems = validate_document(doc, lab_dir)
    if problems:
        return None, problems
    lab = model.build(doc)
    return lab, []


def validate_document(doc: Document, lab_dir: Path) -> list[Problem]:
    """Every problem in a loaded lab (its includes spliced: `runner.includes.expand`), layer after layer, sorted
    by position; `lab_dir` holds the files it names."""
    if not isinstance(doc.data, dict):
        what = "empty" if doc.data is None else f"a {kind_of(doc.data)}"
        return [Problem(doc.path, 1, 1, f"a lab is a YAML mapping, but this file is {what}",
                        "a lab starts with 'lab:', 'title:' and 'tasks:' (see docs/authoring.md)", rule="structure")]
    reporter = Reporter(doc)
    check_schema(doc, reporter)
    Semantics(doc, lab_dir, reporter).run()
    return reporter.sorted()
