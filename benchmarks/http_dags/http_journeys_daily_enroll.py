"""``example_journeys_daily_enroll`` hand-written with the HTTP provider's ``HttpOperator``, as a user
without this provider would: the JSON body and Airship's headers spelled out, an access token kept in the
``airship_http`` connection's password. Parsed by the dag_parse benchmark; never run.
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
    dag_id="http_journeys_daily_enroll",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "airship"],
):
    HttpOperator(
        task_id="enroll_new_signups",
        http_conn_id="airship_http",
        endpoint="/api/journeys/trigger",
        method="POST",
        headers=AIRSHIP_HEADERS,
        data=json.dumps(
            {
                "audience": {"segment": "new-signups-last-24h"},
                "triggering_id": WELCOME_SEQUENCE_TRIGGER,
                "entrance_id": "daily-{{ ds_nodash }}",
                "global_attributes": {
                    "campaign_date": "{{ ds }}",
                    "offer": {"code": "WELCOME-{{ ds_nodash }}"},
                },
            }
        ),
    )
