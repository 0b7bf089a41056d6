"""Validation of the largest legal trigger payload, against one loopback round trip and against calling
``jsonschema.validate`` with the same schema files on every payload."""

from __future__ import annotations

import json
import random
import time
import uuid
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from benchmarks.common import (
    TRIGGER_ID,
    EmulatorProcess,
    Outcome,
    Row,
    airship_connection,
    clean_env,
    median,
    ms,
    reproduce,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from benchmarks.common import Settings

NAME = "validation"
SCHEMA_FILES = ("common.json", "audience.json", "trigger.json", "exit.json")
MAX_AUDIENCE_IDS = 1000
MAX_TRIGGERING_IDS = 10
MAX_ENTRANCE_ID_CHARS = 64
PRODUCTS_IN_ATTRIBUTES = 200


def largest_legal_payload() -> dict[str, Any]:
    """Every list at its limit, the longest entrance id, and large nested personalization data."""
    rng = random.Random(20261127)  # the same payload every run
    return {
        "audience": {"named_user": [f"customer-{_uuid(rng)}" for _ in range(MAX_AUDIENCE_IDS)]},
        "triggering_id": [_uuid(rng) for _ in range(MAX_TRIGGERING_IDS)],
        "entrance_id": f"backfill-{_uuid(rng)}".ljust(MAX_ENTRANCE_ID_CHARS, "x"),
        "global_attributes": {
            "campaign": {"name": "winter-sale", "starts": "2026-12-01", "channels": ["push", "email", "sms"]},
            "products": [
                {
                    "sku": f"SKU-{number:05d}",
                    "name": f"Product {number}",
                    "price": {"amount": round(rng.uniform(1, 500), 2), "currency": "EUR"},
                    "tags": ["new", "sale", f"group-{number % 7}"],
                    "stock": {
                        "warehouse": f"wh-{number % 5}",
                        "count": rng.randrange(1000),
                        "backorder": False,
                    },
                }
                for number in range(PRODUCTS_IN_ATTRIBUTES)
            ],
            "locale": {"language": "de", "country": "DE", "timezone": "Europe/Berlin"},
        },
    }


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def naive_validator() -> Callable[[Any], None]:
    """What a user would write: ``jsonschema.validate`` on every payload, the registry built once from the
    package's schema files (as validation.py builds it)."""
    import jsonschema
    from referencing import Registry, Resource

    folder = files("airflow_provider_journeys") / "schemas"
    schemas = {name: json.loads((folder / name).read_text()) for name in SCHEMA_FILES}
    base_uri = schemas["trigger.json"]["$id"].rsplit("/", 1)[0]
    registry: Registry[Any] = Registry().with_resources(
        (f"{base_uri}/{name}", Resource.from_contents(schema)) for name, schema in schemas.items()
    )

    def validate(payload: Any) -> None:
        jsonschema.validate(payload, schemas["trigger.json"], registry=registry)

    return validate


def per_call_seconds(call: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def run(settings: Settings, home: Path) -> Outcome:
    from airflow_provider_journeys.hooks.journeys import JourneysHook
    from airflow_provider_journeys.validation import validate_trigger_payload

    payload = largest_legal_payload()
    size_kb = len(json.dumps(payload, separators=(",", ":"))) / 1024
    naive = naive_validator()
    rounds = settings.repeats(15, 3)
    with EmulatorProcess(clean_env(home)) as emulator, airship_connection(emulator):
        hook = JourneysHook()
        contenders: dict[str, tuple[Callable[[], object], int]] = {
            "ours": (lambda: validate_trigger_payload(payload), 10),
            "naive": (lambda: naive(payload), 2),
            "round trip": (lambda: hook.trigger({"segment": "bench"}, TRIGGER_ID), 10),
        }
        # Warm-up: the first validation compiles the schemas, the first trigger fetches the token.
        for call, _ in contenders.values():
            per_call_seconds(call, 2)
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        for number in range(rounds):
            # Rotate the order so that no contender always runs first in a round.
            names = list(contenders)[number % 3 :] + list(contenders)[: number % 3]
            for name in names:
                call, times = contenders[name]
                samples[name].extend(per_call_seconds(call, times))
    ours, naive_s, round_trip = (median(samples[name]) for name in ("ours", "naive", "round trip"))
    rows = [
        Row(
            f"validation of the largest legal payload ({size_kb:.0f} KB) vs 1 loopback round trip "
            "(`hook.trigger`, small payload, emulator)",
            ms(ours),
            ms(round_trip),
            ours / round_trip,
            "< 1 round trip",
            ours < round_trip,
            reproduce(NAME),
        ),
        Row(
            "validation of the same payload vs `jsonschema.validate(payload, schema, registry=...)` per call",
            ms(ours),
            ms(naive_s),
            ours / naive_s,
            "- (context)",
            None,
            reproduce(NAME),
        ),
    ]
    notes = [
        f"{NAME}: medians per call over {rounds} rounds ({', '.join(f'{name}: {len(found)} calls' for name, found in samples.items())})."
    ]
    return Outcome(rows, notes)
