"""TLS failures: a certificate that does not verify means nothing was sent; a broken stream may mean it was."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from loopback_servers import LoopbackServer, read_request

from airflow_provider_journeys.exceptions import JourneysOutcomeUnknownError, JourneysUnavailableError
from airflow_provider_journeys.hooks.journeys import JourneysHook
from airflow_provider_journeys.testing import AirshipEmulator

LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class BrokenTlsServer(LoopbackServer):
    """Reads each whole request over TLS, then answers with a corrupt TLS record instead of HTTP."""

    scheme = "https"

    def __init__(self, cert_path: Path, key_path: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_path, key_path)
        self.received: list[bytes] = []
        super().__init__()

    def handle(self, connection: socket.socket) -> None:
        with self.context.wrap_socket(connection, server_side=True) as tls:
            self.received.append(read_request(tls).partition(b"\r\n\r\n")[2])
            # An application-data record that cannot decrypt: the client's read fails mid-stream.
            connection.sendall(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[BrokenTlsServer]:
    server = BrokenTlsServer(*certificate)
    yield server
    server.close()


@pytest.fixture
def api_behind(airship, set_connection, certificate):
    """Point the API host (not the token endpoint) at a given server, trusting our CA or not."""

    def point(url: str, *, trusted: bool = False) -> None:
        connection = airship.connection()
        connection["host"] = url
        if trusted:
            connection["extra"]["verify"] = str(certificate[0])
        set_connection(connection)

    return point


@pytest.fixture
def tls_airship(certificate, set_connection):
    """The emulator over https, with a connection whose extra ``verify`` trusts its certificate."""
    with AirshipEmulator(certificate=certificate) as emulator:
        connection = emulator.connection()
        connection["extra"]["verify"] = str(certificate[0])
        set_connection(connection)
        yield emulator


def test_a_ca_bundle_in_the_connection_verifies_a_private_tls_endpoint(tls_airship, monkeypatch, tmp_path):
    # An unrelated bundle in the environment must not override the connection's own.
    other = tmp_path / "other.pem"
    other.write_text("not a certificate")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    assert tls_airship.url.startswith("https://")
    assert JourneysHook().trigger({"segment": "s"}, "t")["ok"] is True
    assert [r.path for r in tls_airship.requests] == ["/token", "/api/journeys/trigger"]


def test_without_the_ca_bundle_the_private_endpoint_is_refused(tls_airship, set_connection):
    connection = tls_airship.connection()
    set_connection(connection)
    with pytest.raises(JourneysUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
        JourneysHook().trigger({"segment": "s"}, "t")
    assert tls_airship.requests == []


def test_certificate_that_does_not_verify_fails_at_once_saying_nothing_was_sent(tls_server, api_behind):
    api_behind(tls_server.url)
    with pytest.raises(JourneysUnavailableError, match=r"certificate did not verify.*nothing was sent"):
        JourneysHook().trigger({"segment": "s"}, "t")
    assert tls_server.received == []


def test_tls_failure_after_sending_fails_a_trigger_as_outcome_unknown(tls_server, api_behind):
    api_behind(tls_server.url, trusted=True)
    with pytest.raises(JourneysOutcomeUnknownError, match="after the request was sent"):
        JourneysHook().trigger({"segment": "s"}, "t")
    assert tls_server.received == [b'{"audience":{"segment":"s"},"triggering_id":"t"}']


def test_tls_failure_after_sending_resends_an_exit(tls_server, api_behind):
    api_behind(tls_server.url, trusted=True)
    with pytest.raises(JourneysUnavailableError, match="exiting again is harmless"):
        JourneysHook(max_retry_wait=3).exit("t")
    assert len(tls_server.received) >= 2


def test_a_token_endpoint_whose_certificate_does_not_verify_fails_at_once(tls_airship, set_connection):
    set_connection(tls_airship.connection())  # without the CA bundle
    with pytest.raises(JourneysUnavailableError) as raised:
        JourneysHook().trigger({"segment": "s"}, "t")
    message = str(raised.value)
    assert "token endpoint" in message and "TLS certificate did not verify" in message
    assert "attempt(s)" not in message  # failed at once, not after resends
    assert tls_airship.requests == []


class HandshakeDroppingServer(LoopbackServer):
    """Closes each connection before the TLS handshake completes: nothing can be sent."""

    scheme = "https"

    def __init__(self) -> None:
        self.connections = 0
        super().__init__()

    def handle(self, connection: socket.socket) -> None:
        self.connections += 1
        connection.recv(1)  # the start of the ClientHello


@pytest.mark.parametrize("call", ["trigger", "exit"])
def test_https_to_a_plain_http_server_fails_at_once_naming_the_cause_and_nothing_as_possibly_sent(
    airship, api_behind, call
):
    https_url = airship.url.replace("http://", "https://")
    api_behind(https_url)
    started = time.monotonic()
    with pytest.raises(JourneysUnavailableError) as raised:
        if call == "trigger":
            JourneysHook().trigger({"segment": "s"}, "t")
        else:
            JourneysHook().exit("t")
    assert time.monotonic() - started < 10  # the default budget is 300 s: nothing was resent
    message = str(raised.value)
    assert f"the server at {https_url}" in message and "does not speak TLS" in message
    assert f"did you mean {airship.url}" in message and "nothing was sent" in message
    assert "may or may not" not in message
    assert [request.path for request in airship.requests] == ["/token"]


def test_a_token_endpoint_that_does_not_speak_tls_fails_at_once(airship, set_connection):
    connection = airship.connection()
    connection["extra"]["oauth_url"] = airship.oauth_url.replace("http://", "https://")
    set_connection(connection)
    with pytest.raises(
        JourneysUnavailableError, match=r"token endpoint .*does not speak TLS.*nothing was sent"
    ):
        JourneysHook().exit("t")
    assert airship.requests == []


def test_a_handshake_cut_short_counts_as_nothing_sent_so_even_a_trigger_is_resent(api_behind):
    server = HandshakeDroppingServer()
    api_behind(server.url)
    with pytest.raises(JourneysUnavailableError, match="Nothing was sent") as raised:
        JourneysHook(max_retry_wait=2).trigger({"segment": "s"}, "t")
    assert "may or may not" not in str(raised.value)
    assert server.connections >= 2  # resent: a trigger that was never written cannot enroll anyone
