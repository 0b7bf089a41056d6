"""Enroll several segments at once: one mapped trigger task per segment, chosen at run time.

The segment list comes from an upstream task (in real life, a warehouse query); dynamic task mapping
makes one ``JourneysTriggerOperator`` instance per audience, each validated and sent on its own.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

WINBACK_SEQUENCE_TRIGGER = "7c1e3b52-34a0-4c9e-9f3e-2d8f0a4b6e11"

with DAG(
    dag_id="example_journeys_fan_out",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "airship"],
):
    # [START howto_operator_journeys_trigger_mapped]
    @task
    def lapsed_segments() -> list[dict[str, str]]:
        return [{"segment": f"lapsed-{days}-days"} for days in (30, 60, 90)]

    JourneysTriggerOperator.partial(
        task_id="enroll_lapsed_segment",
        triggering_id=WINBACK_SEQUENCE_TRIGGER,
        entrance_id="winback-{{ ds_nodash }}",
    ).expand(audience=lapsed_segments())
    # [END howto_operator_journeys_trigger_mapped]
