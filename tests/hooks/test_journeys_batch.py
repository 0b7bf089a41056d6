"""JourneysHook.trigger_batch against the emulator: chunking, concurrency, failure reports and resuming."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowTaskTimeout, timeout

from airflow_provider_journeys.batch import Remembered, split_into_chunks
from airflow_provider_journeys.exceptions import (
    JourneysArgumentError,
    JourneysBatchFailedError,
    JourneysBatchIncompleteError,
    JourneysPayloadError,
    JourneysRateLimitError,
)
from airflow_provider_journeys.hooks.journeys import TRIGGER_PATH, JourneysHook
from airflow_provider_journeys.testing import AirshipEmulator


class MemoryProgress:
    """A BatchProgress kept in memory, standing in for the operator's Airflow Variable."""

    def __init__(self) -> None:
        self.accepted: set[str] = set()
        self.completed: dict[str, dict] = {}

    def load(self) -> Remembered:
        return Remembered(frozenset(self.accepted), dict(self.completed))

    def record(self, accepted) -> None:
        self.accepted.update(accepted)

    def complete(self, batch: str, result: dict) -> None:
        self.completed[batch] = result


def user_ids(count: int) -> list[str]:
    return [f"user-{number}" for number in range(count)]


def enrolled(emulator: AirshipEmulator) -> Counter[str]:
    """How many times each named user was in an accepted trigger."""
    return Counter(
        user for body in emulator.accepted(TRIGGER_PATH) for user in body["audience"]["named_user"]
    )


def send(ids: list[str], **arguments) -> dict:
    arguments = {"triggering_id": "entrance-1", **arguments}
    hook_arguments = {key: arguments.pop(key) for key in ("max_retry_wait", "dry_run") if key in arguments}
    return JourneysHook(**hook_arguments).trigger_batch(selector="named_user", ids=ids, **arguments)


def test_batch_sends_every_id_exactly_once_in_audiences_of_at_most_1000(airship):
    ids = user_ids(2500)
    result = send(ids, entrance_id="daily-20261128", global_attributes={"offer": "spring"})
    bodies = airship.accepted(TRIGGER_PATH)
    assert sorted(len(body["audience"]["named_user"]) for body in bodies) == [500, 1000, 1000]
    assert enrolled(airship) == Counter(ids)
    assert all(
        {key: body[key] for key in ("triggering_id", "entrance_id", "global_attributes")}
        == {
            "triggering_id": "entrance-1",
            "entrance_id": "daily-20261128",
            "global_attributes": {"offer": "spring"},
        }
        for body in bodies
    )
    assert {key: result[key] for key in ("chunks", "ids", "chunks_accepted", "ids_accepted")} == {
        "chunks": 3,
        "ids": 2500,
        "chunks_accepted": 3,
        "ids_accepted": 2500,
    }
    operation_ids = result["operation_ids"]
    assert sorted(operation_ids) == ["0", "1", "2"]
    assert len(set(operation_ids.values()) - {None}) == 3


def test_chunk_size_sets_the_ids_per_request_and_keeps_their_order(airship):
    ids = user_ids(25)
    send(ids, chunk_size=10, max_concurrency=1)
    assert [body["audience"]["named_user"] for body in airship.accepted(TRIGGER_PATH)] == [
        ids[0:10],
        ids[10:20],
        ids[20:25],
    ]


def test_one_token_fetch_and_one_pool_of_at_most_max_concurrency_connections_serve_a_batch(airship):
    # Each answer waits, so the chunks really are in flight together and the pool needs all its connections.
    airship.answer_next(200, path=TRIGGER_PATH, times=9, delay=0.2)
    send(user_ids(90), chunk_size=10, max_concurrency=3)
    assert len(airship.received("/token")) == 1
    calls = airship.received(TRIGGER_PATH)
    assert len(calls) == 9
    assert len({call.client for call in calls}) == 3
    assert len({call.headers["Authorization"] for call in calls}) == 1


