"""One hook driven from many threads against a rate-limited emulator: nothing lost, nothing sent twice."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_journeys.hooks.journeys import TRIGGER_PATH, JourneysHook

pytestmark = pytest.mark.integration

THREADS = 8
TRIGGERS = 800
REQUESTS_PER_SECOND = 60


def test_800_triggers_from_8_threads_under_a_rate_limit_are_each_accepted_exactly_once(airship, capsys):
    airship.limit_rate(REQUESTS_PER_SECOND, retry_after=1)
    hook = JourneysHook(max_retry_wait=120)
    entrances = [f"load-{number:04d}" for number in range(TRIGGERS)]

    def enroll(entrance: str) -> dict[str, object]:
        return hook.trigger({"named_user": f"user-{entrance}"}, "seq", entrance_id=entrance)

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(enroll, entrances))
    elapsed = time.monotonic() - started

    accepted = Counter(body["entrance_id"] for body in airship.accepted(TRIGGER_PATH))
    rate_limited = sum(request.status == 429 for request in airship.received(TRIGGER_PATH))
    sent_twice = sorted(entrance for entrance, count in accepted.items() if count > 1)
    lost = sorted(set(entrances) - set(accepted))
    with capsys.disabled():
        print(
            f"\nload: {TRIGGERS} payloads from {THREADS} threads in {elapsed:.1f} s; accepted {sum(accepted.values())}, "
            f"answered 429 {rate_limited} times, sent twice {len(sent_twice)}, lost {len(lost)}"
        )
    assert all(answer["ok"] is True for answer in answers)
    assert sent_twice == [] and lost == []
    assert len(accepted) == TRIGGERS
    assert rate_limited > 0  # the limit really was hit, so resends were exercised
    assert len(airship.received("/token")) == 1  # one token shared by every thread
