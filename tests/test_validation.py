"""Payload validation: every rule accepted at its edge and rejected just past it, directly and via the hook."""

from __future__ import annotations

import datetime
import enum
import json
import math
import sys
import uuid
from collections import OrderedDict
from types import MappingProxyType

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_journeys import validation
from airflow_provider_journeys.exceptions import JourneysPayloadError
from airflow_provider_journeys.hooks.journeys import JourneysHook
from airflow_provider_journeys.validation import (
    payload_violations,
    validate_exit_payload,
    validate_trigger_payload,
)

TRIGGER_PATH = "/api/journeys/trigger"
VALIDATORS = {"trigger": validate_trigger_payload, "exit": validate_exit_payload}
MINIMAL = {"trigger": {"audience": {"tag": "vip"}, "triggering_id": "seq"}, "exit": {"triggering_id": "seq"}}
ATOMIC_ID_SELECTORS = [
    "tag",
    "segment",
    "named_user",
    "channel",
    "ios_channel",
    "android_channel",
    "amazon_channel",
    "open_channel",
]
ONE_SELECTOR = "an audience object holds exactly one selector"
SMS_ID = {"sender": "12345", "msisdn": "15035556789"}


def body(kind, **fields):
    """The minimal valid ``kind`` body with ``fields`` set on it."""
    return {**MINIMAL[kind], **fields}


def without(kind, key):
    return {name: value for name, value in MINIMAL[kind].items() if name != key}


def audience(selector):
    return body("trigger", audience=selector)


def violations_of(kind, payload):
    with pytest.raises(JourneysPayloadError) as raised:
        VALIDATORS[kind](payload)
    return raised.value.violations


def assert_single_violation(kind, payload, path, reason_part):
    violations = violations_of(kind, payload)
    assert len(violations) == 1, violations
    [(found_path, reason)] = violations
    assert found_path == path
    assert reason_part in reason


def assert_accepted(kind, payload):
    VALIDATORS[kind](payload)
    assert payload_violations(kind, payload) == []


# --- triggering_id and entrance_id: the same rules on trigger and exit -------------------------------

both_kinds = pytest.mark.parametrize("kind", ["trigger", "exit"])


@both_kinds
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"triggering_id": "t"}, id="triggering_id-1-char"),
        pytest.param({"triggering_id": "t" * 256}, id="triggering_id-256-chars"),
        pytest.param({"triggering_id": ["t"]}, id="triggering_id-array-of-1"),
        pytest.param({"triggering_id": ["t" * 256] * 10}, id="triggering_id-array-of-10-256-char-ids"),
        pytest.param({"entrance_id": "e"}, id="entrance_id-1-char"),
        pytest.param({"entrance_id": "e" * 64}, id="entrance_id-64-chars"),
    ],
)
def test_id_fields_at_their_limits_are_accepted(kind, fields):
    assert_accepted(kind, body(kind, **fields))


@both_kinds
@pytest.mark.parametrize(
    ("fields", "path", "reason_part"),
    [
        pytest.param({"triggering_id": ""}, "$.triggering_id", "must not be empty or only whitespace", id="triggering_id-empty"),
        pytest.param({"triggering_id": "t" * 257}, "$.triggering_id", "too long (at most 256 characters)", id="triggering_id-257-chars"),
        pytest.param({"triggering_id": []}, "$.triggering_id", "is empty (at least 1 item)", id="triggering_id-empty-array"),
        pytest.param({"triggering_id": ["t"] * 11}, "$.triggering_id", "has 11 items (at most 10)", id="triggering_id-array-of-11"),
        pytest.param({"triggering_id": ["t", "t" * 257]}, "$.triggering_id[1]", "too long (at most 256", id="triggering_id-item-257-chars"),
        pytest.param({"triggering_id": ["t", ""]}, "$.triggering_id[1]", "must not be empty", id="triggering_id-item-empty"),
        pytest.param({"triggering_id": 7}, "$.triggering_id", "has type integer, expected string or array", id="triggering_id-not-string"),
        pytest.param({"entrance_id": ""}, "$.entrance_id", "must not be empty or only whitespace", id="entrance_id-empty"),
        pytest.param({"entrance_id": "e" * 65}, "$.entrance_id", "too long (at most 64 characters)", id="entrance_id-65-chars"),
        pytest.param({"entrance_id": ["e"]}, "$.entrance_id", "expected string", id="entrance_id-array"),
        pytest.param({"unknown": 1}, "$.unknown", "unknown key 'unknown'", id="unknown-top-level-key"),
    ],
)  # fmt: skip
def test_id_fields_past_their_limits_are_rejected_with_their_path(kind, fields, path, reason_part):
    assert_single_violation(kind, body(kind, **fields), path, reason_part)


