"""Checks of a lab's values that mean the same before and after rendering: an action's parameters
(botocore's own validation for `aws.*`, the parameter schema for higher-level actions), JMESPath
expressions, and the files a lab names.

Below both the validator (`runner.validate`), which checks the values a lab writes and leaves templated
ones to run time, and the engine (`runner.engine.steps`, `assertions`), which checks them again once
rendered: both ask these questions, and get the same answers, here. (Named for what it checks, values;
a lab's `checks:` are steps, which this module knows nothing of.)
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runner import fastschema, jmes, templates
from runner.errors import brief, did_you_mean, kind_of, suggestion
from runner.loader import Path as YamlPath
from runner.schema import params_schema

# --------------------------------------------------------------------------------------------------
# JSON Schema: a compiled yes/no first, jsonschema to say what is wrong


#: Python types of the JSON Schema types a value can be checked against without jsonschema.
_PY_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "object": (dict,),
                                          "array": (list,), "null": (type(None),)}
#: Keywords that do not constrain a value.
_ANNOTATIONS = frozenset({"description", "default", "title", "errorMessage", "type"})


def _trivially_valid(value: Any, schema: Any) -> bool:
    """Whether `value` satisfies `schema` by a glance: the schema is empty or only says a simple type.

    Used to skip jsonschema's per-value machinery (most of its time on a large lab) where it could only
    agree; anything else, and every failure, goes through jsonschema so the errors are its own.
    """
    if not isinstance(schema, dict) or not schema.keys() <= _ANNOTATIONS:
        return False
    wanted = schema.get("type")
    if wanted is None:
        return True
    for name in [wanted] if isinstance(wanted, str) else wanted:
        if name == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True
        elif name in _PY_TYPES and isinstance(value, _PY_TYPES[name]):
            return True
    return False


def _properties(validator: Any, properties: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """jsonschema's `properties` keyword, skipping the values that `_trivially_valid` accepts."""
    if not isinstance(instance, dict):
        return
    for name, subschema in properties.items():
        if name in instance and not _trivially_valid(instance[name], subschema):
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)


@functools.lru_cache(maxsize=1)
def _validator_class() -> Any:
    import jsonschema

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"properties": _properties})


class SchemaCheck:
    """A JSON Schema compiled to a yes/no check (`fastschema`), with jsonschema behind it to say what is wrong.

    Most values are valid, and for them the compiled check is all that runs; jsonschema (imported, and
    its validator built, on first need) only explains a "no", so every message is still its own.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.fits: Callable[[Any], bool] | None = fastschema.compile_schema(schema)

    @functools.cached_property
    def validator(self) -> Any:
        """jsonschema's validator for the schema (Draft 2020-12)."""
        return _validator_class()(self.schema)

    def errors(self, value: Any) -> Iterator[Any]:
        """jsonschema's errors for `value`; none, without asking jsonschema, when the compiled check says it fits."""
        if self.fits is not None and self.fits(value):
            return iter(())
        return iter(self.validator.iter_errors(value))


@functools.cache
def params_check(action: str, *, rendered: bool = False) -> SchemaCheck:
    """The check of one higher-level action's `params`: as a lab writes them, where any value may be a
    `{{ template }}` rendered at run time, or (`rendered`) as the action will get them.

    Checking each step's params against its own action's schema, instead of the whole document against
    the lab schema's `allOf` of one `if action: x` branch per action, gives the same errors at a
    fraction of the cost.
    """
    return SchemaCheck(params_schema(action, rendered=rendered))


# --------------------------------------------------------------------------------------------------
# JMESPath, files and botocore's parameter validation


def jmespath_problem(expression: str) -> str | None:
    """Why a JMESPath expression cannot run (quoting it, with the column), or None (`runner.jmes.problem`)."""
    found = jmes.problem(expression)
    return found[0] if found else None


def file_problem(lab_dir: Path, relative: str) -> tuple[str, str] | None:
    """Why a file named by a lab cannot be used, or None."""
    if os.path.isabs(relative):
        return f"file '{relative}' is an absolute path", "name files relative to the lab file, inside its folder"
    base = lab_dir.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        return f"file '{relative}' is outside the lab's folder", "keep the files a lab uses beside it"
    if not target.is_file():
        nearby = [p.name for p in target.parent.iterdir()] if target.parent.is_dir() else []
        return f"file '{relative}' does not exist", suggestion(target.name, nearby) or f"looked in {target.parent}"
    return None


_BOTOCORE_PATH = re.compile(r"\.?([A-Za-z0-9_\-:]+)|\[(\d+)\]")


def _parse_botocore_name(name: str) -> YamlPath:
    parts: list[str | int] = []
    for match in _BOTOCORE_PATH.finditer(name):
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return tuple(parts)


