"""Test DAG: one trigger task mapped over 20 audiences (run against a rate-limited emulator)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

AUDIENCES = 20

with DAG(
    dag_id="test_journeys_mapped_rate_limited",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
):

    @task
    def audiences() -> list[dict[str, str]]:
        return [{"segment": f"segment-{number:02d}"} for number in range(AUDIENCES)]

    JourneysTriggerOperator.partial(
        task_id="enroll", triggering_id="seq", entrance_id="mapped-{{ ds_nodash }}"
    ).expand(audience=audiences())
