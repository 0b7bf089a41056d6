"""The resend rules: after a failed POST to Airship, whether to send it again, after how long, and what
the failure means when it is not sent again.

A trigger is resent only when it surely never reached Airship (or on 429), because a resent trigger may
enroll the same users twice; an exit is resent on any transient failure, because exiting twice is
harmless. urllib3's ``Retry`` cannot bound the total time spent on ``Retry-After`` waits nor refresh the
OAuth token between attempts, so the loop lives in the hook; this module decides and counts for it.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import InvalidHeader, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from airflow_provider_journeys.exceptions import (
    JourneysApiError,
    JourneysAuthError,
    JourneysOutcomeUnknownError,
    JourneysRateLimitError,
    JourneysUnavailableError,
)
from airflow_provider_journeys.transport import NothingSent

TRIGGER_PATH = "/api/journeys/trigger"
EXIT_PATH = "/api/journeys/exit"
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
# A floor on every wait, so that a server answering "Retry-After: 0" cannot make the loop spin hot.
MIN_WAIT_SECONDS = 0.1
SHOWN_BODY_CHARS = 500


@dataclass(frozen=True)
class Endpoint:
    """How one Journeys endpoint treats failures after which Airship may have acted on the request."""

    path: str
    resend_after_sending: bool
    # Raised when such a failure is not (or no longer) resent; ``maybe_done`` says what it means.
    maybe_done_error: type[Exception]
    maybe_done: str


TRIGGER = Endpoint(
    path=TRIGGER_PATH,
    # The hook turns this on only for retry_server_errors=True.
    resend_after_sending=False,
    maybe_done_error=JourneysOutcomeUnknownError,
    maybe_done=(
        "The enrollment may or may not have happened. A trigger is not resent after such a failure unless "
        "retry_server_errors=True, because a second trigger may enroll the same users twice; check the "
        "Sequence before running the task again."
    ),
)
EXIT = Endpoint(
    path=EXIT_PATH,
    resend_after_sending=True,
    maybe_done_error=JourneysUnavailableError,
    maybe_done="The exit may or may not have happened; exiting again is harmless, so Airflow may retry.",
)


# What the rules below raise: decisions, passed on as they are (anything else raised while an answer is
# read is an interruption, see ``interrupted``).
VERDICTS = (
    JourneysApiError,
    JourneysAuthError,
    JourneysOutcomeUnknownError,
    JourneysRateLimitError,
    JourneysUnavailableError,
)


@dataclass(frozen=True)
class Resend:
    """An attempt failed in a way that resending may fix."""

    reason: str
    requested_wait: float | None
    # Raised when the retry budget runs out; its message says what the failure means for the enrollment.
    give_up: type[Exception]
    consequence: str


def after_transport_error(endpoint: Endpoint, err: requests.RequestException, url: str) -> Resend:
    """The verdict on a request to ``url`` that got no HTTP answer; raises when it must not be resent."""
    reason = f"{type(err).__name__}: {err}"
    if (refusal := tls_refusal(err, url)) is not None:
        raise JourneysUnavailableError(
            f"POST {endpoint.path}: {refusal} ({reason}); nothing was sent."
        ) from None
    if never_sent(err):
        return Resend(reason, None, JourneysUnavailableError, "Nothing was sent; Airflow may retry the task.")
    return _after_possible_delivery(endpoint, f"{reason}, after the request was sent")


def after_status(endpoint: Endpoint, response: requests.Response) -> Resend:
    """The verdict on a non-2xx answer other than the first 401; raises when it must not be resent."""
    status = response.status_code
    if status == 429:
        return Resend(
            "Airship rate limited it (HTTP 429)",
            retry_after_seconds(response.headers.get("Retry-After")),
            JourneysRateLimitError,
            "Airship accepted nothing; Airflow may retry the task later.",
        )
    if status >= 500:
        return _after_possible_delivery(endpoint, describe_error(response))
    if status == 401:
        raise JourneysAuthError(
            f"Airship refused a freshly fetched token for POST {endpoint.path} ({describe_error(response)}). "
            "Check that the OAuth client has the 'jny' scope and belongs to the connection's app key."
        )
    if 300 <= status < 400:
        # Not followed: requests would resend the POST as a GET, and the body could go to another host.
        raise JourneysApiError(
            f"POST {endpoint.path} was redirected (HTTP {status} to {response.headers.get('Location')!r}) and "
            "the redirect was not followed; set the connection's host to the Journeys API's own address.",
            status_code=status,
            body=response_body(response),
        )
    raise JourneysApiError(
        f"Airship rejected POST {endpoint.path} with {describe_error(response)}",
        status_code=status,
        body=response_body(response),
    )


def accepted_body(endpoint: Endpoint, response: requests.Response) -> dict[str, Any]:
    """Airship's JSON object from a 2xx answer; anything else may not have come from Airship at all."""
    body = response_body(response)
    if not isinstance(body, dict):
        raise endpoint.maybe_done_error(
            f"POST {endpoint.path} answered HTTP {response.status_code} with {body!r}, not Airship's JSON "
            f"object; it may not have reached Airship. {endpoint.maybe_done}"
        )
    return body


