"""TLS failures: a certificate that does not verify means nothing was sent; a broken stream may mean it was."""

from __future__ import annotations

import datetime
import ipaddress
import os
import select
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
# A name that is not loopback, reached only through the test's own proxy on 127.0.0.1.
REMOTE_NAME = "journeys.test"


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
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName(REMOTE_NAME)]
            ),
            False,
        )
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


# An application-data record that cannot decrypt: the client's read fails mid-stream.
CORRUPT_RECORD = b"\x17\x03\x03\x00\x20" + b"\x00" * 32
# Plain text where TLS records belong, as from a middlebox: to OpenSSL, the same error as a server that
# does not speak TLS at all, but after the request was written.
PLAIN_TEXT_ANSWER = b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"ok": true}'


class BrokenTlsServer(LoopbackServer):
    """Reads each whole request over TLS, then answers with ``answer`` written under the TLS layer."""

    scheme = "https"

    def __init__(self, cert_path: Path, key_path: Path, answer: bytes = CORRUPT_RECORD) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_path, key_path)
        self.answer = answer
        self.received: list[bytes] = []
        super().__init__()

    def handle(self, connection: socket.socket) -> None:
        with self.context.wrap_socket(connection, server_side=True) as tls:
            self.received.append(read_request(tls).partition(b"\r\n\r\n")[2])
            os.write(tls.fileno(), self.answer)  # the raw socket, past the TLS layer


@pytest.fixture(params=[CORRUPT_RECORD, PLAIN_TEXT_ANSWER], ids=["corrupt-record", "plain-text-answer"])
def tls_server(certificate: tuple[Path, Path], request: pytest.FixtureRequest) -> Iterator[BrokenTlsServer]:
    server = BrokenTlsServer(*certificate, answer=request.param)
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


class TunnellingProxy(LoopbackServer):
    """An HTTP CONNECT proxy that tunnels its first connection to ``port`` on 127.0.0.1 (the token fetch),
    and answers every later CONNECT with 200, then drops the tunnel before the TLS handshake."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tunnels = 0
        super().__init__()

    def handle(self, connection: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += connection.recv(4096)
        self.tunnels += 1
        connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if self.tunnels == 1:
            with socket.create_connection((LOOPBACK, self.port)) as upstream:
                self._pipe(connection, upstream)

    @staticmethod
    def _pipe(client: socket.socket, upstream: socket.socket) -> None:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 5)
            for side in ready:
                data = side.recv(65536)
                if not data:
                    return
                (upstream if side is client else client).sendall(data)
            if not ready:
                return


def test_a_tunnel_dropped_before_the_handshake_counts_as_nothing_sent_so_a_trigger_is_resent(
    certificate, set_connection, monkeypatch
):
    with AirshipEmulator(certificate=certificate) as airship:
        port = int(airship.url.rsplit(":", 1)[1])
        proxy = TunnellingProxy(port)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        connection = airship.connection()
        connection["host"] = f"https://{REMOTE_NAME}:{port}"
        connection["extra"].update(
            oauth_url=f"https://{REMOTE_NAME}:{port}/token", verify=str(certificate[0])
        )
        set_connection(connection)
        hook = JourneysHook(max_retry_wait=2)
        hook.tokens.get()  # through the first tunnel
        hook.session.close()  # the trigger opens a tunnel of its own
        with pytest.raises(JourneysUnavailableError, match="Nothing was sent") as raised:
            hook.trigger({"segment": "s"}, "t")
        assert "may or may not" not in str(raised.value)
        assert proxy.tunnels >= 3  # resent: the proxy's CONNECT is not the trigger
        assert airship.received("/api/journeys/trigger") == []
