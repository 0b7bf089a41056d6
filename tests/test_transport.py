"""Every request ends by its deadline, ``timeout`` seconds after it starts, however slowly the server answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from loopback_servers import LoopbackServer, read_request

from airflow_provider_journeys.exceptions import (
    JourneysOutcomeUnknownError,
    JourneysUnavailableError,
)
from airflow_provider_journeys.hooks.journeys import EXIT_PATH, TRIGGER_PATH, JourneysHook
from airflow_provider_journeys.testing import AirshipEmulator

TIMEOUT = 1.0
# The whole answer dripped would take 60 s or more; a call that ends within this bound ended by its deadline.
ENDED_BY_DEADLINE = 8.0
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n"
    b'{"ok": true, "operation_id": "00000000-0000-0000-0000-000000"}'
)


class DripServer(LoopbackServer):
    """Reads each request, then sends a valid answer a byte at a time, each byte within any read timeout.
    ``fast_head`` sends the status line and headers at once and drips only the body."""

    def __init__(self, *, fast_head: bool) -> None:
        self.fast_head = fast_head
        self.requests: list[bytes] = []
        super().__init__()

    def handle(self, connection: socket.socket) -> None:
        self.requests.append(read_request(connection))
        start = ANSWER.index(b"\r\n\r\n") + 4 if self.fast_head else 0
        connection.sendall(ANSWER[:start])
        for index in range(start, len(ANSWER)):
            connection.sendall(ANSWER[index : index + 1])
            time.sleep(0.5)


@pytest.fixture(params=[False, True], ids=["dripped-head", "dripped-body"])
def drip(request: pytest.FixtureRequest) -> Iterator[DripServer]:
    server = DripServer(fast_head=request.param)
    yield server
    server.close()


def point_at(
    set_connection: Callable[..., None], emulator: AirshipEmulator, *, host: str, oauth_url: str
) -> None:
    conn: dict[str, Any] = emulator.connection()
    conn["host"] = host
    conn["extra"] = {**conn["extra"], "oauth_url": oauth_url, "timeout": TIMEOUT}
    set_connection(conn)


def ended_within_deadline(call: Callable[[], object], error: type[Exception]) -> str:
    started = time.monotonic()
    with pytest.raises(error) as raised:
        call()
    assert time.monotonic() - started < ENDED_BY_DEADLINE
    return str(raised.value)


def test_a_dripped_answer_to_an_exit_ends_by_the_deadline_and_is_resent_until_the_budget_ends(
    drip, emulator, set_connection
):
    point_at(set_connection, emulator, host=drip.url, oauth_url=emulator.oauth_url)
    hook = JourneysHook(max_retry_wait=3)
    message = ended_within_deadline(lambda: hook.exit("seq"), JourneysUnavailableError)
    assert "timed out" in message
    assert len(drip.requests) >= 2  # an exit is safe to resend: it was


def test_a_dripped_answer_to_a_trigger_ends_by_the_deadline_as_in_doubt_and_is_not_resent(
    drip, emulator, set_connection
):
    point_at(set_connection, emulator, host=drip.url, oauth_url=emulator.oauth_url)
    hook = JourneysHook(max_retry_wait=30)
    ended_within_deadline(lambda: hook.trigger({"named_user": "u1"}, "seq"), JourneysOutcomeUnknownError)
    assert [request.split(b" ", 2)[1] for request in drip.requests] == [TRIGGER_PATH.encode()]


def test_a_dripped_token_answer_ends_by_the_deadline(drip, emulator, set_connection):
    point_at(set_connection, emulator, host=emulator.url, oauth_url=f"{drip.url}/token")
    message = ended_within_deadline(
        lambda: JourneysHook(max_retry_wait=0).exit("seq"), JourneysUnavailableError
    )
    assert "Read timed out" in message
    assert emulator.received(EXIT_PATH) == []
