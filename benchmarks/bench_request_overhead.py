"""Sequential triggers through ``JourneysHook`` against raw ``requests.Session.post`` calls to the same
emulator, with a token fetched first, the same headers and the same body."""

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from common import TRIGGER_ID, Emulator, Row, goal, median, side_by_side, timed

# Short rounds, so that a burst of other work on this shared machine lands in few of them.
ROUNDS, CALLS_PER_ROUND = 20, 25
GOAL_RATIO = 0.95
AUDIENCE = {"named_user": ["bench-user-1"]}
ENTRANCE_ID = "bench-overhead"


def raw_trigger() -> Callable[[], dict[str, Any]]:
    """What a user would hand-roll with requests: one session, a token fetched up front, fixed headers."""
    import requests

    from airflow_provider_journeys.hooks.journeys import TRIGGER_PATH

    connection = json.loads(os.environ["AIRFLOW_CONN_AIRSHIP_DEFAULT"])
    session = requests.Session()
    token = session.post(
        connection["extra"]["oauth_url"],
        data={"grant_type": "client_credentials", "sub": f"app:{connection['login']}", "scope": "jny"},
        auth=(connection["extra"]["client_id"], connection["password"]),
        timeout=30,
    ).json()["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.urbanairship+json; version=3",
        "Content-Type": "application/json",
        "X-UA-Appkey": connection["login"],
    }
    # Byte for byte what the hook sends for the same arguments.
    payload = {"audience": AUDIENCE, "triggering_id": TRIGGER_ID, "entrance_id": ENTRANCE_ID}
    body = json.dumps(payload, separators=(",", ":")).encode()

    def trigger() -> dict[str, Any]:
        response = session.post(f"{connection['host']}{TRIGGER_PATH}", data=body, headers=headers, timeout=30)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()  # the hook returns Airship's answer, so this reads it too
        return answer

    return trigger


def without_info_logs(one_round: Callable[[], float]) -> Callable[[], float]:
    def quiet_round() -> float:
        package_log = logging.getLogger("airflow_provider_journeys")
        level = package_log.level
        package_log.setLevel(logging.WARNING)
        try:
            return one_round()
        finally:
            package_log.setLevel(level)

    return quiet_round


def run(emulator: Emulator) -> list[Row]:
    from airflow_provider_journeys.hooks.journeys import JourneysHook

    hook = JourneysHook()
    ours = timed(lambda: hook.trigger(AUDIENCE, TRIGGER_ID, ENTRANCE_ID), CALLS_PER_ROUND)
    seconds = side_by_side(
        {"ours": ours, "raw": timed(raw_trigger(), CALLS_PER_ROUND), "quiet": without_info_logs(ours)}, ROUNDS
    )
    rate = {name: 1 / median(per_call) for name, per_call in seconds.items()}
    # Each round's contenders ran back to back: the median of their paired ratios shrugs off slow rounds.
    ratio = {
        name: median(raw / found for found, raw in zip(seconds[name], seconds["raw"], strict=True))
        for name in ("ours", "quiet")
    }
    from_totals = sum(seconds["raw"]) / sum(seconds["ours"])
    log_line_us = (1 / rate["ours"] - 1 / rate["quiet"]) * 1e6
    raw = f"raw `requests.Session.post`, token fetched first: {rate['raw']:.0f} calls/s"
    return [
        Row(
            f"{ROUNDS * CALLS_PER_ROUND} sequential triggers through the hook (median of {ROUNDS} rounds)",
            f"{rate['ours']:.0f} calls/s",
            raw,
            f"{ratio['ours']:.3f} ({from_totals:.3f} from total times)",
            goal(f"≥ {GOAL_RATIO}", ratio["ours"] >= GOAL_RATIO),
        ),
        Row(
            "the same with the hook's INFO line per request (a summary of the body) turned off",
            f"{rate['quiet']:.0f} calls/s (the log line costs {log_line_us:.0f} µs per call)",
            raw,
            f"{ratio['quiet']:.3f}",
        ),
    ]
