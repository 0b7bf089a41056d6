"""The HTTP session every request to Airship goes through: the deadline that bounds each request, and
whether a failed request was written at all.

``requests`` and urllib3 bound each socket operation, not a request: a server that sends its answer a byte
at a time, each within the timeout, holds a call for as long as it likes. No maintained library offers a
total deadline for a ``requests`` call, so it is written here: each read of an answer may wait only for
the time left until the request's deadline.

Nor do they say whether a failed request left this machine: urllib3 reports a failed TLS handshake and a
TLS error while reading the answer alike. A trigger that surely was not sent may be resent; one that may
have been must not. So the connection notes when it starts writing the request, and a failure before that
is raised as :class:`NothingSent`.
"""

from __future__ import annotations

import io
import socket
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from airflow_provider_journeys import __version__
from airflow_provider_journeys.defaults import MAX_CONCURRENCY

if TYPE_CHECKING:
    from collections.abc import Mapping

    from urllib3.poolmanager import PoolManager, ProxyManager


class NothingSent(requests.ConnectionError):
    """The request failed before any byte of it was written (connecting, the TLS handshake)."""


@dataclass
class _Attempt:
    """The request this thread is sending: when its answer must be complete (time.monotonic()), and
    whether any of it was written."""

    deadline: float | None
    written: bool = False


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("journeys_request_attempt", default=None)


def new_session(*, loopback: bool) -> requests.Session:
    """A session whose every request ends by its ``timeout`` (connecting may take as long again)."""
    session = requests.Session()
    # No transport retries inside urllib3: each attempt sends the request once at most, and the resend rules
    # (resend.py) alone decide on another, knowing from NothingSent whether any of it was written.
    adapter = _DeadlineAdapter(
        max_retries=Retry(total=0, read=False, redirect=False), pool_maxsize=MAX_CONCURRENCY
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"airflow-provider-journeys/{__version__}"
    session.auth = _ignore_netrc
    # Plain http is allowed only because loopback traffic never leaves the machine: no proxy variable may
    # carry it (and the credentials in it) elsewhere. Remote https keeps honouring HTTPS_PROXY/NO_PROXY.
    session.trust_env = not loopback
    return session


def _ignore_netrc(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The session's default auth: none. Without a default, requests would look up ~/.netrc on every call
    and put a matching entry's password in place of the Bearer token (or add it to the assertion grant)."""
    return request


class _DeadlineAdapter(HTTPAdapter):
    """Sets each request's deadline, ``timeout`` seconds after it starts, and makes every connection pool,
    through a proxy too, read answers against it."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _read_against_deadlines(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> ProxyManager:
        manager: ProxyManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        _read_against_deadlines(manager)
        return manager

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        attempt = _Attempt(None if read_timeout is None else time.monotonic() + read_timeout)
        token = _ATTEMPT.set(attempt)
        try:
            return super().send(request, timeout=timeout, **kwargs)
        except requests.ConnectionError as err:
            if attempt.written:
                raise
            raise NothingSent(*err.args, request=err.request, response=err.response) from err
        finally:
            _ATTEMPT.reset(token)


class _DeadlineReads:
    """A connection that notes when it starts writing a request, and whose answer is read through
    :class:`_DeadlineSocket` when a deadline is set. The body is read after the adapter returns, through
    the reader made here, so the deadline still holds."""

    sock: Any

    _connecting = False

    def connect(self) -> None:
        # Through a proxy, connecting writes a CONNECT request; it is not the request to Airship.
        self._connecting = True
        try:
            super().connect()  # type: ignore[misc]
        finally:
            self._connecting = False

    def send(self, data: Any) -> None:
        if self.sock is None:
            self.connect()  # the TLS handshake included: writes nothing of the request
        if not self._connecting and (attempt := _ATTEMPT.get()) is not None:
            attempt.written = True
        super().send(data)  # type: ignore[misc]

    def getresponse(self) -> Any:
        attempt = _ATTEMPT.get()
        deadline = None if attempt is None else attempt.deadline
        real = self.sock
        if deadline is not None and real is not None:
            self.sock = _DeadlineSocket(real, deadline)
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            if self.sock is not real and isinstance(self.sock, _DeadlineSocket):
                self.sock = real


class _DeadlineHTTPConnection(_DeadlineReads, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineReads, HTTPSConnection):
    pass


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_POOL_CLASSES: Mapping[str, type[HTTPConnectionPool]] = {
    "http": _DeadlineHTTPConnectionPool,
    "https": _DeadlineHTTPSConnectionPool,
}


def _read_against_deadlines(manager: PoolManager) -> None:
    manager.pool_classes_by_scheme = dict(_POOL_CLASSES)


class _DeadlineSocket:
    """Stands for a connected socket while an answer is read: each read waits only for the time left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer was not complete by the request's deadline")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer, nbytes, flags)

    def makefile(self, mode: str = "rb", buffering: int = -1, **_: Any) -> io.BufferedReader:
        # http.client reads the status line, headers and body through this; socket.SocketIO calls recv_into.
        return io.BufferedReader(socket.SocketIO(self, "rb"), io.DEFAULT_BUFFER_SIZE)  # type: ignore[arg-type]

    def _decref_socketios(self) -> None:
        """The reader above holds no reference the real socket counts; urllib3 closes the real socket."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
