"""Every example DAG, and DAGs for the harder rendering cases, run through real Airflow against the emulator.

Each runs ``airflow dags test`` in a subprocess on a migrated SQLite metadata DB, as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_journeys.hooks.journeys import EXIT_PATH, TRIGGER_PATH
from airflow_provider_journeys.testing import AirshipEmulator

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO_ROOT / "example_dags"
TEST_DAGS = Path(__file__).resolve().parent / "dags"
LOGICAL_DATE = "2026-11-27"
WELCOME_TRIGGER = "1fd202ca-9deb-4372-b052-dff0516f9518"


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Migrate the SQLite metadata DB of the test session's AIRFLOW_HOME once."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def airflow_dags_test(
    dag_id: str, dags_folder: Path, emulator: AirshipEmulator, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        dags_test_command(dag_id),
        env=dags_test_env(dags_folder, emulator, **env_vars),
        capture_output=True,
        text=True,
        timeout=300,
    )


def airflow_dags_test_process(
    dag_id: str, dags_folder: Path, emulator: AirshipEmulator
) -> subprocess.Popen[str]:
    """``airflow dags test`` started in the background, for a test that signals it."""
    return subprocess.Popen(
        dags_test_command(dag_id),
        env=dags_test_env(dags_folder, emulator),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def dags_test_command(dag_id: str) -> list[str]:
    return [sys.executable, "-m", "airflow", "dags", "test", dag_id, LOGICAL_DATE]


def dags_test_env(dags_folder: Path, emulator: AirshipEmulator, **env_vars: str) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW_CONN_AIRSHIP_DEFAULT": json.dumps(emulator.connection()),
        **env_vars,
    }


# How `airflow dags test` reports a task instance entering a state: Airflow 3 logs the transition,
# Airflow 2.11 says "Marking task as ..." (and, for a deferral, runs the trigger in line).
STATE_MARKS = {
    "failed": ("new_state=failed", "Marking task as FAILED"),
    "up_for_retry": ("new_state=up_for_retry", "Marking task as UP_FOR_RETRY"),
    "deferred": ("new_state=deferred", "[DAG TEST] running trigger in line"),
}


def entered(output: str, state: str) -> bool:
    return any(mark in output for mark in STATE_MARKS[state])


def assert_succeeded(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"airflow dags test failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )


@pytest.mark.usefixtures("airflow_db")
def test_daily_enroll_dag_enrolls_the_segment_with_an_entrance_id_from_the_logical_date(emulator):
    assert_succeeded(airflow_dags_test("example_journeys_daily_enroll", EXAMPLE_DAGS, emulator))
    assert emulator.accepted(TRIGGER_PATH) == [
        {
            "audience": {"segment": "new-signups-last-24h"},
            "triggering_id": WELCOME_TRIGGER,
            "entrance_id": "daily-20261127",
            "global_attributes": {"campaign_date": "2026-11-27", "offer": {"code": "WELCOME-20261127"}},
        }
    ]


@pytest.mark.usefixtures("airflow_db")
def test_exit_dag_exits_the_entrance_from_seven_days_earlier(emulator):
    assert_succeeded(airflow_dags_test("example_journeys_exit_after_days", EXAMPLE_DAGS, emulator))
    assert emulator.accepted(EXIT_PATH) == [
        {"triggering_id": WELCOME_TRIGGER, "entrance_id": "daily-20261120"}
    ]


@pytest.mark.usefixtures("airflow_db")
def test_fan_out_dag_maps_one_trigger_per_segment(emulator):
    assert_succeeded(airflow_dags_test("example_journeys_fan_out", EXAMPLE_DAGS, emulator))
    bodies = emulator.accepted(TRIGGER_PATH)
    assert sorted(body["audience"]["segment"] for body in bodies) == [
        "lapsed-30-days",
        "lapsed-60-days",
        "lapsed-90-days",
    ]
    assert {body["entrance_id"] for body in bodies} == {"winback-20261127"}


@pytest.mark.usefixtures("airflow_db")
def test_native_rendering_sends_xcom_values_as_json_and_returns_the_response_as_xcom(emulator):
    assert_succeeded(airflow_dags_test("test_journeys_native_rendering", TEST_DAGS, emulator))
    assert emulator.accepted(TRIGGER_PATH) == [
        {
            "audience": {"named_user": ["user-1", "user-2"]},
            "triggering_id": ["trigger-a", "trigger-b"],
            "entrance_id": "native-20261127",
            "global_attributes": {"batch_size": 5, "note": None},
        }
    ]


@pytest.mark.usefixtures("airflow_db")
def test_bad_rendered_payload_fails_the_task_without_retries_and_sends_nothing(emulator):
    result = airflow_dags_test("test_journeys_bad_payload", TEST_DAGS, emulator)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "JourneysPayloadError" in output
    # The DAG allows 3 retries; a bad payload uses none.
    assert entered(output, "failed") and not entered(output, "up_for_retry")
    assert "$.entrance_id: 'xxxxxxxx" in output and "too long (at most 64 characters)" in output
    assert emulator.requests == []


@pytest.mark.usefixtures("airflow_db")
def test_deployment_wide_dry_run_runs_the_dag_and_sends_nothing(emulator):
    result = airflow_dags_test(
        "example_journeys_daily_enroll", EXAMPLE_DAGS, emulator, AIRFLOW__JOURNEYS__DRY_RUN="True"
    )
    assert_succeeded(result)
    assert "Dry run, nothing sent: POST /api/journeys/trigger" in result.stdout + result.stderr
    assert "entrance_id 'daily-20261127'" in result.stdout + result.stderr
    assert emulator.requests == []


@pytest.mark.usefixtures("airflow_db")
def test_trigger_mapped_over_20_audiences_enrolls_each_exactly_once_under_a_rate_limit(emulator, capsys):
    emulator.limit_rate(5, retry_after=1)
    # Mapped task instances run one after another here, often too far apart for the limit to bite: three
    # 429s on the way make sure that some are answered "rate limited" first.
    emulator.answer_next(429, path=TRIGGER_PATH, retry_after=1, times=3, after=5)
    assert_succeeded(airflow_dags_test("test_journeys_mapped_rate_limited", TEST_DAGS, emulator))
    accepted = Counter(body["audience"]["segment"] for body in emulator.accepted(TRIGGER_PATH))
    rate_limited = sum(request.status == 429 for request in emulator.received(TRIGGER_PATH))
    with capsys.disabled():
        print(
            f"\nmapped load: 20 audiences; accepted {sum(accepted.values())}, answered 429 {rate_limited} times, "
            f"sent twice {sum(count > 1 for count in accepted.values())}, lost {20 - len(accepted)}"
        )
    assert rate_limited >= 3
    assert sorted(accepted) == [f"segment-{number:02d}" for number in range(20)]
    assert set(accepted.values()) == {1}


@pytest.mark.usefixtures("airflow_db")
def test_deferrable_trigger_waits_out_a_long_retry_after_on_the_triggerer_then_sends(emulator):
    emulator.answer_next(429, path=TRIGGER_PATH, retry_after=3)
    result = airflow_dags_test("test_journeys_deferrable", TEST_DAGS, emulator)
    assert_succeeded(result)
    output = result.stdout + result.stderr
    assert "deferring for 3.0 s before resending" in output
    assert entered(output, "deferred")
    first, second = emulator.received(TRIGGER_PATH)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 2.5
    assert second.json["entrance_id"] == "deferred-20261127"


def batch_progress_variables() -> dict[str, object]:
    """The Airflow Variables in which batch tasks keep the chunks Airship accepted, by key."""

    def airflow_cli(*args: str) -> str:
        """The command's last line of output, its answer (Airflow 3.0 prints log lines before it)."""
        return (
            subprocess.run(
                [sys.executable, "-m", "airflow", "variables", *args],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )

    keys = [item["key"] for item in json.loads(airflow_cli("list", "-o", "json"))]
    return {key: json.loads(airflow_cli("get", key)) for key in keys if key.startswith("journeys_batch_")}


@pytest.fixture
def no_batch_progress_left() -> Iterator[None]:
    """Batch DAG tests share one metadata DB and its Variables: none may see another's records."""
    yield
    for key in batch_progress_variables():
        subprocess.run(
            [sys.executable, "-m", "airflow", "variables", "delete", key], check=True, capture_output=True
        )


def progress_records() -> list[dict]:
    return [
        value
        for key, value in batch_progress_variables().items()
        if key.startswith("journeys_batch_progress_")
    ]


def enrolled(emulator: AirshipEmulator) -> Counter[str]:
    """How many times Airship accepted each named user."""
    return Counter(
        user for body in emulator.accepted(TRIGGER_PATH) for user in body["audience"]["named_user"]
    )


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_batch_example_dag_enrolls_every_id_from_the_upstream_xcom_exactly_once(emulator):
    result = airflow_dags_test("example_journeys_batch_enroll", EXAMPLE_DAGS, emulator)
    assert_succeeded(result)
    bodies = emulator.accepted(TRIGGER_PATH)
    assert len(bodies) == 25
    enrolled = Counter(user for body in bodies for user in body["audience"]["named_user"])
    assert enrolled == Counter(f"customer-{number:06d}" for number in range(25_000))
    assert {body["entrance_id"] for body in bodies} == {"batch-20261127"}
    assert len(emulator.received("/token")) == 1
    assert "Batch: 25 of 25 chunks accepted (25000 ids by this try" in result.stdout + result.stderr
    # The completed batch stays recorded, with its result, so that a rerun sends nothing.
    [record] = progress_records()
    assert len(record["accepted"]) == 25
    [stored_result] = record["completed"].values()
    assert stored_result["ids_accepted"] == 25_000


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_retried_batch_task_sends_only_the_chunks_the_first_try_did_not_get_accepted(emulator):
    emulator.answer_next(429, path=TRIGGER_PATH, after=2, retry_after=1)
    result = airflow_dags_test("test_journeys_batch_retry", TEST_DAGS, emulator)
    assert_succeeded(result)
    output = result.stdout + result.stderr
    assert "JourneysBatchIncompleteError" in output and entered(output, "up_for_retry")
    assert "Resuming: 2 of 5 chunks were accepted by an earlier try and are not sent again" in output
    calls = emulator.received(TRIGGER_PATH)
    assert [call.status for call in calls] == [200, 200, 429, 200, 200, 200]
    assert enrolled(emulator) == Counter(f"user-{number:03d}" for number in range(500))


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_batch_chunk_that_may_have_enrolled_fails_the_task_and_keeps_progress_for_a_rerun(emulator):
    emulator.answer_next(503, path=TRIGGER_PATH, after=2)
    result = airflow_dags_test("test_journeys_batch_retry", TEST_DAGS, emulator)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "JourneysBatchFailedError" in output and not entered(output, "up_for_retry")
    assert "chunk 2 (ids[200:300]) failed: POST /api/journeys/trigger failed: HTTP 503" in output
    assert "not sent: 3-4" in output
    assert len(emulator.received(TRIGGER_PATH)) == 3
    [progress] = progress_records()
    assert len(progress["accepted"]) == 2
    assert progress["completed"] == {}


# --- failures around a batch or a trigger: nobody enrolled twice (tests/dags/journeys_faults.py) -------

FAULT_IDS = Counter(f"user-{number:03d}" for number in range(200))


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_batch_task_that_fails_after_its_batch_completed_sends_nothing_on_retry(emulator):
    result = airflow_dags_test("test_journeys_batch_fails_after_completion", TEST_DAGS, emulator)
    assert_succeeded(result)
    output = result.stdout + result.stderr
    assert "post_execute failed after the batch completed" in output and entered(output, "up_for_retry")
    assert "This batch completed in an earlier try or run" in output
    assert enrolled(emulator) == FAULT_IDS


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_timeout_with_chunks_in_flight_records_them_and_the_retry_sends_only_the_rest(emulator):
    # Four chunks at a time, 0.8 s each: the 2 s timeout fires with the third four on the wire.
    emulator.answer_next(200, path=TRIGGER_PATH, times=12, delay=0.8)
    result = airflow_dags_test("test_journeys_batch_timeout", TEST_DAGS, emulator)
    assert_succeeded(result)
    output = result.stdout + result.stderr
    assert "Stopped: AirflowTaskTimeout" in output and entered(output, "up_for_retry")
    assert enrolled(emulator) == FAULT_IDS
    assert len(emulator.received(TRIGGER_PATH)) == 20


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_timeout_after_a_chunk_in_doubt_fails_the_task_without_retry(emulator):
    # The 503 comes after half a second, so that all four chunks are on the wire before the batch stops
    # (answered at once, it could stop the batch before a slow machine had started the other three).
    emulator.answer_next(503, path=TRIGGER_PATH, delay=0.5)
    emulator.answer_next(200, path=TRIGGER_PATH, times=3, delay=3)
    result = airflow_dags_test("test_journeys_batch_timeout", TEST_DAGS, emulator)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "JourneysBatchFailedError" in output and not entered(output, "up_for_retry")
    assert len(emulator.received(TRIGGER_PATH)) == 4  # the 503 and the three on the wire, nothing after
    assert max(enrolled(emulator).values()) == 1


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_threads_waiting_on_retry_after_send_nothing_after_the_timeout(emulator):
    emulator.answer_next(429, path=TRIGGER_PATH, times=4, retry_after=30)
    result = airflow_dags_test("test_journeys_batch_timeout", TEST_DAGS, emulator)
    assert_succeeded(result)
    statuses = [call.status for call in emulator.received(TRIGGER_PATH)]
    assert statuses == [429] * 4 + [200] * 20  # the waiting threads gave up; the retry sent every chunk once
    assert enrolled(emulator) == FAULT_IDS


@pytest.mark.usefixtures("airflow_db")
def test_a_trigger_in_flight_at_the_timeout_fails_without_retry_and_is_sent_once(emulator):
    emulator.answer_next(200, path=TRIGGER_PATH, delay=3)
    result = airflow_dags_test("test_journeys_trigger_timeout", TEST_DAGS, emulator)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "JourneysOutcomeUnknownError" in output and not entered(output, "up_for_retry")
    time.sleep(2.5)  # past the scripted answer: a resend would have arrived by now
    assert len(emulator.received(TRIGGER_PATH)) == 1


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_sigterm_stops_a_batch_within_two_seconds_and_records_every_chunk_airship_accepted(emulator):
    # Airflow's SIGTERM handler calls on_kill; the batch stops, records what was accepted, and fails.
    emulator.answer_next(200, path=TRIGGER_PATH, times=20, delay=0.3)
    process = airflow_dags_test_process("test_journeys_batch_slow", TEST_DAGS, emulator)
    deadline = time.monotonic() + 120
    while len(emulator.received(TRIGGER_PATH)) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    signalled = time.time()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    sent_after = [call for call in emulator.received(TRIGGER_PATH) if call.at > signalled + 2]
    assert sent_after == []
    assert 6 <= len(emulator.received(TRIGGER_PATH)) < 20
    assert max(enrolled(emulator).values()) == 1
    # Every chunk Airship accepted is recorded, so clearing the task (same run) resends none of them.
    [record] = progress_records()
    assert len(record["accepted"]) == len(emulator.accepted(TRIGGER_PATH))


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_retry_whose_metadata_db_is_locked_enrolls_nobody_twice(emulator):
    # The first try gets two chunks accepted, then a 429 it may not wait for. During the second the
    # metadata DB is locked: where that blocks readers (Airflow 2.11's SQLite journal), the record cannot
    # be read, which must fail the try rather than read as "nothing sent yet"; where it does not (Airflow
    # 3's WAL), the record's writes fail and are tried again.
    emulator.answer_next(429, path=TRIGGER_PATH, after=2, retry_after=1)
    result = airflow_dags_test("test_journeys_batch_record_unreadable", TEST_DAGS, emulator)
    output = result.stdout + result.stderr
    assert enrolled(emulator) == FAULT_IDS, output[-4000:]
    assert "database is locked" in output or "recording progress failed" in output
    assert_succeeded(result)


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_progress_write_that_fails_twice_is_retried_and_nobody_is_enrolled_twice(emulator):
    result = airflow_dags_test("test_journeys_batch_store_blip", TEST_DAGS, emulator)
    assert_succeeded(result)
    output = result.stdout + result.stderr
    assert "recording progress failed (Variable.set failed" in output and not entered(output, "up_for_retry")
    assert enrolled(emulator) == FAULT_IDS


@pytest.mark.usefixtures("airflow_db", "no_batch_progress_left")
def test_a_progress_store_that_stays_down_fails_the_task_without_retry_naming_the_unrecorded_chunks(emulator):
    result = airflow_dags_test("test_journeys_batch_store_down", TEST_DAGS, emulator)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "JourneysBatchFailedError" in output and not entered(output, "up_for_retry")
    assert "accepted but not recorded (a rerun would send them again)" in output
    assert max(enrolled(emulator).values()) == 1
    assert len(emulator.accepted(TRIGGER_PATH)) <= 4 * 3  # no chunk started after the store gave up


@pytest.mark.usefixtures("airflow_db")
def test_blank_ids_fail_the_batch_task_without_retry_and_send_nothing(emulator):
    result = airflow_dags_test("test_journeys_batch_blank_ids", TEST_DAGS, emulator)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "ids[1]: must not be empty or only whitespace" in output
    assert "ids[2]: must not hold control or invisible characters" in output
    assert not entered(output, "up_for_retry")
    assert emulator.received(TRIGGER_PATH) == []
