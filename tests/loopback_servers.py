"""Bare TCP servers on 127.0.0.1 for the tests that need a server to misbehave below HTTP (a TLS record
that cannot decrypt, a handshake cut short, an answer dripped a byte at a time)."""

from __future__ import annotations

import socket
import threading

LOOPBACK = "127.0.0.1"


class LoopbackServer:
    """Listens on a free loopback port and hands each connection to :meth:`handle` on a thread of its own."""

    scheme = "http"

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.listener.getsockname()[1]}"

    def handle(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._handle_and_close, args=(connection,), daemon=True).start()

    def _handle_and_close(self, connection: socket.socket) -> None:
        with connection:
            try:
                self.handle(connection)
            except OSError:  # the client went away, or refused the TLS certificate
                return


def read_request(connection: socket.socket) -> bytes:
    """One HTTP request's head and body, as received."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body
