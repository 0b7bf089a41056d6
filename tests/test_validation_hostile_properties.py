"""Property tests with hostile values: nesting around the encoder's limit, and subclasses of dict, list and
str whose Python methods lie about what they hold. Whatever comes in, the outcome is one of two: a
:class:`JourneysPayloadError` naming paths, or bytes whose parse the schema files accept. Never another
exception, never bytes that break a rule."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_journeys import validation
from airflow_provider_journeys.exceptions import JourneysPayloadError


class LyingDict(dict):  # type: ignore[type-arg]
    """Shows Python code its first key only; orjson writes every key."""

    def items(self) -> Any:
        return iter(list(dict.items(self))[:1])

    def keys(self) -> Any:
        return [key for key, _ in self.items()]

    def __iter__(self) -> Any:
        return iter(self.keys())

    def __len__(self) -> int:
        return min(dict.__len__(self), 1)


class LyingList(list):  # type: ignore[type-arg]
    """Shows Python code its first item only; orjson writes every item."""

    def __iter__(self) -> Any:
        return iter(list.__getitem__(self, slice(0, 1)))

    def __len__(self) -> int:
        return min(list.__len__(self), 1)


class LyingStr(str):
    """Says it is one character long, whatever it holds."""

    __slots__ = ()

    def __len__(self) -> int:
        return 1


def as_orjson_reads(value: Any) -> Any:
    """``value`` in plain built-in types, read as orjson reads it (not through the subclasses' methods)."""
    if isinstance(value, dict):
        return {str.__str__(key): as_orjson_reads(item) for key, item in dict.items(value)}
    if isinstance(value, list):
        return [as_orjson_reads(item) for item in list.__iter__(value)]
    return str.__str__(value) if isinstance(value, str) else value


def nested(depth: int, leaf: Any, wrap: str) -> Any:
    for number in range(depth):
        leaf = {"not": leaf} if wrap == "not" else [leaf] if number % 2 else {"k": leaf}
    return leaf


strings = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", " ", "u1\n", "ua_x", "x" * 300]),
    st.text(min_size=60, max_size=120).map(LyingStr),
)
plain = st.recursive(
    st.text(max_size=8) | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
hidden = st.recursive(
    st.sampled_from([float("nan"), float("inf"), 2**64, "ua_x", "u1\n"]) | strings | plain,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
    max_leaves=6,
)
# A plain first entry, which the lying methods show, and hidden ones after it, which only orjson sees.
values = st.one_of(
    st.builds(
        lambda shown, rest: LyingDict({**shown, **rest}),
        st.dictionaries(st.text(max_size=8), plain, min_size=1, max_size=1),
        st.dictionaries(strings, hidden, min_size=1, max_size=3),
    ),
    st.builds(
        lambda shown, rest: LyingList([shown, *rest]), plain, st.lists(hidden, min_size=1, max_size=1200)
    ),
    hidden,
)
deep = st.builds(
    nested,
    st.integers(validation.MAX_NESTING - 8, validation.MAX_NESTING + 8),
    st.one_of(st.just({"tag": "t"}), st.just({"segmnet": "s"}), values),
    st.sampled_from(["not", "mixed"]),
)
selectors = st.one_of(
    st.builds(lambda ids: {"named_user": ids}, values),
    st.builds(lambda ids: LyingDict({"named_user": "u", "segment": ids}), values),
    deep,
)
VALID = {"audience": {"named_user": "u1"}, "triggering_id": "t"}
# Hypothesis draws the first alternatives most often: one hostile part in an otherwise valid body first, so
# that a value slipping past the checks is sent rather than refused for something else.
trigger_bodies = st.one_of(
    st.builds(lambda attributes: {**VALID, "global_attributes": attributes}, values | deep),
    st.builds(lambda audience: {**VALID, "audience": audience}, selectors),
    st.builds(
        lambda triggering_id, entrance_id: {
            **VALID,
            "triggering_id": triggering_id,
            "entrance_id": entrance_id,
        },
        strings | values,
        strings,
    ),
    st.fixed_dictionaries(
        {"audience": selectors, "triggering_id": strings | values},
        optional={"entrance_id": strings, "global_attributes": values | deep},
    ),
    st.builds(
        lambda audience, extra: LyingDict({"audience": audience, "triggering_id": "t", **extra}),
        selectors,
        st.dictionaries(strings, values, max_size=2),
    ),
)


@given(payload=trigger_bodies)
def test_hostile_values_are_refused_with_paths_or_sent_exactly_as_the_schema_accepts_them(
    payload: Any,
) -> None:
    try:
        body = validation.validated_body("trigger", payload)
    except JourneysPayloadError as refused:
        assert refused.violations
        assert all(path.startswith("$") and reason for path, reason in refused.violations)
        return
    sent = json.loads(body)  # plain built-in values: what Airship would read
    assert validation.payload_violations("trigger", sent) == []
    # Exactly the value given, as orjson reads it: a NaN sent as null would differ here (NaN != None).
    assert sent == as_orjson_reads(payload)
    assert body == orjson.dumps(sent)
