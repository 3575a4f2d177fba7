"""The YAML loader: positions of everything, YAML 1.2 scalars, and the limits that keep it safe."""

from __future__ import annotations

import math
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from runner import loader
from runner.errors import LabError, Mark
from runner.loader import MAX_BYTES, MAX_DEPTH, MAX_VALUES, decode_source, load_file, load_text


def load(text: str) -> loader.Document:
    return load_text(textwrap.dedent(text), "lab.yaml")


def refused(text: str) -> str:
    with pytest.raises(LabError) as info:
        load_text(text, "lab.yaml")
    (problem,) = info.value.problems
    return problem.format()


# ---- positions


def test_positions_of_keys_values_and_items() -> None:
    doc = load("""\
        lab: demo
        tasks:
          - id: one
            steps: [a, "b"]
          - {id: two}
        """)
    assert doc.mark(("lab",)) == Mark(1, 6)
    assert doc.mark(("lab",), key=True) == Mark(1, 1)
    assert doc.mark(("tasks",)) == Mark(3, 3)
    assert doc.mark(("tasks", 0)) == Mark(3, 5)
    assert doc.mark(("tasks", 0, "id"), key=True) == Mark(3, 5)
    assert doc.mark(("tasks", 0, "id")) == Mark(3, 9)
    assert doc.mark(("tasks", 0, "steps", 0)) == Mark(4, 13)
    assert doc.mark(("tasks", 0, "steps", 1)) == Mark(4, 16)
    assert doc.mark(("tasks", 1)) == Mark(5, 5)
    assert doc.mark(("tasks", 1, "id")) == Mark(5, 10)


def test_mark_falls_back_to_the_nearest_enclosing_value() -> None:
    doc = load("""\
        a: &x {b: {c: 1}}
        d: *x
        """)
    assert doc.mark(("a", "b", "c")) == Mark(1, 15)
    # Inside an alias, everything is where the alias is.
    assert doc.mark(("d", "b", "c")) == Mark(2, 4)
    assert doc.mark(("nowhere", 3)) == Mark(1, 1)


def test_literal_blocks_are_remembered() -> None:
    doc = load("""\
        a: |
          text
        b: >
          folded
        c: plain
        """)
    assert doc.literal_blocks == frozenset({("a",)})


# ---- YAML 1.2 core schema


@pytest.mark.parametrize(("written", "value"), [
    ("on", "on"), ("off", "off"), ("yes", "yes"), ("no", "no"), ("y", "y"), ("n", "n"),
    ("true", True), ("False", False), ("TRUE", True),
    ("null", None), ("~", None), ("", None), ("Null", None),
    ("12", 12), ("-3", -3), ("+7", 7), ("0o17", 15), ("0x1F", 31), ("017", 17),
    ("1.5", 1.5), ("-.5", -0.5), ("1e3", 1000.0), ("6.02E+23", 6.02e23), (".inf", math.inf), ("-.Inf", -math.inf),
    ("1_000", "1_000"), ("0b101", "0b101"), ("12:30", "12:30"), ("2024-01-01", "2024-01-01"),
    ("'12'", "12"), ('"true"', "true"), ("!!str 12", "12"), ("!!int '12'", 12), ("!!float 1", 1.0),
    ("10s", "10s"), ("alias/{{ x }}", "alias/{{ x }}"), ("NaN", "NaN"),
])
def test_scalars_resolve_by_the_yaml_1_2_core_schema(written: str, value: object) -> None:
    assert load(f"v: {written}\n").data["v"] == value
    assert type(load(f"v: {written}\n").data["v"]) is type(value)


def test_nan() -> None:
    assert math.isnan(load("v: .nan\n").data["v"])


def test_retry_on_stays_a_key() -> None:
    assert load("retry: {on: [Throttling]}\n").data == {"retry": {"on": ["Throttling"]}}


def test_non_string_keys_become_their_text() -> None:
    assert load("1: a\ntrue: b\nnull: c\n").data == {"1": "a", "true": "b", "null": "c"}


def test_block_scalars_and_quoting() -> None:
    doc = load("""\
        literal: |
          a
          b
        folded: >
          a
          b
        quoted: "a\\tb"
        """)
    assert doc.data == {"literal": "a\nb\n", "folded": "a b\n", "quoted": "a\tb"}


def test_bad_explicit_tag_value() -> None:
    assert "'ten' is not a valid !!int" in refused("v: !!int ten\n")


# ---- anchors, aliases, merge keys


def test_anchors_and_aliases_share_the_value() -> None:
    doc = load("""\
        base: &base {a: 1, b: [x, y]}
        copy: *base
        """)
    assert doc.data["copy"] == {"a": 1, "b": ["x", "y"]}


def test_merge_keys_explicit_keys_win() -> None:
    doc = load("""\
        defaults: &d {timeout: 5m, interval: 10s}
        more: &m {backoff: 2, interval: 1s}
        retry:
          <<: [*d, *m]
          timeout: 1m
        """)
    assert doc.data["retry"] == {"timeout": "1m", "interval": "10s", "backoff": 2}


