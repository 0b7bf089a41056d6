"""Test DAG: a deferrable trigger that waits out a long Retry-After on the triggerer."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

with DAG(
    dag_id="test_journeys_deferrable",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
):
    JourneysTriggerOperator(
        task_id="enroll",
        audience={"segment": "s"},
        triggering_id="seq",
        entrance_id="deferred-{{ ds_nodash }}",
        deferrable=True,
        defer_waits_longer_than=1,
    )