@both_kinds
def test_missing_triggering_id_is_rejected(kind):
    assert_single_violation(
        kind, without(kind, "triggering_id"), "$", "'triggering_id' is a required property"
    )


def test_entrance_id_of_65_characters_is_rejected_with_its_path_in_the_message():
    with pytest.raises(
        JourneysPayloadError,
        match=r"\$\.entrance_id: 'e+…' is 65 characters, too long \(at most 64 characters\)",
    ):
        validate_trigger_payload(body("trigger", entrance_id="e" * 65))


# --- trigger-only and exit-only fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    "global_attributes",
    [
        pytest.param({}, id="empty"),
        pytest.param({"first_name": "Ada", "my_ua_key": 1}, id="ua_-not-at-the-start"),
        pytest.param({"a": {"ua_x": 1}, "list": [{"ua_y": 2}]}, id="nested-ua_-keys"),
        pytest.param({"a": None, "b": {"c": None}, "d": [None]}, id="nulls"),
    ],
)
def test_global_attributes_edges_are_accepted(global_attributes):
    assert_accepted("trigger", body("trigger", global_attributes=global_attributes))


@pytest.mark.parametrize(
    ("payload", "path", "reason_part"),
    [
        pytest.param(without("trigger", "audience"), "$", "'audience' is a required property", id="audience-missing"),
        pytest.param(without("trigger", "triggering_id"), "$", "'triggering_id' is a required property", id="triggering_id-missing"),
        pytest.param(body("trigger", global_attributes={"ua_x": 1}), "$.global_attributes.ua_x", "top-level keys must not start with the reserved prefix 'ua_'", id="global_attributes-top-level-ua_-key"),
        pytest.param(body("trigger", global_attributes=["a"]), "$.global_attributes", "has type array, expected object", id="global_attributes-not-object"),
        pytest.param(body("trigger", extra=1), "$.extra", "unknown key 'extra' (allowed keys: audience, triggering_id, entrance_id, global_attributes)", id="unknown-key"),
    ],
)  # fmt: skip
def test_trigger_body_rule_breaks_are_rejected_with_their_path(payload, path, reason_part):
    assert_single_violation("trigger", payload, path, reason_part)


@pytest.mark.parametrize("key", ["audience", "global_attributes"])
def test_trigger_only_keys_are_rejected_on_exit(key):
    payload = body("exit", **{key: {"tag": "vip"}})
    assert_single_violation(
        "exit", payload, f"$.{key}", f"unknown key '{key}' (allowed keys: triggering_id, entrance_id)"
    )


# --- audience selectors -------------------------------------------------------------------------------


@pytest.mark.parametrize("selector", ATOMIC_ID_SELECTORS)
@pytest.mark.parametrize(
    "ids", [pytest.param("id", id="string"), pytest.param(["id"] * 1000, id="array-of-1000")]
)
def test_id_selector_with_a_string_or_up_to_1000_ids_is_accepted(selector, ids):
    assert_accepted("trigger", audience({selector: ids}))


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param({"tag": "vip", "group": "loyalty"}, id="tag-with-group"),
        pytest.param({"static_list": "list"}, id="static_list"),
        pytest.param({"subscription_list": "news"}, id="subscription_list"),
        pytest.param({"sms_id": SMS_ID}, id="sms_id"),
        pytest.param({"and": [{"tag": "a"}]}, id="and-of-1"),
        pytest.param({"or": [{"named_user": f"u{i}"} for i in range(1000)]}, id="or-of-1000"),
        pytest.param({"not": {"segment": "s"}}, id="not-single-selector"),
        pytest.param(
            {"and": [{"or": [{"not": {"tag": "a", "group": "g"}}, {"sms_id": SMS_ID}]}]}, id="nested"
        ),
    ],
)
def test_valid_selectors_are_accepted(selector):
    assert_accepted("trigger", audience(selector))


