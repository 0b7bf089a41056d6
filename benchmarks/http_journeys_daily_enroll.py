"""``example_journeys_daily_enroll`` written with ``HttpOperator``, as a user without this provider would:
the body and Airship's headers spelled out, a token in the ``airship_http`` connection. Parsed, never run."""

import json

import pendulum
from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG

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
        headers={
            "Authorization": "Bearer {{ conn.airship_http.password }}",
            "Accept": "application/vnd.urbanairship+json; version=3",
            "Content-Type": "application/json",
        },
        data=json.dumps(
            {
                "audience": {"segment": "new-signups-last-24h"},
                "triggering_id": "1fd202ca-9deb-4372-b052-dff0516f9518",
                "entrance_id": "daily-{{ ds_nodash }}",
                "global_attributes": {
                    "campaign_date": "{{ ds }}",
                    "offer": {"code": "WELCOME-{{ ds_nodash }}"},
                },
            }
        ),
    )
