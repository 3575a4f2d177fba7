"""Templates: sandboxed Jinja2, analysed before a run and rendered just before each step.

A leaf module (imports only `errors`). The validator uses `analyze` to check that every template
parses and names only variables, filters and tests that exist; the engine uses `render`. A string
that is exactly one expression (`"{{ days }}"`) renders to the expression's native value.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

#: Namespaces every template can read, with their attributes (a typo in one is a lab error).
NAMESPACES: dict[str, tuple[str, ...]] = {
    "run": ("id", "started", "mode"),
    "target": ("account", "region", "partition", "kind"),
    "caller": ("arn", "account", "user_id"),
}
#: Functions every template can call; implemented by the engine, which knows the run.
FUNCTIONS = ("random_digits", "random_id", "file_sha256", "file_size", "s3_object_url")
#: Functions whose first argument is a path relative to the lab file.
FILE_FUNCTIONS = ("file_sha256", "file_size")


def _b64encode(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: str) -> str:
    return base64.b64decode(value).decode("utf-8", errors="replace")


def _make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["b64encode"] = _b64encode
    env.filters["b64decode"] = _b64decode
    return env


ENV = _make_env()
BUILTIN_NAMES = frozenset(NAMESPACES) | frozenset(FUNCTIONS) | frozenset(ENV.globals)

_ONE_EXPRESSION = re.compile(r"^\{\{(.*)\}\}$", re.DOTALL)


class TemplateError(Exception):
    """A template that cannot be parsed or rendered; `line` is relative to the template text."""

    def __init__(self, message: str, hint: str = "", line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.line = line


@dataclass(frozen=True)
class TemplateInfo:
    """What a template refers to, found without rendering it."""

    variables: frozenset[str]
    attributes: tuple[tuple[str, str], ...]  # (namespace, attribute) for run.x, target.x, caller.x
    filters: frozenset[str]
    tests: frozenset[str]
    calls: tuple[tuple[str, tuple[Any, ...]], ...]  # builtin function calls with literal arguments


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value or "{#" in value


@functools.lru_cache(maxsize=8192)
def analyze(text: str) -> TemplateInfo:
    """Parse a template and list what it uses; raises `TemplateError` if it does not parse."""
    try:
        ast = ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}",
                            "check the {{ }} and {% %} pairs and the expression inside", exc.lineno or 1) from None
    attributes = tuple(
        (node.node.name, node.attr)
        for node in ast.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name in NAMESPACES
    )
    calls = []
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in FUNCTIONS:
            literal = tuple(arg.value if isinstance(arg, nodes.Const) else ... for arg in call.args)
            calls.append((call.node.name, literal))
    return TemplateInfo(
        variables=frozenset(meta.find_undeclared_variables(ast)),
        attributes=attributes,
        filters=frozenset(f.name for f in ast.find_all(nodes.Filter)),
        tests=frozenset(t.name for t in ast.find_all(nodes.Test)),
        calls=tuple(calls),
    )


@functools.lru_cache(maxsize=4096)
def _compiled(text: str) -> Callable[[Mapping[str, Any]], Any]:
    """A function rendering `text`: native value for one expression, else a string."""
    match = _ONE_EXPRESSION.match(text.strip())
    if match and "{{" not in match.group(1) and "}}" not in match.group(1):
        ast = ENV.parse(text.strip())
        if len(ast.body) == 1 and isinstance(ast.body[0], nodes.Output) and len(ast.body[0].nodes) == 1:
            expression = ENV.compile_expression(match.group(1), undefined_to_none=False)
            return lambda context: expression(**context)
    template = ENV.from_string(text)
    return lambda context: template.render(**context)


def render_string(text: str, context: Mapping[str, Any]) -> Any:
    if not is_template(text):
        return text
    try:
        value = _compiled(text)(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"undefined variable: {exc.message}",
                            "define it in vars or save it in an earlier step") from None
    except SecurityError as exc:
        raise TemplateError(f"template tried to reach something unsafe: {exc}",
                            "templates may only read variables and call the documented functions") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}", "fix the template") from None
    except Exception as exc:  # a filter or function failed on the value it got
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}", "check the values it uses") from None
    if isinstance(value, jinja2.Undefined):
        raise TemplateError("template rendered an undefined value", "define the variable it names")
    return value


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string value inside `value` (mappings, lists, scalars)."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, dict):
        # Keys are not templates: a mapping's shape is fixed when the lab is validated.
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def strings(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string inside `value` with its path: what the validator analyses."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            found.append((where, item))
        elif isinstance(item, dict):
            stack.extend(((*where, k), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in reversed(list(enumerate(item))))
    return found