@pytest.mark.parametrize(
    ("selector", "path", "reason_part"),
    [
        pytest.param("all", "$.audience", "'all' has type string, expected object", id="string-audience"),
        pytest.param({}, "$.audience", "is empty (at least 1 key)", id="empty-object"),
        pytest.param({"segmnet": "a"}, "$.audience.segmnet", "unknown key 'segmnet': did you mean 'segment'? (allowed keys: tag, group, segment, named_user", id="typo-segmnet-lists-allowed-keys"),
        pytest.param({"segment": "a", "named_user": "b"}, "$.audience", f"has keys 'segment', 'named_user': {ONE_SELECTOR}", id="two-selectors"),
        pytest.param({"tag": "a", "segment": "b"}, "$.audience", f"has keys 'tag', 'segment': {ONE_SELECTOR}", id="tag-and-segment"),
        pytest.param({"tag": "a", "group": "g", "segment": "b"}, "$.audience", ONE_SELECTOR, id="tag-group-and-another"),
        pytest.param({"group": "g"}, "$.audience", "'tag' is a dependency of 'group'", id="group-without-tag"),
        pytest.param({"tag": "a", "group": ["g"]}, "$.audience.group", "expected string", id="group-not-string"),
        pytest.param({"tag": []}, "$.audience.tag", "is empty (at least 1 item)", id="ids-empty-array"),
        pytest.param({"channel": ["c"] * 1001}, "$.audience.channel", "has 1001 items (at most 1000)", id="ids-array-of-1001"),
        pytest.param({"named_user": ["u", 5]}, "$.audience.named_user[1]", "expected string", id="ids-item-not-string"),
        pytest.param({"static_list": ["l"]}, "$.audience.static_list", "expected string", id="static_list-array"),
        pytest.param({"subscription_list": ["l"]}, "$.audience.subscription_list", "expected string", id="subscription_list-array"),
        pytest.param({"sms_id": {"sender": "1"}}, "$.audience.sms_id", "'msisdn' is a required property", id="sms_id-without-msisdn"),
        pytest.param({"sms_id": {"msisdn": "1"}}, "$.audience.sms_id", "'sender' is a required property", id="sms_id-without-sender"),
        pytest.param({"sms_id": {**SMS_ID, "carrier": "x"}}, "$.audience.sms_id.carrier", "unknown key 'carrier' (allowed keys: sender, msisdn)", id="sms_id-extra-key"),
        pytest.param({"sms_id": {**SMS_ID, "msisdn": 1}}, "$.audience.sms_id.msisdn", "expected string", id="sms_id-msisdn-not-string"),
        pytest.param({"and": []}, "$.audience.and", "is empty (at least 1 item)", id="and-empty"),
        pytest.param({"or": [{"tag": "a"}] * 1001}, "$.audience.or", "has 1001 items (at most 1000)", id="or-of-1001"),
        pytest.param({"and": {"tag": "a"}}, "$.audience.and", "expected array", id="and-not-array"),
        pytest.param({"not": [{"tag": "a"}]}, "$.audience.not", "has type array, expected object", id="not-given-a-list"),
        pytest.param({"and": [{"tag": "a"}, {"named_user": 5}]}, "$.audience.and[1].named_user", "expected string or array", id="nested-in-and"),
        pytest.param({"or": [{"tag": ["t"] * 1001}]}, "$.audience.or[0].tag", "at most 1000", id="nested-array-of-1001"),
        pytest.param({"not": {"segmnet": "s"}}, "$.audience.not.segmnet", "unknown key 'segmnet'", id="nested-in-not"),
        pytest.param({"and": [{"or": [{"segment": "a", "tag": "b"}]}]}, "$.audience.and[0].or[0]", ONE_SELECTOR, id="deeply-nested-two-selectors"),
    ],
)  # fmt: skip
def test_invalid_selectors_are_rejected_with_their_path(selector, path, reason_part):
    assert_single_violation("trigger", audience(selector), path, reason_part)


