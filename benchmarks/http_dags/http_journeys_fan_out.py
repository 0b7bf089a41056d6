"""``example_journeys_fan_out`` hand-written with ``HttpOperator`` (see ``http_journeys_daily_enroll.py``):
the upstream task builds one JSON body per segment, since values mapped in from XCom are not templated.
Parsed by the dag_parse benchmark; never run.
"""

from __future__ import annotations

import json

import pendulum
from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG, task

WINBACK_SEQUENCE_TRIGGER = "7c1e3b52-34a0-4c9e-9f3e-2d8f0a4b6e11"
AIRSHIP_HEADERS = {
    "Authorization": "Bearer {{ conn.airship_http.password }}",
    "Accept": "application/vnd.urbanairship+json; version=3",
    "Content-Type": "application/json",
}

with DAG(
    dag_id="http_journeys_fan_out",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "airship"],
):

    @task
    def lapsed_segment_bodies(ds_nodash: str | None = None) -> list[str]:
        return [
            json.dumps(
                {
                    "audience": {"segment": f"lapsed-{days}-days"},
                    "triggering_id": WINBACK_SEQUENCE_TRIGGER,
                    "entrance_id": f"winback-{ds_nodash}",
                }
            )
            for days in (30, 60, 90)
        ]

    HttpOperator.partial(
        task_id="enroll_lapsed_segment",
        http_conn_id="airship_http",
        endpoint="/api/journeys/trigger",
        method="POST",
        headers=AIRSHIP_HEADERS,
    ).expand(data=lapsed_segment_bodies())
