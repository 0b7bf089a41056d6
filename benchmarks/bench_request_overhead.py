"""Request overhead: sequential ``JourneysHook.trigger`` calls against raw ``requests.Session.post`` calls
with a token fetched beforehand, the same headers and the same body, to the same emulator."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from benchmarks.common import (
    TRIGGER_ID,
    EmulatorProcess,
    Outcome,
    Row,
    airship_connection,
    clean_env,
    median,
    reproduce,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import requests

    from benchmarks.common import Settings

NAME = "request_overhead"
TRIGGER_PATH = "/api/journeys/trigger"
AUDIENCE = {"named_user": ["bench-user-1"]}
ENTRANCE_ID = "bench-overhead"
GOAL_RATIO = 0.9
QUIET = "ours, INFO logs off"
WARM_UP_CALLS = 25
# Short rounds, so that a burst of other work on this shared machine lands in few of them.
CALLS_PER_ROUND = 25


class RawClient:
    """What a user would hand-roll with requests: one session, one token fetched up front, fixed headers."""

    def __init__(self, connection: dict[str, Any]) -> None:
        import requests

        self.session: requests.Session = requests.Session()
        token = self._fetch_token(connection)
        self.url = f"{connection['host']}{TRIGGER_PATH}"
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.urbanairship+json; version=3",
            "Content-Type": "application/json",
            "X-UA-Appkey": connection["login"],
        }
        # Byte for byte what the hook sends for the same arguments (compact JSON).
        payload = {"audience": AUDIENCE, "triggering_id": TRIGGER_ID, "entrance_id": ENTRANCE_ID}
        self.body = json.dumps(payload, separators=(",", ":")).encode()

    def _fetch_token(self, connection: dict[str, Any]) -> str:
        response = self.session.post(
            connection["extra"]["oauth_url"],
            data={"grant_type": "client_credentials", "sub": f"app:{connection['login']}", "scope": "jny"},
            auth=(connection["extra"]["client_id"], connection["password"]),
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def trigger(self) -> dict[str, Any]:
        response = self.session.post(self.url, data=self.body, headers=self.headers, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"raw trigger answered {response.status_code}: {response.text[:300]}")
        # The hook returns Airship's answer (its operation_id), so the raw client reads it too.
        answer: dict[str, Any] = response.json()
        return answer


def timed_calls(call: Callable[[], object], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        call()
    return time.perf_counter() - started


def run(settings: Settings, home: Path) -> Outcome:
    from airflow_provider_journeys.hooks.journeys import JourneysHook

    calls = settings.repeats(500, 100)
    rounds = calls // CALLS_PER_ROUND
    with EmulatorProcess(clean_env(home)) as emulator, airship_connection(emulator):
        mark = emulator.mark()
        hook = JourneysHook()
        raw = RawClient(emulator.connection)
        contenders: dict[str, Callable[[], object]] = {
            "ours": lambda: hook.trigger(AUDIENCE, TRIGGER_ID, ENTRANCE_ID),
            "raw": raw.trigger,
            # Not a contender: shows how much of the gap is the hook logging every body it sends.
            QUIET: lambda: _without_info_logs(lambda: hook.trigger(AUDIENCE, TRIGGER_ID, ENTRANCE_ID)),
        }
        for call in contenders.values():
            timed_calls(call, WARM_UP_CALLS)
        seconds = _interleaved_rounds(contenders, rounds)
        received = emulator.stats(mark)
    return _outcome(seconds, received, rounds, len(contenders))


def _interleaved_rounds(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per round of CALLS_PER_ROUND calls for each contender. Every round runs all of them, in a
    rotating order, so that noise from other work on this shared machine falls on each alike."""
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(timed_calls(contenders[name], CALLS_PER_ROUND))
    return seconds


def _without_info_logs(call: Callable[[], object]) -> object:
    package_log = logging.getLogger("airflow_provider_journeys")
    level = package_log.level
    package_log.setLevel(logging.WARNING)
    try:
        return call()
    finally:
        package_log.setLevel(level)


def _outcome(
    seconds: dict[str, list[float]], received: dict[str, Any], rounds: int, contenders: int
) -> Outcome:
    calls = rounds * CALLS_PER_ROUND
    rate = {
        name: median([CALLS_PER_ROUND / found for found in rounds_seconds])
        for name, rounds_seconds in seconds.items()
    }
    # Each round's ours and raw ran back to back: their ratio is paired, and its median shrugs off the
    # rounds that other work on the machine slowed down.
    ratios = {
        name: [raw_s / ours_s for ours_s, raw_s in zip(seconds[name], seconds["raw"], strict=True)]
        for name in ("ours", QUIET)
    }
    ratio = median(ratios["ours"])
    total_ratio = sum(seconds["raw"]) / sum(seconds["ours"])
    expected = contenders * (WARM_UP_CALLS + calls)
    rows = [
        Row(
            f"request overhead: {calls} sequential triggers, `JourneysHook.trigger` vs raw "
            "`requests.Session.post` (token fetched first, same headers and body); median per round",
            f"{rate['ours']:.0f} calls/s",
            f"{rate['raw']:.0f} calls/s",
            ratio,
            f"≥ {GOAL_RATIO}",
            ratio >= GOAL_RATIO,
            reproduce(NAME),
        )
    ]
    notes = [
        f"{NAME}: ratio ours/raw is the median of {rounds} paired rounds of {CALLS_PER_ROUND} calls "
        f"(min {min(ratios['ours']):.3f}, max {max(ratios['ours']):.3f}); from total times: {total_ratio:.3f}.",
        f"{NAME}: the hook with its INFO log of each body turned off: {rate[QUIET]:.0f} calls/s, "
        f"{median(ratios[QUIET]):.3f} of raw (here the hook's log goes to a file, as in a task).",
        f"{NAME}: the emulator accepted {received['accepted']} of {received['trigger_requests']} triggers "
        f"(expected {expected}, warm-up included).",
    ]
    return Outcome(rows, notes)
