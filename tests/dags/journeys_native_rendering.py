"""Test DAG: payloads from upstream XComs, rendered as native Python objects, and the XCom returned."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

with DAG(
    dag_id="test_journeys_native_rendering",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    render_template_as_native_obj=True,
):

    @task
    def audience_from_warehouse() -> dict[str, list[str]]:
        return {"named_user": ["user-1", "user-2"]}

    @task
    def sequence_triggers() -> list[str]:
        return ["trigger-a", "trigger-b"]

    @task
    def check_response(response: dict[str, object]) -> None:
        if response.get("ok") is not True or not response.get("operation_id"):
            raise ValueError(f"unexpected XCom from the trigger task: {response!r}")

    audience = audience_from_warehouse()
    enroll = JourneysTriggerOperator(
        task_id="enroll",
        audience="{{ ti.xcom_pull(task_ids='audience_from_warehouse') }}",
        triggering_id=sequence_triggers(),
        entrance_id="native-{{ ds_nodash }}",
        global_attributes={"batch_size": "{{ 2 + 3 }}", "note": None},
    )
    audience >> enroll
    check_response(enroll.output)
