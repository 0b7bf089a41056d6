"""Test DAGs: failures around a batch or a trigger, each with one task retry allowed.

The emulator's script (set by each test) decides what Airship does; these DAGs decide what Airflow does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_journeys.batch import BatchProgress, Remembered
from airflow_provider_journeys.operators.journeys import JourneysBatchTriggerOperator, JourneysTriggerOperator

RETRY_ONCE = {"retries": 1, "retry_delay": timedelta(seconds=0)}
IDS = [f"user-{number:03d}" for number in range(200)]


class FailsAfterCompletingOnce(JourneysBatchTriggerOperator):
    """The batch completes, then the task fails anyway (a failing post_execute, a lost XCom push)."""

    def post_execute(self, context: Any, result: Any = None) -> None:
        if context["ti"].try_number == 1:
            raise RuntimeError("post_execute failed after the batch completed")


def batch_dag(
    dag_id: str, operator: type[JourneysBatchTriggerOperator], retries: int = 1, **arguments: Any
) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
        default_args={**RETRY_ONCE, "retries": retries},
    ) as dag:
        operator(
            task_id="enroll",
            ids=IDS,
            triggering_id="seq",
            entrance_id="faults-{{ ds_nodash }}",
            chunk_size=10,
            **arguments,
        )
    return dag


class FlakyVariable:
    """The task's Variable store, whose writes fail ``failures`` times from the second on (an API blip)."""

    def __init__(self, store: BatchProgress, failures: int) -> None:
        self.store = store
        self.failures = failures
        self.writes = 0

    def load(self) -> Remembered:
        return self.store.load()

    def record(self, accepted: Any) -> None:
        self.writes += 1
        if self.writes > 1 and self.failures:
            self.failures -= 1
            raise RuntimeError("Variable.set failed: the API server answered 503")
        self.store.record(accepted)

    def complete(self, batch: str, result: dict[str, Any]) -> None:
        self.store.complete(batch, result)


def with_flaky_store(failures: int) -> type[JourneysBatchTriggerOperator]:
    class WithFlakyStore(JourneysBatchTriggerOperator):
        def progress_store(self, context: Any) -> BatchProgress:
            return FlakyVariable(super().progress_store(context), failures)

    return WithFlakyStore


# Holds an exclusive lock on the SQLite metadata DB for argv[2] seconds, once it has it (prints "locked").
LOCK_METADATA_DB = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


class MetadataDbLockedOnSecondTry(JourneysBatchTriggerOperator):
    """On its second try the metadata DB stays locked longer than SQLite waits (5 s), like a database that
    cannot be reached for a while: the read of the batch's record fails."""

    def pre_execute(self, context: Any) -> None:
        if context["ti"].try_number == 2:
            database = os.path.join(os.environ["AIRFLOW_HOME"], "airflow.db")
            locker = subprocess.Popen(
                [sys.executable, "-c", LOCK_METADATA_DB, database, "7"], stdout=subprocess.PIPE, text=True
            )
            assert locker.stdout is not None
            locker.stdout.readline()


batch_dag("test_journeys_batch_fails_after_completion", FailsAfterCompletingOnce)
batch_dag(
    "test_journeys_batch_record_unreadable",
    MetadataDbLockedOnSecondTry,
    retries=2,
    max_concurrency=1,
    max_retry_wait=0,
)
batch_dag("test_journeys_batch_store_blip", with_flaky_store(2), max_concurrency=4)
batch_dag("test_journeys_batch_store_down", with_flaky_store(1000), max_concurrency=4)
batch_dag(
    "test_journeys_batch_timeout",
    JourneysBatchTriggerOperator,
    max_concurrency=4,
    execution_timeout=timedelta(seconds=2),
)
# No retry: what a SIGTERM leaves behind is what this DAG shows.
batch_dag("test_journeys_batch_slow", JourneysBatchTriggerOperator, retries=0, max_concurrency=4)

with DAG(
    dag_id="test_journeys_trigger_timeout",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    default_args=RETRY_ONCE,
):
    JourneysTriggerOperator(
        task_id="enroll",
        audience={"segment": "s"},
        triggering_id="seq",
        execution_timeout=timedelta(seconds=1),
    )

with DAG(
    dag_id="test_journeys_batch_blank_ids",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    default_args=RETRY_ONCE,
):
    JourneysBatchTriggerOperator(task_id="enroll", ids=["user-1", "   ", "user\t3"], triggering_id="seq")
