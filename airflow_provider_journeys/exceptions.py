"""Errors raised by the Journeys provider.

Subclasses of ``AirflowFailException`` are failures that a task retry cannot fix or must not repeat
(a bad payload, rejected credentials, a trigger that may already have enrolled people); Airflow fails
the task at once instead of retrying it. The others are safe for Airflow's task retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow_provider_journeys.batch import BatchReport


class JourneysPayloadError(AirflowFailException):
    """The payload breaks the bundled JSON Schema (or is not JSON at all); nothing was sent.

    :param violations: ``(json_path, reason)`` pairs, one for every rule the payload breaks.
    """

    SHOWN = 50

    def __init__(self, kind: str, violations: list[tuple[str, str]], *, where: str = "") -> None:
        self.violations = violations
        lines = "\n".join(f"  {path}: {reason}" for path, reason in violations[: self.SHOWN])
        if len(violations) > self.SHOWN:
            lines += f"\n  ... and {len(violations) - self.SHOWN} more (in .violations)"
        super().__init__(f"Invalid Journeys {kind} payload{where}, nothing was sent:\n{lines}")


class JourneysArgumentError(AirflowFailException):
    """An operator argument rendered to a value it cannot take; nothing was sent."""


class JourneysConnectionConfigError(AirflowFailException):
    """The Airship connection is incomplete or malformed; nothing was sent."""


class JourneysAuthError(AirflowFailException):
    """Airship rejected the OAuth credentials or the access token."""


class JourneysApiError(AirflowFailException):
    """Airship answered with a client error (4xx other than 401 and 429); resending cannot help."""

    def __init__(self, message: str, *, status_code: int, body: Any) -> None:
        # Not ``status_code``: AirflowException uses that name for an HTTPStatus of its own.
        self.airship_status = status_code
        self.body = body
        super().__init__(message)


class JourneysOutcomeUnknownError(AirflowFailException):
    """A trigger reached Airship but no answer says whether it was accepted.

    Not retried automatically: a resent trigger may enroll the same users twice.
    """


class JourneysRateLimitError(AirflowException):
    """Airship kept answering 429 for longer than the configured wait; nothing was accepted."""


class JourneysUnavailableError(AirflowException):
    """Airship could not be reached or kept failing, and resending is safe (no enrollment happened)."""


class JourneysStoppedError(AirflowException):
    """The task was stopped (``execution_timeout``, a kill) before this request was sent; nothing was sent."""


class JourneysBatchIncompleteError(AirflowException):
    """Some chunks of a batch failed in ways that accepted nothing (rate limits, outages); a task retry
    resumes with the chunks not yet accepted. ``report`` says what happened to every chunk."""

    def __init__(self, message: str, report: BatchReport) -> None:
        self.report = report
        super().__init__(message)


class JourneysBatchFailedError(JourneysBatchIncompleteError, AirflowFailException):
    """A chunk of a batch failed in a way a retry cannot fix or that may have enrolled its users (see
    ``report``); the task fails without retries, and a manual rerun resends only the chunks not accepted."""


class JourneysWaitRequested(Exception):
    """Airship asked for a wait longer than the hook's ``defer_waits_longer_than``: nothing was accepted.

    Not an Airflow error: the deferrable operators catch it and wait on a timer trigger instead of on the
    worker, then send again. ``waited`` is the time already spent on this request.
    """

    def __init__(self, seconds: float, waited: float) -> None:
        self.seconds = seconds
        self.waited = waited
        super().__init__(f"Airship asked to wait {seconds:.1f} s before resending")