# --- values that are not JSON -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload", "path", "reason_part"),
    [
        pytest.param("trigger", body("trigger", global_attributes={"score": math.nan}), "$.global_attributes.score", "nan is not a JSON number", id="nan"),
        pytest.param("trigger", body("trigger", global_attributes={"a": [1, -math.inf]}), "$.global_attributes.a[1]", "-inf is not a JSON number", id="negative-inf"),
        pytest.param("trigger", audience({"tag": ["a", math.inf]}), "$.audience.tag[1]", "inf is not a JSON number", id="inf-in-audience"),
        pytest.param("trigger", body("trigger", triggering_id={"seq"}), "$.triggering_id", "has type set", id="set"),
        pytest.param("trigger", audience({"named_user": b"u"}), "$.audience.named_user", "has type bytes", id="bytes"),
        pytest.param("trigger", body("trigger", global_attributes={"when": datetime.datetime(2024, 1, 2)}), "$.global_attributes.when", "has type datetime", id="datetime"),
        pytest.param("trigger", body("trigger", global_attributes={"a": {1: "x"}}), "$.global_attributes.a", "key 1 has type int; JSON object keys must be strings", id="non-string-key"),
        pytest.param("exit", body("exit", entrance_id=datetime.date(2024, 1, 2)), "$.entrance_id", "has type date", id="date-on-exit"),
        pytest.param("exit", {**MINIMAL["exit"], ("tuple",): 1}, "$", "has type tuple; JSON object keys must be strings", id="tuple-key-on-exit"),
    ],
)  # fmt: skip
def test_non_json_values_are_rejected_with_their_path(kind, payload, path, reason_part):
    assert_single_violation(kind, payload, path, reason_part)


# --- the error itself ---------------------------------------------------------------------------------


def test_payload_error_fails_the_task_without_retry():
    assert issubclass(JourneysPayloadError, AirflowFailException)


@pytest.mark.parametrize(
    ("kind", "payload", "paths"),
    [
        pytest.param("trigger", body("trigger", audience={"segmnet": "a"}, triggering_id="", entrance_id="e" * 65), ["$.audience.segmnet", "$.triggering_id", "$.entrance_id"], id="trigger-three-problems"),
        pytest.param("exit", {"triggering_id": [], "entrance_id": "", "audience": {"tag": "a"}}, ["$.audience", "$.triggering_id", "$.entrance_id"], id="exit-three-problems"),
        pytest.param("trigger", body("trigger", global_attributes={"a": math.nan, "b": b"x", "c": {2: 3}}), ["$.global_attributes.a", "$.global_attributes.b", "$.global_attributes.c"], id="three-non-json-values"),
    ],
)  # fmt: skip
def test_error_lists_every_violation_one_line_each(kind, payload, paths):
    with pytest.raises(JourneysPayloadError) as raised:
        VALIDATORS[kind](payload)
    assert sorted(path for path, _ in raised.value.violations) == sorted(paths)
    header, *lines = str(raised.value).splitlines()
    assert header == f"Invalid Journeys {kind} payload, nothing was sent:"
    assert sorted(line.strip().split(": ", 1)[0] for line in lines) == sorted(paths)


# --- through the hook ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "path"),
    [
        pytest.param(lambda hook: hook.trigger({"tag": "a"}, "seq", entrance_id="e" * 65), "$.entrance_id", id="trigger-entrance_id-65-chars"),
        pytest.param(lambda hook: hook.trigger({"segmnet": "a"}, "seq"), "$.audience.segmnet", id="trigger-unknown-selector"),
        pytest.param(lambda hook: hook.trigger({"tag": "a"}, "seq", global_attributes={"ua_x": 1}), "$.global_attributes.ua_x", id="trigger-ua_-attribute"),
        pytest.param(lambda hook: hook.trigger({"tag": "a"}, "seq", global_attributes={"at": datetime.datetime(2024, 1, 2)}), "$.global_attributes.at", id="trigger-datetime-attribute"),
        pytest.param(lambda hook: hook.exit("seq", entrance_id=""), "$.entrance_id", id="exit-empty-entrance_id"),
    ],
)  # fmt: skip
def test_hook_rejects_an_invalid_payload_before_sending_anything(airship, call, path):
    with pytest.raises(JourneysPayloadError) as raised:
        call(JourneysHook())
    assert path in [found for found, _ in raised.value.violations]
    assert airship.requests == []  # not even the OAuth token request


def test_hook_sends_a_valid_edge_trigger_exactly_as_given(airship):
    payload = {
        "audience": {
            "or": [
                {"tag": ["t"] * 1000, "group": "loyalty"},
                {"not": {"sms_id": SMS_ID}},
                {"and": [{"segment": "s"}, {"static_list": "l"}]},
            ]
        },
        "triggering_id": ["t" * 256] * 10,
        "entrance_id": "e" * 64,
        "global_attributes": {"name": None, "profile": {"ua_note": None, "tags": [None, "x"]}},
    }
    JourneysHook().trigger(**payload)
    assert airship.accepted(TRIGGER_PATH) == [payload]


