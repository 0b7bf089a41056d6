"""Validation of the largest legal trigger payload against one loopback round trip to the emulator, and
against ``jsonschema.validate`` with the package's schema files."""

import json
import random
import uuid
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from common import TRIGGER_ID, Emulator, Row, goal, median, ms, side_by_side, timed

ROUNDS = 15
GOAL_ROUND_TRIPS = 0.1


def largest_legal_payload() -> dict[str, Any]:
    """Every list at its limit, the longest entrance id, and about 70 KB of nested attributes."""
    rng = random.Random(20261127)  # the same payload every run

    def uuid4() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    products = [
        {
            "sku": f"SKU-{number:05d}",
            "name": f"Product {number}",
            "price": {"amount": round(rng.uniform(1, 500), 2), "currency": "EUR"},
            "tags": ["new", "sale", f"group-{number % 7}"],
            "stock": {"warehouse": f"wh-{number % 5}", "count": rng.randrange(1000), "backorder": False},
        }
        for number in range(200)
    ]
    return {
        "audience": {"named_user": [f"customer-{uuid4()}" for _ in range(1000)]},
        "triggering_id": [uuid4() for _ in range(10)],
        "entrance_id": f"backfill-{uuid4()}".ljust(64, "x"),
        "global_attributes": {
            "campaign": {"name": "winter-sale", "starts": "2026-12-01", "channels": ["push", "email", "sms"]},
            "products": products,
            "locale": {"language": "de", "country": "DE", "timezone": "Europe/Berlin"},
        },
    }


def jsonschema_validate() -> Callable[[Any], None]:
    """What a user checking payloads themselves would write: ``jsonschema.validate`` on every payload, with a
    registry of the package's schema files built once."""
    import jsonschema
    from referencing import Registry

    folder = files("airflow_provider_journeys") / "schemas"
    schemas = [json.loads(path.read_text()) for path in folder.iterdir() if path.name.endswith(".json")]
    registry: Registry[Any] = Registry().with_contents((schema["$id"], schema) for schema in schemas)
    trigger = next(schema for schema in schemas if schema["$id"].endswith("/trigger.json"))
    return lambda payload: jsonschema.validate(payload, trigger, registry=registry)


def run(emulator: Emulator) -> list[Row]:
    import orjson

    from airflow_provider_journeys.hooks.journeys import JourneysHook
    from airflow_provider_journeys.validation import validate_trigger_payload

    payload = largest_legal_payload()
    size_kb = len(json.dumps(payload, separators=(",", ":"))) / 1024
    check = jsonschema_validate()
    hook = JourneysHook()
    seconds = side_by_side(
        {
            "ours": timed(lambda: validate_trigger_payload(payload), 10),
            # Every send encodes its body once; validation encodes it and hands those bytes to the send.
            "encoding": timed(lambda: orjson.dumps(payload), 10),
            "jsonschema": timed(lambda: check(payload), 2),
            "round trip": timed(lambda: hook.trigger({"segment": "bench"}, TRIGGER_ID), 10),
        },
        ROUNDS,
    )
    ours, encoding, naive, round_trip = (
        median(seconds[name]) for name in ("ours", "encoding", "jsonschema", "round trip")
    )
    checking = ours - encoding
    label = f"validation of the largest legal payload ({size_kb:.0f} KB: 1000 named users, 10 triggering ids)"
    return [
        Row(
            f"{label}, beyond the encoding every send needs, vs one loopback round trip"
            " (`JourneysHook.trigger` of a small payload)",
            ms(checking),
            f"one round trip: {ms(round_trip)}",
            f"{checking / round_trip:.3f}",
            goal(f"≤ {GOAL_ROUND_TRIPS} round trip", checking <= GOAL_ROUND_TRIPS * round_trip),
        ),
        Row(
            f"{label}, the encoding of the body sent included, vs one loopback round trip",
            ms(ours),
            f"one round trip: {ms(round_trip)}; the encoding alone: {ms(encoding)}",
            f"{ours / round_trip:.3f}",
        ),
        Row(
            f"{label} vs `jsonschema`", ms(ours), f"`jsonschema.validate`: {ms(naive)}", f"{ours / naive:.3f}"
        ),
    ]
