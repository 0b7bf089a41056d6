"""Test DAG: an entrance_id that renders too long must fail the task before anything is sent."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

with DAG(
    dag_id="test_journeys_bad_payload",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    default_args={"retries": 3},
):
    JourneysTriggerOperator(
        task_id="enroll",
        audience={"segment": "s"},
        triggering_id="t",
        entrance_id="{{ 'x' * 60 }}-{{ ds_nodash }}",
    )
