"""Property-based tests: generated valid payloads go through untouched; every rule-breaking mutation is caught.

Run more examples with ``pytest --hypothesis-profile=long`` (profiles are registered in conftest.py).
"""

from __future__ import annotations

import datetime
import json
import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_journeys import validation
from airflow_provider_journeys.exceptions import JourneysPayloadError
from airflow_provider_journeys.hooks.journeys import EXIT_PATH, TRIGGER_PATH, JourneysHook
from airflow_provider_journeys.validation import (
    validate_exit_payload,
    validate_trigger_payload,
    validated_body,
)

# The strategies below describe the Journeys rules independently of the schema files, so the two check
# each other: a rule the schemas get wrong shows up here as a rejected valid payload or a missed mutation.
ID_SELECTORS = (
    "segment",
    "named_user",
    "channel",
    "ios_channel",
    "android_channel",
    "amazon_channel",
    "open_channel",
)
TRIGGER_KEYS = ("audience", "triggering_id", "entrance_id", "global_attributes")
EXIT_KEYS = ("triggering_id", "entrance_id")


def in_order(payload: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: payload[key] for key in keys if key in payload}


text = st.text(max_size=12)
# An id or name holds something besides whitespace, and no control or invisible character.
VISIBLE = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
an_id = st.text(VISIBLE, min_size=1, max_size=12).filter(str.strip)
ids = st.one_of(an_id, st.lists(an_id, min_size=1, max_size=4))
digits = st.text(alphabet="0123456789", min_size=1, max_size=15)
# Attribute selectors, as Airship's docs and the official Python library build them. A text value holds at
# most 255 characters; a number may be any finite JSON number; a date range may also be [start, end].
TEXT_AND_NUMBER_OPERATORS = ("equals", "contains", "less", "greater")
DATE_OPERATORS = ("before", "after", "equals")  # the ones that take a precision (optional with range)
attribute_values = st.one_of(
    st.text(max_size=255),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
attribute_selectors = st.one_of(
    st.builds(
        lambda name, operator, value: {"attribute": name, "operator": operator, "value": value},
        an_id,
        st.sampled_from(TEXT_AND_NUMBER_OPERATORS),
        attribute_values,
    ),
    st.builds(
        lambda name, operator, value, precision: {
            "attribute": name,
            "operator": operator,
            "value": value,
            "precision": precision,
        },
        an_id,
        st.sampled_from(DATE_OPERATORS),
        attribute_values,
        an_id,
    ),
    st.builds(
        lambda name, value: {"attribute": name, "operator": "range", "value": value},
        an_id,
        attribute_values | st.lists(attribute_values, min_size=2, max_size=2),
    ),
    st.builds(
        lambda name, extra: {"attribute": name, "operator": "is_empty", **extra},
        an_id,
        st.fixed_dictionaries({}, optional={"value": attribute_values, "precision": an_id}),
    ),
)
atomic_selectors = st.one_of(
    st.builds(lambda key, value: {key: value}, st.sampled_from(ID_SELECTORS), ids),
    st.builds(lambda tag: {"tag": tag}, ids),
    st.builds(lambda tag, group: {"tag": tag, "group": group}, ids, text),
    st.builds(lambda key, value: {key: value}, st.sampled_from(("static_list", "subscription_list")), text),
    st.builds(lambda sender, msisdn: {"sms_id": {"sender": sender, "msisdn": msisdn}}, digits, digits),
    st.builds(lambda sender: {"sms_sender": sender}, digits),
    attribute_selectors,
)
selectors = st.recursive(
    atomic_selectors,
    lambda inner: st.one_of(
        st.builds(
            lambda op, items: {op: items},
            st.sampled_from(("and", "or")),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(lambda item: {"not": item}, inner),
    ),
    max_leaves=6,
)
triggering_ids = st.one_of(
    st.text(VISIBLE, min_size=1, max_size=256).filter(str.strip),
    st.lists(st.text(VISIBLE, min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=10),
)
entrance_ids = st.text(VISIBLE, min_size=1, max_size=64).filter(str.strip)
# JSON numbers as orjson writes them: integers within 64 bits (larger ones are refused), finite floats.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
global_attributes = st.dictionaries(
    text.filter(lambda key: not key.startswith("ua_")), json_values, max_size=4
)
trigger_payloads = st.fixed_dictionaries(
    {"audience": selectors, "triggering_id": triggering_ids},
    optional={"entrance_id": entrance_ids, "global_attributes": global_attributes},
)
exit_payloads = st.fixed_dictionaries(
    {"triggering_id": triggering_ids}, optional={"entrance_id": entrance_ids}
)

NOT_JSON = (math.nan, math.inf, {1, 2}, b"bytes", datetime.datetime(2026, 11, 27))


def _mutations(payload: dict[str, Any]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """Each breaks exactly one rule of a valid trigger payload; the name says which."""

    def mutated(name: str, **changes: Any) -> tuple[str, dict[str, Any]]:
        return name, {**payload, **changes}

    return st.one_of(
        st.sampled_from(("audience", "triggering_id")).map(
            lambda key: (f"missing {key}", {k: v for k, v in payload.items() if k != key})
        ),
        st.sampled_from([42, None, {"id": "x"}, ""]).map(
            lambda bad: mutated("bad triggering_id", triggering_id=bad)
        ),
        st.integers(257, 400).map(lambda n: mutated("triggering_id too long", triggering_id="t" * n)),
        st.integers(11, 20).map(lambda n: mutated("too many triggering ids", triggering_id=["t"] * n)),
        st.integers(65, 200).map(lambda n: mutated("entrance_id too long", entrance_id="e" * n)),
        st.sampled_from([7, [], ""]).map(lambda bad: mutated("bad entrance_id", entrance_id=bad)),
        text.map(lambda key: mutated("unknown top-level key", **{f"x_{key}": 1})),
        text.map(lambda key: mutated("ua_ attribute", global_attributes={f"ua_{key}": 1})),
        st.sampled_from(("segmnet", "Segment", "tags", "")).map(
            lambda key: mutated("unknown selector", audience={key: "s"})
        ),
        st.sampled_from(ID_SELECTORS).map(lambda key: mutated("1001 ids", audience={key: ["i"] * 1001})),
        st.sampled_from(("", " ", "u1\n", "\t")).map(
            lambda bad: mutated("blank id", audience={"named_user": [bad]})
        ),
        st.just(mutated("two selectors", audience={"segment": "s", "named_user": "u"})),
        st.just(mutated("group without tag", audience={"group": "g"})),
        st.just(
            mutated("a third key beside tag and group", audience={"tag": "t", "group": "g", "segment": "s"})
        ),
        st.sampled_from(("tag", *ID_SELECTORS)).map(lambda key: mutated("empty id list", audience={key: []})),
        st.sampled_from(("and", "or")).map(lambda op: mutated("empty and/or", audience={op: []})),
        st.just(mutated("string audience", audience="all")),
        st.sampled_from(("before", "after")).map(
            lambda op: mutated(
                "date without precision", audience={"attribute": "d", "operator": op, "value": "2021"}
            )
        ),
        st.sampled_from(("contains", "less", "greater")).map(
            lambda op: mutated(
                "text operator on a date",
                audience={"attribute": "d", "operator": op, "value": "2021", "precision": "years"},
            )
        ),
        st.sampled_from(("equals", "contains", "range", "before")).map(
            lambda op: mutated(
                "attribute without value", audience={"attribute": "a", "operator": op, "precision": "days"}
            )
        ),
        st.sampled_from(("Equals", "not", "between", "")).map(
            lambda op: mutated("unknown operator", audience={"attribute": "a", "operator": op, "value": "v"})
        ),
        st.sampled_from([True, None, {"v": 1}, ["x"]]).map(
            lambda bad: mutated(
                "attribute value of the wrong type",
                audience={"attribute": "a", "operator": "equals", "value": bad},
            )
        ),
        st.integers(256, 400).map(
            lambda n: mutated(
                "attribute text too long", audience={"attribute": "a", "operator": "equals", "value": "v" * n}
            )
        ),
        st.sampled_from(("", "12a", " 1", "+44")).map(
            lambda bad: mutated("sms_sender not digits", audience={"sms_sender": bad})
        ),
        st.sampled_from(("segment", "named_user", "sms_sender")).map(
            lambda key: mutated(
                "attribute beside another selector",
                audience={"attribute": "a", "operator": "is_empty", key: "1"},
            )
        ),
        st.sampled_from(NOT_JSON).map(lambda bad: mutated("not JSON", global_attributes={"value": bad})),
        st.sampled_from(NOT_JSON).map(
            lambda bad: mutated("not JSON in audience", audience={"named_user": [bad]})
        ),
    )


@pytest.fixture
def hook(airship) -> JourneysHook:
    return JourneysHook()


def test_every_valid_payload_is_accepted_and_sent_byte_for_byte(airship, hook, capsys):
    tried: Counter[str] = Counter()

    @settings(max_examples=settings().max_examples // 2)
    @given(trigger=trigger_payloads, exit_=exit_payloads)
    def check(trigger: dict[str, Any], exit_: dict[str, Any]) -> None:
        validate_trigger_payload(trigger)
        validate_exit_payload(exit_)
        assert hook.trigger(**trigger)["ok"] is True
        assert hook.exit(**exit_)["ok"] is True
        # Byte for byte, with the top-level keys in the hook's parameter order and everything inside as given.
        assert airship.received(TRIGGER_PATH)[-1].body == validated_body(
            "trigger", in_order(trigger, TRIGGER_KEYS)
        )
        assert airship.received(EXIT_PATH)[-1].body == validated_body("exit", in_order(exit_, EXIT_KEYS))
        tried["payloads"] += 2

    check()
    accepted = len(airship.accepted(TRIGGER_PATH)) + len(airship.accepted(EXIT_PATH))
    with capsys.disabled():
        print(f"\nvalid payloads: tried {tried['payloads']}, accepted by the emulator {accepted}")
    assert accepted == tried["payloads"]


def test_every_rule_breaking_mutation_is_rejected_with_a_path_and_sends_nothing(airship, hook, capsys):
    rejected: Counter[str] = Counter()

    @settings(max_examples=settings().max_examples)
    @given(case=trigger_payloads.flatmap(_mutations))
    def check(case: tuple[str, dict[str, Any]]) -> None:
        name, payload = case
        with pytest.raises(JourneysPayloadError) as raised:
            if set(payload) <= set(TRIGGER_KEYS) and {"audience", "triggering_id"} <= set(payload):
                hook.trigger(**payload)
            else:
                validate_trigger_payload(payload)
        assert raised.value.violations
        assert all(path.startswith("$") and reason for path, reason in raised.value.violations)
        rejected[name] += 1

    check()
    with capsys.disabled():
        print(f"\nmutations: rejected {sum(rejected.values())} ({dict(sorted(rejected.items()))}), sent 0")
    assert airship.requests == []
    assert len(rejected) >= 10  # most kinds of mutation were drawn


# Audience-shaped noise, nested like the selectors above, whose leaves may be valid selectors with one key
# more or one fewer, or dicts of selector keys (and a typo) over ids and JSON values, and whose "and"/"or"
# lists may be empty: each audience rule gets broken alone, nested, and together with others.
selector_keys = st.sampled_from(
    (
        *ID_SELECTORS,
        *("tag", "group", "static_list", "subscription_list", "sms_id", "sms_sender", "and", "or", "not"),
        *("attribute", "operator", "value", "precision", "tagg", "operater"),
    )
)


def _one_key_more_or_fewer(selector: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda key, value: {**selector, key: value}, selector_keys, ids),
        st.sampled_from(sorted(selector)).map(lambda key: {k: v for k, v in selector.items() if k != key}),
    )


noisy_selectors = st.recursive(
    atomic_selectors
    | atomic_selectors.flatmap(_one_key_more_or_fewer)
    | st.dictionaries(selector_keys, ids | st.lists(text, max_size=2) | json_values, max_size=3),
    lambda inner: st.one_of(
        st.builds(lambda op, items: {op: items}, st.sampled_from(("and", "or")), st.lists(inner, max_size=3)),
        st.builds(lambda item: {"not": item}, inner),
    ),
    max_leaves=6,
)
# Hypothesis draws the first alternative of a one_of most often, so the rule breakers come first.
trigger_bodies = st.one_of(
    trigger_payloads.flatmap(_mutations).map(lambda case: case[1]),
    st.builds(lambda payload, selector: {**payload, "audience": selector}, trigger_payloads, noisy_selectors),
    trigger_payloads,
)
exit_bodies = st.one_of(exit_payloads.flatmap(_mutations).map(lambda case: case[1]), exit_payloads)


@given(case=st.tuples(st.just("trigger"), trigger_bodies) | st.tuples(st.just("exit"), exit_bodies))
def test_fast_path_accepts_only_what_the_full_check_accepts_and_declines_valid_bodies_only_for_a_null(case):
    # The fast path may only accept; declining a valid body only costs time, so it declines just one kind:
    # bodies whose encoding holds a null, which may stand for a NaN the full check must tell apart.
    kind, payload = case
    fast = validation._fast_path_body(kind, payload)
    full_check_accepts = validation.payload_violations(kind, payload) == []
    if fast is not None:
        assert full_check_accepts
        assert json.loads(fast) == payload
    elif full_check_accepts:
        assert b"null" in validation.validated_body(kind, payload)
