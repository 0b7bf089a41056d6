"""Checks Journeys request bodies against the JSON Schema files bundled in ``schemas/``.

The schema files are the single source of truth for what may be sent; this module only loads them,
compiles validators per body kind (once per process), and turns violations into readable lines.

Two validators check each body. A fastjsonschema function, compiled from a mechanical draft-07
translation of the files, only ever accepts: it settles the common case, a valid body, in a fraction of
a loopback round trip. Whatever it does not accept goes to jsonschema, which decides and names every
violation with its path.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import Any, Literal, cast

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

from airflow_provider_journeys.exceptions import JourneysPayloadError

PayloadKind = Literal["trigger", "exit"]
_SCHEMA_FILES = ("common.json", "audience.json", "trigger.json", "exit.json")
_SHOWN_VALUE_CHARS = 40
_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_DRAFT_07 = "http://json-schema.org/draft-07/schema#"
# fastjsonschema fetches a $ref it has no handler for with urlopen; these are the schemes urlopen knows.
_URLOPEN_SCHEMES = ("http", "https", "ftp", "file", "data")
# The exact types of JSON values the fast path accepts without looking further (float needs a look).
_JSON_SCALAR_TYPES = frozenset({str, int, bool, type(None)})
_STRING_TYPE = frozenset({str})


class UntranslatableSchemaError(ValueError):
    """A schema file uses something the draft-07 translation for the fast path does not handle."""


def validate_trigger_payload(payload: Any) -> None:
    """Raise :class:`JourneysPayloadError` listing every rule a ``/api/journeys/trigger`` body breaks."""
    _validate("trigger", payload)


def validate_exit_payload(payload: Any) -> None:
    """Raise :class:`JourneysPayloadError` listing every rule a ``/api/journeys/exit`` body breaks."""
    _validate("exit", payload)


def payload_violations(kind: PayloadKind, payload: Any) -> list[tuple[str, str]]:
    """Every ``(json_path, reason)`` for which ``payload`` is not a valid ``kind`` body."""
    if _fast_path_accepts(kind, payload):
        return []
    return _every_violation(kind, payload)


def _every_violation(kind: PayloadKind, payload: Any) -> list[tuple[str, str]]:
    not_json = list(_non_json_values(payload, "$", ()))
    # A value that is not JSON is reported once, as such, not again by the schema rule it also breaks.
    reported = {path for path, _ in not_json}
    try:
        schema_violations = [
            found for error in _validator(kind).iter_errors(payload) for found in _describe(error)
        ]
    except RecursionError:  # a circular value, already reported, where the schema descends
        schema_violations = []
    return not_json + [(path, reason) for path, reason in schema_violations if path not in reported]


def encode_payload(payload: Any) -> bytes:
    """The exact bytes sent for a validated payload."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _validate(kind: PayloadKind, payload: Any) -> None:
    violations = payload_violations(kind, payload)
    if violations:
        raise JourneysPayloadError(kind, violations)


def _fast_path_accepts(kind: PayloadKind, payload: Any) -> bool:
    """True only if ``payload`` is plain JSON that the compiled ``kind`` schema accepts."""
    validate = _fast_validator(kind)  # outside the try: a schema it cannot translate must fail loudly
    try:
        if not _is_plain_json((payload,)):
            return False
        validate(payload)
    except Exception:  # a rejection, or RecursionError on a container that holds itself
        return False
    return True


@cache
def _schema_files() -> dict[str, Any]:
    return {name: json.loads((files(__package__) / "schemas" / name).read_text()) for name in _SCHEMA_FILES}


@cache
def _validator(kind: PayloadKind) -> Draft202012Validator:
    schemas = _schema_files()
    base_uri = schemas[f"{kind}.json"]["$id"].rsplit("/", 1)[0]
    registry: Registry[Any] = Registry().with_resources(
        (f"{base_uri}/{name}", Resource.from_contents(schema)) for name, schema in schemas.items()
    )
    return Draft202012Validator(schemas[f"{kind}.json"], registry=registry)


@cache
def _fast_validator(kind: PayloadKind) -> Callable[[Any], object]:
    """A function that returns for a ``kind`` body the schema files accept, and raises otherwise."""
    schemas = _schema_files()
    documents = {schema["$id"]: _file_to_draft_07(name, schema) for name, schema in schemas.items()}
    return fastjsonschema.compile(
        documents[schemas[f"{kind}.json"]["$id"]],
        # Cross-file $refs resolve to the translated files; any other URI raises KeyError, never a fetch.
        handlers=dict.fromkeys(_URLOPEN_SCHEMES, documents.__getitem__),
        use_default=False,  # never write a schema default into the caller's payload
        detailed_exceptions=False,  # only the verdict is used; jsonschema explains a rejection
    )


