"""Checks Journeys request bodies against the JSON Schema files bundled in ``schemas/`` and encodes them.

The schema files are the single source of truth for what may be sent; this module only loads them,
compiles validators per body kind (once per process), and turns violations into readable lines.

What is checked is what is sent: a body is encoded once, with orjson, and those bytes are sent. A value
orjson cannot encode (sets, bytes, datetimes, non-string keys, integers beyond 64 bits, lone surrogates,
containers nested 255 deep) is not JSON; neither is NaN or Infinity, which orjson would write as null.
Tuples are arrays, enums and UUIDs their values, as orjson writes them.

Two validators check each body. jsonschema-rs (draft 2020-12, in Rust) only ever accepts: when the
encoding takes plain built-in types only and holds no null (where a NaN may hide), its verdict on the
value settles the common case, a valid body, in a fraction of a loopback round trip. Whatever it does not
accept goes to jsonschema, which decides on the parse of the encoded bytes and names every violation with
its path.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import Any, Literal, cast

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from airflow_provider_journeys.exceptions import JourneysPayloadError

PayloadKind = Literal["trigger", "exit"]
_SCHEMA_FILES = ("common.json", "audience.json", "trigger.json", "exit.json")
_SHOWN_VALUE_CHARS = 40
# Datetimes and dataclasses are refused rather than written in a form the user did not choose.
_ENCODING = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# The fast path also refuses subclasses of built-in types: their Python methods (``__len__``, ``__iter__``)
# may disagree with the data orjson writes, so only the full check, on the parse of the bytes, judges them.
_PLAIN_ENCODING = _ENCODING | orjson.OPT_PASSTHROUGH_SUBCLASS
# Airship publishes no size limit. Ten times the largest realistic body (1000 ids, 10 triggering ids and
# rich personalization data, about 100 KB): far past it is a mistake, and every body is logged whole.
MAX_BODY_BYTES = 1024 * 1024
# The most schema violations looked for in one body; the error message shows the first 50 of them.
MAX_VIOLATIONS = 1000
# orjson refuses deeper values ("Recursion limit reached"); the full check reports where.
MAX_NESTING = 254
_FRAMES_PER_LEVEL = 8  # twice what jsonschema takes, measured with nested "not" and "and" selectors
_RECURSION_LIMIT_LOCK = threading.Lock()
_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# Where orjson wrote a NaN or an Infinity, if anywhere; a compiled pattern scans faster than `in`.
_NULL = re.compile(rb"null")


def validate_trigger_payload(payload: Any) -> None:
    """Raise :class:`JourneysPayloadError` listing every rule a ``/api/journeys/trigger`` body breaks."""
    validated_body("trigger", payload)


def validate_exit_payload(payload: Any) -> None:
    """Raise :class:`JourneysPayloadError` listing every rule a ``/api/journeys/exit`` body breaks."""
    validated_body("exit", payload)


def validated_body(kind: PayloadKind, payload: Any) -> bytes:
    """The exact bytes to send for ``payload``; raises :class:`JourneysPayloadError` if any rule is broken."""
    body = _fast_path_body(kind, payload)
    if body is None:
        violations, body = _full_check(kind, payload)
        if body is None:
            raise JourneysPayloadError(kind, violations)
    if len(body) > MAX_BODY_BYTES:
        raise JourneysPayloadError(
            kind, [("$", f"is {len(body):,} bytes encoded; at most {MAX_BODY_BYTES:,} are sent")]
        )
    return body


def payload_violations(kind: PayloadKind, payload: Any) -> list[tuple[str, str]]:
    """Every ``(json_path, reason)`` for which ``payload`` is not a valid ``kind`` body."""
    if _fast_path_body(kind, payload) is not None:
        return []
    return _full_check(kind, payload)[0]


def build_payload(**fields: Any) -> dict[str, Any]:
    """Top-level arguments left as None are omitted; nested values are sent exactly as given."""
    return {key: value for key, value in fields.items() if value is not None}


def _fast_path_body(kind: PayloadKind, payload: Any) -> bytes | None:
    """The encoded body, if ``payload`` is plain JSON that the compiled ``kind`` schema accepts."""
    validator = _fast_validator(kind)  # outside the try: a schema file it cannot compile must fail loudly
    try:
        body = orjson.dumps(payload, option=_PLAIN_ENCODING)
    except orjson.JSONEncodeError:
        return None
    # Only global_attributes can hold a float where the schema does not look (anywhere else a NaN is a type
    # error), and no string can hold this key unescaped: scanning from its first occurrence is enough.
    attributes = body.find(b'"global_attributes":')
    if attributes != -1 and _NULL.search(body, attributes):
        return None
    try:
        return body if validator.is_valid(payload) else None
    except ValueError:  # a value jsonschema-rs does not take, such as a UUID
        return None


def _full_check(kind: PayloadKind, payload: Any) -> tuple[list[tuple[str, str]], bytes | None]:
    """Every violation, and the bytes to send when there is none: the very bytes the schema judged."""
    try:
        with _room_for_nesting():
            return _every_violation(kind, payload)
    except RecursionError:  # a caller already deep in its stack: never taken as "no violation"
        return [("$", "is nested too deeply to check against the schema")], None


def _every_violation(kind: PayloadKind, payload: Any) -> tuple[list[tuple[str, str]], bytes | None]:
    not_json = list(itertools.islice(_non_json_values(payload, "$", ()), MAX_VIOLATIONS))
    body = None
    if not_json:
        # Nothing can be sent: the schema judges the value as given, cut where it is nested too deeply.
        sent = _within_nesting(payload)
    else:
        try:
            body = orjson.dumps(payload, option=_ENCODING)
            # The schema judges the bytes that would be sent, not what Python methods say of the value.
            sent = orjson.loads(body)
        except (orjson.JSONEncodeError, orjson.JSONDecodeError) as refused:
            # Only a mapping that hides what it holds, or an orjson.Fragment of bad JSON, gets here.
            return [("$", f"cannot be encoded as JSON: {refused}")], None
    # Checking stops after MAX_VIOLATIONS: a million broken ids would take seconds and megabytes to list.
    errors = itertools.islice(_validator(kind).iter_errors(sent), MAX_VIOLATIONS)
    schema_violations = [found for error in errors for found in _describe(error)]
    # A value that is not JSON is reported once, as such, not again by the schema rule it also breaks.
    reported = {path for path, _ in not_json}
    violations = not_json + [(path, reason) for path, reason in schema_violations if path not in reported]
    return violations, None if violations else body


@contextmanager
def _room_for_nesting() -> Iterator[None]:
    """jsonschema takes about four Python frames per level of nesting: checking the MAX_NESTING levels orjson
    encodes needs more than Python's default limit of 1000. Raised for the check alone, one check at a time."""
    with _RECURSION_LIMIT_LOCK:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + _FRAMES_PER_LEVEL * MAX_NESTING)
        try:
            yield
        finally:
            sys.setrecursionlimit(limit)


