"""Checks Journeys request bodies against the JSON Schema files bundled in ``schemas/``.

The schema files are the single source of truth for what may be sent; this module only loads them,
compiles one validator per body kind (once per process), and turns violations into readable lines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import Any, Literal, cast

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

from airflow_provider_journeys.exceptions import JourneysPayloadError

PayloadKind = Literal["trigger", "exit"]
_SCHEMA_FILES = ("common.json", "audience.json", "trigger.json", "exit.json")
_SHOWN_VALUE_CHARS = 40


def validate_trigger_payload(payload: Any) -> None:
    """Raise :class:`JourneysPayloadError` listing every rule a ``/api/journeys/trigger`` body breaks."""
    _validate("trigger", payload)


def validate_exit_payload(payload: Any) -> None:
    """Raise :class:`JourneysPayloadError` listing every rule a ``/api/journeys/exit`` body breaks."""
    _validate("exit", payload)


def payload_violations(kind: PayloadKind, payload: Any) -> list[tuple[str, str]]:
    """Every ``(json_path, reason)`` for which ``payload`` is not a valid ``kind`` body."""
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


@cache
def _validator(kind: PayloadKind) -> Draft202012Validator:
    schemas = {
        name: json.loads((files(__package__) / "schemas" / name).read_text()) for name in _SCHEMA_FILES
    }
    base_uri = schemas[f"{kind}.json"]["$id"].rsplit("/", 1)[0]
    registry: Registry[Any] = Registry().with_resources(
        (f"{base_uri}/{name}", Resource.from_contents(schema)) for name, schema in schemas.items()
    )
    return Draft202012Validator(schemas[f"{kind}.json"], registry=registry)


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
