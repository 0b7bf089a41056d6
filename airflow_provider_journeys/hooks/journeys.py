"""JourneysHook: OAuth-authenticated calls to Airship's ``/api/journeys/trigger`` and ``/api/journeys/exit``."""

from __future__ import annotations

import logging
import math
import re
import ssl
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from airflow.sdk import BaseHook
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from airflow_provider_journeys import __version__
from airflow_provider_journeys.auth import OAuthTokens
from airflow_provider_journeys.batch import (
    BatchProgress,
    BatchReport,
    Chunk,
    describe_repeats,
    fingerprint,
    repeated_ids,
    split_into_chunks,
)
from airflow_provider_journeys.connection import AirshipSettings
from airflow_provider_journeys.defaults import (
    DEFAULT_CONN_ID,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRY_WAIT_SECONDS,
    MAX_CONCURRENCY,
    MAX_IDS_PER_AUDIENCE,
)
from airflow_provider_journeys.exceptions import (
    JourneysApiError,
    JourneysArgumentError,
    JourneysAuthError,
    JourneysBatchFailedError,
    JourneysBatchIncompleteError,
    JourneysOutcomeUnknownError,
    JourneysPayloadError,
    JourneysRateLimitError,
    JourneysUnavailableError,
    JourneysWaitRequested,
)
from airflow_provider_journeys.retry import RetryBudget, retry_after_seconds
from airflow_provider_journeys.validation import (
    encode_payload,
    payload_violations,
    validate_exit_payload,
    validate_trigger_payload,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

TRIGGER_PATH = "/api/journeys/trigger"
EXIT_PATH = "/api/journeys/exit"
AIRSHIP_ACCEPT = "application/vnd.urbanairship+json; version=3"
_SHOWN_BODY_CHARS = 500


@dataclass(frozen=True)
class _Endpoint:
    """How one Journeys endpoint treats failures after which Airship may have acted on the request."""

    path: str
    resend_after_sending: bool
    # Raised when such a failure is not (or no longer) resent; ``maybe_done`` says what it means.
    maybe_done_error: type[Exception]
    maybe_done: str


@dataclass(frozen=True)
class _Resend:
    """An attempt failed in a way that resending may fix."""

    reason: str
    requested_wait: float | None
    # Raised when the retry budget runs out; its message says what the failure means for the enrollment.
    give_up: type[Exception]
    consequence: str


class JourneysHook(BaseHook):
    """
    Calls Airship's Journeys API with OAuth 2.0 credentials from an ``airship`` connection.

    Payloads are validated against the bundled JSON Schemas before anything is sent, the token fetch
    included. A trigger is resent only when it surely never reached Airship (or on 429), because a resent
    trigger may enroll the same users twice; an exit is resent on any transient failure.

    :param airship_conn_id: The Airflow connection holding the Airship app key and OAuth credentials.
    :param retry_server_errors: Also resend a trigger after a 5xx answer or a lost response. Only for
        Sequences where a second enrollment of the same users is harmless.
    :param max_retry_wait: The most seconds to spend resending (rate limits, outages) before failing.
    :param dry_run: Validate, log and return the body that would be sent, and send nothing: no connection
        lookup, no token, no call to Airship.
    :param defer_waits_longer_than: Instead of sleeping longer than this many seconds before a resend,
        raise :class:`~airflow_provider_journeys.exceptions.JourneysWaitRequested` (the deferrable
        operators wait on the triggerer instead). None always sleeps.
    """

    conn_name_attr = "airship_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "airship"
    hook_name = "Airship"

    def __init__(
        self,
        airship_conn_id: str = default_conn_name,
        *,
        retry_server_errors: bool = False,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        dry_run: bool = False,
        defer_waits_longer_than: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.airship_conn_id = airship_conn_id
        self.retry_server_errors = _required_bool("retry_server_errors", retry_server_errors)
        self.max_retry_wait = _required_seconds("max_retry_wait", max_retry_wait)
        self.dry_run = _required_bool("dry_run", dry_run)
        self.defer_waits_longer_than = (
            None
            if defer_waits_longer_than is None
            else _required_seconds("defer_waits_longer_than", defer_waits_longer_than)
        )

    def __repr__(self) -> str:
        dry_run = ", dry_run=True" if self.dry_run else ""
        return f"{type(self).__name__}(airship_conn_id={self.airship_conn_id!r}{dry_run})"

    @cached_property
    def settings(self) -> AirshipSettings:
        """The checked connection settings, read on first use (never at DAG parse time)."""
        return AirshipSettings.from_connection(self.get_connection(self.airship_conn_id))

    @property
    def base_url(self) -> str:
        """The Journeys API base URL in effect (from the connection's host, else its region)."""
        return self.settings.base_url

    @property
    def oauth_url(self) -> str:
        """The OAuth token endpoint in effect (from the connection's ``oauth_url``, else its region)."""
        return self.settings.oauth_url

    @cached_property
    def session(self) -> requests.Session:
        """One session per hook, so its connection pool and TLS sessions are reused across calls."""
        session = requests.Session()
        # No transport retries inside urllib3: failures before sending then come back wrapped in
        # MaxRetryError and failures after sending come back bare, which is what _never_sent() relies on.
        adapter = HTTPAdapter(
            max_retries=Retry(total=0, read=False, redirect=False), pool_maxsize=MAX_CONCURRENCY
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = f"airflow-provider-journeys/{__version__}"
        session.auth = _ignore_netrc
        return session

    @cached_property
    def tokens(self) -> OAuthTokens:
        return OAuthTokens(self.settings, self.session)

    def trigger(
        self,
        audience: dict[str, Any],
        triggering_id: str | list[str],
        entrance_id: str | None = None,
        global_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Enroll ``audience`` into the Sequences with API Entrance ``triggering_id``; return Airship's answer."""
        payload = _without_none(
            audience=audience,
            triggering_id=triggering_id,
            entrance_id=entrance_id,
            global_attributes=global_attributes,
        )
        validate_trigger_payload(payload)
        return self._post(self._trigger_endpoint, payload)

    def trigger_batch(
        self,
        *,
        selector: str,
        ids: Sequence[str],
        triggering_id: str | list[str],
        entrance_id: str | None = None,
        global_attributes: dict[str, Any] | None = None,
        chunk_size: int = MAX_IDS_PER_AUDIENCE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        progress: BatchProgress | None = None,
    ) -> dict[str, Any]:
        """Enroll ``ids`` (of one ``selector`` type, e.g. ``"named_user"``) in audiences of ``chunk_size``.

        Every chunk is validated before anything is sent; up to ``max_concurrency`` chunks are in flight at
        once, sharing one token and one connection pool, each resent under the same rules as
        :meth:`trigger`. With ``progress``, chunks it records as accepted are skipped and each newly
        accepted chunk is recorded, so a rerun resumes. Returns counts and Airship's operation ids; raises
        :class:`~airflow_provider_journeys.exceptions.JourneysBatchIncompleteError` (or its subclass
        ``JourneysBatchFailedError``) with a report of every chunk when any chunk fails.
        """
        _check_batch_arguments(selector, ids, chunk_size, max_concurrency)
        if not ids:
            log.warning("ids is empty: nobody to enroll, nothing sent")
        chunks = split_into_chunks(ids, chunk_size)
        bodies = [
            self._validated_chunk_body(chunk, selector, triggering_id, entrance_id, global_attributes)
            for chunk in chunks
        ]
        report = BatchReport(selector, chunks, dry_run=self.dry_run)
        if self.dry_run:
            log.warning(
                "Dry run, nothing sent: %d ids in %d chunks to POST %s; first chunk %s",
                len(ids),
                len(chunks),
                TRIGGER_PATH,
                bodies[0].decode() if bodies else "(none)",
            )
            return report.as_dict()
        batch = fingerprint(bodies)
        if progress is not None:
            report.previously_accepted = progress.accepted_chunks(batch) & {chunk.index for chunk in chunks}
        if report.previously_accepted:
            log.info(
                "Resuming: %d of %d chunks were accepted by an earlier try and are not sent again",
                len(report.previously_accepted),
                len(chunks),
            )
        to_send = [(chunk, bodies[chunk.index]) for chunk in report.not_sent]
        if to_send:
            self.tokens.get()  # fetched once here, not by every thread at once
            self._send_chunks(
                to_send, report, max_concurrency, lambda indexes: _record(progress, batch, indexes)
            )
        if report.failed:
            raise _batch_error(report, resumable=progress is not None) from next(iter(report.failed.values()))
        if progress is not None:
            progress.batch_completed(batch)
        return report.as_dict()

    def exit(self, triggering_id: str | list[str], entrance_id: str | None = None) -> dict[str, Any]:
        """Exit in-flight users who entered with ``entrance_id`` (or with none); return Airship's answer."""
        payload = _without_none(triggering_id=triggering_id, entrance_id=entrance_id)
        validate_exit_payload(payload)
        # Exiting twice is harmless, so every transient failure is resent.
        return self._post(_Endpoint(EXIT_PATH, True, JourneysUnavailableError, _MAYBE_EXITED), payload)

    def test_connection(self) -> tuple[bool, str]:
        """Fetch an OAuth token and nothing else: proves the credentials without touching any Sequence."""
        try:
            self.tokens.get()
        except Exception as err:
            return False, str(err)
        return (
            True,
            f"Got an OAuth token for app key {self.settings.app_key!r} from {self.settings.oauth_url}",
        )

    def _validated_chunk_body(
        self,
        chunk: Chunk,
        selector: str,
        triggering_id: str | list[str],
        entrance_id: str | None,
        global_attributes: dict[str, Any] | None,
    ) -> bytes:
        payload = _without_none(
            audience={selector: list(chunk.ids)},
            triggering_id=triggering_id,
            entrance_id=entrance_id,
            global_attributes=global_attributes,
        )
        violations = payload_violations("trigger", payload)
        if violations:
            raise JourneysPayloadError(
                "trigger",
                [(_position_in_ids(path, selector, chunk), reason) for path, reason in violations],
                where=f" for chunk {chunk.index} ({chunk.span})",
            )
        return encode_payload(payload)

    def _send_chunks(
        self,
        to_send: list[tuple[Chunk, bytes]],
        report: BatchReport,
        max_concurrency: int,
        record: Callable[[list[int]], None],
    ) -> None:
        """Keeps up to ``max_concurrency`` chunks in flight; after a failure, sends no new chunk."""
        endpoint = self._trigger_endpoint
        pending = list(reversed(to_send))
        in_flight: dict[Future[dict[str, Any]], Chunk] = {}
        progress_log = _ProgressLog(report, len(to_send))
        log.info(
            "Batch: sending %d chunks of up to %d %s ids to POST %s%s, %d at a time",
            len(to_send),
            len(to_send[0][0].ids),
            report.selector,
            self.settings.base_url,
            endpoint.path,
            max_concurrency,
        )
        with ThreadPoolExecutor(max_concurrency, thread_name_prefix="journeys-batch") as pool:

            def fill_free_slots() -> None:
                while pending and not report.failed and len(in_flight) < max_concurrency:
                    chunk, body = pending.pop()
                    in_flight[pool.submit(self._send_body, endpoint, body)] = chunk

            fill_free_slots()
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                accepted = []
                for future in done:
                    chunk = in_flight.pop(future)
                    if _settle(future, chunk, report):
                        accepted.append(chunk.index)
                # Refilled before recording, so requests keep flowing while the progress is written.
                fill_free_slots()
                if accepted:
                    # From this thread only, so a progress store need not be thread-safe; chunks that
                    # finished together are recorded in one write.
                    record(accepted)
                    progress_log.chunks_accepted()

    @property
    def _trigger_endpoint(self) -> _Endpoint:
        return _Endpoint(TRIGGER_PATH, self.retry_server_errors, JourneysOutcomeUnknownError, _MAYBE_ENROLLED)

    def _post(self, endpoint: _Endpoint, payload: dict[str, Any]) -> dict[str, Any]:
        body = encode_payload(payload)
        if self.dry_run:
            log.warning("Dry run, nothing sent: POST %s %s", endpoint.path, body.decode())
            return {"dry_run": True, "path": endpoint.path, "body": payload}
        log.info("POST %s%s %s", self.settings.base_url, endpoint.path, body.decode())
        return self._send_body(endpoint, body)

    def _send_body(self, endpoint: _Endpoint, body: bytes) -> dict[str, Any]:
        """POST ``body`` under ``endpoint``'s resend rules."""
        url = f"{self.settings.base_url}{endpoint.path}"
        budget = RetryBudget(self.max_retry_wait)
        refreshed_token = False
        while True:
            token = self.tokens.get()
            try:
                response = self.session.post(
                    url,
                    data=body,
                    headers=self._headers(token),
                    timeout=self.settings.timeout,
                    # Per request, so that REQUESTS_CA_BUNDLE cannot override the connection's choice.
                    verify=self.settings.verify,
                    allow_redirects=False,
                )
            except requests.RequestException as err:
                resend = _after_transport_error(endpoint, err)
            else:
                if response.status_code == 401 and not refreshed_token:
                    log.warning(
                        "POST %s answered 401; fetching a new token and resending once", endpoint.path
                    )
                    self.tokens.invalidate(token)
                    refreshed_token = True
                    continue
                if 200 <= response.status_code < 300:
                    return _success_body(endpoint, response)
                _log_failed_response(endpoint.path, response)
                resend = _after_status(endpoint, response)
            wait = budget.next_wait(resend.requested_wait)
            if wait is None:
                raise resend.give_up(
                    f"POST {endpoint.path} failed: {resend.reason}. Gave up after {budget.elapsed:.1f} s and "
                    f"{budget.resends} resend(s) (max_retry_wait={self.max_retry_wait:g} s). {resend.consequence}"
                )
            if self.defer_waits_longer_than is not None and wait > self.defer_waits_longer_than:
                log.warning(
                    "POST %s: %s; deferring for %.1f s before resending", endpoint.path, resend.reason, wait
                )
                raise JourneysWaitRequested(wait, budget.elapsed)
            log.warning("POST %s: %s; resending in %.1f s", endpoint.path, resend.reason, wait)
            budget.wait(wait)

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": AIRSHIP_ACCEPT,
            "Content-Type": "application/json",
            "X-UA-Appkey": self.settings.app_key,
        }


def _ignore_netrc(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The session's default auth: none. Without a default, requests would look up ~/.netrc on every call
    and put a matching entry's password in place of the Bearer token (or add it to the assertion grant)."""
    return request


def _required_bool(name: str, value: object) -> bool:
    # A string such as "False" is truthy: taken as given, it would turn resends on silently.
    if not isinstance(value, bool):
        raise JourneysArgumentError(f"{name} is {value!r}; it must be True or False")
    return value


def _required_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise JourneysArgumentError(f"{name} is {value!r}; it must be a finite number of seconds, 0 or more")
    return float(value)


def _check_batch_arguments(
    selector: object, ids: object, chunk_size: object, max_concurrency: object
) -> None:
    # A string is a Sequence too: taken as given, "abc" would enroll the ids "a", "b" and "c".
    if not isinstance(selector, str):
        raise JourneysArgumentError(
            f"selector is {selector!r}; it must be a selector name such as 'named_user'"
        )
    if not isinstance(ids, list | tuple):
        raise JourneysArgumentError(f"ids is a {type(ids).__name__}; it must be a list of ids")
    repeats = repeated_ids(ids)
    if repeats:
        raise JourneysArgumentError(
            f"ids holds {len(repeats)} repeated id(s), which would be enrolled twice: "
            f"{describe_repeats(ids, repeats)}"
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise JourneysArgumentError(f"chunk_size is {chunk_size!r}; it must be a whole number, 1 or more")
    if (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or not 1 <= max_concurrency <= MAX_CONCURRENCY
    ):
        raise JourneysArgumentError(
            f"max_concurrency is {max_concurrency!r}; it must be a whole number from 1 to {MAX_CONCURRENCY}"
        )


def _position_in_ids(path: str, selector: str, chunk: Chunk) -> str:
    """``$.audience.named_user[5]`` of chunk 2 is ``ids[2005]``: where the user can find the bad id."""
    match = re.fullmatch(rf"\$\.audience\.{re.escape(selector)}\[(\d+)\]", path)
    return f"ids[{chunk.first + int(match.group(1))}]" if match else path


def _record(progress: BatchProgress | None, batch: str, indexes: list[int]) -> None:
    if progress is not None:
        progress.chunks_accepted(batch, indexes)


def _settle(future: Future[dict[str, Any]], chunk: Chunk, report: BatchReport) -> bool:
    """Put a finished chunk's answer or error in the report; True when Airship accepted it."""
    try:
        report.accepted[chunk.index] = future.result()
    except Exception as err:
        report.failed[chunk.index] = err
        log.error("Batch: chunk %d (%s) failed: %s", chunk.index, chunk.span, err)
        return False
    return True


def _batch_error(report: BatchReport, *, resumable: bool) -> JourneysBatchIncompleteError:
    # Only failures known to have accepted nothing leave the batch retryable; anything else decides for it.
    retryable = all(isinstance(error, _NOTHING_ACCEPTED) for error in report.failed.values())
    error_type = JourneysBatchIncompleteError if retryable else JourneysBatchFailedError
    rerun = (
        "a rerun sends only the chunks not accepted"
        if resumable
        else "without a progress store nothing was recorded, so a rerun would resend every chunk"
    )
    next_step = (
        f"Nothing in doubt was sent; {rerun}."
        if retryable
        else f"Check the Sequence for the failed chunks before rerunning; {rerun}."
    )
    return error_type(f"Batch trigger incomplete. {report.describe_failure()}\n{next_step}", report)


_NOTHING_ACCEPTED = (JourneysRateLimitError, JourneysUnavailableError, JourneysWaitRequested)


class _ProgressLog:
    """Logs a batch's progress at every tenth of its chunks or every 30 s, whichever comes first."""

    INTERVAL_SECONDS = 30.0

    def __init__(self, report: BatchReport, sending: int) -> None:
        self.report = report
        self.sending = sending
        self.started = self.last_logged = time.monotonic()
        self.tenths_logged = 0

    def chunks_accepted(self) -> None:
        now = time.monotonic()
        sent = len(self.report.accepted)
        tenths = sent * 10 // self.sending
        if tenths == self.tenths_logged and now - self.last_logged < self.INTERVAL_SECONDS:
            return
        self.tenths_logged, self.last_logged = tenths, now
        ids = self.report.ids_in(self.report.accepted.keys())
        log.info(
            "Batch: %d of %d chunks accepted (%d ids by this try, %.0f ids/s)",
            sent + len(self.report.previously_accepted),
            len(self.report.chunks),
            ids,
            ids / max(now - self.started, 1e-9),
        )


def _without_none(**fields: Any) -> dict[str, Any]:
    """Top-level arguments left as None are omitted; nested values are sent exactly as given."""
    return {key: value for key, value in fields.items() if value is not None}


def _never_sent(err: requests.RequestException) -> bool:
    """True for failures before the request left this machine: refused, DNS, connect timeout."""
    if isinstance(err, requests.ConnectTimeout):
        return True
    cause = err.args[0] if err.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


def _certificate_rejected(err: requests.RequestException) -> bool:
    """True when TLS failed because the server's certificate did not verify: before anything was sent.

    Other TLS errors can also happen while reading the answer, after the request went out.
    """
    cause = err.args[0] if err.args else None
    reason = cause.reason if isinstance(cause, MaxRetryError) else None
    return any(isinstance(arg, ssl.SSLCertVerificationError) for arg in getattr(reason, "args", ()))


def _after_transport_error(endpoint: _Endpoint, err: requests.RequestException) -> _Resend:
    reason = f"{type(err).__name__}: {err}"
    if _certificate_rejected(err):
        raise JourneysUnavailableError(
            f"POST {endpoint.path}: Airship's TLS certificate did not verify ({reason}); nothing was sent."
        ) from None
    if _never_sent(err):
        return _Resend(
            reason, None, JourneysUnavailableError, "Nothing was sent; Airflow may retry the task."
        )
    return _after_possible_delivery(endpoint, f"{reason}, after the request was sent")


def _after_status(endpoint: _Endpoint, response: requests.Response) -> _Resend:
    status = response.status_code
    if status == 429:
        return _Resend(
            "Airship rate limited it (HTTP 429)",
            retry_after_seconds(response.headers.get("Retry-After")),
            JourneysRateLimitError,
            "Airship accepted nothing; Airflow may retry the task later.",
        )
    if status >= 500:
        return _after_possible_delivery(endpoint, _describe_error(response))
    if status == 401:
        raise JourneysAuthError(
            f"Airship refused a freshly fetched token for POST {endpoint.path} ({_describe_error(response)}). "
            "Check that the OAuth client has the 'jny' scope and belongs to the connection's app key."
        )
    if 300 <= status < 400:
        # Not followed: requests would resend the POST as a GET, and the body could go to another host.
        raise JourneysApiError(
            f"POST {endpoint.path} was redirected (HTTP {status} to {response.headers.get('Location')!r}) and "
            "the redirect was not followed; set the connection's host to the Journeys API's own address.",
            status_code=status,
            body=_body(response),
        )
    raise JourneysApiError(
        f"Airship rejected POST {endpoint.path} with {_describe_error(response)}",
        status_code=status,
        body=_body(response),
    )


def _after_possible_delivery(endpoint: _Endpoint, reason: str) -> _Resend:
    """A failure after which Airship may have acted on the request: resend only where that is harmless."""
    if endpoint.resend_after_sending:
        return _Resend(reason, None, endpoint.maybe_done_error, endpoint.maybe_done)
    raise endpoint.maybe_done_error(f"POST {endpoint.path} failed: {reason}. {endpoint.maybe_done}")


_MAYBE_ENROLLED = (
    "The enrollment may or may not have happened. A trigger is not resent after such a failure unless "
    "retry_server_errors=True, because a second trigger may enroll the same users twice; check the Sequence "
    "before running the task again."
)
_MAYBE_EXITED = "The exit may or may not have happened; exiting again is harmless, so Airflow may retry."


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:_SHOWN_BODY_CHARS]


def _success_body(endpoint: _Endpoint, response: requests.Response) -> dict[str, Any]:
    body = _body(response)
    if not isinstance(body, dict):
        raise endpoint.maybe_done_error(
            f"POST {endpoint.path} answered HTTP {response.status_code} with {body!r}, not Airship's JSON "
            f"object; it may not have reached Airship. {endpoint.maybe_done}"
        )
    return body


def _describe_error(response: requests.Response) -> str:
    """Status, ``error_code``, ``error`` and ``details`` of an Airship error body (text when it is not JSON)."""
    body = _body(response)
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


def _log_failed_response(path: str, response: requests.Response) -> None:
    # Airship asks that every non-2xx answer be logged with its headers.
    log.warning(
        "POST %s answered HTTP %s, headers %s, body %s",
        path,
        response.status_code,
        dict(response.headers),
        response.text[:_SHOWN_BODY_CHARS],
    )
