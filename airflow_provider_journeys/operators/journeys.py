"""Operators that enroll audiences into Airship Sequences and exit them.

Imported whenever a DAG file using them is parsed, so at import time this module loads only Airflow's base
operator (through ``airflow.providers.common.compat.sdk``, which finds it on every Airflow line) and the
provider's ``defaults``; the hook (and ``requests``), the validator, the batch machinery and even
the exception classes load inside ``execute``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_journeys.defaults import (
    DEFAULT_CONN_ID,
    DEFAULT_DEFER_WAITS_LONGER_THAN_SECONDS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRY_WAIT_SECONDS,
    MAX_IDS_PER_AUDIENCE,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context

    # For the type checker only, which runs against the newest Airflow (Airflow 2.11 keeps it in
    # airflow.models.mappedoperator; nothing imports it at run time).
    from airflow.sdk.definitions.mappedoperator import OperatorPartial

    from airflow_provider_journeys.batch import BatchProgress
    from airflow_provider_journeys.hooks.journeys import JourneysHook

# ``[journeys] dry_run`` (env AIRFLOW__JOURNEYS__DRY_RUN) turns dry runs on for a whole deployment.
DRY_RUN_CONFIG = ("journeys", "dry_run")
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})

# Each parameter is declared on exactly one class below; ``.partial()``/``.expand()`` and
# ``default_args`` find it there, because Airflow looks along the whole class hierarchy.


class _JourneysOperator(BaseOperator):
    """What every Journeys operator takes: the connection, the retry budget, dry runs and body logging; and
    its hook."""

    # Each operator's template_fields ends with these.
    template_fields: Sequence[str] = ("airship_conn_id", "dry_run_setting", "log_body")

    # Exits are always resent; _EnrollingOperator makes this an argument of the operators that trigger.
    retry_server_errors = False

    def __init__(
        self,
        *,
        airship_conn_id: str = DEFAULT_CONN_ID,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        dry_run: bool | str | None = None,
        log_body: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.airship_conn_id = airship_conn_id
        self.max_retry_wait = max_retry_wait
        # Not ``self.dry_run``: that name is BaseOperator's dry_run() method.
        self.dry_run_setting = dry_run
        self.log_body = log_body

    @cached_property
    def hook(self) -> JourneysHook:
        # Imported here, not at the top: the hook pulls in requests, which DAG parsing must not pay for.
        from airflow_provider_journeys.hooks.journeys import JourneysHook

        return JourneysHook(
            self.airship_conn_id,
            retry_server_errors=self.retry_server_errors,
            max_retry_wait=self.max_retry_wait,
            dry_run=self.dry_run_in_effect(),
            log_body=_rendered_bool("log_body", self.log_body),
            defer_waits_longer_than=self._defer_waits_longer_than(),
        )

    def on_kill(self) -> None:
        """Airflow stops the task (a kill, a timeout): send nothing more; a request on the wire finishes."""
        if "hook" in self.__dict__:  # a hook not built yet has sent nothing
            self.hook.stop()

    def dry_run_in_effect(self) -> bool:
        """The rendered ``dry_run`` argument, or the deployment's ``[journeys] dry_run`` when it is None."""
        if self.dry_run_setting is None:
            # Read as text, not with conf.getboolean: the setting takes the same words as the argument.
            return _rendered_bool("[journeys] dry_run", conf.get(*DRY_RUN_CONFIG, fallback="False"))
        return _rendered_bool("dry_run", self.dry_run_setting)

    def _defer_waits_longer_than(self) -> float | None:
        return None