def test_hook_sends_a_valid_edge_exit_exactly_as_given(airship):
    JourneysHook().exit(["t" * 256] * 10, entrance_id="e" * 64)
    assert airship.accepted("/api/journeys/exit") == [
        {"triggering_id": ["t" * 256] * 10, "entrance_id": "e" * 64}
    ]


def test_schema_files_are_read_and_compiled_once_per_process():
    for number in range(200):
        # Valid bodies are settled by the fast path; invalid ones also need the jsonschema validator.
        for trigger_id in (f"seq-{number}", ""):
            payload_violations("trigger", {"audience": {"tag": f"t{number}"}, "triggering_id": trigger_id})
            payload_violations("exit", {"triggering_id": trigger_id})
    assert validation._schema_files.cache_info().misses <= 1
    for compiled in (validation._validator, validation._fast_validator):
        assert compiled.cache_info().currsize == 2
        assert compiled.cache_info().misses <= 2


# --- the compiled fast path ---------------------------------------------------------------------------

# For every keyword the schema files assert with, a body that the schema files reject through it.
REJECTED_THROUGH = {
    "$ref": ("exit", body("exit", triggering_id="")),  # common.json, from exit.json
    "$defs": ("trigger", audience({"and": [{"tag": []}]})),  # #/$defs/selectors -> selector -> ids
    "type": ("trigger", body("trigger", triggering_id=7)),
    "enum": ("trigger", audience({"segmnet": "a"})),
    "maxLength": ("exit", body("exit", entrance_id="e" * 65)),
    "pattern": ("trigger", body("trigger", global_attributes={"ua_x": 1})),
    "minItems": ("trigger", audience({"tag": []})),
    "maxItems": ("trigger", audience({"channel": ["c"] * 1001})),
    "items": ("trigger", audience({"named_user": ["u", 5]})),
    "minProperties": ("trigger", audience({})),
    "maxProperties": ("trigger", audience({"tag": "a", "segment": "b"})),
    "required": ("trigger", audience({"sms_id": {"sender": "1"}})),
    "properties": ("trigger", audience({"sms_id": {**SMS_ID, "msisdn": 1}})),
    "additionalProperties": ("trigger", audience({"sms_id": {**SMS_ID, "carrier": "x"}})),
    "propertyNames": ("trigger", audience({"not": {"segmnet": "s"}})),
    "dependentRequired": ("trigger", audience({"group": "g"})),
    "not": ("trigger", body("trigger", global_attributes={"ok": 1, "ua_": 2})),
    # "if" picks "then" (two keys allowed) for the first selector and "else" (one key) for the second.
    "if": ("trigger", audience({"or": [{"tag": "a", "group": "g"}, {"tag": "a", "named_user": "u"}]})),
    "then": ("trigger", audience({"tag": "a", "group": "g", "segment": "b"})),
    "else": ("trigger", audience({"and": [{"named_user": "u", "channel": "c"}]})),
    "allOf": ("trigger", audience({"named_user": ["u", "  "]})),
}
ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment"}


def keywords_in(schema):
    """Every keyword used anywhere in ``schema``, except annotations and our ``x-`` ones."""
    if not isinstance(schema, dict):
        return set()
    found = {key for key in schema if key not in ANNOTATIONS and not key.startswith("x-")}
    for keyword, value in schema.items():
        if keyword in ("properties", "$defs"):
            found |= set().union(*map(keywords_in, value.values()))
        elif keyword == "allOf":
            found |= set().union(*map(keywords_in, value))
        elif keyword in ("items", "not", "if", "then", "else", "propertyNames", "additionalProperties"):
            found |= keywords_in(value)
    return found


def test_every_keyword_in_the_schema_files_has_a_body_rejected_through_it():
    used = set().union(*map(keywords_in, validation._schema_files().values()))
    assert used == set(REJECTED_THROUGH)


@pytest.mark.parametrize(("kind", "payload"), REJECTED_THROUGH.values(), ids=REJECTED_THROUGH)
def test_fast_path_rejects_a_body_that_breaks_one_keyword(kind, payload):
    assert validation._fast_path_body(kind, payload) is None
    assert len(payload_violations(kind, payload)) == 1  # jsonschema finds the one rule it breaks