def _placeholders(shape: Any, value: Any) -> tuple[Any, set[YamlPath]]:
    """Params as botocore should see them before rendering, and the paths of templated values.

    A templated string stands for a value of any type until it is rendered; a mapping or list given
    for a string parameter (a policy document) is sent as JSON, so it stands for a string.
    """
    templated: set[YamlPath] = set()

    def walk(shape: Any, value: Any, path: YamlPath) -> Any:
        if isinstance(value, str) and templates.is_template(value):
            templated.add(path)
            return value
        if shape is None:
            return value
        kind = shape.type_name
        if kind == "string" and isinstance(value, (dict, list)):
            return "{}"
        if kind == "structure" and isinstance(value, dict):
            return {k: walk(shape.members.get(k), v, (*path, k)) for k, v in value.items()}
        if kind == "list" and isinstance(value, list):
            return [walk(shape.member, v, (*path, i)) for i, v in enumerate(value)]
        if kind == "map" and isinstance(value, dict):
            return {k: walk(shape.value, v, (*path, k)) for k, v in value.items()}
        return value

    return walk(shape, value, ()), templated


@functools.cache
def _input_shape(op: Any) -> Any:
    # botocore builds a new OperationModel, and shapes with it, on every `operation_model()` call.
    return op.model.input_shape


def botocore_problems(op: Any, params: dict[str, Any], *, rendered: bool = False) -> list[tuple[YamlPath, str, str]]:
    """botocore's own validation of an operation's parameters, with templated values left to run time
    (`rendered`: the values are what templates gave, so a fix says what to make them give)."""
    from botocore.validate import ParamValidator

    shape = _input_shape(op)
    if shape is None:
        if params:
            return [((k,), f"unknown parameter '{k}' for {op.action}", f"{op.name} takes no parameters")
                    for k in params]
        return []
    prepared, templated = _placeholders(shape, params)
    report = ParamValidator().validate(prepared, shape)
    problems: list[tuple[YamlPath, str, str]] = []
    for kind, name, details in getattr(report, "_errors", []):
        where = _parse_botocore_name(name)
        if any(where[: len(t)] == t for t in templated):
            continue  # checked again after rendering
        if kind == "unknown field":
            unknown = details["unknown_param"]
            valid = details["valid_names"]
            problems.append(((*where, unknown), f"unknown parameter '{unknown}' for {op.action}",
                             suggestion(unknown, valid) or "parameters: " + ", ".join(valid)))
        elif kind == "missing required field":
            required = details["required_name"]
            inside = f" in {name.lstrip('.')}" if name else ""
            problems.append((where, f"missing required parameter '{required}'{inside} for {op.action}",
                             f"add '{required}:'"))
        elif kind == "invalid type":
            names = [t.strip("<>").replace("class ", "").strip("'") for t in details["valid_types"]]
            wanted = _botocore_kind(names)
            got = details["param"]
            problems.append((where, f"parameter {name.lstrip('.')} of {op.action} must be {wanted}, "
                             f"not {kind_of(got)}", _type_hint(wanted, got, rendered=rendered)))
        elif kind in ("invalid range", "invalid length"):
            problems.append((where, f"parameter {name.lstrip('.')} of {op.action}: {kind} "
                             f"(minimum {details.get('min_allowed')})", "change the value"))
        else:
            problems.append((where, f"parameter {name.lstrip('.') or '(input)'} of {op.action}: {kind}",
                             "see 'labrunner actions " + op.action + "'"))
    problems.extend(_enum_problems(shape, prepared, templated, op.action))
    return problems


_BOTOCORE_KINDS = {"str": "a string", "int": "a whole number", "float": "a number", "decimal.Decimal": "a number",
                   "bool": "true or false", "list": "a list", "tuple": "", "dict": "a mapping",
                   "bytes": "a string", "bytearray": "", "file-like object": "", "datetime.datetime": "a timestamp"}


def _botocore_kind(names: list[str]) -> str:
    """botocore's accepted Python types as the kind of YAML value to write."""
    kinds = [_BOTOCORE_KINDS.get(n, n) for n in names]
    unique = list(dict.fromkeys(k for k in kinds if k))
    return " or ".join(unique) or " or ".join(names)


def _type_hint(wanted: str, got: Any, *, rendered: bool = False) -> str:
    if rendered:
        # The lab wrote a template here (static values were checked before the run): quoting is not the fix.
        example = {"a whole number": " | int", "a number": " | float"}.get(wanted, "")
        return (f"the template gave {kind_of(got)} {brief(got)}; make it give {wanted}"
                + (f", for example {{{{ value{example} }}}}" if example else ""))
    if isinstance(got, str) and wanted in ("a whole number", "a number", "true or false"):
        return f"write {wanted} without quotes"
    if "a string" in wanted and not isinstance(got, (dict, list)):
        return "quote the value to make it a string"
    return f"write {wanted} here"