def test_merge_key_needs_mappings() -> None:
    assert "a merge key '<<' takes a mapping" in refused("a: &a [1]\nb:\n  <<: *a\n")


def test_quoted_merge_key_is_an_ordinary_key() -> None:
    assert load("'<<': 1\n").data == {"<<": 1}


# ---- what the loader refuses, with where


def test_duplicate_keys_are_refused_at_the_second() -> None:
    assert refused("a: 1\nb: 2\na: 3\n") == "lab.yaml:3:1: duplicate key 'a' (first at line 1); " \
        "a key may appear once in a mapping; remove or rename one of them"


def test_duplicate_keys_in_flow_mappings() -> None:
    assert "duplicate key 'x'" in refused("m: {x: 1, x: 2}\n")


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!python/name:os.system", "!!binary", "!!set",
                                 "!!omap", "!!timestamp", "!Ref", "!Sub", "!<tag:example.com,2000:x>"])
def test_tags_other_than_plain_data_are_refused(tag: str) -> None:
    message = refused(f"v: {tag} x\n")
    assert message.startswith("lab.yaml:1:4: YAML tag ")
    assert "is not allowed" in message


def test_tag_of_the_wrong_kind() -> None:
    assert "does not fit a scalar" in refused("v: !!map x\n")


def test_complex_keys_are_refused() -> None:
    assert "a mapping key must be a plain string" in refused("? [a]\n: b\n")


def test_syntax_error_position_and_context() -> None:
    message = refused("a: [1, 2\nb: 3\n")
    assert message.startswith("lab.yaml:2:2: YAML syntax error: did not find expected ',' or ']'")
    assert "that starts at line 1" in message


def test_tab_indentation() -> None:
    assert refused("a:\n\tb: 1\n").startswith("lab.yaml:2:1: YAML syntax error: a tab character")


def test_second_document() -> None:
    assert refused("a: 1\n---\nb: 2\n").startswith("lab.yaml:2:1: a lab file holds one YAML document")


def test_explicit_single_document_is_fine() -> None:
    assert load("---\na: 1\n...\n").data == {"a": 1}


def test_empty_and_comment_only_documents_are_none() -> None:
    assert load_text("", "x").data is None
    assert load_text("# nothing\n", "x").data is None


def test_undefined_alias() -> None:
    assert "alias '*nope' has no anchor" in refused("a: *nope\n")


def test_recursive_alias() -> None:
    assert "refers to the value that contains it" in refused("a: &a {b: *a}\n")


# ---- limits


def _laughs(levels: int, width: int = 10) -> str:
    lines = ['l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_after_bounded_work() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(LabError) as info:
            load_text(_laughs(9), "bomb.yaml")  # 10^9 values once expanded
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (problem,) = info.value.problems
    assert f"expands to more than {MAX_VALUES:,} values" in problem.message
    assert problem.line == 7  # the first alias that crosses the limit, not the end of the file
    assert peak < 20 * 1024 * 1024, f"loading the bomb peaked at {peak:,} bytes"


def test_aliases_below_the_limit_are_fine_and_shared() -> None:
    doc = load_text(_laughs(4), "ok.yaml")  # 10^4 values
    assert doc.data["l4"][0] is doc.data["l3"]  # shared, not copied


def test_deep_nesting_is_refused_without_recursion_errors() -> None:
    depth = MAX_DEPTH + 10
    message = refused("a: " + "[" * depth + "]" * depth + "\n")
    assert f"nests deeper than {MAX_DEPTH} levels" in message


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 2
    value = load_text("a: " + "[" * depth + "]" * depth + "\n", "x").data["a"]
    for _ in range(depth - 1):
        value = value[0]
    assert value == []


def test_oversized_text_is_refused() -> None:
    assert "over the" in refused("a: '" + "x" * MAX_BYTES + "'\n")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    lab = tmp_path / "big.yaml"
    lab.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(LabError) as info:
        load_file(str(lab), "big.yaml")
    assert info.value.problems[0].rule == "size"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LabError) as info:
        load_file(str(tmp_path / "none.yaml"), "none.yaml")
    assert info.value.problems[0].message.startswith("cannot read the lab")


# ---- encoding


def test_non_utf8_is_reported_at_the_byte() -> None:
    with pytest.raises(LabError) as info:
        decode_source(b"a: 1\nb: caf\xe9\n", "x.yaml")
    problem = info.value.problems[0]
    assert (problem.line, problem.column) == (2, 7)
    assert "not UTF-8 (byte 0xe9)" in problem.message


def test_utf8_bom_and_unicode_text() -> None:
    text = decode_source("\ufefftitle: Café ☕\n".encode(), "x.yaml")
    assert load_text(text, "x").data == {"title": "Café ☕"}