shared = ["same", "list"]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        pytest.param("trigger", MINIMAL["trigger"], id="minimal-trigger"),
        pytest.param("exit", MINIMAL["exit"], id="minimal-exit"),
        pytest.param("trigger", audience({"named_user": ["u"] * 1000}), id="1000-ids"),
        pytest.param("trigger", body("trigger", global_attributes={"a": shared, "b": shared}), id="one-list-twice"),
        pytest.param("trigger", body("trigger", global_attributes={"my_ua_key": {"ua_x": 1}}), id="ua_-not-at-the-start"),
        pytest.param("trigger", audience({"not": {"tag": ["a", "b"], "group": "g"}}), id="group-beside-tag"),
    ],
)  # fmt: skip
def test_fast_path_accepts_a_valid_plain_json_body_and_gives_the_bytes_to_send(kind, payload):
    sent = validation._fast_path_body(kind, payload)
    assert sent is not None
    assert json.loads(sent) == payload


def test_a_null_anywhere_leaves_the_verdict_to_the_full_check_which_tells_it_from_nan():
    with_null = body("trigger", global_attributes={"a": None})
    with_nan = body("trigger", global_attributes={"a": math.nan})
    assert validation._fast_path_body("trigger", with_null) is None
    assert json.loads(validation.validated_body("trigger", with_null)) == with_null
    assert_single_violation("trigger", with_nan, "$.global_attributes.a", "nan is not a JSON number")


def test_a_value_the_fast_validator_cannot_take_leaves_the_verdict_to_jsonschema(monkeypatch):
    class Refusing:
        def is_valid(self, payload):
            raise ValueError("Unsupported type")

    monkeypatch.setattr(validation, "_fast_validator", lambda kind: Refusing())
    assert_accepted("trigger", MINIMAL["trigger"])
    assert_single_violation("exit", body("exit", entrance_id=""), "$.entrance_id", "must not be empty")


class Tier(enum.IntEnum):
    GOLD = 1


class Flavour(enum.StrEnum):
    VIP = "vip"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(OrderedDict(MINIMAL["trigger"]), id="dict-subclass-body"),
        pytest.param(audience({"tag": Flavour.VIP}), id="str-enum-id"),
        pytest.param(body("trigger", global_attributes={"tier": Tier.GOLD}), id="int-enum-attribute"),
    ],
)
def test_json_values_of_builtin_subclasses_are_accepted_and_sent_as_their_values(payload):
    assert_accepted("trigger", payload)
    assert json.loads(validation.validated_body("trigger", payload)) == json.loads(json.dumps(payload))


@pytest.mark.parametrize(
    ("payload", "path", "reason_part"),
    [
        pytest.param(body("trigger", global_attributes=MappingProxyType({"a": 1})), "$.global_attributes", "has type mappingproxy", id="non-dict-mapping"),
        pytest.param(audience({"named_user": ["u", ("v",)]}), "$.audience.named_user[1]", "has type array", id="tuple-among-strings"),
    ],
)  # fmt: skip
def test_other_mappings_and_misplaced_tuples_are_still_rejected(payload, path, reason_part):
    assert_single_violation("trigger", payload, path, reason_part)


def test_a_tuple_is_an_array_and_sent_as_one():
    payload = body("trigger", triggering_id=("a", "b"), global_attributes={"pair": (1, 2)})
    assert json.loads(validation.validated_body("trigger", payload)) == {
        **payload,
        "triggering_id": ["a", "b"],
        "global_attributes": {"pair": [1, 2]},
    }


def test_a_circular_body_is_reported_as_circular():
    attributes = {"name": "a"}
    attributes["self"] = attributes
    assert_single_violation(
        "trigger", body("trigger", global_attributes=attributes), "$.global_attributes.self", "circular"
    )


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        pytest.param(2**64, "is too large for JSON (at most 64 bits)", id="int-past-64-bits"),
        pytest.param(-(2**63) - 1, "is too large for JSON (at most 64 bits)", id="negative-int-past-64-bits"),
        pytest.param("a\ud800", "is not valid UTF-8", id="lone-surrogate"),
        pytest.param(uuid.UUID(int=0), None, id="uuid-sent-as-its-string"),
    ],
)
def test_what_orjson_cannot_encode_is_refused_and_what_it_can_is_sent_as_encoded(value, reason_part):
    payload = body("trigger", global_attributes={"v": value})
    if reason_part is None:
        assert json.loads(validation.validated_body("trigger", payload))["global_attributes"] == {
            "v": str(value)
        }
    else:
        assert_single_violation("trigger", payload, "$.global_attributes.v", reason_part)


