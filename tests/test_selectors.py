"""Every audience selector example found in Airship's docs and official libraries, checked against the schema.

Each case's id starts with its source:

- ``api``: Airship's Journeys API reference (``/work/shared/reference/journeys-api.md``).
- ``guide-about``: Airship's guide "About attributes" (docs.airship.com/guides/audience/attributes/), which
  also states "Text strings can be a maximum of 255 characters".
- ``guide-targeting``: Airship's guide "Targeting your audience using attributes"
  (docs.airship.com/guides/messaging/user-guide/audience/segmentation/attributes/targeting/).
- ``py``: the official Python library, ``urbanairship/python-library`` at 2b62b22: the builders in
  ``urbanairship/push/audience.py`` and their tests in ``tests/push/test_audience.py``.
- ``java``: the official Java library, ``urbanairship/java-library``: ``SelectorDeserializerTest``,
  ``SelectorSerializerTest`` and ``Selectors.attribute`` (which always sends the value as a string).
- ``issue``: the shapes stated in issue 11.

Where a library refuses something on a ground the payload cannot show (a number attribute given a string:
only Airship knows the attribute's kind), the case is accepted here and says so in its id.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_journeys import validation
from airflow_provider_journeys.exceptions import JourneysPayloadError
from airflow_provider_journeys.hooks.journeys import TRIGGER_PATH, JourneysHook
from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator
from airflow_provider_journeys.testing import AirshipEmulator
from airflow_provider_journeys.validation import payload_violations, validate_trigger_payload

UUID = "074e84a2-9ed9-4eee-9ca4-cc597bfdbef3"  # the Python library's test channel
ONE_SELECTOR = "one selector per object"
NEEDS_VALUE = "'value' is required with every operator but 'is_empty'"
NEEDS_PRECISION = "'before' and 'after' compare dates: 'precision' is required"
NOT_AN_OPERATOR = "is not an attribute operator: text and number attributes take equals, contains, less"
NOT_A_DATE_OPERATOR = "is not a date operator ('precision' makes this a date attribute)"


def attribute(name: str, operator: str, **parts: Any) -> dict[str, Any]:
    return {"attribute": name, "operator": operator, **parts}


SIZE_12_TO_15 = [attribute("size", "greater", value=12), attribute("size", "less", value=15)]
JEANS = attribute("item_purchased", "contains", value="jeans")

ACCEPTED = [
    pytest.param({"segment": "<segment-id>"}, id="api-segment"),
    pytest.param(attribute("loyalty_tier", "equals", value="gold"), id="issue-text-equals"),
    pytest.param(attribute("favorite_actor", "contains", value="chris"), id="guide-about-text-contains"),
    pytest.param(attribute("a", "equals", value="x" * 255), id="guide-about-text-of-255-characters"),
    pytest.param(
        attribute("last_seen", "after", value="2020-07-20T12:35:42+08:00", precision="days"),
        id="guide-about-date-with-offset",
    ),
    pytest.param(JEANS, id="guide-targeting-text-contains"),
    pytest.param({"not": JEANS}, id="guide-targeting-not-attribute"),
    pytest.param({"and": SIZE_12_TO_15}, id="guide-targeting-and-of-number-comparisons"),
    pytest.param(attribute("test_attribute", "is_empty"), id="py-date_attribute-is_empty"),
    *[
        pytest.param(
            attribute("test_attribute", operator, value="2021-11-03 12:00:00", precision="years"),
            id=f"py-date_attribute-{operator}",
        )
        for operator in ("before", "after", "equals")
    ],
    pytest.param(
        attribute("test_attribute", "range", value="2021-11-03 12:00:00"), id="py-date_attribute-range"
    ),
    pytest.param(attribute("test_attribute", "equals", value="test_value"), id="py-text_attribute"),
    pytest.param(attribute("test_attribute", "equals", value=100), id="py-number_attribute"),
    pytest.param(
        attribute("test_attribute", "equals", value="ive_got_it"),
        id="py-number_attribute-given-a-string-is-a-valid-text-selector",
    ),
    pytest.param(
        attribute("test_attribute", "is_empty", value="x"), id="py-text_attribute-is_empty-with-value"
    ),
    pytest.param({"sms_sender": "76543210"}, id="py-sms_sender"),
    pytest.param({"sms_id": {"sender": "76543210", "msisdn": "01230984567"}}, id="py-sms_id"),
    pytest.param({"ios_channel": UUID}, id="py-ios_channel"),
    pytest.param({"android_channel": UUID}, id="py-android_channel"),
    pytest.param({"amazon_channel": UUID}, id="py-amazon_channel"),
    pytest.param({"open_channel": UUID}, id="py-open_channel"),
    pytest.param({"channel": UUID}, id="py-channel"),
    pytest.param({"tag": "test"}, id="py-tag"),
    pytest.param({"group": "tag_group", "tag": "tag"}, id="py-tag_group"),
    pytest.param({"segment": "test"}, id="py-segment"),
    pytest.param({"named_user": "name"}, id="py-named_user"),
    pytest.param({"static_list": "list_id"}, id="py-static_list"),
    pytest.param({"or": [{"tag": "foo"}, {"tag": "bar"}]}, id="py-or_"),
    pytest.param({"and": [{"tag": "foo"}, {"tag": "bar"}]}, id="py-and_"),
    pytest.param({"not": {"and": [{"tag": "sports"}, {"tag": "business"}]}}, id="py-not_-and_"),
    pytest.param({"sms_sender": "123"}, id="java-smsBroadcast"),
    pytest.param({"sms_id": {"msisdn": "15552243311", "sender": "12345"}}, id="java-SmsSelector"),
    pytest.param({"subscription_list": "test1"}, id="java-subscriptionList"),
    pytest.param(
        {"or": [{"subscription_list": "test1"}, {"subscription_list": "test2"}]}, id="java-subscriptionLists"
    ),
    pytest.param({"static_list": "list123"}, id="java-static_list"),
    pytest.param({"tag": "tag1", "group": "group1"}, id="java-tag-group"),
    pytest.param({"tag": ["Joy", "Division", "New", "Order"]}, id="java-implicit-or-of-tags"),
    pytest.param(
        {
            "and": [
                {"tag": "herp"},
                {"tag": "derp"},
                {"static_list": "test123"},
                {"subscription_list": "test234"},
            ]
        },
        id="java-and-of-lists",
    ),
    pytest.param({"not": {"tag": "derp"}}, id="java-not"),
    pytest.param(attribute("size", "greater", value="12"), id="java-Selectors.attribute-value-as-string"),
    pytest.param(
        attribute("anniversary", "range", value=["2020-01-01", "2020-12-31"]), id="decision-range-as-pair"
    ),
    pytest.param(attribute("score", "less", value=2.5), id="decision-number-value-may-be-a-float"),
]

# (selector, JSON path from the audience, a part of the reason)
REFUSED = [
    pytest.param({"segmnet": "s"}, ".segmnet", "did you mean 'segment'?", id="issue-typo-suggests-segment"),
    pytest.param(
        {"subscription_lists": "list_id"},
        ".subscription_lists",
        "did you mean 'subscription_list'?",
        id="py-subscription_list-builds-the-plural",
    ),
    pytest.param(
        attribute("test_attribute", "the_way_we_wont"),
        ".operator",
        NOT_AN_OPERATOR,
        id="py-date-bad-operator",
    ),
    pytest.param(
        attribute("test_attribute", "before", precision="years"),
        "",
        NEEDS_VALUE,
        id="py-date-before-without-value",
    ),
    pytest.param(
        attribute("test_attribute", "before", value="2021-11-03 12:00:00"),
        "",
        NEEDS_PRECISION,
        id="py-date-before-without-precision",
    ),
    pytest.param(
        attribute("test_attribute", "after", value="2021-11-03 12:00:00"),
        "",
        NEEDS_PRECISION,
        id="py-date-after-without-precision",
    ),
    pytest.param(attribute("test_attribute", "range"), "", NEEDS_VALUE, id="py-date-range-without-value"),
    pytest.param(
        attribute("test_attribute", "am_180", value="test_value"),
        ".operator",
        NOT_AN_OPERATOR,
        id="py-text-bad-operator",
    ),
    pytest.param(
        attribute("test_attribute", "am_180", value=2001),
        ".operator",
        NOT_AN_OPERATOR,
        id="py-text-value-2001",
    ),
    pytest.param({"sms_sender": "7654321a"}, ".sms_sender", "digits only", id="py-sms_sender-not-numeric"),
    pytest.param(
        {"sms_sender": 76543210},
        ".sms_sender",
        "has type integer, expected string",
        id="py-sms_sender-a-number",
    ),
    pytest.param({"sms_sender": ""}, ".sms_sender", "digits only", id="py-sms_sender-empty"),
    pytest.param({"alias": "test"}, ".alias", "unknown key 'alias'", id="py-alias-not-in-journeys"),
    pytest.param(
        {"device_token": "F" * 64}, ".device_token", "unknown key 'device_token'", id="py-device_token"
    ),
    pytest.param({"apid": UUID}, ".apid", "unknown key 'apid'", id="py-apid"),
    pytest.param({"wns": UUID}, ".wns", "unknown key 'wns'", id="py-wns"),
    pytest.param(
        attribute("birthday", "equals", value="now", match_precision="month_day"),
        ".match_precision",
        "did you mean 'precision'?",
        id="java-match_precision-is-in-no-reference",
    ),
    pytest.param(
        {"tag": "1", "tag_class": "autogroup"}, ".tag_class", "unknown key 'tag_class'", id="java-tag_class"
    ),
    pytest.param({"tag": 10}, ".tag", "10 has type integer", id="java-bad-tag-value"),
    pytest.param({"derp": "value"}, ".derp", "unknown key 'derp'", id="java-unknown-selector"),
    pytest.param({"all": "some"}, ".all", "unknown key 'all'", id="java-atomic-with-argument"),
    pytest.param({"or": []}, ".or", "is empty (at least 1 item)", id="java-empty-or"),
    pytest.param(
        {"not": [{"tag": "wat"}, {"tag": "derp"}]},
        ".not",
        "has type array, expected object",
        id="java-not-of-two",
    ),
    pytest.param({"and": "foo"}, ".and", "has type string, expected array", id="java-and-of-a-string"),
    # Airship's reference and every library builder write keys in lower case; the Java parser reads any case
    # and one guide writes "NOT"/"AND". Refused with the fix named, rather than checked case-insensitively.
    pytest.param({"NOT": JEANS}, ".NOT", "did you mean 'not'?", id="guide-targeting-upper-case-NOT"),
    pytest.param({"AND": SIZE_12_TO_15}, ".AND", "did you mean 'and'?", id="guide-targeting-upper-case-AND"),
    pytest.param({"Or": [{"tag": "t1"}]}, ".Or", "did you mean 'or'?", id="java-mixed-case-Or"),
    pytest.param(
        attribute("a", "equals", value="x" * 256),
        ".value",
        "too long (at most 255 characters)",
        id="guide-about-256",
    ),
    pytest.param(
        attribute("a", "contains", value="x", precision="days"),
        ".operator",
        NOT_A_DATE_OPERATOR,
        id="issue-contains-date",
    ),
    pytest.param(
        attribute("a", "less", value=1, precision="days"),
        ".operator",
        NOT_A_DATE_OPERATOR,
        id="issue-less-date",
    ),
    pytest.param(attribute("a", "equals"), "", NEEDS_VALUE, id="issue-equals-without-value"),
    pytest.param(
        attribute("a", "equals", value=True),
        ".value",
        "has type boolean, expected string or number",
        id="issue-bool",
    ),
    pytest.param(
        attribute("a", "equals", value=None),
        ".value",
        "has type null, expected string or number",
        id="issue-null",
    ),
    pytest.param(
        attribute("a", "equals", value=["x", "y"]),
        ".value",
        "has type array, expected string or number",
        id="list-not-range",
    ),
    pytest.param(attribute("a", "range", value=["x"]), ".value", "[start, end]", id="range-of-one"),
    pytest.param(
        attribute("a", "range", value={"start": "x"}), ".value", "[start, end]", id="range-an-object"
    ),
    pytest.param(
        attribute("a", "range", value=["x", True]), ".value[1]", "has type boolean", id="range-end-a-bool"
    ),
    pytest.param(
        {"operator": "equals", "value": "gold"}, "", "'attribute' is a required property", id="no-attribute"
    ),
    pytest.param(
        {"attribute": "loyalty_tier", "value": "gold"},
        "",
        "'operator' is a required property",
        id="no-operator",
    ),
    pytest.param(attribute(" ", "is_empty"), ".attribute", "must not be empty", id="blank-attribute-name"),
    pytest.param(
        attribute("a", "before", value="2021", precision=""),
        ".precision",
        "must not be empty",
        id="blank-precision",
    ),
    pytest.param({**JEANS, "segment": "s"}, ".segment", ONE_SELECTOR, id="attribute-beside-another-selector"),
    pytest.param(
        {**JEANS, "tag": "t", "group": "g"}, ".tag", ONE_SELECTOR, id="attribute-beside-a-tag-group"
    ),
    pytest.param(
        {"sms_sender": "1", "segment": "s"}, "", "exactly one selector", id="sms_sender-beside-a-segment"
    ),
    pytest.param(
        {"or": [{"and": SIZE_12_TO_15}, {"not": attribute("a", "since", value="x")}]},
        ".or[1].not.operator",
        NOT_AN_OPERATOR,
        id="nested-attribute-rule",
    ),
]


@pytest.mark.parametrize("selector", ACCEPTED)
def test_documented_selectors_are_accepted_by_both_validators(selector):
    payload = {"audience": selector, "triggering_id": "seq"}
    assert payload_violations("trigger", payload) == []
    assert validation._fast_path_body("trigger", payload) is not None


@pytest.mark.parametrize("selector", ACCEPTED)
def test_documented_selectors_are_accepted_inside_and_or_and_not(selector):
    validate_trigger_payload(
        {"audience": {"or": [{"and": [selector, {"not": selector}]}]}, "triggering_id": "s"}
    )


@pytest.mark.parametrize(("selector", "path", "reason"), REFUSED)
def test_invalid_selectors_are_refused_with_their_path_and_reason(selector, path, reason):
    payload = {"audience": selector, "triggering_id": "seq"}
    assert validation._fast_path_body("trigger", payload) is None
    violations = payload_violations("trigger", payload)
    assert any(found == f"$.audience{path}" and reason in why for found, why in violations), violations


def test_an_unknown_key_far_from_every_selector_gets_no_suggestion():
    [(path, reason)] = payload_violations("trigger", {"audience": {"xyz": "s"}, "triggering_id": "seq"})
    assert (path, reason.split(" (")[0]) == ("$.audience.xyz", "unknown key 'xyz'")


def test_the_suggested_keys_are_the_schema_files_own():
    # A selector added to the schema files is suggested without touching the message code.
    schema = validation._schema_files()["audience.json"]["$defs"]["selector"]
    for key in schema["propertyNames"]["enum"]:
        typo = key[:-1] + "x" + key[-1] if len(key) > 2 else key.upper()
        [(_, reason)] = payload_violations(
            "trigger", {"audience": {"not": {typo: "s"}}, "triggering_id": "seq"}
        )[:1]
        assert f"did you mean {key!r}?" in reason, (typo, reason)


def test_the_emulator_gives_the_same_verdict_and_names_the_same_path(airship: AirshipEmulator):
    # Straight to the emulator, past the client's own check: the emulator judges by the same schema files.
    token = JourneysHook().tokens.get()
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.urbanairship+json; version=3",
        "Content-Type": "application/json",
    }
    for case in (*ACCEPTED, *REFUSED):
        payload = {"audience": case.values[0], "triggering_id": "seq"}
        response = requests.post(f"{airship.url}{TRIGGER_PATH}", json=payload, headers=headers, timeout=5)
        violations = payload_violations("trigger", payload)
        if violations:
            assert response.status_code == 400, case.id
            assert response.json()["details"]["path"] == violations[0][0].removeprefix("$."), case.id
        else:
            assert response.status_code == 200, (case.id, response.text)
    assert len(airship.accepted(TRIGGER_PATH)) == len(ACCEPTED)


def test_the_operator_sends_an_attribute_audience_and_refuses_a_broken_one_before_any_request(airship):
    audience = {"and": [attribute("loyalty_tier", "equals", value="gold"), {"sms_sender": "12345"}]}
    JourneysTriggerOperator(task_id="enroll", audience=audience, triggering_id="seq").execute({})
    assert airship.accepted(TRIGGER_PATH) == [{"audience": audience, "triggering_id": "seq"}]
    broken = {"and": [attribute("loyalty_tier", "equals"), {"sms_sender": "12345"}]}
    with pytest.raises(JourneysPayloadError, match=r"\$\.audience\.and\[0\]: .*'value' is required"):
        JourneysHook().trigger(audience=broken, triggering_id="seq")
    assert len(airship.received(TRIGGER_PATH)) == 1
