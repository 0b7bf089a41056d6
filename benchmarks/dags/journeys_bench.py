"""The scale benchmark's DAGs, run with ``airflow dags test``: the same 100,000 named users enrolled by one
``JourneysBatchTriggerOperator`` and by ``JourneysTriggerOperator`` mapped over 100 audiences of 1000."""

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_journeys.operators.journeys import JourneysBatchTriggerOperator, JourneysTriggerOperator

TRIGGER_ID = "1fd202ca-9deb-4372-b052-dff0516f9518"
TOTAL_IDS, IDS_PER_AUDIENCE = 100_000, 1000
START = pendulum.datetime(2026, 11, 1, tz="UTC")


@task
def warm_up() -> None:
    """Runs first, so that it, not a measured task, pays for `airflow dags test` starting its in-process
    execution API (seconds, once per command, whatever the DAG)."""


def warehouse_query() -> list[str]:
    return [f"bench-user-{number:06d}" for number in range(TOTAL_IDS)]


with DAG(dag_id="journeys_bench_batch", schedule=None, start_date=START, catchup=False):

    @task
    def named_users() -> list[str]:
        return warehouse_query()

    ids = named_users()
    warm_up() >> ids
    JourneysBatchTriggerOperator(
        task_id="enroll_named_users",
        selector="named_user",
        ids=ids,
        triggering_id=TRIGGER_ID,
        entrance_id="bench-batch-{{ ds_nodash }}",
        chunk_size=IDS_PER_AUDIENCE,
        max_concurrency=4,
    )

with DAG(dag_id="journeys_bench_mapped", schedule=None, start_date=START, catchup=False):

    @task
    def named_user_audiences() -> list[dict[str, list[str]]]:
        ids = warehouse_query()
        return [
            {"named_user": ids[first : first + IDS_PER_AUDIENCE]}
            for first in range(0, TOTAL_IDS, IDS_PER_AUDIENCE)
        ]

    audiences = named_user_audiences()
    warm_up() >> audiences
    JourneysTriggerOperator.partial(
        task_id="enroll_audience", triggering_id=TRIGGER_ID, entrance_id="bench-mapped-{{ ds_nodash }}"
    ).expand(audience=audiences)