def test_a_value_nested_past_the_encoders_limit_is_refused_with_its_path_not_a_crash():
    deep = "x"
    for _ in range(validation.MAX_NESTING + 5):
        deep = [deep]
    violations = violations_of("trigger", body("trigger", global_attributes={"v": deep}))
    assert violations == [
        (
            "$.global_attributes.v" + "[0]" * (validation.MAX_NESTING - 2),
            f"is nested too deeply (at most {validation.MAX_NESTING} levels of objects and arrays)",
        )
    ]


def nested_not(depth, selector):
    for _ in range(depth):
        selector = {"not": selector}
    return selector


@pytest.mark.parametrize("depth", [200, validation.MAX_NESTING, 10_000])
def test_a_deep_audience_is_refused_with_every_other_violation_reported(depth):
    payload = {
        "audience": nested_not(depth, {"segmnet": "s"}),
        "triggering_id": ["t"] * 11,
        "entrance_id": "e" * 65,
        "global_attributes": {"ua_x": 1},
    }
    violations = dict(violations_of("trigger", payload))
    deepest = next(path for path in violations if path.startswith("$.audience"))
    if depth < validation.MAX_NESTING - 2:
        assert violations[deepest].startswith("unknown key 'segmnet'")
    else:
        assert violations[deepest].startswith("is nested too deeply (at most 254 levels")
    assert violations["$.triggering_id"] == "has 11 items (at most 10)"
    assert "is 65 characters, too long" in violations["$.entrance_id"]
    assert "reserved prefix 'ua_'" in violations["$.global_attributes.ua_x"]


def test_a_caller_deep_in_its_own_stack_still_gets_every_violation_or_at_worst_a_refusal(monkeypatch):
    payload = body("trigger", audience=nested_not(200, {"segmnet": "s"}))
    typo = ("$.audience" + ".not" * 200 + ".segmnet", "unknown key 'segmnet'")

    def from_depth(frames):
        return from_depth(frames - 1) if frames else payload_violations("trigger", payload)

    near_the_limit = sys.getrecursionlimit() - 60
    assert [(path, reason[: len(typo[1])]) for path, reason in from_depth(near_the_limit)] == [typo]
    monkeypatch.setattr(validation, "_FRAMES_PER_LEVEL", 0)  # no room made for the check
    assert from_depth(near_the_limit) == [("$", "is nested too deeply to check against the schema")]


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        pytest.param(body("trigger", global_attributes="{'offer': 'x'}"), "$.global_attributes", id="global-attributes"),
        pytest.param(audience("{'segment': 's'}"), "$.audience", id="audience"),
        pytest.param(audience({"and": "[{'tag': 't'}]"}), "$.audience.and", id="and-list"),
    ],
)  # fmt: skip
def test_a_string_where_an_object_or_list_belongs_says_how_templates_render(payload, path):
    assert_single_violation("trigger", payload, path, "pass the object itself")
    assert "render_template_as_native_obj=True" in dict(violations_of("trigger", payload))[path]


def test_a_string_where_a_number_belongs_gets_no_template_hint():
    assert "render_template" not in str(violations_of("trigger", audience({"tag": 5})))


class HidingDict(dict):
    """Tells Python code it holds only "a"; orjson reads the dict itself, and sends every key."""

    def items(self):
        return iter([("a", self["a"])])

    def __iter__(self):
        return iter(["a"])

    def __len__(self):
        return 1


class HidingList(list):
    def __iter__(self):
        return iter(self[:1])


@pytest.mark.parametrize(
    ("payload", "path", "reason_part"),
    [
        pytest.param(body("trigger", global_attributes=HidingDict(a=1, b=math.nan)), "$.global_attributes.b", "nan is not a JSON number", id="dict-hiding-a-nan"),
        pytest.param(body("trigger", global_attributes=HidingDict(a=1, ua_x=2)), "$.global_attributes.ua_x", "reserved prefix 'ua_'", id="dict-hiding-a-ua-key"),
        pytest.param(body("trigger", global_attributes={"l": HidingList([1, math.inf])}), "$.global_attributes.l[1]", "inf is not a JSON number", id="list-hiding-an-infinity"),
        pytest.param(audience({"named_user": HidingList(["u", 7])}), "$.audience.named_user[1]", "has type integer", id="list-hiding-a-bad-id"),
    ],
)  # fmt: skip
def test_containers_hiding_items_from_python_are_judged_by_what_is_sent(payload, path, reason_part):
    assert_single_violation("trigger", payload, path, reason_part)


