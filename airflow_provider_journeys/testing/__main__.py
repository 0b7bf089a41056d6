"""Run the Airship emulator in the foreground: ``python -m airflow_provider_journeys.testing --port 8979``.

Prints the connection as an ``export`` line to paste into a shell, then one line for every request it receives.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import time
from pathlib import Path
from typing import Any, TypeGuard

from airflow_provider_journeys.testing.emulator import TOKEN_PATH, AirshipEmulator, RecordedRequest

POLL_SECONDS = 0.1
CONNECTION_VARIABLE = "AIRFLOW_CONN_AIRSHIP_DEFAULT"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_journeys.testing", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=8979,
        help="port to listen on at 127.0.0.1; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--app-key", default="emulator-app-key", help="app key, the connection's login (default: %(default)s)"
    )
    parser.add_argument(
        "--client-id",
        default="emulator-client-id",
        help="OAuth client id both grants accept (default: %(default)s)",
    )
    parser.add_argument(
        "--client-secret",
        default="emulator-client-secret",
        help="client secret the client-secret grant accepts; printed in the connection line (default: %(default)s)",
    )
    parser.add_argument(
        "--public-key-file",
        help="PEM file of the EC P-384 public key that verifies assertion-grant JWTs (without it, that grant "
        "is refused)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
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
        # Shell-quoted, so that the line works when pasted whatever the credentials contain.
        print(f"export {CONNECTION_VARIABLE}={shlex.quote(json.dumps(emulator.connection()))}", flush=True)
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
    return f"{line} {_summed_up(request.body.decode(errors='replace'))}"


def _summed_up(body: str) -> str:
    """The body as sent, but an audience of an id list as a count and its ends: a batch chunk is 13 KB."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict) or not _is_one_id_list(audience := payload.pop("audience", None)):
        return body
    [(selector, ids)] = audience.items()
    first, last = (json.dumps(end, ensure_ascii=False) for end in (ids[0], ids[-1]))
    rest = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"{selector}: {len(ids)} ids, first {first}, last {last}; {rest}"


def _is_one_id_list(audience: Any) -> TypeGuard[dict[str, list[Any]]]:
    return (
        isinstance(audience, dict)
        and len(audience) == 1
        and all(isinstance(ids, list) and ids for ids in audience.values())
    )


if __name__ == "__main__":
    main()