def never_sent(err: requests.RequestException) -> bool:
    """True for failures before any of the request was written: refused, DNS, connect timeout, a failed
    TLS handshake."""
    if isinstance(err, NothingSent | requests.ConnectTimeout):
        return True
    cause = err.args[0] if err.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


def tls_refusal(err: requests.RequestException, url: str) -> str | None:
    """Why the TLS handshake failed, when no resend can heal it: the certificate did not verify, or the
    server does not speak TLS at all (an ``https://`` address of a plain-http server). None otherwise.

    Only a failure before any of the request was written counts: the same TLS errors can come while the
    answer is read, after the request went out (a middlebox answering in plain text, say).
    """
    if not isinstance(err, NothingSent):
        return None
    cause = err.args[0] if err.args else None
    reason = cause.reason if isinstance(cause, MaxRetryError) else None
    for tls_error in getattr(reason, "args", ()):
        if isinstance(tls_error, ssl.SSLCertVerificationError):
            return "the server's TLS certificate did not verify; resending cannot fix this"
        if isinstance(tls_error, ssl.SSLError) and tls_error.reason in _NOT_TLS_REASONS:
            plain = "http://" + url.removeprefix("https://")
            return (
                f"the server at {url} does not speak TLS: it answered like plain HTTP (did you mean {plain}? "
                "Plain http is allowed to this machine only); resending cannot fix this"
            )
    return None


# What OpenSSL calls a handshake answered in plain text (the first bytes of "HTTP/1.1 400").
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"}
)


def _after_possible_delivery(endpoint: Endpoint, reason: str) -> Resend:
    """A failure after which Airship may have acted on the request: resend only where that is harmless."""
    if endpoint.resend_after_sending:
        return Resend(reason, None, endpoint.maybe_done_error, endpoint.maybe_done)
    raise endpoint.maybe_done_error(f"POST {endpoint.path} failed: {reason}. {endpoint.maybe_done}")


def response_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:SHOWN_BODY_CHARS]


def describe_error(response: requests.Response) -> str:
    """Status, ``error_code``, ``error`` and ``details`` of an Airship error body (text when it is not JSON)."""
    body = response_body(response)
    text = f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"{text}: {body}" if body else text
    if "error_code" in body:
        text += f" (error_code {body['error_code']})"
    if "error" in body:
        text += f": {body['error']}"
    details = body.get("details")
    if isinstance(details, dict):
        text += "".join(
            f"; details.{key}: {details[key]}" for key in ("path", "error", "location") if key in details
        )
    return text


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff for the ``attempt``-th resend (1-based), jittered to between half and all of the step."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def retry_after_seconds(header: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or HTTP date), or None when absent or unreadable."""
    if header is None:
        return None
    try:
        return Retry(0).parse_retry_after(header)
    except InvalidHeader:
        return None


@dataclass
class RetryBudget:
    """Tracks the time spent since the first attempt against ``max_seconds``; a set ``stop`` ends the waits."""

    max_seconds: float
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    resends: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def next_wait(self, requested: float | None) -> float | None:
        """The wait before the next resend, or None when it would overrun the budget."""
        wait = max(
            MIN_WAIT_SECONDS, requested if requested is not None else backoff_seconds(self.resends + 1)
        )
        if self.elapsed + wait > self.max_seconds:
            return None
        return wait

    def wait(self, seconds: float) -> bool:
        """Sleep before the next resend; False when ``stop`` was set meanwhile (then send nothing more)."""
        self.resends += 1
        return not self.stop.wait(seconds)

    def exhausted(self, endpoint: Endpoint, resend: Resend) -> Exception:
        """The error to raise when ``resend`` finds no budget left."""
        return resend.give_up(
            f"POST {endpoint.path} failed: {resend.reason}. Gave up after {self.elapsed:.1f} s and "
            f"{self.resends} resend(s) (max_retry_wait={self.max_seconds:g} s). {resend.consequence}"
        )

    def stopped(self, endpoint: Endpoint, resend: Resend) -> Exception:
        """The error to raise when the task is stopped while waiting to resend."""
        return resend.give_up(
            f"POST {endpoint.path} failed: {resend.reason}. The task was stopped (timeout or kill) while "
            f"waiting to resend, so it was not resent. {resend.consequence}"
        )


def interrupted(endpoint: Endpoint, interruption: BaseException) -> BaseException:
    """What an exception raised into a POST in progress (Airflow's timeout, say) means for the request.

    Python cannot tell whether the request had left: a trigger is then in doubt, and must not be
    retried as the timeout would be; an exit may be.
    """
    if endpoint.resend_after_sending:
        return interruption
    return endpoint.maybe_done_error(
        f"POST {endpoint.path} was interrupted by {type(interruption).__name__} while the request may "
        f"already have reached Airship. {endpoint.maybe_done}"
    )
