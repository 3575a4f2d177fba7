"""Property-based tests: whatever a lab file holds, the validator answers with problems or a lab, never a crash.

Every problem it reports has a real position (line and column from 1) and a message.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runner import model, registry, templates
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


MUTATIONS = ("drop", "retype", "rename", "junk", "template", "duplicate")


def _mutate(document: Any, data: st.DataObject, times: tuple[int, int] = (1, 3),
            operations: tuple[str, ...] = MUTATIONS) -> None:
    """Break `document` in place, a few times: drop, retype or rename a value, put junk or templates in."""
    for _ in range(data.draw(st.integers(*times))):
        paths = _containers(document)
        if not paths:
            return
        parent = _at(document, data.draw(st.sampled_from(paths)))
        slot = data.draw(st.sampled_from(list(parent) if isinstance(parent, dict) else range(len(parent))))
        operation = data.draw(st.sampled_from(operations))
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


@settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_lab(data: st.DataObject) -> None:
    document = copy.deepcopy(BASE)
    _mutate(document, data)
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


class _Thing:
    """An object with an attribute, a property that fails and a method: what sandboxed lookups meet."""

    arn = "arn:aws:iam::123456789012:user/x"

    @property
    def broken(self) -> str:
        raise ValueError("no")

    def keys(self) -> list[str]:
        return ["k"]


contexts = st.fixed_dictionaries({}, optional={
    "a": st.one_of(st.integers(), st.none(), st.booleans(), st.text(max_size=3),
                   st.dictionaries(st.sampled_from(["b", "keys", "items", "c"]), st.integers(), max_size=3),
                   st.lists(st.integers(), max_size=2)),
    "b": st.dictionaries(st.sampled_from(["a", "b", "upper"]), st.one_of(st.integers(), st.text(max_size=2)),
                         max_size=2),
    "caller": st.just(_Thing()),
    "keys": st.floats(allow_nan=False),
})
lookup_texts = st.lists(st.one_of(
    st.text(alphabet="ab-/: \n", max_size=4),
    st.builds(lambda names, space: "{{" + space + ".".join(names) + space + "}}",
              st.lists(st.sampled_from(["a", "b", "c", "caller", "arn", "broken", "keys", "upper", "items"]),
                       min_size=1, max_size=3),
              st.sampled_from(["", " ", "\n"]))), min_size=1, max_size=4).map("".join)


def _outcome(render: Any) -> tuple[str, Any]:
    try:
        value = render()
    except templates.TemplateError as exc:
        return "error", exc.message
    return "value", value if not callable(value) else ("callable", getattr(value, "__name__", ""))


@settings(deadline=None, max_examples=400)
@given(lookup_texts, contexts)
@example("{{ a.keys }}", {"a": {"keys": 1}})  # an attribute wins over an item of the same name
@example("x {{ a.items }}", {"a": {"b": 1}})
@example("{{ caller.broken }}", {"caller": _Thing()})  # a property that raises
@example("{{ c.b }}", {})  # undefined, then an attribute of it
@example("{{ a }}-{{ a.b }}", {"a": {"b": None}})  # None in text
@example(" {{ a }}\n", {"a": [1]})  # a lone expression keeps its type, whitespace around it or not
def test_fast_lookups_render_as_jinja_does(text: str, context: dict[str, Any]) -> None:
    if templates._lookups(text) is None:
        return
    fast = _outcome(lambda: templates.render_string(text, context))
    templates._lookups.cache_clear()
    with mock.patch.object(templates, "_lookups", lambda _: None):  # Jinja2's compiled path only
        slow = _outcome(lambda: templates.render_string(text, context))
    assert fast == slow


# ---- the compiled schema check agrees with jsonschema


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_compiled_lab_schema_agrees_with_jsonschema(data: st.DataObject) -> None:
    from runner.validate.schema_errors import lab_check

    document = copy.deepcopy(BASE)
    _mutate(document, data, (0, 3))
    check = lab_check()
    fits = check.fits
    assert fits is not None
    assert fits(document) == (next(check.validator.iter_errors(document), None) is None)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(registry.builtin_actions())), st.data())
def test_the_compiled_params_schemas_agree_with_jsonschema(action: str, data: st.DataObject) -> None:
    from runner.value_checks import params_check

    example = yaml.safe_load(registry.builtin_actions()[action].example or "{}") or {}
    params = example.get("params") or {}  # a valid start, which the mutations then break
    if data.draw(st.booleans()):
        params = data.draw(st.dictionaries(st.sampled_from([*registry.builtin_actions()[action].params.get(
            "properties", {}), "other"]), values, max_size=4))
    _mutate(params, data, (0, 3))
    check = params_check(action)
    fits = check.fits
    assert fits is not None
    assert fits(params) == (next(check.validator.iter_errors(params), None) is None)


@pytest.mark.parametrize(("schema", "good", "bad"), [
    ({"type": "integer"}, [1, 1.0, -3], [True, 1.5, "1", None]),
    ({"enum": [1, "a"]}, [1, 1.0, "a"], [True, "b"]),
    ({"const": False}, [False], [0, None]),
    ({"uniqueItems": True}, [[1, True], [[1], [2]], "x"], [[1, 1.0], [{"a": 1}, {"a": 1}]]),
    ({"minimum": 2}, [2, 3.5, "1", True], [1, 1.9]),
    ({"pattern": "^a"}, ["ab", 3], ["ba"]),
    ({"oneOf": [{"type": "string"}, {"minLength": 2}]}, ["a", 5], ["ab"]),
    ({"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "integer"}}, ["ab", 3], ["a", 2.5]),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": False, "required": ["a"]},
     [{"a": "x"}, [1]], [{}, {"a": 1}, {"a": "x", "b": 1}]),
    ({"propertyNames": {"pattern": "^[a-z]+$"}, "maxProperties": 1}, [{"ab": 1}, {}], [{"Ab": 1}, {"a": 1, "b": 2}]),
    ({"$defs": {"n": {"type": ["null", "array"], "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
     [None, [None, [[]]]], [[1], [[None, 2]]]),
])
def test_the_compiled_check_knows_each_keyword_as_jsonschema_does(schema: dict[str, Any], good: list[Any],
                                                                   bad: list[Any]) -> None:
    import jsonschema

    from runner.fastschema import compile_schema

    fits = compile_schema(schema)
    assert fits is not None
    validator = jsonschema.Draft202012Validator(schema)
    for value in good:
        assert fits(value) and validator.is_valid(value), value
    for value in bad:
        assert not fits(value) and not validator.is_valid(value), value
    assert compile_schema({"type": "string", "format": "date"}) is None  # unknown keyword: jsonschema decides