def test_every_chunk_is_validated_before_anything_is_sent(airship):
    ids: list = user_ids(2500)
    ids[2100] = 2100
    with pytest.raises(JourneysPayloadError) as raised:
        send(ids)
    assert str(raised.value) == (
        "Invalid Journeys trigger payload for chunk 2 (ids[2000:2500]), nothing was sent:\n"
        "  ids[2100]: 2100 has type integer, expected string"
    )
    assert airship.requests == []


def test_a_chunk_size_above_airships_limit_is_refused_by_the_schema_before_sending(airship):
    with pytest.raises(JourneysPayloadError, match=r"named_user: has 1001 items \(at most 1000\)"):
        send(user_ids(1001), chunk_size=1001)
    assert airship.requests == []


def test_a_selector_that_takes_no_id_list_is_refused_before_sending(airship):
    with pytest.raises(JourneysPayloadError, match=r"\$\.audience\.static_list: .* expected string"):
        JourneysHook().trigger_batch(selector="static_list", ids=["a", "b"], triggering_id="t")
    with pytest.raises(JourneysPayloadError, match="unknown key 'named_users'"):
        JourneysHook().trigger_batch(selector="named_users", ids=["a"], triggering_id="t")
    assert airship.requests == []


def test_repeated_ids_are_refused_naming_where_they_repeat(airship):
    ids = [*user_ids(1500), "user-3", "user-1200"]
    with pytest.raises(JourneysArgumentError) as raised:
        send(ids)
    assert "2 repeated id(s), which would be enrolled twice" in str(raised.value)
    assert "ids[1500] 'user-3' repeats ids[3]" in str(raised.value)
    assert "ids[1501] 'user-1200' repeats ids[1200]" in str(raised.value)
    assert airship.requests == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"ids": "user-1,user-2"}, "ids is a str; it must be a list of ids"),
        ({"ids": {"user-1": 1}}, "ids is a dict"),
        ({"chunk_size": 0}, "chunk_size is 0; it must be a whole number, 1 or more"),
        ({"chunk_size": 10.0}, "chunk_size is 10.0"),
        ({"max_concurrency": 0}, "max_concurrency is 0; it must be a whole number from 1 to 16"),
        ({"max_concurrency": 17}, "max_concurrency is 17"),
        ({"max_concurrency": True}, "max_concurrency is True"),
        ({"selector": None}, "selector is None; it must be a selector name"),
    ],
)
def test_batch_arguments_of_the_wrong_kind_are_refused_before_sending(airship, arguments, message):
    arguments = {"selector": "named_user", "ids": ["user-1"], "triggering_id": "t", **arguments}
    with pytest.raises(JourneysArgumentError, match=message):
        JourneysHook().trigger_batch(**arguments)
    assert airship.requests == []


def test_rate_limited_chunks_wait_for_retry_after_and_the_batch_completes(airship):
    airship.answer_next(429, path=TRIGGER_PATH, times=3, retry_after=0)
    ids = user_ids(40)
    send(ids, chunk_size=10, max_concurrency=2)
    assert enrolled(airship) == Counter(ids)
    assert [call.status for call in airship.received(TRIGGER_PATH)].count(429) == 3


def test_a_chunk_that_may_have_enrolled_fails_the_batch_listing_accepted_failed_and_unsent_chunks(airship):
    airship.answer_next(500, path=TRIGGER_PATH, after=2)
    with pytest.raises(JourneysBatchFailedError) as raised:
        send(user_ids(50), chunk_size=10, max_concurrency=1)
    error = raised.value
    assert isinstance(error, AirflowFailException)
    assert (sorted(error.report.accepted), sorted(error.report.failed)) == ([0, 1], [2])
    assert [chunk.index for chunk in error.report.not_sent] == [3, 4]
    message = str(error)
    assert "1 of 5 chunks failed; 2 were accepted (0 by earlier tries), 2 were not sent." in message
    assert "chunk 2 (ids[20:30]) failed: POST /api/journeys/trigger failed: HTTP 500" in message
    assert "accepted: 0-1" in message
    assert "not sent: 3-4" in message
    assert "Check the Sequence for the failed chunks before rerunning" in message
    assert len(airship.received(TRIGGER_PATH)) == 3


