"""Scale: enrolling 100,000 named users with the batch API against 100 mapped ``JourneysTriggerOperator``
tasks of 1000 ids each, through ``airflow dags test``, and the bare ``JourneysHook.trigger_batch`` call."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from benchmarks.common import (
    TRIGGER_ID,
    EmulatorProcess,
    Outcome,
    Row,
    TemporaryAirflowHome,
    airship_connection,
    clean_env,
    reproduce,
)

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.common import Settings

NAME = "scale"
TOTAL_IDS = 100_000
IDS_PER_TASK = 1000
GOAL_SPEEDUP = 20.0
# One per `airflow dags test` run of the same DAG, so that each is a run of its own.
LOGICAL_DATES = ("2026-11-27", "2026-11-28")
DAGS_TEST_TIMEOUT_SECONDS = 600
BATCH_DAG, BATCH_PRODUCER = "journeys_bench_batch", "named_users"
MAPPED_DAG, MAPPED_PRODUCER = "journeys_bench_mapped", "named_user_audiences"
WARM_UP_TASK = "warm_up"


@dataclass(frozen=True)
class Run:
    """One way of enrolling the ids: how long it took and what the emulator received."""

    ids: int
    seconds: float
    # The part spent enrolling, without the task that produced the ids (equal to ``seconds`` for the hook).
    enrolling_seconds: float
    received: dict[str, Any]
    wall_seconds: float

    def extrapolated_to(self, ids: int) -> Run:
        """The same run with its enrolling part scaled to ``ids`` (the id-producing task as measured)."""
        factor = ids / self.ids
        producing = self.seconds - self.enrolling_seconds
        enrolling = self.enrolling_seconds * factor
        return Run(ids, producing + enrolling, enrolling, self.received, self.wall_seconds)

    @staticmethod
    def mean(runs: list[Run]) -> Run:
        """The runs' average times; what the emulator received is checked for each run separately."""
        return Run(
            runs[0].ids,
            sum(run.seconds for run in runs) / len(runs),
            sum(run.enrolling_seconds for run in runs) / len(runs),
            runs[0].received,
            sum(run.wall_seconds for run in runs) / len(runs),
        )

    @property
    def ids_per_second(self) -> float:
        return self.ids / self.seconds

    @property
    def enrolling_ids_per_second(self) -> float:
        return self.ids / self.enrolling_seconds


def bare_hook(emulator: EmulatorProcess) -> Run:
    from airflow_provider_journeys.hooks.journeys import JourneysHook

    ids = [f"bench-user-{number:06d}" for number in range(TOTAL_IDS)]
    mark = emulator.mark()
    with airship_connection(emulator):
        started = time.perf_counter()
        answer = JourneysHook().trigger_batch(
            selector="named_user",
            ids=ids,
            triggering_id=TRIGGER_ID,
            entrance_id="bench-hook",
            chunk_size=IDS_PER_TASK,
            max_concurrency=4,
        )
        seconds = time.perf_counter() - started
    if answer.get("ids_accepted") != TOTAL_IDS:
        raise RuntimeError(
            f"trigger_batch accepted {answer.get('ids_accepted')} ids, not {TOTAL_IDS}: {answer}"
        )
    return Run(TOTAL_IDS, seconds, seconds, emulator.stats(mark), seconds)


def dags_test(
    emulator: EmulatorProcess, home: Path, dag_id: str, producer: str, ids: int, logical_date: str, **env: str
) -> Run:
    """``airflow dags test`` in a subprocess. The time measured is from the start of the task producing the
    ids to the end of the last task, as recorded in the metadata DB: the command's start-up, and the
    in-process execution API it starts inside whichever task runs first (about 3 s here, the same for any
    DAG), are paid by the DAG's warm-up task instead."""
    mark = emulator.mark()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id, logical_date],
        env=clean_env(home, AIRFLOW_CONN_AIRSHIP_DEFAULT=emulator.connection_env, **env),
        capture_output=True,
        text=True,
        timeout=DAGS_TEST_TIMEOUT_SECONDS,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"airflow dags test {dag_id} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    first_start, last_end, producer_end = _task_times(home, dag_id, producer)
    return Run(ids, last_end - first_start, last_end - producer_end, emulator.stats(mark), wall)


def _batch_dag(emulator: EmulatorProcess, home: Path, logical_date: str) -> Run:
    return dags_test(
        emulator, home, BATCH_DAG, BATCH_PRODUCER, TOTAL_IDS, logical_date, JOURNEYS_BENCH_IDS=str(TOTAL_IDS)
    )


