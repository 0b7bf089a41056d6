"""Every day, exit the users still in the entrance made N days earlier by the daily enroll DAG.

``params.days_in_sequence`` sets N; Airflow's ``macros.ds_add`` and ``macros.ds_format`` turn the
logical date into that earlier entrance's id, ``daily-YYYYMMDD``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_journeys.operators.journeys import JourneysExitOperator

WELCOME_SEQUENCE_TRIGGER = "1fd202ca-9deb-4372-b052-dff0516f9518"

with DAG(
    dag_id="example_journeys_exit_after_days",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    params={"days_in_sequence": 7},
    tags=["example", "airship"],
):
    # [START howto_operator_journeys_exit]
    JourneysExitOperator(
        task_id="exit_expired_entrance",
        triggering_id=WELCOME_SEQUENCE_TRIGGER,
        entrance_id=(
            "daily-{{ macros.ds_format(macros.ds_add(ds, -params.days_in_sequence), '%Y-%m-%d', '%Y%m%d') }}"
        ),
    )
    # [END howto_operator_journeys_exit]
