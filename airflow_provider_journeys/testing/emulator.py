"""A local stand-in for Airship's OAuth token endpoint and Journeys API, served over loopback HTTP.

It checks what the real API checks (credentials, bearer token and scope, the versioned ``Accept`` header,
the JSON content type, the body rules of the bundled schemas), answers with Airship's status codes and
error bodies, records every request, and can be told to answer the next calls with a scripted status,
``Retry-After`` or delay. Use it as a context manager in tests, or run ``python -m
airflow_provider_journeys.testing`` for a demo.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote

import jwt

from airflow_provider_journeys.validation import PayloadKind, payload_violations

if TYPE_CHECKING:
    from pathlib import Path

TOKEN_PATH = "/token"
JOURNEYS_PATHS: dict[str, PayloadKind] = {"/api/journeys/trigger": "trigger", "/api/journeys/exit": "exit"}
AIRSHIP_CONTENT_TYPE = "application/vnd.urbanairship+json; version=3"
REQUIRED_SCOPE = "jny"
MAX_ASSERTION_LIFETIME_SECONDS = 600
# How often the server checks for shutdown; small, so that stopping an emulator in a test is quick.
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it, with the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # 0 when the emulator closed the connection without answering.
    status: int
    scripted: bool
    # The client's (host, port): requests sent over one kept-alive connection share it.
    client: tuple[str, int]
    # When it arrived (``time.time()``).
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return _form(self.body)


@dataclass(frozen=True)
class ScriptedAnswer:
    """An answer given instead of the normal one, to the next matching call."""

    status: int
    # None: either Journeys endpoint, never the token endpoint.
    path: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close_without_answer: bool = False
    # Answered normally: holds a place in the script, so that later answers hit a chosen call.
    pass_through: bool = False


@dataclass
class _Token:
    app_key: str
    scope: frozenset[str]
    expires_at: float


@dataclass
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    script: deque[ScriptedAnswer] = field(default_factory=deque)
    tokens: dict[str, _Token] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    open_connections: set[socket.socket] = field(default_factory=set)
    rate_limit: _RateLimit | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _RateLimit:
    """At most ``per_second`` Journeys calls in each wall-clock second; the rest get 429."""

    per_second: int
    retry_after: int
    second: int = 0
    calls: int = 0

    def admits_one_more(self) -> bool:
        now = int(time.time())
        if now != self.second:
            self.second, self.calls = now, 0
        self.calls += 1
        return self.calls <= self.per_second


class AirshipEmulator:
    """
    Airship's token endpoint and Journeys API on ``http://127.0.0.1:<port>``.

    :param app_key: The app key the credentials belong to.
    :param client_id: The OAuth client id.
    :param client_secret: The client secret accepted by the client-secret grant.
    :param public_key: PEM public key (EC P-384) that verifies assertion-grant JWTs; None refuses that grant.
    :param port: The port to listen on; 0 picks a free one.
    :param token_lifetime: ``expires_in`` of issued tokens, in seconds.
    :param certificate: ``(cert_file, key_file)`` PEM paths: serve https instead of http (give clients the
        certificate as the connection's ``verify`` CA bundle).
    """

    def __init__(
        self,
        *,
        app_key: str = "emulator-app-key",
        client_id: str = "emulator-client-id",
        client_secret: str = "emulator-client-secret",
        public_key: str | None = None,
        port: int = 0,
        token_lifetime: int = 3600,
        certificate: tuple[str | Path, str | Path] | None = None,
    ) -> None:
        self.app_key = app_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.public_key = public_key
        self.token_lifetime = token_lifetime
        self._tls: ssl.SSLContext | None = None
        if certificate is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*certificate)
        self._state = _State()
        self._server = self._listen(port)
        self._thread: threading.Thread | None = None
        self._relisten: threading.Timer | None = None

    def __repr__(self) -> str:
        return f"AirshipEmulator(url={self.url!r}, app_key={self.app_key!r}, client_id={self.client_id!r})"

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host!s}:{port}"

    @property
    def oauth_url(self) -> str:
        return f"{self.url}{TOKEN_PATH}"

    def start(self) -> AirshipEmulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="airship-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._relisten is not None:
            self._relisten.cancel()
        if self._thread is not None:  # shutdown() waits for serve_forever(), so only once it has run
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        with self._state.lock:
            for connection in self._state.open_connections:
                with contextlib.suppress(OSError):  # the client may have closed it already
                    connection.shutdown(socket.SHUT_RDWR)

    def refuse_connections(self, seconds: float) -> None:
        """Stop listening for ``seconds`` (open connections are closed): clients get "connection refused"."""
        port = self._server.server_address[1]
        self.stop()

        def listen_again() -> None:
            self._relisten = None
            self._server = self._listen(port)
            self.start()

        self._relisten = threading.Timer(seconds, listen_again)
        self._relisten.start()

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        if self._tls is not None:
            # The handshake happens on the first read, in the request's own thread.
            server.socket = self._tls.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        return server

    def __enter__(self) -> AirshipEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def connection(self, *, grant: str = "client_secret", private_key: str | None = None) -> dict[str, Any]:
        """An Airflow connection (JSON form) that points a ``JourneysHook`` at this emulator."""
        extra: dict[str, Any] = {"client_id": self.client_id, "oauth_url": self.oauth_url}
        conn: dict[str, Any] = {
            "conn_type": "airship",
            "host": self.url,
            "login": self.app_key,
            "extra": extra,
        }
        if grant == "client_secret":
            conn["password"] = self.client_secret
        else:
            extra["private_key"] = private_key
        return conn

    def connection_uri(self) -> str:
        """The same connection (client-secret grant) as an ``AIRFLOW_CONN_*`` URI."""
        return (
            f"airship://{quote(self.app_key, safe='')}:{quote(self.client_secret, safe='')}@"
            f"{quote(self.url, safe='')}?client_id={quote(self.client_id, safe='')}"
            f"&oauth_url={quote(self.oauth_url, safe='')}"
        )

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        with self._state.lock:
            return list(self._state.requests)

    def received(self, path: str) -> list[RecordedRequest]:
        """The requests received on ``path`` (for example ``/api/journeys/trigger``)."""
        return [request for request in self.requests if request.path == path]

    def accepted(self, path: str) -> list[Any]:
        """The JSON bodies of the requests on ``path`` that were answered 200."""
        return [request.json for request in self.received(path) if request.status == 200]

    def answer_next(
        self,
        status: int,
        *,
        path: str | None = None,
        times: int = 1,
        body: Any = None,
        retry_after: str | int | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        close_without_answer: bool = False,
        after: int = 0,
    ) -> None:
        """Answer the next ``times`` calls on ``path`` with ``status`` instead.

        ``path`` None means either Journeys endpoint (trigger or exit); the token endpoint, or any other
        path, is scripted only when named (``path="/token"``), so that scripting "the call" leaves the
        token fetch that precedes it alone.

        ``after`` lets that many matching calls through first (answered normally): ``after=2`` scripts
        the third call, for example the third chunk of a batch sent one at a time.

        ``retry_after`` and ``headers`` add response headers (``{"Location": ...}`` for a redirect);
        ``delay`` sleeps before answering (longer than the client's timeout, it makes a read timeout);
        ``close_without_answer`` reads the request, then closes the connection without a word. A scripted
        call is recorded as it arrives, before its delay, with the status it is (or will be) answered.
        """
        extra_headers = dict(headers or {})
        if retry_after is not None:
            extra_headers["Retry-After"] = str(retry_after)
        answer = ScriptedAnswer(status, path, body, extra_headers, delay, close_without_answer)
        let_through = ScriptedAnswer(0, path, pass_through=True)
        with self._state.lock:
            self._state.script.extend([let_through] * after + [answer] * times)

    def revoke_tokens(self) -> None:
        """Forget every issued token, as if they had been revoked: the next API call answers 401."""
        with self._state.lock:
            self._state.tokens.clear()

    @property
    def issued_tokens(self) -> list[str]:
        with self._state.lock:
            return list(self._state.tokens)

    def limit_rate(self, per_second: int | None, *, retry_after: int = 1) -> None:
        """Answer Journeys calls beyond ``per_second`` in any one second with 429 and ``Retry-After``.

        None lifts the limit.
        """
        with self._state.lock:
            self._state.rate_limit = None if per_second is None else _RateLimit(per_second, retry_after)

    def _rate_limited(self) -> int | None:
        """The ``Retry-After`` to answer this Journeys call with, or None when it is within the limit."""
        with self._state.lock:
            limit = self._state.rate_limit
            if limit is None or limit.admits_one_more():
                return None
            return limit.retry_after

    def _take_scripted(self, path: str) -> ScriptedAnswer | None:
        with self._state.lock:
            for answer in self._state.script:
                if answer.path == path or (answer.path is None and path in JOURNEYS_PATHS):
                    self._state.script.remove(answer)
                    return None if answer.pass_through else answer
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._state.lock:
            self._state.requests.append(request)

    def _issue_token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if "assertion" in form:
            claims = self._verified_assertion(form["assertion"])
            if claims is None:
                return 401, {"error": "invalid_client", "error_description": "assertion rejected"}
            subject, scope = str(claims.get("sub", "")), str(claims.get("scope", REQUIRED_SCOPE))
        else:
            if not self._basic_credentials_valid(authorization):
                return 401, {"error": "invalid_client", "error_description": "bad client id or secret"}
            subject, scope = form.get("sub", ""), form.get("scope", REQUIRED_SCOPE)
        if subject != f"app:{self.app_key}":
            return 400, {"error": "invalid_request", "error_description": "sub must be app:<app key>"}
        token = secrets.token_urlsafe(32)
        with self._state.lock:
            self._state.tokens[token] = _Token(
                self.app_key, frozenset(scope.split()), time.monotonic() + self.token_lifetime
            )
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": scope,
        }

    def _basic_credentials_valid(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[len("Basic ") :], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        return (unquote(client_id), unquote(secret)) == (self.client_id, self.client_secret)

    def _verified_assertion(self, assertion: str) -> dict[str, Any] | None:
        if self.public_key is None:
            return None
        try:
            if jwt.get_unverified_header(assertion).get("kid") != self.client_id:
                return None
            claims: dict[str, Any] = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["ES384"],
                audience=self.oauth_url,
                issuer=self.client_id,
                options={"require": ["aud", "iss", "sub", "iat", "exp", "nonce"]},
            )
        except jwt.PyJWTError:
            return None
        nonce = str(claims["nonce"])
        with self._state.lock:
            fresh_nonce = 1 <= len(nonce) <= 50 and nonce not in self._state.nonces
            self._state.nonces.add(nonce)
        if not fresh_nonce or claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME_SECONDS:
            return None
        return claims

    def _token_allows_journeys(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._state.lock:
            token = self._state.tokens.get(authorization[len("Bearer ") :])
        return token is not None and token.expires_at > time.monotonic() and REQUIRED_SCOPE in token.scope


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can show that they reuse connections
    # Headers and body go out in two writes; with Nagle's algorithm the second waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``emulator.requests`` instead."""

    def setup(self) -> None:
        super().setup()
        with self.server.emulator._state.lock:
            self.server.emulator._state.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.emulator._state.lock:
            self.server.emulator._state.open_connections.discard(self.connection)
        super().finish()

    def do_POST(self) -> None:
        emulator: AirshipEmulator = self.server.emulator
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        scripted = emulator._take_scripted(self.path)
        if scripted is not None:
            self._answer_scripted(scripted, body)
            return
        if self.path == TOKEN_PATH:
            status, answer = emulator._issue_token(_form(body), self.headers.get("Authorization"))
            headers, reply = {"Content-Type": "application/json"}, json.dumps(answer).encode()
        elif self.path in JOURNEYS_PATHS and (retry_after := emulator._rate_limited()) is not None:
            status, headers, reply = _error_reply(429, "Too many requests.")
            headers["Retry-After"] = str(retry_after)
        elif self.path in JOURNEYS_PATHS:
            status, headers, reply = _journeys_reply(emulator, self.path, self.headers, body)
        else:
            status, headers, reply = _error_reply(404, "Not found.")
        emulator._record(self._recorded(body, status, scripted=False))
        self._send(status, headers, reply)

    def _answer_scripted(self, scripted: ScriptedAnswer, body: bytes) -> None:
        # Recorded before the delay: a test must see a call whose client gave up waiting as soon as it came.
        status = 0 if scripted.close_without_answer else scripted.status
        self.server.emulator._record(self._recorded(body, status, scripted=True))
        time.sleep(scripted.delay)
        if scripted.close_without_answer:
            self.close_connection = True
            return
        self._send(*_scripted_reply(scripted))

    def _recorded(self, body: bytes, status: int, *, scripted: bool) -> RecordedRequest:
        host, port = self.client_address[:2]
        return RecordedRequest(
            self.command,
            self.path,
            dict(self.headers.items()),
            body,
            status,
            scripted,
            (host, port),
            time.time(),
        )

    def _refuse_method(self) -> None:
        """Airship's Journeys endpoints take POST only; other methods are recorded and answered 405."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, reply = _error_reply(405, "Method not allowed.")
        self.server.emulator._record(self._recorded(body, status, scripted=False))
        self._send(status, headers, reply)

    do_GET = do_PUT = do_PATCH = do_DELETE = _refuse_method

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (read timeout) before the answer


def _form(body: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}


def _journeys_reply(
    emulator: AirshipEmulator, path: str, headers: Any, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    if not emulator._token_allows_journeys(headers.get("Authorization")):
        return 401, {"Content-Type": "text/plain"}, b"Unauthorized"
    if AIRSHIP_CONTENT_TYPE not in headers.get("Accept", ""):
        return _error_reply(
            406, "Unsupported Accept header: use application/vnd.urbanairship+json; version=3"
        )
    if not headers.get("Content-Type", "").startswith("application/json"):
        return _error_reply(415, "Content-Type must be application/json")
    try:
        payload = json.loads(body.decode("utf-8"))  # Airship reads UTF-8 only
    except ValueError as err:
        location = {"line": getattr(err, "lineno", 1), "column": getattr(err, "colno", 1)}
        return _error_reply(400, "Could not parse request body.", {"error": str(err), "location": location})
    violations = payload_violations(JOURNEYS_PATHS[path], payload)
    if violations:
        json_path, reason = violations[0]
        # Airship writes paths without the leading "$.", e.g. "audience.segment".
        details = {"path": json_path.removeprefix("$").removeprefix("."), "error": reason}
        return _error_reply(400, "Could not parse request body.", details)
    return _ok_reply(200)


def _ok_reply(status: int) -> tuple[int, dict[str, str], bytes]:
    answer = {"ok": True, "operation_id": str(uuid.uuid4())}
    return status, {"Content-Type": AIRSHIP_CONTENT_TYPE}, json.dumps(answer).encode()


def _error_reply(
    status: int, error: str, details: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], bytes]:
    body: dict[str, Any] = {
        "ok": False,
        "error": error,
        "error_code": status * 100,
        "operation_id": str(uuid.uuid4()),
    }
    if details:
        body["details"] = details
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _scripted_reply(answer: ScriptedAnswer) -> tuple[int, dict[str, str], bytes]:
    if answer.body is not None:
        is_text = isinstance(answer.body, str)
        headers = {"Content-Type": "text/plain" if is_text else "application/json"}
        reply = answer.body.encode() if is_text else json.dumps(answer.body).encode()
    elif answer.status == 401:
        headers, reply = {"Content-Type": "text/plain"}, b"Unauthorized"
    elif 200 <= answer.status < 300:
        _, headers, reply = _ok_reply(answer.status)
    else:
        _, headers, reply = _error_reply(answer.status, HTTPStatus(answer.status).phrase)
    return answer.status, {**headers, **answer.headers}, reply
