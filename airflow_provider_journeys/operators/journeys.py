"""Operators that enroll audiences into Airship Sequences and exit them.

Imported whenever a DAG file using them is parsed, so at import time this module loads only ``airflow.sdk``
and the provider's ``defaults``; the hook (and ``requests``), the validator, the batch machinery and even
the exception classes load inside ``execute``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, conf

from airflow_provider_journeys.defaults import (
    DEFAULT_CONN_ID,
    DEFAULT_DEFER_WAITS_LONGER_THAN_SECONDS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRY_WAIT_SECONDS,
    MAX_IDS_PER_AUDIENCE,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

    from airflow_provider_journeys.batch import VariableBatchProgress
    from airflow_provider_journeys.hooks.journeys import JourneysHook

# ``[journeys] dry_run`` (env AIRFLOW__JOURNEYS__DRY_RUN) turns dry runs on for a whole deployment.
DRY_RUN_CONFIG = ("journeys", "dry_run")
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class _JourneysOperator(BaseOperator):
    """What both Journeys operators share: the connection, the retry budget, dry runs, deferral, the hook."""

    def __init__(
        self,
        *,
        airship_conn_id: str,
        max_retry_wait: float,
        dry_run: bool | str | None,
        deferrable: bool,
        defer_waits_longer_than: float,
        retry_server_errors: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.airship_conn_id = airship_conn_id
        self.max_retry_wait = max_retry_wait
        # Not ``self.dry_run``: that name is BaseOperator's dry_run() method.
        self.dry_run_setting = dry_run
        self.deferrable = deferrable
        self.defer_waits_longer_than = defer_waits_longer_than
        self.retry_server_errors = retry_server_errors

    @property
    def hook(self) -> JourneysHook:
        return self._hook(self.max_retry_wait)

    def execute(self, context: Context) -> dict[str, Any]:
        # The hook validates the rendered payload before it fetches a token or sends anything.
        return self._send_or_defer(waited=0.0)

    def resume_after_wait(self, context: Context, event: Any = None, waited: float = 0.0) -> dict[str, Any]:
        """Called when the timer trigger fires: send again, with what is left of the retry budget."""
        return self._send_or_defer(waited)

    def _send_or_defer(self, waited: float) -> dict[str, Any]:
        from airflow_provider_journeys.exceptions import JourneysWaitRequested

        try:
            return self._send(self._hook(max(0.0, self.max_retry_wait - waited)))
        except JourneysWaitRequested as wait:
            # Only the wait runs on the triggerer; the POST always runs here, on a worker.
            from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

            self.defer(
                trigger=TimeDeltaTrigger(timedelta(seconds=wait.seconds)),
                method_name="resume_after_wait",
                kwargs={"waited": waited + wait.waited + wait.seconds},
            )

    def _send(self, hook: JourneysHook) -> dict[str, Any]:
        raise NotImplementedError

    def _hook(self, max_retry_wait: float) -> JourneysHook:
        # Imported here, not at the top: the hook pulls in requests, which DAG parsing must not pay for.
        from airflow_provider_journeys.hooks.journeys import JourneysHook

        return JourneysHook(
            self.airship_conn_id,
            retry_server_errors=self.retry_server_errors,
            max_retry_wait=max_retry_wait,
            dry_run=self.dry_run_in_effect(),
            defer_waits_longer_than=self.defer_waits_longer_than if self.deferrable else None,
        )

    def dry_run_in_effect(self) -> bool:
        """The rendered ``dry_run`` argument, or the deployment's ``[journeys] dry_run`` when it is None."""
        if self.dry_run_setting is None:
            from airflow.sdk import conf

            return conf.getboolean(*DRY_RUN_CONFIG, fallback=False)
        if isinstance(self.dry_run_setting, bool):
            return self.dry_run_setting
        word = str(self.dry_run_setting).strip().lower()
        if word not in _TRUE_WORDS | _FALSE_WORDS:
            from airflow_provider_journeys.exceptions import JourneysArgumentError

            raise JourneysArgumentError(
                f"dry_run is {self.dry_run_setting!r}; it must render to true or false"
            )
        return word in _TRUE_WORDS