def test_chunks_in_flight_when_one_fails_are_finished_and_reported(airship):
    airship.answer_next(400, path=TRIGGER_PATH, body={"ok": False, "error": "nope"})
    airship.answer_next(200, path=TRIGGER_PATH, times=3, delay=0.3)
    with pytest.raises(JourneysBatchFailedError) as raised:
        send(user_ids(100), chunk_size=10, max_concurrency=4)
    report = raised.value.report
    # The failure came back first; the chunks already on the wire still landed (one whose thread had not
    # sent yet is stopped and reported as not sent), and no new chunk was started.
    assert len(report.failed) == 1
    statuses = sorted(call.status for call in airship.received(TRIGGER_PATH))
    assert statuses[-1] == 400 and set(statuses[:-1]) <= {200} and len(statuses) <= 4
    assert len(report.accepted) == len(statuses) - 1
    assert len(report.not_sent) == 10 - len(statuses)
    assert enrolled(airship).total() == 10 * len(report.accepted)


def test_rate_limit_exhaustion_before_anything_was_accepted_leaves_a_batch_retryable(airship):
    airship.answer_next(429, path=TRIGGER_PATH, retry_after=5)
    with pytest.raises(JourneysBatchIncompleteError) as raised:
        send(user_ids(30), chunk_size=10, max_concurrency=1, max_retry_wait=1)
    error = raised.value
    assert not isinstance(error, AirflowFailException)
    assert isinstance(error.__cause__, JourneysRateLimitError)
    assert "Nothing in doubt was sent" in str(error)


def test_without_a_progress_store_a_batch_that_got_chunks_accepted_fails_without_retries(airship):
    # A retry would resend every chunk: nothing remembers the ones Airship accepted.
    airship.answer_next(429, path=TRIGGER_PATH, after=1, retry_after=5)
    with pytest.raises(JourneysBatchFailedError) as raised:
        send(user_ids(30), chunk_size=10, max_concurrency=1, max_retry_wait=1)
    error = raised.value
    assert isinstance(error, AirflowFailException)
    assert "without a progress store nothing was recorded, so a rerun would resend every chunk" in str(error)
    assert (sorted(error.report.accepted), sorted(error.report.failed)) == ([0], [1])


def test_a_rerun_with_the_same_progress_sends_only_the_chunks_not_yet_accepted(airship):
    ids = user_ids(50)
    progress = MemoryProgress()
    airship.answer_next(429, path=TRIGGER_PATH, after=2, retry_after=5)
    with pytest.raises(JourneysBatchIncompleteError) as raised:
        send(ids, chunk_size=10, max_concurrency=1, max_retry_wait=1, progress=progress)
    assert "Nothing in doubt was sent; a rerun sends only the chunks not accepted." in str(raised.value)
    assert len(progress.accepted) == 2

    result = send(ids, chunk_size=10, max_concurrency=1, progress=progress)
    assert enrolled(airship) == Counter(ids)
    assert result["chunks_accepted_by_earlier_tries"] == 2
    assert (result["chunks_accepted"], result["ids_accepted"]) == (5, 50)
    assert sorted(result["operation_ids"]) == ["2", "3", "4"]
    assert list(progress.completed.values()) == [result]


def test_a_batch_that_completed_sends_nothing_again_and_returns_its_result(airship):
    ids = user_ids(30)
    progress = MemoryProgress()
    first = send(ids, chunk_size=10, progress=progress)
    again = send(ids, chunk_size=10, progress=progress)
    assert again == first
    assert enrolled(airship) == Counter(ids)


def test_a_changed_list_resends_only_the_chunk_whose_ids_changed(airship):
    progress = MemoryProgress()
    send(user_ids(41), chunk_size=10, progress=progress)
    result = send(user_ids(42), chunk_size=10, progress=progress)
    assert result["chunks_accepted_by_earlier_tries"] == 4
    # The last chunk changed (user-41 joined user-40), so it is resent whole; the four before are not.
    assert len(airship.accepted(TRIGGER_PATH)) == 6
    assert enrolled(airship) == Counter({**Counter(user_ids(42)), "user-40": 2})


