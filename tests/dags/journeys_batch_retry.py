"""Test DAG: a batch of 500 ids in chunks of 100, sent one at a time, with one task retry allowed."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysBatchTriggerOperator

with DAG(
    dag_id="test_journeys_batch_retry",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    default_args={"retries": 1, "retry_delay": timedelta(seconds=0)},
):

    @task
    def ids() -> list[str]:
        return [f"user-{number:03d}" for number in range(500)]

    JourneysBatchTriggerOperator(
        task_id="enroll",
        ids=ids(),
        triggering_id="seq",
        entrance_id="retry-{{ ds_nodash }}",
        chunk_size=100,
        max_concurrency=1,
        # No waiting out a 429 inside the try: the task retry is what this DAG tests.
        max_retry_wait=0,
    )