class JourneysTriggerOperator(_JourneysOperator):
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
        (no token either). None follows the deployment's ``[journeys] dry_run`` setting. (templated)
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
        "airship_conn_id",
        "dry_run_setting",
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
        airship_conn_id: str = DEFAULT_CONN_ID,
        retry_server_errors: bool = False,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        dry_run: bool | str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        defer_waits_longer_than: float = DEFAULT_DEFER_WAITS_LONGER_THAN_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            airship_conn_id=airship_conn_id,
            max_retry_wait=max_retry_wait,
            dry_run=dry_run,
            deferrable=deferrable,
            defer_waits_longer_than=defer_waits_longer_than,
            retry_server_errors=retry_server_errors,
            **kwargs,
        )
        self.audience = audience
        self.triggering_id = triggering_id
        self.entrance_id = entrance_id
        self.global_attributes = global_attributes

    def _send(self, hook: JourneysHook) -> dict[str, Any]:
        return hook.trigger(
            audience=self.audience,
            triggering_id=self.triggering_id,
            entrance_id=self.entrance_id,
            global_attributes=self.global_attributes,
        )


class JourneysExitOperator(_JourneysOperator):
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
        (no token either). None follows the deployment's ``[journeys] dry_run`` setting. (templated)
    :param deferrable: Wait out long ``Retry-After`` answers on the triggerer instead of on a worker, as
        for :class:`JourneysTriggerOperator`. Defaults to ``[operators] default_deferrable``.
    :param defer_waits_longer_than: The shortest wait worth deferring for, in seconds.
    """

    template_fields: Sequence[str] = ("triggering_id", "entrance_id", "airship_conn_id", "dry_run_setting")
    template_fields_renderers: ClassVar[dict[str, str]] = {"triggering_id": "json"}
    ui_color = "#ffe0c8"

    def __init__(
        self,
        *,
        triggering_id: str | list[str],
        entrance_id: str | None = None,
        airship_conn_id: str = DEFAULT_CONN_ID,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        dry_run: bool | str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        defer_waits_longer_than: float = DEFAULT_DEFER_WAITS_LONGER_THAN_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            airship_conn_id=airship_conn_id,
            max_retry_wait=max_retry_wait,
            dry_run=dry_run,
            deferrable=deferrable,
            defer_waits_longer_than=defer_waits_longer_than,
            **kwargs,
        )
        self.triggering_id = triggering_id
        self.entrance_id = entrance_id

    def _send(self, hook: JourneysHook) -> dict[str, Any]:
        return hook.exit(triggering_id=self.triggering_id, entrance_id=self.entrance_id)


class JourneysBatchTriggerOperator(_JourneysOperator):
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
        deployment's ``[journeys] dry_run`` setting. (templated)
    """

    template_fields: Sequence[str] = (
        "ids",
        "selector",
        "triggering_id",
        "entrance_id",
        "global_attributes",
        "airship_conn_id",
        "dry_run_setting",
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
        airship_conn_id: str = DEFAULT_CONN_ID,
        retry_server_errors: bool = False,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_SECONDS,
        dry_run: bool | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            airship_conn_id=airship_conn_id,
            max_retry_wait=max_retry_wait,
            dry_run=dry_run,
            # Waits run on the worker: resuming a batch after a deferral would re-read the progress anyway.
            deferrable=False,
            defer_waits_longer_than=DEFAULT_DEFER_WAITS_LONGER_THAN_SECONDS,
            retry_server_errors=retry_server_errors,
            **kwargs,
        )
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
            progress=None if hook.dry_run else _variable_progress(context),
        )


def _variable_progress(context: Context) -> VariableBatchProgress:
    """The Variable that remembers this task instance's accepted chunks across its tries."""
    from airflow_provider_journeys.batch import VariableBatchProgress

    ti = context["ti"]
    identity = f"{ti.dag_id}\0{ti.task_id}\0{ti.run_id}\0{ti.map_index}"
    key = f"journeys_batch_progress_{hashlib.sha256(identity.encode()).hexdigest()[:24]}"
    description = (
        f"Chunks of the Journeys batch {ti.dag_id}.{ti.task_id} (map index {ti.map_index}, run {ti.run_id}) "
        "that Airship accepted; a retry skips them. Deleted when the batch completes; delete it to resend all."
    )
    return VariableBatchProgress(key, description)
