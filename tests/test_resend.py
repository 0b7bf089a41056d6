"""Resend rules decided without a server: failures that happen before the request leaves this machine."""

from __future__ import annotations

import socket

import requests
from urllib3.connection import HTTPSConnection
from urllib3.exceptions import MaxRetryError, NameResolutionError, ProtocolError

from airflow_provider_journeys.resend import never_sent


def test_dns_failure_counts_asnever_sent():
    # Built as requests raises it, since a real lookup would leave loopback: the resolver gave up on the name.
    connection = HTTPSConnection("airship.invalid")
    lookup = NameResolutionError(
        "airship.invalid", connection, socket.gaierror(-2, "Name or service not known")
    )
    error = requests.ConnectionError(MaxRetryError(None, "/api/journeys/trigger", lookup))
    assert never_sent(error) is True
    assert never_sent(requests.ConnectionError(ProtocolError("Connection aborted."))) is False
