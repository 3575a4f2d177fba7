"""Property-based tests: whatever a lab file holds, the validator answers with problems or a lab, never a crash.

Every problem it reports has a real position (line and column from 1) and a message.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import model, templates
from runner.errors import LabError, Problem
from runner.loader import decode_source, load_text
from runner.validate import validate_text

VALID = Path(__file__).parent / "data" / "valid"
BASE_TEXT = (VALID / "kms-basics.yaml").read_text()
BASE = load_text(BASE_TEXT, "base.yaml").data

SETTINGS = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])

# Words the validator treats specially, so random documents reach its deeper layers.
KEYS = ["lab", "title", "tasks", "vars", "cleanup", "region", "description", "id", "steps", "checks", "points",
        "action", "params", "save", "expect", "expect_error", "ignore_errors", "retry", "when", "message",
        "paginate", "timeout", "interval", "backoff", "max_interval", "on", "path", "equals", "matches",
        "one_of", "exists", "length", "KeyId", "Bucket", "bucket", "key", "file", "<<"]
WORDS = ["aws.kms.create_key", "aws.kms.describe_key", "aws.s3.list_objects_v2", "s3.upload_file",
         "http.request", "kms.key_users", "aws.nope.x", "{{ x }}", "{{ run.id }}", "{{ ", "{% if %}", "10s",
         "5m", "-1", "NoSuchBucket", "a b", "files/hello.txt", "../x", "/etc/passwd", "[", "(", "Keys[0]",
         "{{ file_sha256('../x') }}", "{{ y | nofilter }}", "{{ z is nottest }}", ""]


def check(lab: model.Lab | None, problems: list[Problem]) -> None:
    assert (lab is None) == bool(problems)
    for problem in problems:
        assert isinstance(problem, Problem)
        assert problem.line >= 1 and problem.column >= 1, problem
        assert problem.message.strip(), problem
        assert problem.format().startswith(f"{problem.file}:{problem.line}:{problem.column}: ")
    if lab is not None:
        assert lab.tasks and all(task.id for task in lab.tasks)


def validate(text: str) -> None:
    check(*validate_text(text, "prop.yaml", VALID))


# ---- (a) arbitrary text and bytes


@SETTINGS
@given(st.text())
def test_any_text(text: str) -> None:
    validate(text)


@SETTINGS
@given(st.lists(st.sampled_from([*"ab:- \n\t[]{}&*!|>'\"#,?%@`~0.", "\n  ", ": ", "- ", *KEYS, *WORDS]),
                max_size=40).map("".join))
def test_yaml_ish_text(text: str) -> None:
    validate(text)


@SETTINGS
@given(st.binary())
def test_any_bytes(raw: bytes) -> None:
    try:
        text = decode_source(raw, "prop.yaml")
    except LabError as exc:
        assert len(exc.problems) == 1 and exc.problems[0].line >= 1 and exc.problems[0].column >= 1
        return
    validate(text)


def test_load_text_raises_only_lab_errors() -> None:
    for text in ("a: [", "a: *b", "!!python/object:x {}", "a: 1\na: 2", "---\n---\n", "\t- x", "? [a]\n: b"):
        try:
            load_text(text, "x")
        except LabError as exc:
            assert exc.problems


# ---- (b) structured random documents

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.sampled_from(WORDS), st.text(max_size=12))
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(keys, inner, max_size=5)), max_leaves=30)
steps = st.lists(st.one_of(st.fixed_dictionaries(
    {"action": st.sampled_from(WORDS[:7])},
    optional={k: values for k in ("params", "save", "expect", "retry", "when", "id", "cleanup", "expect_error",
                                  "paginate")}), values), max_size=3)
tasks = st.lists(st.one_of(st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["t1", "t2", "Bad id"]), values), "title": values},
    optional={"steps": steps, "checks": steps, "points": values}), values), max_size=3)
labs = st.fixed_dictionaries({}, optional={"lab": st.one_of(st.just("demo"), values), "title": values,
                                           "tasks": st.one_of(tasks, values), "vars": values,
                                           "cleanup": st.one_of(steps, values), "region": values})


@SETTINGS
@given(st.one_of(values, labs))
def test_structured_documents(document: Any) -> None:
    validate(yaml.safe_dump(document, allow_unicode=True))


# ---- (c) mutations of a valid lab


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if isinstance(value, (dict, list)) and value else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found.extend(_containers(child, (*path, key)))
    return found


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_lab(data: st.DataObject) -> None:
    document = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _containers(document)
        if not paths:
            break
        parent = _at(document, data.draw(st.sampled_from(paths)))
        slot = data.draw(st.sampled_from(list(parent) if isinstance(parent, dict) else range(len(parent))))
        operation = data.draw(st.sampled_from(["drop", "retype", "rename", "junk", "template", "duplicate"]))
        if operation == "drop":
            del parent[slot]
        elif operation == "retype":
            parent[slot] = data.draw(values)
        elif operation == "rename" and isinstance(parent, dict):
            parent[data.draw(keys)] = parent.pop(slot)
        elif operation == "junk":
            parent[slot] = data.draw(st.sampled_from(WORDS))
        elif operation == "template":
            parent[slot] = "{{ " + data.draw(st.text(max_size=10)) + (" }}" if data.draw(st.booleans()) else "")
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[slot]))
    validate(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def test_the_unmutated_lab_is_valid() -> None:
    lab, problems = validate_text(yaml.safe_dump(BASE, sort_keys=False), "base.yaml", VALID)
    assert not problems and lab is not None


# ---- template analysis: the fast path agrees with Jinja2's


identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
expressions = st.builds(
    lambda names, filters, space: space + ".".join(names) + "".join(f" | {f}" for f in filters) + space,
    st.lists(st.one_of(identifiers, st.sampled_from(["run", "target", "caller", "true", "none", "range"])),
             min_size=1, max_size=3),
    st.lists(st.one_of(identifiers, st.sampled_from(["tojson", "lower", "b64encode"])), max_size=2),
    st.sampled_from(["", " ", "\n"]))
template_texts = st.lists(st.one_of(st.text(alphabet="ab-/:.* ", max_size=5),
                                    expressions.map(lambda e: "{{" + e + "}}")), min_size=1, max_size=4).map("".join)


@settings(deadline=None, max_examples=150)
@given(template_texts)
def test_fast_template_analysis_agrees_with_jinja(text: str) -> None:
    fast = templates._analyze_simple(text)
    if fast is None:
        return
    slow = templates._analyze_parsed(text)
    assert fast.variables == slow.variables
    assert set(fast.attributes) == set(slow.attributes)
    assert fast.filters == slow.filters and fast.tests == slow.tests == frozenset()
    assert fast.calls == slow.calls == ()
