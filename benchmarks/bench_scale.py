"""100,000 named users enrolled by one batch operator against 100 mapped triggers of 1000 ids, through
``airflow dags test`` (``dags/journeys_bench.py``), and by the bare ``JourneysHook.trigger_batch`` call."""

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

from common import TRIGGER_ID, Emulator, Row, goal

TOTAL_IDS = 100_000
GOAL_SPEEDUP = 20


def airflow(*arguments: str) -> float:
    """Runs an ``airflow`` command in a child process and returns its seconds."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "airflow", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(arguments)} failed:\n{result.stdout[-3000:]}")
    return time.perf_counter() - started


def check_every_id_accepted_once(emulator: Emulator) -> None:
    accepted, distinct = emulator.named_users_accepted()
    if accepted != distinct or distinct != TOTAL_IDS:  # then the time would not be that of this work
        raise RuntimeError(f"the emulator accepted {accepted:,} ids, {distinct:,} distinct")


def dags_test(emulator: Emulator, dag_id: str, logical_date: str) -> tuple[float, float]:
    """Seconds from the first measured task's start to the last task's end, and of the whole command."""
    command_seconds = airflow("dags", "test", dag_id, logical_date)
    check_every_id_accepted_once(emulator)
    with sqlite3.connect(os.path.join(os.environ["AIRFLOW_HOME"], "airflow.db")) as db:
        first_start, last_end = db.execute(
            # Not the warm-up task, which only absorbs `airflow dags test` starting up.
            "SELECT min(start_date), max(end_date) FROM task_instance WHERE dag_id = ? AND task_id != 'warm_up' "
            "AND run_id = (SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1)",
            (dag_id, dag_id),
        ).fetchone()
    seconds = (datetime.fromisoformat(last_end) - datetime.fromisoformat(first_start)).total_seconds()
    return seconds, command_seconds


def bare_hook(emulator: Emulator) -> float:
    from airflow_provider_journeys.hooks.journeys import JourneysHook

    ids = [f"bench-user-{number:06d}" for number in range(TOTAL_IDS)]
    started = time.perf_counter()
    JourneysHook().trigger_batch(
        selector="named_user", ids=ids, triggering_id=TRIGGER_ID, chunk_size=1000, max_concurrency=4
    )
    seconds = time.perf_counter() - started
    check_every_id_accepted_once(emulator)
    return seconds


def run(emulator: Emulator) -> list[Row]:
    airflow("db", "migrate")
    emulator.named_users_accepted()  # what other benchmarks sent is not counted
    hook = bare_hook(emulator)
    # The batch DAG runs before and after the mapped one, so that a slow spell on this shared machine cannot
    # fall on the batch alone; each run gets a logical date of its own.
    first = dags_test(emulator, "journeys_bench_batch", "2026-11-27")
    mapped, mapped_command = dags_test(emulator, "journeys_bench_mapped", "2026-11-27")
    second = dags_test(emulator, "journeys_bench_batch", "2026-11-28")
    batch, batch_command = ((a + b) / 2 for a, b in zip(first, second, strict=True))
    speedup = mapped / batch
    return [
        Row(
            f"{TOTAL_IDS:,} named users through `airflow dags test`, from the task producing the ids to the end",
            f"batch operator: {_rate(batch)}",
            f"100 mapped `JourneysTriggerOperator` tasks: {_rate(mapped)}",
            f"{speedup:.0f}x",
            goal(f"≥ {GOAL_SPEEDUP}x", speedup >= GOAL_SPEEDUP),
        ),
        Row(
            "the same, whole `airflow dags test` command (start-up included)",
            f"{batch_command:.1f} s",
            f"{mapped_command:.1f} s",
            f"{batch_command / mapped_command:.2f}",
        ),
        Row(
            f"{TOTAL_IDS:,} named users through the bare `JourneysHook.trigger_batch` call (no Airflow)",
            _rate(hook),
            f"batch operator in the DAG: {_rate(batch)}",
            f"{batch / hook:.1f}",
        ),
    ]


def _rate(seconds: float) -> str:
    return f"{TOTAL_IDS / seconds:,.0f} ids/s ({seconds:.2f} s)"