class Score(enum.Enum):
    UNKNOWN = math.nan


def test_a_nan_behind_an_enum_is_refused_not_sent_as_null():
    assert_single_violation(
        "trigger",
        body("trigger", global_attributes={"score": Score.UNKNOWN}),
        "$.global_attributes.score",
        "would be sent as null",
    )


@pytest.mark.parametrize("selector", ["named_user", "tag", "channel"])
@pytest.mark.parametrize(
    ("bad_id", "reason_part"),
    [
        pytest.param("", "must not be empty or only whitespace", id="empty"),
        pytest.param("   ", "must not be empty or only whitespace", id="spaces"),
        pytest.param("\u00a0\u2003", "must not be empty or only whitespace", id="unicode-spaces"),
        pytest.param("u1\n", "must not hold control or invisible characters", id="line-break-from-a-file"),
        pytest.param("u\x001", "must not hold control or invisible characters", id="nul"),
    ],
)
def test_blank_ids_and_ids_with_control_characters_are_refused_where_they_stand(
    selector, bad_id, reason_part
):
    assert_single_violation("trigger", audience({selector: bad_id}), f"$.audience.{selector}", reason_part)
    assert_single_violation(
        "trigger", audience({"not": {selector: ["ok", bad_id]}}), f"$.audience.not.{selector}[1]", reason_part
    )


def test_ids_with_inner_spaces_and_any_script_are_accepted():
    assert_accepted("trigger", audience({"named_user": ["Jane Doe", "ユーザー", "o'brien", "a-b_c.d@e"]}))


def test_a_body_with_a_hundred_thousand_violations_reports_a_bounded_list():
    with pytest.raises(JourneysPayloadError) as raised:
        validate_trigger_payload(audience({"named_user": list(range(100_000))}))
    assert len(raised.value.violations) <= validation.MAX_VIOLATIONS
    message = str(raised.value)
    assert message.count("\n") <= JourneysPayloadError.SHOWN + 2
    assert f"and {len(raised.value.violations) - JourneysPayloadError.SHOWN} more" in message


def test_a_body_over_the_size_limit_is_refused_and_nothing_is_sent(airship):
    payload = body("trigger", global_attributes={"blob": "x" * validation.MAX_BODY_BYTES})
    with pytest.raises(JourneysPayloadError, match=r"\$: is 1,048,6\d\d bytes encoded; at most 1,048,576"):
        JourneysHook().trigger(**payload)
    assert airship.requests == []
    JourneysHook().trigger(**body("trigger", global_attributes={"blob": "x" * 1_000_000}))
    assert len(airship.accepted(TRIGGER_PATH)) == 1


@both_kinds
@pytest.mark.parametrize(
    ("field", "value", "path", "reason_part"),
    [
        pytest.param("triggering_id", " ", "$.triggering_id", "must not be empty or only whitespace", id="blank-triggering-id"),
        pytest.param("triggering_id", ["seq", "seq-2\n"], "$.triggering_id[1]", "must not hold control or invisible", id="line-break-in-list"),
        pytest.param("entrance_id", "daily-\n20261130", "$.entrance_id", "must not hold control or invisible", id="line-break-in-entrance-id"),
        pytest.param("entrance_id", "\ufeffdaily", "$.entrance_id", "must not hold control or invisible", id="byte-order-mark"),
    ],
)  # fmt: skip
def test_blank_or_invisible_triggering_and_entrance_ids_are_refused(kind, field, value, path, reason_part):
    # A stray line break in an entrance_id would make the later exit match nothing.
    assert_single_violation(kind, body(kind, **{field: value}), path, reason_part)


def test_an_id_with_a_byte_order_mark_or_zero_width_space_is_refused():
    for invisible in ("\ufeffuser-1", "\u200b", "user\u200d1"):
        assert_single_violation(
            "trigger", audience({"named_user": [invisible]}), "$.audience.named_user[0]", "invisible"
        )
