"""The Airship emulator in a process of its own, driven over stdin/stdout by the benchmarks.

Run in its own process so that its request handling does not share a GIL with the client being measured
(the real Airship is on another machine). Prints the connection JSON as its first line, then answers one
JSON line per command line:

- ``mark``: ``{"mark": <requests received so far>}``, so a later ``stats`` counts only what came after;
- ``stats <mark>``: counts of the Journeys trigger requests received since that mark, and how many
  ``named_user`` ids the accepted ones carried;
- ``quit`` (or end of input): stop.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from airflow_provider_journeys.testing import AirshipEmulator, RecordedRequest

TRIGGER_PATH = "/api/journeys/trigger"


def trigger_stats(requests: list[RecordedRequest]) -> dict[str, Any]:
    """What the benchmarks check: every id arrived, exactly once, in accepted triggers."""
    triggers = [request for request in requests if request.path == TRIGGER_PATH]
    accepted = [request for request in triggers if request.status == 200]
    ids = [
        named_user for request in accepted for named_user in _named_users(request.json.get("audience", {}))
    ]
    return {
        "trigger_requests": len(triggers),
        "accepted": len(accepted),
        "statuses": dict(Counter(str(request.status) for request in triggers)),
        "named_user_ids": len(ids),
        "unique_named_user_ids": len(set(ids)),
        "first_at": min((request.at for request in accepted), default=None),
        "last_at": max((request.at for request in accepted), default=None),
    }


def _named_users(audience: dict[str, Any]) -> list[str]:
    value = audience.get("named_user", [])
    return [value] if isinstance(value, str) else list(value)


def answer(emulator: AirshipEmulator, command: str) -> dict[str, Any] | None:
    """The reply to one command line; None means stop."""
    word, _, argument = command.strip().partition(" ")
    if word == "mark":
        return {"mark": len(emulator.requests)}
    if word == "stats":
        return trigger_stats(emulator.requests[int(argument or 0) :])
    if word in ("quit", ""):
        return None
    return {"error": f"unknown command {command!r}"}


def main() -> None:
    with AirshipEmulator() as emulator:
        print(json.dumps(emulator.connection()), flush=True)
        for line in sys.stdin:
            reply = answer(emulator, line)
            if reply is None:
                break
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
