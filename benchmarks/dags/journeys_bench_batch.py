"""Scale benchmark, ours: one task produces the ids (an XCom), one ``JourneysBatchTriggerOperator`` enrolls
them all. ``JOURNEYS_BENCH_IDS`` (default 100,000) sets how many; run with ``airflow dags test``.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysBatchTriggerOperator

TRIGGER_ID = "1fd202ca-9deb-4372-b052-dff0516f9518"
TOTAL_IDS = int(os.environ.get("JOURNEYS_BENCH_IDS", "100000"))

with DAG(
    dag_id="journeys_bench_batch",
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
    def named_users() -> list[str]:
        # Stands in for a warehouse query.
        return [f"bench-user-{number:06d}" for number in range(TOTAL_IDS)]

    ids = named_users()
    warm_up() >> ids
    JourneysBatchTriggerOperator(
        task_id="enroll_named_users",
        selector="named_user",
        ids=ids,
        triggering_id=TRIGGER_ID,
        entrance_id="bench-batch-{{ ds_nodash }}",
        chunk_size=1000,
        max_concurrency=4,
    )