def _enum_problems(shape: Any, value: Any, templated: set[YamlPath], action: str) -> list[tuple[YamlPath, str, str]]:
    """Enum values botocore knows but does not check: AWS would reject a misspelt one."""
    found: list[tuple[YamlPath, str, str]] = []

    def walk(shape: Any, value: Any, path: YamlPath) -> None:
        if shape is None or path in templated:
            return
        kind = shape.type_name
        if kind == "string" and isinstance(value, str) and getattr(shape, "enum", None):
            if value not in shape.enum:
                found.append((path, f"{brief(value)} is not a valid {path[-1] if path else 'value'} for {action}",
                              suggestion(value, shape.enum) or "use one of: " + ", ".join(shape.enum)))
        elif kind == "structure" and isinstance(value, dict):
            for k, v in value.items():
                walk(shape.members.get(k), v, (*path, k))
        elif kind == "list" and isinstance(value, list):
            for i, v in enumerate(value):
                walk(shape.member, v, (*path, i))
        elif kind == "map" and isinstance(value, dict):
            for k, v in value.items():
                walk(shape.value, v, (*path, k))

    walk(shape, value, ())
    return found


# --------------------------------------------------------------------------------------------------
# Error codes an `aws.*` step names (expect_error, ignore_errors, retry.on)


#: Codes any AWS API may answer with, beyond what its model lists: AWS's "Common Errors" pages, the SDKs'
#: throttling codes, and the codes labrunner gives a failure itself.
COMMON_ERROR_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "ExpiredToken", "ExpiredTokenException", "IncompleteSignature",
    "InternalError", "InternalFailure", "InternalServerError", "InvalidAction", "InvalidClientTokenId",
    "InvalidParameterCombination", "InvalidParameterValue", "InvalidQueryParameter", "MalformedQueryString",
    "MissingAction", "MissingAuthenticationToken", "MissingParameter", "NotAuthorized", "OptInRequired",
    "RequestExpired", "RequestLimitExceeded", "RequestTimeout", "ServiceUnavailable", "SignatureDoesNotMatch",
    "SlowDown", "Throttling", "ThrottlingException", "TooManyRequestsException", "UnrecognizedClientException",
    "UnknownOperationException", "ValidationError", "ValidationException", "ParamValidationError",
    "ReadOnlyViolation",
})
#: What boto3 reports for a bodiless error, by the code an author might write instead.
_STATUS_OF = {"NoSuchKey": "404", "NoSuchBucket": "404", "NotFound": "404", "AccessDenied": "403",
              "Forbidden": "403", "BadRequest": "400"}
_STATUS_HINT = "write the HTTP status: '404' (not found), '403' (access denied) or '400' (bad request)"


@functools.cache
def modelled_error_codes(op: Any) -> tuple[tuple[str, ...], frozenset[str]]:
    """An operation's modelled error codes (its own, in model order), and every code its service models."""
    from runner import aws_models

    def names(shape: Any) -> list[str]:
        return [shape.name, str(shape.error_code or shape.name)]

    own = [code for shape in op.model.error_shapes for code in names(shape)]
    service = {code for shape in aws_models.service_model(op.service).error_shapes for code in names(shape)}
    return tuple(dict.fromkeys(own)), frozenset(service)


def error_code_problem(op: Any, code: str) -> tuple[str, str] | None:
    """Why `code` can never match an error of `op` (an `aws_models.AwsOperation`), and the fix; or None.

    AWS answers with codes botocore does not model, so an unknown code is refused only as a near miss of a
    known one; a HEAD request's errors have no body, so boto3 gives the HTTP status as their code.
    """
    from runner import aws_models

    own, service = modelled_error_codes(op)
    bodiless = aws_models.facts(op.service, op.name).method == "HEAD"
    status = code.isdigit()
    if bodiless and not status:
        return (f"{op.action} is an HTTP HEAD request: its errors have no body, so boto3 gives the HTTP status as "
                f"the code and '{code}' never matches",
                f"write '{_STATUS_OF[code]}'" if code in _STATUS_OF else _STATUS_HINT)
    if status:
        if bodiless or code == "304":  # 304 Not Modified (a conditional GET) has no body either
            return None
        examples = ", ".join(own[:3]) or "NoSuchBucket, AccessDenied"
        return (f"'{code}' is an HTTP status, not an error code: the errors of {op.action} carry a code",
                f"write the code AWS returns, such as {examples}")
    known = service | COMMON_ERROR_CODES
    if code in known or code.rsplit(".", 1)[-1] in known:
        return None
    near = (f"{code}Exception" if f"{code}Exception" in known else
            code.removesuffix("Exception") if code.removesuffix("Exception") in known else
            did_you_mean(code, known, cutoff=0.9))
    if near is None:
        return None  # a code the model does not list: AWS has many
    return f"unknown error code '{code}' for {op.action}", f"did you mean '{near}'?"
