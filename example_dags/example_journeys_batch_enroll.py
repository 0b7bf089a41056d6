"""Enroll every named user a query returns, however many, in one task.

``named_users_to_welcome`` stands in for a warehouse query (for example ``SnowflakeHook().get_records``)
that returns tens of thousands of ids. ``JourneysBatchTriggerOperator`` sends them in audiences of 1000,
four requests at a time; if the task is retried, it resends only the chunks Airship has not accepted.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysBatchTriggerOperator

WELCOME_SEQUENCE_TRIGGER = "1fd202ca-9deb-4372-b052-dff0516f9518"

with DAG(
    dag_id="example_journeys_batch_enroll",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2},
    tags=["example", "journeys"],
):
    # [START howto_operator_journeys_batch_trigger]
    @task
    def named_users_to_welcome(ds: str | None = None) -> list[str]:
        # Stands in for a warehouse query, e.g. SnowflakeHook().get_records("select named_user from ...").
        return [f"customer-{number:06d}" for number in range(25_000)]

    JourneysBatchTriggerOperator(
        task_id="welcome_new_customers",
        ids=named_users_to_welcome(),
        selector="named_user",
        triggering_id=WELCOME_SEQUENCE_TRIGGER,
        entrance_id="batch-{{ ds_nodash }}",
    )
    # [END howto_operator_journeys_batch_trigger]