class _EnrollingOperator(_JourneysOperator):
    """Adds what only operators that enroll people take: whether a trigger in doubt may be resent."""

    def __init__(self, *, retry_server_errors: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_server_errors = retry_server_errors


class _DeferrableOperator(_JourneysOperator):
    """Adds waiting out long ``Retry-After`` answers on the triggerer instead of on a worker."""

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        defer_waits_longer_than: float = DEFAULT_DEFER_WAITS_LONGER_THAN_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.defer_waits_longer_than = defer_waits_longer_than

    def execute(self, context: Context) -> dict[str, Any]:
        # The hook validates the rendered payload before it fetches a token or sends anything.
        return self._send_or_defer(waited=0.0)

    def resume_after_wait(self, context: Context, event: Any = None, waited: float = 0.0) -> dict[str, Any]:
        """Called when the timer trigger fires: send again, with what is left of the retry budget."""
        self.hook.max_retry_wait = max(0.0, self.hook.max_retry_wait - waited)
        return self._send_or_defer(waited)

    def _send_or_defer(self, waited: float) -> dict[str, Any]:
        from airflow_provider_journeys.exceptions import JourneysWaitRequested

        try:
            return self._send()
        except JourneysWaitRequested as wait:
            # Only the wait runs on the triggerer; the POST always runs here, on a worker.
            from airflow.providers.common.compat.standard.triggers import TimeDeltaTrigger

            self.defer(
                trigger=TimeDeltaTrigger(timedelta(seconds=wait.seconds)),
                method_name="resume_after_wait",
                kwargs={"waited": waited + wait.waited + wait.seconds},
            )

    def _send(self) -> dict[str, Any]:
        raise NotImplementedError

    def _defer_waits_longer_than(self) -> float | None:
        return self.defer_waits_longer_than if self.deferrable else None


class JourneysTriggerOperator(_EnrollingOperator, _DeferrableOperator):
    """
    Enroll an audience into the Airship Sequences whose API Entrance trigger is ``triggering_id``.

    The rendered payload is validated against the bundled JSON Schema before anything is sent; a bad
    payload fails the task with :class:`~airflow_provider_journeys.exceptions.JourneysPayloadError`
    without retries. Returns Airship's response body (pushed as the ``return_value`` XCom).

    :param audience: Audience selector, e.g. ``{"segment": "<segment-id>"}``. (templated)
    :param triggering_id: API Entrance trigger id, or a list of up to 10. (templated)
    :param entrance_id: Identifies this enrollment, e.g. ``"daily-{{ ds_nodash }}"``, so that it can be
        exited later without touching other enrollments. (templated)
    :param global_attributes: Personalization data for the Sequence's messages. (templated)
    :param airship_conn_id: The ``airship`` connection to use. (templated)
    :param retry_server_errors: Resend after a 5xx answer or a lost response. Off by default, because a
        resent trigger may enroll the same users twice.
    :param max_retry_wait: The most seconds to spend resending (rate limits, outages) before failing.
    :param dry_run: Render and validate, log and return the body that would be sent, and send nothing
        (no token either). None follows the deployment's ``[journeys] dry_run`` setting. (templated; the
        rendered-template view shows it as ``dry_run_setting``, since ``dry_run`` is a BaseOperator method)
    :param log_body: Log the whole body sent (user ids and attributes included) instead of a summary
        of it (selector kinds, how many ids, the Sequence and entrance ids, the size). (templated)
    :param deferrable: When Airship asks to wait longer than ``defer_waits_longer_than`` seconds (a long
        ``Retry-After``), free the worker slot and wait on the triggerer, then send again from a worker.
        Defaults to ``[operators] default_deferrable``.
    :param defer_waits_longer_than: The shortest wait worth deferring for, in seconds.
    """

    template_fields: Sequence[str] = (
        "audience",
        "triggering_id",
        "entrance_id",
        "global_attributes",
        *_JourneysOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "audience": "json",
        "triggering_id": "json",
        "global_attributes": "json",
    }
    ui_color = "#c8e6ff"

    def __init__(
        self,
        *,
        audience: dict[str, Any],
        triggering_id: str | list[str],
        entrance_id: str | None = None,
        global_attributes: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.audience = audience
        self.triggering_id = triggering_id
        self.entrance_id = entrance_id
        self.global_attributes = global_attributes

    def _send(self) -> dict[str, Any]:
        return self.hook.trigger(
            audience=self.audience,
            triggering_id=self.triggering_id,
            entrance_id=self.entrance_id,
            global_attributes=self.global_attributes,
        )


class JourneysExitOperator(_DeferrableOperator):
    """
    Exit in-flight users from the Airship Sequences whose API Entrance trigger is ``triggering_id``.

    With ``entrance_id``, only users who entered with that id leave; without it, only users who entered
    without an id leave. Resent on transient failures (exiting twice is harmless). Returns Airship's
    response body (pushed as the ``return_value`` XCom).

    :param triggering_id: API Entrance trigger id, or a list of up to 10. (templated)
    :param entrance_id: The enrollment to exit, e.g. ``"daily-{{ macros.ds_format(macros.ds_add(ds, -7),
        '%Y-%m-%d', '%Y%m%d') }}"``. (templated)
    :param airship_conn_id: The ``airship`` connection to use. (templated)
    :param max_retry_wait: The most seconds to spend resending (rate limits, outages) before failing.
    :param dry_run: Render and validate, log and return the body that would be sent, and send nothing
        (no token either). None follows the deployment's ``[journeys] dry_run`` setting. (templated; the
        rendered-template view shows it as ``dry_run_setting``, since ``dry_run`` is a BaseOperator method)
    :param log_body: Log the whole body sent (user ids and attributes included) instead of a summary
        of it (selector kinds, how many ids, the Sequence and entrance ids, the size). (templated)
    :param deferrable: Wait out long ``Retry-After`` answers on the triggerer instead of on a worker, as
        for :class:`JourneysTriggerOperator`. Defaults to ``[operators] default_deferrable``.
    :param defer_waits_longer_than: The shortest wait worth deferring for, in seconds.
    """

    template_fields: Sequence[str] = ("triggering_id", "entrance_id", *_JourneysOperator.template_fields)
    template_fields_renderers: ClassVar[dict[str, str]] = {"triggering_id": "json"}
    ui_color = "#ffe0c8"

    def __init__(
        self,
        *,
        triggering_id: str | list[str],
        entrance_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.triggering_id = triggering_id
        self.entrance_id = entrance_id

    def _send(self) -> dict[str, Any]:
        return self.hook.exit(triggering_id=self.triggering_id, entrance_id=self.entrance_id)


class JourneysBatchTriggerOperator(_EnrollingOperator):
    """
    Enroll a list of ids of any length, e.g. named users from a warehouse query, in one task.

    The ids are split into audiences of ``chunk_size`` (Airship takes at most 1000 ids per audience), every
    chunk is validated before anything is sent, and up to ``max_concurrency`` chunks are sent at once over
    one token and one connection pool. Each chunk Airship accepts is recorded in an Airflow Variable, so a
    retry of the task (or a rerun after clearing it) sends only the chunks not yet accepted; the Variable is
    deleted when the batch completes. Returns counts and Airship's operation ids (the ``return_value``
    XCom). A failure raises
    :class:`~airflow_provider_journeys.exceptions.JourneysBatchIncompleteError` (Airflow may retry) or
    :class:`~airflow_provider_journeys.exceptions.JourneysBatchFailedError` (no retries: a chunk may have
    been enrolled, or cannot be), whose message lists what happened to every chunk.

    :param ids: The ids to enroll, all of the ``selector`` type; usually an upstream task's output
        (``XComArg``). Repeated ids are rejected: they would be enrolled twice. (templated)
    :param selector: The audience selector the ids are for: ``"named_user"``, ``"channel"``,
        ``"ios_channel"``, ``"android_channel"``, ``"amazon_channel"``, ``"open_channel"``, ``"tag"`` or
        ``"segment"``. (templated)
    :param triggering_id: API Entrance trigger id, or a list of up to 10. (templated)
    :param entrance_id: Identifies this enrollment for a later exit, e.g. ``"daily-{{ ds_nodash }}"``.
        (templated)
    :param global_attributes: Personalization data, sent with every chunk. (templated)
    :param chunk_size: Ids per request, at most 1000.
    :param max_concurrency: Requests in flight at once, 1 to 16.
    :param airship_conn_id: The ``airship`` connection to use. (templated)
    :param retry_server_errors: Resend a chunk after a 5xx answer or a lost response. Off by default,
        because a resent chunk may enroll the same users twice.
    :param max_retry_wait: The most seconds to spend resending one chunk (rate limits, outages).
    :param dry_run: Render and validate every chunk, log the first, and send nothing. None follows the
        deployment's ``[journeys] dry_run`` setting. (templated; shown as ``dry_run_setting``)
    :param log_body: Log the whole body of each chunk sent (user ids included); by default the batch logs
        its progress only. (templated)

    ``deferrable`` and ``defer_waits_longer_than`` are refused: a batch waits out ``Retry-After`` on the
    worker, because its chunks in flight share one token and one connection pool.
    """

    template_fields: Sequence[str] = (
        "ids",
        "selector",
        "triggering_id",
        "entrance_id",
        "global_attributes",
        *_JourneysOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "ids": "json",
        "triggering_id": "json",
        "global_attributes": "json",
    }
    ui_color = "#a8d4ff"

    def __init__(
        self,
        *,
        ids: list[str],
        selector: str = "named_user",
        triggering_id: str | list[str],
        entrance_id: str | None = None,
        global_attributes: dict[str, Any] | None = None,
        chunk_size: int = MAX_IDS_PER_AUDIENCE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        **kwargs: Any,
    ) -> None:
        _refuse_unsupported(kwargs)
        super().__init__(**kwargs)
        self.ids = ids
        self.selector = selector
        self.triggering_id = triggering_id
        self.entrance_id = entrance_id
        self.global_attributes = global_attributes
        self.chunk_size = chunk_size
        self.max_concurrency = max_concurrency

    def execute(self, context: Context) -> dict[str, Any]:
        if isinstance(self.ids, str):
            from airflow_provider_journeys.exceptions import JourneysArgumentError

            raise JourneysArgumentError(
                "ids rendered to a string, not a list: pass the upstream task's output (e.g. "
                "ids=fetch_ids.output) or set render_template_as_native_obj=True on the DAG"
            )
        hook = self.hook
        return hook.trigger_batch(
            selector=self.selector,
            ids=self.ids,
            triggering_id=self.triggering_id,
            entrance_id=self.entrance_id,
            global_attributes=self.global_attributes,
            chunk_size=self.chunk_size,
            max_concurrency=self.max_concurrency,
            progress=None if hook.dry_run else self.progress_store(context),
        )

    def progress_store(self, context: Context) -> BatchProgress:
        """Where this task instance remembers accepted chunks and completed batches across its tries: an
        Airflow Variable. Override to keep them elsewhere (any :class:`~airflow_provider_journeys.batch.BatchProgress`)."""
        from airflow_provider_journeys.batch import VariableBatchProgress

        return VariableBatchProgress.for_task_instance(context)

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """As :meth:`BaseOperator.partial`, refusing at DAG parse what this operator does not support."""
        _refuse_unsupported(kwargs)
        return super().partial(**kwargs)


def _rendered_bool(name: str, value: object) -> bool:
    """A flag as given, or as a template rendered it ("true", "False", "yes", "0", ...)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _TRUE_WORDS | _FALSE_WORDS:
        from airflow_provider_journeys.exceptions import JourneysArgumentError

        raise JourneysArgumentError(f"{name} is {value!r}; it must render to true or false")
    return word in _TRUE_WORDS


# Batch waits run on the worker: the chunks in flight share one token and one pool, which a deferral would
# end; and a long wait on one chunk need not hold back the others.
_NOT_FOR_BATCHES = ("deferrable", "defer_waits_longer_than")


def _refuse_unsupported(kwargs: dict[str, Any]) -> None:
    given = [name for name in _NOT_FOR_BATCHES if name in kwargs]
    if given:
        from airflow_provider_journeys.exceptions import JourneysArgumentError

        raise JourneysArgumentError(
            f"JourneysBatchTriggerOperator does not take {' or '.join(given)}: its waits run on the worker, "
            "between chunks that share one token and one connection pool. Remove the argument."
        )
