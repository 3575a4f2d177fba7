"""Templates: sandboxed Jinja2, analysed before a run and rendered just before each step.

A leaf module (imports only `json_text`, another leaf). The validator uses `analyze` to check that every
template parses and names only variables, filters and tests that exist; the engine uses `render`. A string
that is exactly one expression (`"{{ days }}"`) renders to the expression's native value.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runner import json_text

#: Namespaces every template can read, with their attributes (a typo in one is a lab error).
NAMESPACES: dict[str, tuple[str, ...]] = {
    "run": ("id", "started", "mode", "since"),
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


def _tojson(value: Any, indent: int | None = None) -> str:
    # Jinja's own `tojson` escapes <, >, & and ' for HTML; a lab embeds JSON in API parameters
    # (policies, request bodies), where the plain form is what an author expects to see recorded.
    return json.dumps(value, indent=indent, default=str)


def _fromjson(value: str | None) -> Any:
    # The value of JSON held in a string: an SNS message inside an SQS body, a policy document an API
    # returns as text. Null stays null, so a missing value reads as missing, as in JMESPath's from_json.
    return None if value is None else json_text.loads(value)


def _make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["b64encode"] = _b64encode
    env.filters["b64decode"] = _b64decode
    env.filters["tojson"] = _tojson
    env.filters["fromjson"] = _fromjson
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


# The templates most labs are made of: text around `{{ name }}`, `{{ ns.attr }}` or `{{ name | filter }}`.
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SIMPLE_EXPRESSION = re.compile(rf"\{{\{{\s*({_IDENT}(?:\.{_IDENT})*)((?:\s*\|\s*{_IDENT})*)\s*\}}\}}")
_SIMPLE_TEMPLATE = re.compile(rf"(?:[^{{}}]|{_SIMPLE_EXPRESSION.pattern})*")
#: Words that are not variables in an expression (constants, operators): such templates take the full path.
_NOT_NAMES = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
                        "else", "recursive"})


def _analyze_simple(text: str) -> TemplateInfo | None:
    """What `analyze` finds, without Jinja2's parser and code generator, for the simplest templates.

    A 2,000-step lab holds thousands of distinct templates; nearly all of them are of this shape.
    Anything else (calls, tests, operators, literals, statements, comments) returns None.
    """
    if not _SIMPLE_TEMPLATE.fullmatch(text):
        return None
    variables: set[str] = set()
    attributes: list[tuple[str, str]] = []
    filters: set[str] = set()
    for match in _SIMPLE_EXPRESSION.finditer(text):
        names = match.group(1).split(".")
        used = [part.strip(" |\t\n\r") for part in match.group(2).split("|")[1:]]
        if {*names, *used} & _NOT_NAMES or names[0] in ENV.globals or any(n.startswith("_") for n in names[1:]):
            return None  # the full path reports `_` attributes (`_unsafe`)
        variables.add(names[0])
        if names[0] in NAMESPACES and len(names) > 1:
            attributes.append((names[0], names[1]))
        filters.update(used)
    return TemplateInfo(frozenset(variables), tuple(attributes), frozenset(filters), frozenset(), ())


@functools.lru_cache(maxsize=8192)
def analyze(text: str) -> TemplateInfo:
    """Parse a template and list what it uses; raises `TemplateError` if it does not parse."""
    simple = _analyze_simple(text)
    if simple is not None:
        return simple
    return _analyze_parsed(text)


#: Filters that read attributes named by a string argument: `attr('__class__')`, `map(attribute=...)`.
_ATTRIBUTE_FILTERS = frozenset({"attr", "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique",
                                "min", "max"})
#: A `str.format` field that reaches into its argument: `'{0.__class__}'`, `'{x[_y]}'`.
_FORMAT_FIELD = re.compile(r"\{[^{}]*?[.\[]\s*_")
UNSAFE_HINT = ("templates read variables, their keys and attributes, and call the documented functions; "
               "nothing whose name starts with _ is available")


def _private(value: Any) -> bool:
    return isinstance(value, str) and any(part.startswith("_") for part in value.split("."))


def _unsafe(ast: nodes.Template, text: str) -> tuple[str, int] | None:
    """What in a template reaches for Python internals (`_` names), in the order written, and the line.

    The sandbox refuses these at render time anyway; refusing them when the lab is validated makes a
    sandbox-escape attempt a lab error before anything runs, with its position.
    """
    everything: list[tuple[str, str, int]] = []  # (description, name, line)
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Call)):
        found: str | None = None
        name = ""
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            found, name = f"attribute '{node.attr}'", node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and _private(node.arg.value):
            found, name = f"item '{node.arg.value}'", node.arg.value
        elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
            for arg in (*node.args, *(keyword.value for keyword in node.kwargs)):
                if isinstance(arg, nodes.Const) and _private(arg.value):
                    found, name = f"attribute '{arg.value}' (through the {node.name} filter)", node.name
        elif (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr)
              and node.node.attr in ("format", "format_map") and isinstance(node.node.node, nodes.Const)
              and isinstance(node.node.node.value, str) and _FORMAT_FIELD.search(node.node.node.value)):
            found, name = f"a format field in {node.node.node.value!r}", node.node.node.value
        if found is not None:
            everything.append((found, name, node.lineno or 1))
    if not everything:
        return None
    everything.sort(key=lambda item: (item[2], text.find(item[1])))  # as the author reads it
    return ", ".join(dict.fromkeys(found for found, _, _ in everything)), everything[0][2]


def _analyze_parsed(text: str) -> TemplateInfo:
    try:
        ast = ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {(exc.message or 'invalid template').rstrip('.')}",
                            "check the {{ }} and {% %} pairs and the expression inside", exc.lineno or 1) from None
    unsafe = _unsafe(ast, text)
    if unsafe is not None:
        raise TemplateError(f"template reaches for Python internals: {unsafe[0]}", UNSAFE_HINT, unsafe[1])
    filters = frozenset(f.name for f in ast.find_all(nodes.Filter))
    tests = frozenset(t.name for t in ast.find_all(nodes.Test))
    try:
        variables = _undeclared(ast, filters - set(ENV.filters), tests - set(ENV.tests))
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc.message}", "fix the template", getattr(exc, "lineno", 1)) from None
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
        variables=variables,
        attributes=attributes,
        filters=filters,
        tests=tests,
        calls=tuple(calls),
    )


def _stub(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - never called
    return None


def _undeclared(ast: nodes.Template, unknown_filters: frozenset[str], unknown_tests: frozenset[str]) -> frozenset[str]:
    """The variables a template reads from its context.

    Jinja2 finds them with its code generator, which refuses a filter or test it does not know; the
    validator reports those itself (with a did-you-mean), so analysis runs with stand-ins for them.
    """
    env: jinja2.Environment = ENV
    if unknown_filters or unknown_tests:
        env = ENV.overlay()
        env.filters = {**ENV.filters, **dict.fromkeys(unknown_filters, _stub)}
        env.tests = {**ENV.tests, **dict.fromkeys(unknown_tests, _stub)}
    codegen = meta.TrackingCodeGenerator(env)
    codegen.visit(ast)
    return frozenset(codegen.undeclared_identifiers)


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


Part = str | tuple[str, ...]  # literal text, or the dotted name of a `{{ name.attr }}` to look up


@functools.lru_cache(maxsize=8192)
def _lookups(text: str) -> tuple[Part, ...] | None:
    """`text` as literal parts and `{{ name.attr }}` lookups, when that is all it holds; else None.

    Most templates of a lab are `{{ name }}` or text around such lookups. Rendering them through
    Jinja2 builds a context from every variable each time; `_render_lookups` reads the names it needs,
    with the sandbox's own attribute rule, and gives what Jinja2 would (a property test checks it).
    """
    if not _SIMPLE_TEMPLATE.fullmatch(text):
        return None
    parts: list[Part] = []
    end = 0
    for match in _SIMPLE_EXPRESSION.finditer(text):
        names = tuple(match.group(1).split("."))
        if match.group(2) or set(names) & _NOT_NAMES or names[0] in ENV.globals or any(
                n.startswith("_") for n in names):
            return None  # filters, constants, Jinja's globals, `_` names: Jinja2's own path
        if match.start() > end:
            parts.append(text[end:match.start()])
        parts.append(names)
        end = match.end()
    if end < len(text):
        parts.append(text[end:])
    return tuple(parts)


def _render_lookups(parts: tuple[Part, ...], context: Mapping[str, Any]) -> Any:
    def value(names: tuple[str, ...]) -> Any:
        found = context[names[0]] if names[0] in context else ENV.undefined(name=names[0])
        for name in names[1:]:
            found = ENV.getattr(found, name)
        return found

    lookups = [part for part in parts if isinstance(part, tuple)]
    if len(lookups) == 1 and all(isinstance(part, tuple) or not part.strip() for part in parts):
        return value(lookups[0])  # a lone expression keeps its native type, as `_compiled` does
    return "".join(part if isinstance(part, str) else str(value(part)) for part in parts)


def render_string(text: str, context: Mapping[str, Any]) -> Any:
    """Render one string: the native value of a lone expression, else text; raises `TemplateError`."""
    if not is_template(text):
        return text
    try:
        parts = _lookups(text)
        value = _compiled(text)(context) if parts is None else _render_lookups(parts, context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(_undefined_message(exc.message),
                            "define it in vars or save it in an earlier step") from None
    except SecurityError as exc:
        raise TemplateError(f"template tried to reach something unsafe: {exc}",
                            "templates may only read variables and call the documented functions") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}", "fix the template") from None
    except TemplateError:
        raise
    except Exception as exc:  # a filter or function failed on the value it got
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}", "check the values it uses") from None
    if isinstance(value, jinja2.Undefined) and getattr(value, "_undefined_exception", None) is SecurityError:
        # The sandbox answers an unsafe attribute with an Undefined that would raise SecurityError.
        raise TemplateError(f"template tried to reach something unsafe: {value._undefined_message}", UNSAFE_HINT)
    if isinstance(value, jinja2.Undefined):
        # A lone expression is evaluated natively, so an undefined name comes back instead of raising.
        raise TemplateError(_undefined_message(value._undefined_message),
                            "define it in vars or save it in an earlier step")
    if isinstance(value, str) and type(value) is not str:
        value = str(value)  # markupsafe.Markup from a filter: plain text from here on
    return value


def _undefined_message(detail: str | None) -> str:
    """`undefined variable 'x'` / `'dict object' has no attribute 'y'`, from Jinja's wording."""
    detail = detail or "a value is undefined"
    match = re.fullmatch(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined", detail)
    if match:
        return f"undefined variable '{match.group(1)}'"
    return f"undefined value: {detail}"


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
    """Every distinct string inside `value` with its path: what the validator analyses.

    YAML aliases make one mapping or list appear at many paths. It is walked in full once; where it
    appears again, its distinct strings are listed once at the alias's own path (the position the
    loader gives everything inside an alias), so the cost follows the size of the file, not of the
    expanded document.
    """
    found: list[tuple[tuple[str | int, ...], str]] = []
    visited: set[int] = set()
    distinct: dict[int, tuple[str, ...]] = {}
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            found.append((where, item))
        elif isinstance(item, (dict, list)):
            if id(item) in visited:
                found.extend((where, text) for text in _distinct_strings(item, distinct))
                continue
            visited.add(id(item))
            if isinstance(item, dict):
                stack.extend(((*where, k), v) for k, v in reversed(list(item.items())))
            else:
                stack.extend(((*where, i), v) for i, v in reversed(list(enumerate(item))))
    return found


def _distinct_strings(value: Any, memo: dict[int, tuple[str, ...]]) -> tuple[str, ...]:
    """The distinct strings inside a mapping or list, in first-seen order; shared parts counted once."""
    known = memo.get(id(value))
    if known is not None:
        return known
    result: dict[str, None] = {}
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            result.setdefault(item)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if id(item) in memo:
            result.update(dict.fromkeys(memo[id(item)]))
            continue
        children = list(item.values()) if isinstance(item, dict) else item
        pending.extend(reversed(children))
    memo[id(value)] = tuple(result)
    return memo[id(value)]