def _file_to_draft_07(name: str, schema: Any) -> dict[str, Any]:
    """A whole schema file in draft-07 form; its ``$id`` stays, so relative ``$ref``s resolve as before."""
    if schema.get("$schema") != _DRAFT_2020_12:
        raise UntranslatableSchemaError(f"{name}: $schema must be {_DRAFT_2020_12}, the draft translated")
    body = {keyword: value for keyword, value in schema.items() if keyword not in ("$schema", "$id")}
    return {"$schema": _DRAFT_07, "$id": schema["$id"], **_to_draft_07(body, f"{name}#")}


def _to_draft_07(schema: Any, where: str) -> Any:
    """``schema`` (2020-12) rewritten keyword by keyword into a draft-07 schema that means the same.

    A keyword not in ``_DRAFT_07_KEYWORDS`` raises :class:`UntranslatableSchemaError`: passing it on
    could make the fast path accept what the schema files forbid."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        raise UntranslatableSchemaError(f"{where}: a schema must be an object or a boolean")
    translated: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or keyword.startswith("x-"):
            continue
        if keyword not in _DRAFT_07_KEYWORDS:
            raise UntranslatableSchemaError(
                f"{where}: keyword {keyword!r} has no draft-07 translation for the fast path; "
                "add one to _DRAFT_07_KEYWORDS, with a test body rejected through it"
            )
        draft_07_keyword, translate = _DRAFT_07_KEYWORDS[keyword]
        translated[draft_07_keyword] = translate(value, f"{where}/{keyword}")
    return _ref_applied_with_its_siblings(translated)


def _ref_applied_with_its_siblings(schema: dict[str, Any]) -> dict[str, Any]:
    # Draft-07 ignores every keyword beside a $ref, 2020-12 applies them all; an allOf applies both.
    if "$ref" not in schema or len(schema) == 1:
        return schema
    siblings = {keyword: value for keyword, value in schema.items() if keyword != "$ref"}
    return {**siblings, "allOf": [*siblings.get("allOf", []), {"$ref": schema["$ref"]}]}


def _copy(value: Any, where: str) -> Any:
    # A copy: fastjsonschema rewrites $refs in place, and jsonschema keeps reading the loaded files.
    return copy.deepcopy(value)


def _pattern(value: str, where: str) -> str:
    # fastjsonschema turns each unescaped $ (found as below) into \Z; Python's re, used by jsonschema,
    # also matches $ before a final newline. Under a "not" that difference would accept what jsonschema
    # rejects.
    if re.search(r"(?<!\\)\$", value):
        raise UntranslatableSchemaError(
            f"{where}: pattern {value!r} uses $, which the two validators read differently"
        )
    return value


def _subschemas_by_name(value: dict[str, Any], where: str) -> dict[str, Any]:
    return {name: _to_draft_07(subschema, f"{where}/{name}") for name, subschema in value.items()}


_Translation = Callable[[Any, str], Any]
# Every 2020-12 keyword the schema files use: its draft-07 name and how its value translates. Each has a
# test with a body that the fast path must reject through it; a keyword added to the files needs both.
_DRAFT_07_KEYWORDS: dict[str, tuple[str, _Translation]] = {
    "$ref": ("$ref", _copy),
    # Draft-07 names them "definitions", but a $ref is a JSON pointer, which reaches them under any name.
    "$defs": ("$defs", _subschemas_by_name),
    "type": ("type", _copy),
    "enum": ("enum", _copy),
    "minLength": ("minLength", _copy),
    "maxLength": ("maxLength", _copy),
    "pattern": ("pattern", _pattern),
    "minItems": ("minItems", _copy),
    "maxItems": ("maxItems", _copy),
    # One schema for every item, as in draft-07; 2019's array form is rejected as not a schema.
    "items": ("items", _to_draft_07),
    "minProperties": ("minProperties", _copy),
    "maxProperties": ("maxProperties", _copy),
    "required": ("required", _copy),
    "properties": ("properties", _subschemas_by_name),
    "additionalProperties": ("additionalProperties", _to_draft_07),
    "propertyNames": ("propertyNames", _to_draft_07),
    # Draft-07 spells a dependentRequired as the array form of "dependencies".
    "dependentRequired": ("dependencies", _copy),
    "not": ("not", _to_draft_07),
    "if": ("if", _to_draft_07),
    "then": ("then", _to_draft_07),
    "else": ("else", _to_draft_07),
}
# They assert nothing, so the fast path leaves them out ("x-" keywords, such as x-rule, are ours).
_ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly"}
)


def _is_plain_json(values: Iterable[Any]) -> bool:
    """Whether ``values`` are made only of dicts with string keys, lists, strings, ints, finite floats,
    booleans and None, each of exactly that type. Subclasses, tuples and the rest go to
    :func:`_non_json_values`, which decides; a container that holds itself recurses to RecursionError."""
    for value in values:
        value_type = type(value)
        if value_type in _JSON_SCALAR_TYPES:
            continue
        if value_type is dict:
            if not (_STRING_TYPE.issuperset(map(type, value)) and _is_plain_json(value.values())):
                return False
        elif value_type is list:
            # Most lists hold only scalars, which one pass over their types in C settles.
            if not (_JSON_SCALAR_TYPES.issuperset(map(type, value)) or _is_plain_json(value)):
                return False
        elif value_type is not float or not math.isfinite(value):
            return False
    return True


def _non_json_values(value: Any, path: str, parents: tuple[int, ...]) -> Iterator[tuple[str, str]]:
    """Values that ``json`` would reject or silently change: NaN, sets, tuples, bytes, datetimes, other
    mappings, non-string keys, and containers that hold themselves (``parents`` are their ids)."""
    if isinstance(value, dict | list) and id(value) in parents:
        yield path, "refers back to a container it is inside (a circular reference)"
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield path, f"key {key!r} has type {type(key).__name__}; JSON object keys must be strings"
            else:
                yield from _non_json_values(item, _child_path(path, key), (*parents, id(value)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_json_values(item, f"{path}[{index}]", (*parents, id(value)))
    elif isinstance(value, float) and not math.isfinite(value):
        yield path, f"{value!r} is not a JSON number"
    elif not isinstance(value, str | int | float | bool | type(None)):
        yield path, f"{_shown(value)} has type {type(value).__name__}, which is not a JSON value"


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    """``(json_path, reason)`` for one schema error; an error about a key points at that key."""
    path = "$"
    for part in error.absolute_path:
        path = f"{path}[{part}]" if isinstance(part, int) else _child_path(path, part)
    if error.validator == "additionalProperties":
        properties = cast("Mapping[str, Any]", error.schema)["properties"]
        allowed = ", ".join(properties)
        # A key that is not a string is reported once already, as not JSON.
        keys = cast("Mapping[Any, Any]", error.instance)
        unknown = [key for key in keys if isinstance(key, str) and key not in properties]
        return [(_child_path(path, key), f"unknown key {key!r} (allowed keys: {allowed})") for key in unknown]
    if "propertyNames" in error.relative_schema_path:
        path = _child_path(path, str(error.instance))
    return [(path, _reason(error))]


def _reason(error: ValidationError) -> str:
    # Errors raised by iter_errors always carry these; the stubs allow "unset" for hand-made ones.
    keyword, rule, value = error.validator, cast("Any", error.validator_value), cast("Any", error.instance)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if "x-rule" in schema:
        return _reason_from_rule(error.instance, schema["x-rule"])
    if keyword == "enum" and "propertyNames" in error.relative_schema_path:
        return f"unknown key {value!r} (allowed keys: {', '.join(rule)})"
    if keyword == "maxLength":
        return f"{_shown(value)} is too long (at most {rule} characters)"
    if keyword == "minLength":
        return f"{_shown(value)} is too short (at least {rule} character{'s' if rule != 1 else ''})"
    if keyword == "maxItems":
        return f"has {len(value)} items (at most {rule})"
    if keyword == "minItems":
        return f"is empty (at least {rule} item{'s' if rule != 1 else ''})"
    if keyword == "minProperties":
        return f"is empty (at least {rule} key{'s' if rule != 1 else ''})"
    if keyword == "type":
        expected = " or ".join(rule) if isinstance(rule, list) else rule
        return f"{_shown(value)} has type {_json_type(value)}, expected {expected}"
    return str(error.message)


def _reason_from_rule(value: Any, rule: str) -> str:
    """A schema's ``x-rule`` annotation states rules whose jsonschema wording would be vague."""
    if isinstance(value, Mapping):
        return f"has keys {', '.join(map(repr, value))}: {rule}"
    return rule


def _child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else f"{text[: _SHOWN_VALUE_CHARS - 2]}…{text[-1]}"


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