def _within_nesting(value: Any, depth: int = 0) -> Any:
    """``value`` with containers deeper than MAX_NESTING cut off (reported already as nested too deeply), so
    that the schema reports every other violation. A parse of orjson's bytes never needs it: orjson encodes
    no deeper."""
    if not isinstance(value, dict | list | tuple):
        return value
    if depth >= MAX_NESTING:
        return None
    if isinstance(value, dict):
        return {key: _within_nesting(item, depth + 1) for key, item in dict.items(value)}
    return [_within_nesting(item, depth + 1) for item in _items(value)]


@cache
def _schema_files() -> dict[str, Any]:
    return {name: json.loads((files(__package__) / "schemas" / name).read_text()) for name in _SCHEMA_FILES}


@cache
def _validator(kind: PayloadKind) -> Draft202012Validator:
    # Without "$schema": jsonschema would pick its stock 2020-12 class wherever a $ref enters another file,
    # and lose the full check's reading of tuples and of "$". The draft is given to the registry instead.
    schemas = {name: _without_dialect(schema) for name, schema in _schema_files().items()}
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in schemas.values()
    )
    return _FULL_CHECK_VALIDATOR(schemas[f"{kind}.json"], registry=registry)


def _without_dialect(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("$schema") != _DRAFT_2020_12:
        raise ValueError(f"{schema.get('$id')}: the schema files are written for draft 2020-12")
    return {key: value for key, value in schema.items() if key != "$schema"}


@cache
def _fast_validator(kind: PayloadKind) -> jsonschema_rs.Draft202012Validator:
    schemas = _schema_files()
    registry = jsonschema_rs.Registry([(schema["$id"], schema) for schema in schemas.values()])
    return jsonschema_rs.Draft202012Validator(schemas[f"{kind}.json"], registry=registry)


def _ecma_pattern(
    validator: Draft202012Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """JSON Schema patterns are ECMA-262 regexes, whose ``$`` matches only at the end of the text, as in
    jsonschema-rs; Python's also matches before a final line break ("u1\\n" would pass ``^[^\\n]*$``)."""
    ends_with_dollar = pattern.endswith("$") and not pattern.endswith("\\$")
    return re.compile(pattern[:-1] + r"\Z" if ends_with_dollar else pattern)


# The full check reads values as orjson and jsonschema-rs do: a tuple is an array, and ``$`` ends the text.
_FULL_CHECK_VALIDATOR: type[Draft202012Validator] = extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={"pattern": _ecma_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "array", lambda checker, instance: isinstance(instance, list | tuple)
    ),
)


def _non_json_values(value: Any, path: str, parents: tuple[int, ...]) -> Iterator[tuple[str, str]]:
    """Values orjson would refuse or silently change (NaN becomes null), and containers that hold
    themselves or lie deeper than orjson goes (``parents`` are the ids of the containers around)."""
    if isinstance(value, dict | list | tuple):
        if id(value) in parents:
            yield path, "refers back to a container it is inside (a circular reference)"
        elif len(parents) >= MAX_NESTING:
            yield path, f"is nested too deeply (at most {MAX_NESTING} levels of objects and arrays)"
        elif isinstance(value, dict):
            for key, item in dict.items(value):  # what orjson reads, whatever a subclass's items() says
                if type(key) is not str:
                    yield path, f"key {key!r} has type {type(key).__name__}; JSON object keys must be strings"
                else:
                    yield from _non_json_values(item, _child_path(path, key), (*parents, id(value)))
        else:
            for index, item in enumerate(_items(value)):
                yield from _non_json_values(item, f"{path}[{index}]", (*parents, id(value)))
    elif isinstance(value, float) and not math.isfinite(value):
        yield path, f"{value!r} is not a JSON number"
    else:
        try:
            encoded = orjson.dumps(value, option=_ENCODING)
        except orjson.JSONEncodeError as refused:
            yield path, _not_encodable(value, refused)
        else:
            if encoded == b"null" and value is not None:  # an enum whose value is NaN, say
                yield path, f"{_shown(value)} would be sent as null (NaN or Infinity is not a JSON number)"


def _items(value: list[Any] | tuple[Any, ...]) -> Iterator[Any]:
    """The items orjson writes, whatever a subclass's ``__iter__`` says."""
    return list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)