def test_progress_of_a_different_batch_is_not_applied(airship):
    progress = MemoryProgress()
    airship.answer_next(429, path=TRIGGER_PATH, after=1, retry_after=5)
    with pytest.raises(JourneysBatchIncompleteError):
        send(user_ids(20), chunk_size=10, max_concurrency=1, max_retry_wait=1, progress=progress)
    # Another entrance_id is another enrollment: every chunk of it must be sent.
    result = send(user_ids(20), chunk_size=10, entrance_id="other", progress=progress)
    assert result["chunks_accepted_by_earlier_tries"] == 0
    assert len(airship.accepted(TRIGGER_PATH)) == 3


def test_a_dry_run_batch_validates_every_chunk_and_sends_nothing(airship, caplog):
    caplog.set_level("WARNING")
    result = send(user_ids(2500), dry_run=True)
    assert (result["dry_run"], result["chunks"], result["ids"], result["chunks_accepted"]) == (
        True,
        3,
        2500,
        0,
    )
    assert airship.requests == []
    assert "Dry run, nothing sent: 2500 ids in 3 chunks" in caplog.text
    bad: list = [*user_ids(10), None]
    with pytest.raises(JourneysPayloadError):
        send(bad, dry_run=True)


def test_an_empty_id_list_sends_nothing_and_says_so(airship, caplog):
    caplog.set_level("WARNING")
    result = send([])
    assert (result["chunks"], result["ids_accepted"]) == (0, 0)
    assert airship.requests == []
    assert "ids is empty: nobody to enroll, nothing sent" in caplog.text


def test_progress_is_logged_with_chunks_done_and_ids_per_second(airship, caplog):
    caplog.set_level("INFO", logger="airflow_provider_journeys")
    send(user_ids(200), chunk_size=10)
    progress_lines = [r.getMessage() for r in caplog.records if "chunks accepted" in r.getMessage()]
    # At most one line per tenth of the batch (chunks finishing together share one), not one per chunk.
    assert 2 <= len(progress_lines) <= 10
    assert progress_lines[-1].startswith("Batch: 20 of 20 chunks accepted (200 ids by this try, ")
    assert progress_lines[-1].endswith(" ids/s)")


def test_split_into_chunks_covers_every_position_once():
    ids = user_ids(2001)
    chunks = split_into_chunks(ids, 1000)
    assert [(chunk.index, chunk.first, len(chunk.ids)) for chunk in chunks] == [
        (0, 0, 1000),
        (1, 1000, 1000),
        (2, 2000, 1),
    ]
    assert [chunk.span for chunk in chunks] == ["ids[0:1000]", "ids[1000:2000]", "ids[2000:2001]"]


def test_an_id_repeated_in_another_form_is_refused_as_a_repeat(airship):
    user = uuid.UUID(int=7)
    with pytest.raises(JourneysArgumentError, match=r"ids\[1\].*repeats ids\[0\]"):
        JourneysHook().trigger_batch(selector="named_user", ids=[user, str(user)], triggering_id="seq")
    assert airship.requests == []


# --- stopping: a timeout, a kill or a lost progress store sends nothing twice ---------------------------


def test_a_timeout_with_chunks_in_flight_records_every_chunk_airship_accepted(airship):
    ids = user_ids(12)
    progress = MemoryProgress()
    airship.answer_next(200, path=TRIGGER_PATH, times=12, delay=0.6)
    with pytest.raises(JourneysBatchIncompleteError) as raised, timeout(1):
        send(ids, chunk_size=1, max_concurrency=4, progress=progress)
    assert isinstance(raised.value.__cause__, AirflowTaskTimeout)
    assert "Stopped: AirflowTaskTimeout" in str(raised.value)
    in_first_try = len(airship.accepted(TRIGGER_PATH))
    assert 4 <= in_first_try < 12  # the chunks on the wire at the timeout finished, no new one started
    assert len(progress.accepted) == in_first_try

    send(ids, chunk_size=1, max_concurrency=4, progress=progress)
    assert enrolled(airship) == Counter(ids)


