"""Run the Airship emulator in the foreground: ``python -m airflow_provider_journeys.testing --port 8979``.

Prints the connection to use, then one line for every request it receives.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

from airflow_provider_journeys.testing.emulator import TOKEN_PATH, AirshipEmulator, RecordedRequest

POLL_SECONDS = 0.1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_journeys.testing", description=__doc__)
    parser.add_argument("--port", type=int, default=8979, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--app-key", default="emulator-app-key")
    parser.add_argument("--client-id", default="emulator-client-id")
    parser.add_argument("--client-secret", default="emulator-client-secret")
    parser.add_argument("--public-key-file", help="PEM EC P-384 public key accepted for the assertion grant")
    args = parser.parse_args(argv)
    public_key = Path(args.public_key_file).read_text() if args.public_key_file else None
    emulator = AirshipEmulator(
        app_key=args.app_key,
        client_id=args.client_id,
        client_secret=args.client_secret,
        public_key=public_key,
        port=args.port,
    )
    with emulator:
        print(f"Airship emulator listening on {emulator.url}", flush=True)
        print(f"AIRFLOW_CONN_AIRSHIP_DEFAULT='{json.dumps(emulator.connection())}'", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            _print_requests_forever(emulator)


def _print_requests_forever(emulator: AirshipEmulator) -> None:
    shown = 0
    while True:
        received = emulator.requests
        for request in received[shown:]:
            print(_describe(request), flush=True)
        shown = len(received)
        time.sleep(POLL_SECONDS)


def _describe(request: RecordedRequest) -> str:
    line = f"{request.method} {request.path} -> {request.status}"
    if request.path == TOKEN_PATH:
        # Never echo credentials: say which grant was used, not what it carried.
        grant = "assertion" if "assertion" in request.form else "client secret"
        return f"{line} (OAuth token, {grant} grant)"
    return f"{line} {request.body.decode(errors='replace')}"


if __name__ == "__main__":
    main()