def _task_times(home: Path, dag_id: str, producer: str) -> tuple[float, float, float]:
    """(first measured task start, last task end, end of the task producing the ids) of the DAG's latest
    run, in seconds. The warm-up task is left out: it only absorbs `airflow dags test` starting up."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, start_date, end_date FROM task_instance WHERE dag_id = ? AND task_id != ? "
            "AND run_id = (SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1)",
            (dag_id, WARM_UP_TASK, dag_id),
        ).fetchall()
    starts = [_epoch(start) for _, start, _ in rows]
    ends = [_epoch(end) for _, _, end in rows]
    producer_end = max(_epoch(end) for task_id, _, end in rows if task_id == producer)
    return min(starts), max(ends), producer_end


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _received(label: str, run: Run) -> str:
    received = run.received
    exact = (
        "exactly as expected"
        if received["unique_named_user_ids"] == received["named_user_ids"] == run.ids
        else "NOT as expected"
    )
    return (
        f"{NAME}: {label}: the emulator received {received['named_user_ids']:,} named_user ids "
        f"({received['unique_named_user_ids']:,} distinct) in {received['accepted']} accepted of "
        f"{received['trigger_requests']} trigger requests, statuses {received['statuses']}: {exact} ({run.ids:,})."
    )


def run(settings: Settings, home: Path) -> Outcome:
    from airflow_provider_journeys.hooks.journeys import JourneysHook

    if not hasattr(JourneysHook, "trigger_batch"):
        return Outcome([], [f"{NAME}: skipped: JourneysHook.trigger_batch does not exist in this checkout."])
    mapped_tasks = 10 if settings.quick else settings.mapped_tasks
    with TemporaryAirflowHome(migrate=True) as dags_home, EmulatorProcess(clean_env(dags_home)) as emulator:
        hook = bare_hook(emulator)
        # The batch DAG runs before and after the mapped one (its mean is used), so that a slow spell on
        # this shared machine cannot fall on the batch alone.
        batch_runs = [_batch_dag(emulator, dags_home, LOGICAL_DATES[0])]
        mapped = dags_test(
            emulator,
            dags_home,
            MAPPED_DAG,
            MAPPED_PRODUCER,
            mapped_tasks * IDS_PER_TASK,
            LOGICAL_DATES[0],
            JOURNEYS_BENCH_MAPPED_TASKS=str(mapped_tasks),
        )
        batch_runs.append(_batch_dag(emulator, dags_home, LOGICAL_DATES[1]))
    batch = Run.mean(batch_runs)
    measured_mapped = mapped
    extrapolated = ""
    if mapped.ids != TOTAL_IDS:
        mapped = mapped.extrapolated_to(TOTAL_IDS)
        extrapolated = f" (mapped: EXTRAPOLATED from {mapped_tasks} tasks; optimistic for mapped)"
    rows = [
        Row(
            "scale, 100,000 named users end to end through Airflow (`airflow dags test`; id-producing task "
            "start → last task end): batch operator vs 100 mapped triggers" + extrapolated,
            _rate(batch.ids_per_second),
            _rate(mapped.ids_per_second),
            batch.ids_per_second / mapped.ids_per_second,
            f"≥ {GOAL_SPEEDUP:g}x",
            batch.ids_per_second / mapped.ids_per_second >= GOAL_SPEEDUP,
            reproduce(NAME),
        ),
        Row(
            "scale, the enrolling task(s) only (after the id-producing task ends)" + extrapolated,
            _rate(batch.enrolling_ids_per_second),
            _rate(mapped.enrolling_ids_per_second),
            batch.enrolling_ids_per_second / mapped.enrolling_ids_per_second,
            "- (context)",
            None,
            reproduce(NAME),
        ),
        Row(
            "scale, bare `JourneysHook.trigger_batch` (no Airflow) vs mapped triggers end to end"
            + extrapolated,
            _rate(hook.ids_per_second),
            _rate(mapped.ids_per_second),
            hook.ids_per_second / mapped.ids_per_second,
            "- (context)",
            None,
            reproduce(NAME),
        ),
    ]
    notes = [
        _received("bare hook.trigger_batch", hook),
        *(_received(f"batch DAG, run {number}", run) for number, run in enumerate(batch_runs, 1)),
        _received(f"mapped DAG ({mapped_tasks} tasks)", measured_mapped),
        f"{NAME}: seconds: bare hook {hook.seconds:.2f}; batch DAG run {batch.seconds:.2f} (mean of "
        f"{', '.join(f'{run.seconds:.2f}' for run in batch_runs)}; enrolling "
        f"{batch.enrolling_seconds:.2f}, whole `airflow dags test` command {batch.wall_seconds:.1f}); mapped DAG "
        f"run {measured_mapped.seconds:.2f} (enrolling {measured_mapped.enrolling_seconds:.2f}, command "
        f"{measured_mapped.wall_seconds:.1f}) for {mapped_tasks} tasks.",
    ]
    return Outcome(rows, notes)


def _rate(ids_per_second: float) -> str:
    return f"{ids_per_second:,.0f} ids/s"