def test_a_timeout_after_a_chunk_in_doubt_fails_the_batch_without_retries(airship):
    airship.answer_next(503, path=TRIGGER_PATH)
    airship.answer_next(200, path=TRIGGER_PATH, times=3, delay=1.5)
    with pytest.raises(JourneysBatchFailedError) as raised, timeout(1):
        send(user_ids(8), chunk_size=1, max_concurrency=4, progress=MemoryProgress())
    assert isinstance(raised.value, AirflowFailException)
    assert "HTTP 503" in str(raised.value)


def test_threads_waiting_on_retry_after_send_nothing_after_a_timeout(airship):
    airship.answer_next(429, path=TRIGGER_PATH, times=4, retry_after=3)
    started = time.monotonic()
    with pytest.raises(JourneysBatchIncompleteError), timeout(1):
        send(user_ids(8), chunk_size=1, max_concurrency=4, progress=MemoryProgress())
    assert time.monotonic() - started < 2.5  # the waits ended with the timeout, not after 3 s
    time.sleep(2.5)  # past the Retry-After: a thread still waiting would have sent by now
    assert [call.status for call in airship.received(TRIGGER_PATH)] == [429] * 4


def test_stopping_the_hook_from_another_thread_ends_the_batch_within_a_request(airship):
    airship.answer_next(200, path=TRIGGER_PATH, times=40, delay=0.3)
    hook = JourneysHook()
    threading.Timer(0.5, hook.stop).start()
    started = time.monotonic()
    with pytest.raises(JourneysBatchIncompleteError) as raised:
        hook.trigger_batch(selector="named_user", ids=user_ids(40), triggering_id="seq", chunk_size=1)
    assert time.monotonic() - started < 1.5
    assert "the task was killed (on_kill)" in str(raised.value)
    sent = len(airship.received(TRIGGER_PATH))
    time.sleep(0.5)
    assert len(airship.received(TRIGGER_PATH)) == sent < 40


class FlakyProgress(MemoryProgress):
    """Fails its first ``failures`` writes, as an Airflow API blip would."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def record(self, accepted) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("Variable.set failed")
        super().record(accepted)


def test_a_failed_progress_write_is_retried_and_the_batch_completes(airship):
    ids = user_ids(30)
    progress = FlakyProgress(failures=2)
    send(ids, chunk_size=10, max_concurrency=1, progress=progress)
    assert enrolled(airship) == Counter(ids)
    assert len(progress.accepted) == 3


def test_a_progress_store_that_stays_down_stops_the_batch_and_names_what_a_rerun_would_repeat(airship):
    progress = FlakyProgress(failures=100)
    with pytest.raises(JourneysBatchFailedError) as raised:
        send(user_ids(50), chunk_size=10, max_concurrency=1, progress=progress)
    message = str(raised.value)
    assert "the progress store kept failing" in message
    # Chunk 1 was already on the wire while chunk 0 was being recorded; nothing started after that.
    assert "accepted but not recorded (a rerun would send them again): 0-1" in message
    assert len(airship.accepted(TRIGGER_PATH)) == 2


def test_a_second_interruption_while_finishing_still_records_every_chunk_airship_accepted(airship):
    airship.answer_next(200, path=TRIGGER_PATH, times=4, delay=1.5, after=2)
    progress = MemoryProgress()

    def second_interruption(signum, frame):
        raise RuntimeError("a second signal")

    previous = signal.signal(signal.SIGUSR1, second_interruption)
    try:
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(JourneysBatchIncompleteError), timeout(0.5):
            send(user_ids(100), chunk_size=10, max_concurrency=4, progress=progress)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert len(progress.accepted) == len(airship.accepted(TRIGGER_PATH))
    send(user_ids(100), chunk_size=10, max_concurrency=4, progress=progress)
    assert enrolled(airship) == Counter(user_ids(100))
