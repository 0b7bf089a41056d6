"""Scale benchmark, the alternative: one task produces audiences of 1000 ids (an XCom), and
``JourneysTriggerOperator`` is mapped over them, one task per audience. ``JOURNEYS_BENCH_MAPPED_TASKS``
(default 100, so 100,000 ids) sets how many; run with ``airflow dags test``.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

TRIGGER_ID = "1fd202ca-9deb-4372-b052-dff0516f9518"
IDS_PER_TASK = 1000
MAPPED_TASKS = int(os.environ.get("JOURNEYS_BENCH_MAPPED_TASKS", "100"))

with DAG(
    dag_id="journeys_bench_mapped",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["benchmark"],
):

    @task
    def warm_up() -> None:
        """Runs first, so that it, not the measured tasks, pays for `airflow dags test` starting its
        in-process execution API (seconds, once per command, whatever the DAG)."""

    @task
    def named_user_audiences() -> list[dict[str, list[str]]]:
        # The same ids as journeys_bench_batch, split the way a user would for mapping.
        ids = [f"bench-user-{number:06d}" for number in range(MAPPED_TASKS * IDS_PER_TASK)]
        return [
            {"named_user": ids[first : first + IDS_PER_TASK]} for first in range(0, len(ids), IDS_PER_TASK)
        ]

    audiences = named_user_audiences()
    warm_up() >> audiences
    JourneysTriggerOperator.partial(
        task_id="enroll_audience",
        triggering_id=TRIGGER_ID,
        entrance_id="bench-mapped-{{ ds_nodash }}",
    ).expand(audience=audiences)
