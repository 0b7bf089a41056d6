"""JourneysHook: OAuth-authenticated calls to Airship's ``/api/journeys/trigger`` and ``/api/journeys/exit``."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import replace
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

import requests
from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_journeys.auth import OAuthTokens
from airflow_provider_journeys.batch import NoProgress, send_batch
from airflow_provider_journeys.connection import AirshipSettings
from airflow_provider_journeys.connection_form import form_widgets, ui_field_behaviour
from airflow_provider_journeys.defaults import (
    DEFAULT_CONN_ID,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRY_WAIT_SECONDS,
    MAX_IDS_PER_AUDIENCE,
)
from airflow_provider_journeys.exceptions import (
    JourneysArgumentError,
    JourneysConnectionConfigError,
    JourneysStoppedError,
    JourneysWaitRequested,
)
from airflow_provider_journeys.resend import (
    EXIT,
    EXIT_PATH,
    SHOWN_BODY_CHARS,
    TRIGGER,
    TRIGGER_PATH,
    VERDICTS,
    Endpoint,
    Resend,
    RetryBudget,
    accepted_body,
    after_status,
    after_transport_error,
    interrupted,
)
from airflow_provider_journeys.summary import body_summary
from airflow_provider_journeys.transport import new_session
from airflow_provider_journeys.validation import PayloadKind, build_payload, validated_body

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_journeys.batch import BatchProgress

log = logging.getLogger(__name__)

__all__ = ["EXIT_PATH", "TRIGGER_PATH", "JourneysHook"]

AIRSHIP_ACCEPT = "application/vnd.urbanairship+json; version=3"


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
    :param log_body: Log each body sent in full (user ids and attributes included). By default the log
        shows a summary: the selector kinds and how many ids each names, the Sequence and entrance ids,
        and the size; the full body is logged at DEBUG.
    :param defer_waits_longer_than: Instead of sleeping longer than this many seconds before a resend,
        raise :class:`~airflow_provider_journeys.exceptions.JourneysWaitRequested` (the deferrable
        operators wait on the triggerer instead). None always sleeps.
    """

    conn_name_attr = "airship_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "airship"
    hook_name = "Airship"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields of the connection form (Airflow 2.11 to 3.1; later lines read provider info)."""
        return form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder standard fields (Airflow 2.11 to 3.1)."""
        return ui_field_behaviour()

    def __init__(
        self,
        airship_conn_id: str = default_conn_name,
        *,
        retry_server_errors: bool = False,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        dry_run: bool = False,
        log_body: bool = False,
        defer_waits_longer_than: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.airship_conn_id = airship_conn_id
        self.retry_server_errors = _required_bool("retry_server_errors", retry_server_errors)
        self.max_retry_wait = _required_seconds("max_retry_wait", max_retry_wait)
        self.dry_run = _required_bool("dry_run", dry_run)
        self.log_body = _required_bool("log_body", log_body)
        self.defer_waits_longer_than = (
            None
            if defer_waits_longer_than is None
            else _required_seconds("defer_waits_longer_than", defer_waits_longer_than)
        )
        self._stop = threading.Event()
        # The stop of the batch in progress, if any: set when a chunk fails too, so it is its own.
        self._batch_stop: threading.Event | None = None

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
        """One session per hook, so its connection pool and TLS sessions are reused across calls; each request
        ends by its deadline (see :mod:`airflow_provider_journeys.transport`)."""
        return new_session(loopback=self.settings.loopback)

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
        payload = build_payload(
            audience=audience,
            triggering_id=triggering_id,
            entrance_id=entrance_id,
            global_attributes=global_attributes,
        )
        return self._post("trigger", self._trigger, payload)

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
        stop = threading.Event()
        self._batch_stop = stop
        if self._stop.is_set():
            stop.set()
        return send_batch(
            selector=selector,
            ids=ids,
            triggering_id=triggering_id,
            entrance_id=entrance_id,
            global_attributes=global_attributes,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            progress=NoProgress() if progress is None else progress,
            send=None if self.dry_run else partial(self._send_body, self._trigger, stop=stop),
            stop=stop,
            # The token is fetched once, before the threads start (and never in a dry run).
            before_sending=lambda: self.tokens.get(RetryBudget(self.max_retry_wait, stop)),
        )

    def exit(self, triggering_id: str | list[str], entrance_id: str | None = None) -> dict[str, Any]:
        """Exit in-flight users who entered with ``entrance_id`` (or with none); return Airship's answer."""
        payload = build_payload(triggering_id=triggering_id, entrance_id=entrance_id)
        return self._post("exit", EXIT, payload)

    def stop(self) -> None:
        """Send nothing more: waits before a resend end at once, and no new request (or chunk) starts.

        A request already on the wire finishes. Called from the operators' ``on_kill``; safe from a
        signal handler or another thread.
        """
        self._stop.set()
        if self._batch_stop is not None:
            self._batch_stop.set()

    def test_connection(self) -> tuple[bool, str]:
        """Fetch an OAuth token and nothing else: proves the credentials without touching any Sequence."""
        try:
            self.tokens.get()
        except JourneysConnectionConfigError as err:
            return False, _about_the_connection(str(err), self.airship_conn_id)
        except Exception as err:
            return False, str(err)
        return (
            True,
            f"Got an OAuth token for app key {self.settings.app_key!r} from {self.settings.oauth_url}",
        )

    @cached_property
    def _trigger(self) -> Endpoint:
        return replace(TRIGGER, resend_after_sending=True) if self.retry_server_errors else TRIGGER

    def _post(self, kind: PayloadKind, endpoint: Endpoint, payload: dict[str, Any]) -> dict[str, Any]:
        # Validated before anything else, the token fetch included.
        body = validated_body(kind, payload)
        summary = body_summary(payload, len(body))
        if self.dry_run:
            log.warning("Dry run, nothing sent: POST %s: %s", endpoint.path, self._described(body, summary))
            return {"dry_run": True, "path": endpoint.path, "body": payload}
        return self._send_body(endpoint, body, summary=summary)

    def _described(self, body: bytes, summary: str | None) -> str | None:
        """What the log says of ``body``: all of it when asked for, else the summary (None: say nothing)."""
        if self.log_body:
            return body.decode()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Body: %s", body.decode())
        return summary

    def _send_body(
        self,
        endpoint: Endpoint,
        body: bytes,
        stop: threading.Event | None = None,
        summary: str | None = None,
    ) -> dict[str, Any]:
        """POST ``body`` under ``endpoint``'s resend rules; a set ``stop`` (the hook's own by default) ends
        the waits before resends and sends nothing more. Once accepted, logs ``summary`` (or the body, with
        ``log_body``): a line about what was sent, after it was."""
        stop = self._stop if stop is None else stop
        url = f"{self.settings.base_url}{endpoint.path}"
        budget = RetryBudget(self.max_retry_wait, stop)
        may_refresh_token = True
        while True:
            token = self.tokens.get(budget)
            if stop.is_set():
                raise JourneysStoppedError(f"POST {endpoint.path}: the task was stopped; nothing was sent.")
            try:
                outcome = self._attempt(
                    endpoint, url, body, token, summary, may_refresh_token=may_refresh_token
                )
            except VERDICTS:
                raise
            except BaseException as interruption:  # from the request's start to its verdict, with no gap
                raise interrupted(endpoint, interruption) from interruption
            if isinstance(outcome, dict):
                return outcome
            if outcome is None:
                may_refresh_token = False
                continue
            resend = outcome
            wait = budget.next_wait(resend.requested_wait)
            if wait is None:
                raise budget.exhausted(endpoint, resend)
            if self.defer_waits_longer_than is not None and wait > self.defer_waits_longer_than:
                log.warning(
                    "POST %s: %s; deferring for %.1f s before resending", endpoint.path, resend.reason, wait
                )
                raise JourneysWaitRequested(wait, budget.elapsed)
            log.warning("POST %s: %s; resending in %.1f s", endpoint.path, resend.reason, wait)
            if not budget.wait(wait):
                raise budget.stopped(endpoint, resend)

    def _attempt(
        self,
        endpoint: Endpoint,
        url: str,
        body: bytes,
        token: str,
        summary: str | None,
        *,
        may_refresh_token: bool,
    ) -> dict[str, Any] | Resend | None:
        """One POST and its verdict: Airship's answer, how to resend, or None to resend at once with a new
        token; raises when the failure must not be resent."""
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
            return after_transport_error(endpoint, err, url)
        if response.status_code == 401 and may_refresh_token:
            log.warning("POST %s answered 401; fetching a new token and resending once", endpoint.path)
            self.tokens.invalidate(token)
            return None
        if 200 <= response.status_code < 300:
            answer = accepted_body(endpoint, response)
            if (described := self._described(body, summary)) is not None:
                log.info("POST %s answered %s: %s", url, response.status_code, described)
            return answer
        _log_failed_response(endpoint.path, response)
        return after_status(endpoint, response)

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": AIRSHIP_ACCEPT,
            "Content-Type": "application/json",
            "X-UA-Appkey": self.settings.app_key,
        }


def _about_the_connection(message: str, conn_id: str) -> str:
    """``message`` without the connection's id: the UI's Test button tests a copy under a random id, which
    would only puzzle the reader; the field named in the message is what counts."""
    named = f"Connection {conn_id!r}"
    return message.replace(f"{named}: ", "").replace(f"{named} ", "The connection ")


def _required_bool(name: str, value: object) -> bool:
    # A string such as "False" is truthy: taken as given, it would turn resends on silently.
    if not isinstance(value, bool):
        raise JourneysArgumentError(f"{name} is {value!r}; it must be True or False")
    return value


def _required_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise JourneysArgumentError(f"{name} is {value!r}; it must be a finite number of seconds, 0 or more")
    return float(value)


def _log_failed_response(path: str, response: requests.Response) -> None:
    # Airship asks that every non-2xx answer be logged with its headers.
    log.warning(
        "POST %s answered HTTP %s, headers %s, body %s",
        path,
        response.status_code,
        dict(response.headers),
        response.text[:SHOWN_BODY_CHARS],
    )
