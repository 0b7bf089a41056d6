"""``example_journeys_exit_after_days`` hand-written with ``HttpOperator`` (see
``http_journeys_daily_enroll.py``). Parsed by the dag_parse benchmark; never run.
"""

from __future__ import annotations

import json

import pendulum
from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG

WELCOME_SEQUENCE_TRIGGER = "1fd202ca-9deb-4372-b052-dff0516f9518"
AIRSHIP_HEADERS = {
    "Authorization": "Bearer {{ conn.airship_http.password }}",
    "Accept": "application/vnd.urbanairship+json; version=3",
    "Content-Type": "application/json",
}

with DAG(
    dag_id="http_journeys_exit_after_days",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    params={"days_in_sequence": 7},
    tags=["example", "airship"],
):
    HttpOperator(
        task_id="exit_expired_entrance",
        http_conn_id="airship_http",
        endpoint="/api/journeys/exit",
        method="POST",
        headers=AIRSHIP_HEADERS,
        data=json.dumps(
            {
                "triggering_id": WELCOME_SEQUENCE_TRIGGER,
                "entrance_id": (
                    "daily-{{ macros.ds_format(macros.ds_add(ds, -params.days_in_sequence), "
                    "'%Y-%m-%d', '%Y%m%d') }}"
                ),
            }
        ),
    )