def _not_encodable(value: Any, refused: orjson.JSONEncodeError) -> str:
    if isinstance(value, int):
        return f"{_shown(value)} is too large for JSON (at most 64 bits)"
    if isinstance(value, str):
        return f"{_shown(value)} is not valid UTF-8 ({refused})"
    return f"{_shown(value)} has type {type(value).__name__}, which is not a JSON value"


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    """``(json_path, reason)`` for one schema error; an error about a key points at that key."""
    path = "$"
    for part in error.absolute_path:
        path = f"{path}[{part}]" if isinstance(part, int) else _child_path(path, part)
    if error.validator == "additionalProperties":
        properties = cast("Mapping[str, Any]", error.schema)["properties"]
        # A key that is not a string is reported once already, as not JSON.
        keys = cast("Mapping[Any, Any]", error.instance)
        unknown = [key for key in keys if isinstance(key, str) and key not in properties]
        return [(_child_path(path, key), _unknown_key(key, list(properties))) for key in unknown]
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
        return _unknown_key(value, rule)
    if keyword == "maxLength":
        return f"{_shown(value)} is {len(value)} characters, too long (at most {rule} characters)"
    if keyword == "minLength":
        return f"{_shown(value)} is too short (at least {rule} character{'s' if rule != 1 else ''})"
    if keyword == "maxItems":
        return f"has {len(value)} items (at most {rule})"
    if keyword == "minItems":
        return f"is empty (at least {rule} item{'s' if rule != 1 else ''})"
    if keyword == "minProperties":
        return f"is empty (at least {rule} key{'s' if rule != 1 else ''})"
    if keyword == "type":
        types = rule if isinstance(rule, list) else [rule]
        hint = _RENDERED_TO_TEXT if isinstance(value, str) and {"object", "array"} & set(types) else ""
        expected = " or ".join(types)
        return f"{_shown(value)} has type {_json_type(value)}, expected {expected}{hint}"
    return str(error.message)


def _unknown_key(key: str, allowed: list[str]) -> str:
    """The reason, naming the closest allowed key if one is close: a typo ('segmnet') or another case ('NOT'
    in one of Airship's guides; Airship's reference and libraries write keys in lower case)."""
    by_lower = {name.lower(): name for name in allowed}
    close = difflib.get_close_matches(key.lower(), by_lower, n=1)
    suggestion = f": did you mean {by_lower[close[0]]!r}?" if close else ""
    return f"unknown key {key!r}{suggestion} (allowed keys: {', '.join(allowed)})"


# A template renders to a string unless the DAG renders native objects: the commonest cause of this error.
_RENDERED_TO_TEXT = (
    " (a template such as '{{ params.offer }}' renders to a string: pass the object itself, e.g. an upstream "
    "task's output, or set render_template_as_native_obj=True on the DAG)"
)


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
