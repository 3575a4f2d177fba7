"""JMESPath as labs write it: function names and arity checked before a run, `from_json`, run-time errors."""

from __future__ import annotations

import pytest
from jmespath import exceptions

from runner import jmes


@pytest.mark.parametrize("expression", [
    "KeyMetadata.KeyId", "length(Keys[?KeyState=='Enabled'])", "sort_by(Items, &year.N)[-1].title.S",
    "map(&length(@), Aliases)", "not_null(a, b, c)", "merge(a, b)", "Messages[0].Body | from_json(@).Message",
    "contains(keys(@), 'Policy')", "Items[?contains(tags, `\"x\"`)]", "`{\"type\": \"function_expression\"}`",
])
def test_what_runs_passes(expression: str) -> None:
    assert jmes.problem(expression) is None


@pytest.mark.parametrize(("expression", "message", "hint"), [
    ("lower(@)", "'lower(@)' calls lower(), which JMESPath does not have, at column 1", "JMESPath's functions: abs"),
    ("Items[?lenght(tags) > `0`]", "calls lenght(), which JMESPath does not have, at column 8", "'length'"),
    ("map(&upper(@), names)", "calls upper(), which JMESPath does not have, at column 6", "JMESPath's functions"),
    ("length(a, b)", "gives length() 2 arguments, but it takes 1, at column 1", "built-in-functions"),
    ("merge()", "gives merge() 0 arguments, but it takes 1 or more", "built-in-functions"),
    ("a.[b", "'a.[b' does not compile", "jmespath.org"),
])
def test_what_cannot_run_is_refused_with_a_fix(expression: str, message: str, hint: str) -> None:
    found = jmes.problem(expression)
    assert found is not None and message in found[0] and hint in found[1]


def test_from_json_reads_json_held_in_a_string() -> None:
    envelope = {"Body": '{"Type": "Notification", "Message": "{\\"order\\": 7}"}'}
    assert jmes.search("Body | from_json(@).Message | from_json(@).order", envelope) == 7
    assert jmes.search("Missing | from_json(@)", envelope) is None
    with pytest.raises(exceptions.JMESPathError, match="not JSON"):
        jmes.search("Body | from_json(@).Message.x | from_json(@)", {"Body": '{"Message": {"x": "{oops"}}'})
    # Past Python's parser, a RecursionError would escape every handler of path failures.
    with pytest.raises(exceptions.JMESPathError,
                       match=r"nested deeper than Python's parser takes \(about [\d,]+ levels\)"):
        jmes.search("Body | from_json(@)", {"Body": "[" * 100_000 + "]" * 100_000})
    with pytest.raises(exceptions.JMESPathTypeError):
        jmes.search("length(Messages)", {})
