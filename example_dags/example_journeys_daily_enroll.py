"""Every day, enroll a segment into a Sequence as a new, separately exitable entrance.

``entrance_id`` is templated from the logical date, so each day's enrollment is its own instance of
the Sequence and can be exited later (see ``example_journeys_exit_after_days``) without touching others.
"""

from __future__ import annotations

# [START howto_journeys_quick_start]
import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

# The id of the Sequence's API Entrance trigger (docs/connection.md#ids-from-airship).
WELCOME_SEQUENCE_TRIGGER = "1fd202ca-9deb-4372-b052-dff0516f9518"

with DAG(
    dag_id="example_journeys_daily_enroll",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "airship"],
):
    # [START howto_operator_journeys_trigger]
    JourneysTriggerOperator(
        task_id="enroll_new_signups",
        audience={"segment": "new-signups-last-24h"},
        triggering_id=WELCOME_SEQUENCE_TRIGGER,
        entrance_id="daily-{{ ds_nodash }}",
        global_attributes={"campaign_date": "{{ ds }}", "offer": {"code": "WELCOME-{{ ds_nodash }}"}},
    )
    # [END howto_operator_journeys_trigger]
# [END howto_journeys_quick_start]
