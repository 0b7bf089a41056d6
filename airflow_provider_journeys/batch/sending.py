"""Sending a batch: every chunk validated first, then up to ``max_concurrency`` chunks in flight, each
through the caller's ``send`` (which applies the resend rules), the accepted ones recorded as they land."""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_journeys.batch.chunks import (
    BatchReport,
    Chunk,
    chunk_digest,
    describe_repeats,
    fingerprint,
    repeated_ids,
    split_into_chunks,
)
from airflow_provider_journeys.batch.progress import NoProgress
from airflow_provider_journeys.defaults import MAX_CONCURRENCY
from airflow_provider_journeys.exceptions import (
    JourneysArgumentError,
    JourneysBatchFailedError,
    JourneysBatchIncompleteError,
    JourneysPayloadError,
    JourneysRateLimitError,
    JourneysStoppedError,
    JourneysUnavailableError,
    JourneysWaitRequested,
)
from airflow_provider_journeys.resend import TRIGGER_PATH
from airflow_provider_journeys.validation import build_payload, validated_body

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_journeys.batch.progress import BatchProgress

log = logging.getLogger(__name__)

# Failures known to have enrolled nobody: only these leave a batch retryable.
_NOTHING_ACCEPTED = (
    JourneysRateLimitError,
    JourneysUnavailableError,
    JourneysWaitRequested,
    JourneysStoppedError,
)
# How often the waiting thread looks at the stop flag, which on_kill sets from a signal handler.
_POLL_SECONDS = 0.2
# Writes to the progress store: a first try and three more after 0.5, 1 and 2 s.
_RECORD_RETRY_WAITS = (0.5, 1.0, 2.0)


class _ProgressNotRecorded(Exception):
    """The progress store kept failing; the batch stops rather than send what it could not record."""


def send_batch(
    *,
    selector: str,
    ids: Sequence[str],
    triggering_id: str | list[str],
    entrance_id: str | None,
    global_attributes: dict[str, Any] | None,
    chunk_size: int,
    max_concurrency: int,
    progress: BatchProgress,
    send: Callable[[bytes], dict[str, Any]] | None,
    before_sending: Callable[[], object],
    stop: threading.Event,
) -> dict[str, Any]:
    """Enroll ``ids`` in chunks through ``send(body)``; ``send=None`` is a dry run that sends nothing.

    ``before_sending`` runs once on this thread before the first chunk goes out (the hook fetches its
    token there, so that bad credentials fail the batch before any chunk). Setting ``stop`` (from
    ``on_kill``, say) starts no new chunk; ``send`` is expected to end its waits on it too. Returns the
    report as a dict, or raises :class:`JourneysBatchIncompleteError` / :class:`JourneysBatchFailedError`
    with it.
    """
    _check_batch_arguments(selector, ids, chunk_size, max_concurrency)
    if not ids:
        log.warning("ids is empty: nobody to enroll, nothing sent")
    chunks = split_into_chunks(ids, chunk_size)
    bodies = [
        _validated_chunk_body(chunk, selector, triggering_id, entrance_id, global_attributes)
        for chunk in chunks
    ]
    report = BatchReport(selector, chunks, dry_run=send is None)
    if send is None:
        log.warning(
            "Dry run, nothing sent: %d ids in %d chunks to POST %s; first chunk %s",
            len(ids),
            len(chunks),
            TRIGGER_PATH,
            bodies[0].decode() if bodies else "(none)",
        )
        return report.as_dict()
    batch = fingerprint(bodies)
    digests = [chunk_digest(body) for body in bodies]
    remembered = progress.load()
    if batch in remembered.completed:
        log.warning(
            "This batch completed in an earlier try or run, as its progress record says: nothing is sent "
            "again, and the earlier result is returned"
        )
        return remembered.completed[batch]
    report.previously_accepted = {
        chunk.index for chunk in chunks if digests[chunk.index] in remembered.accepted
    }
    if report.previously_accepted:
        log.info(
            "Resuming: %d of %d chunks were accepted by an earlier try and are not sent again",
            len(report.previously_accepted),
            len(chunks),
        )
    to_send = [(chunk, bodies[chunk.index]) for chunk in report.not_sent]
    if to_send:
        before_sending()
        _ChunkSender(report, send, stop, lambda indexes: progress.record([digests[i] for i in indexes])).run(
            to_send, max_concurrency, resumable=not isinstance(progress, NoProgress)
        )
    result = report.as_dict()
    progress.complete(batch, result)
    return result


def _check_batch_arguments(
    selector: object, ids: object, chunk_size: object, max_concurrency: object
) -> None:
    # A string is a Sequence too: taken as given, "abc" would enroll the ids "a", "b" and "c".
    if not isinstance(selector, str):
        raise JourneysArgumentError(
            f"selector is {selector!r}; it must be a selector name such as 'named_user'"
        )
    if not isinstance(ids, list | tuple):
        raise JourneysArgumentError(f"ids is a {type(ids).__name__}; it must be a list of ids")
    repeats = repeated_ids(ids)
    if repeats:
        raise JourneysArgumentError(
            f"ids holds {len(repeats)} repeated id(s), which would be enrolled twice: "
            f"{describe_repeats(ids, repeats)}"
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise JourneysArgumentError(f"chunk_size is {chunk_size!r}; it must be a whole number, 1 or more")
    if (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or not 1 <= max_concurrency <= MAX_CONCURRENCY
    ):
        raise JourneysArgumentError(
            f"max_concurrency is {max_concurrency!r}; it must be a whole number from 1 to {MAX_CONCURRENCY}"
        )


def _validated_chunk_body(
    chunk: Chunk,
    selector: str,
    triggering_id: str | list[str],
    entrance_id: str | None,
    global_attributes: dict[str, Any] | None,
) -> bytes:
    payload = build_payload(
        audience={selector: list(chunk.ids)},
        triggering_id=triggering_id,
        entrance_id=entrance_id,
        global_attributes=global_attributes,
    )
    try:
        return validated_body("trigger", payload)
    except JourneysPayloadError as invalid:
        raise JourneysPayloadError(
            "trigger",
            [(_position_in_ids(path, selector, chunk), reason) for path, reason in invalid.violations],
            where=f" for chunk {chunk.index} ({chunk.span})",
        ) from None


def _position_in_ids(path: str, selector: str, chunk: Chunk) -> str:
    """``$.audience.named_user[5]`` of chunk 2 is ``ids[2005]``: where the user can find the bad id."""
    match = re.fullmatch(rf"\$\.audience\.{re.escape(selector)}\[(\d+)\]", path)
    return f"ids[{chunk.first + int(match.group(1))}]" if match else path


class _ChunkSender:
    """Keeps up to ``max_concurrency`` chunks in flight and records each accepted one.

    After a failure, a stop or an exception in this thread (Airflow's timeout is raised here), it starts no
    new chunk, wakes the threads waiting to resend (through ``stop``), waits for the requests already on
    the wire (each bounded by the request timeout), records every chunk Airship accepted, then raises.

    Each worker puts its chunk's outcome on a queue itself, so that no outcome depends on this thread's
    bookkeeping: an exception can strike this thread between any two of its steps (even inside
    ``pool.submit``, while a worker already runs the chunk), and every chunk a worker ran is still found.
    """

    def __init__(
        self,
        report: BatchReport,
        send: Callable[[bytes], dict[str, Any]],
        stop: threading.Event,
        record: Callable[[list[int]], None],
    ) -> None:
        self.report = report
        self.send = send
        self.stop = stop
        self.record = record
        # Appended by the workers and never removed, so that an exception striking this thread mid-step
        # loses none: settling is safe to repeat, and _finish settles them all again.
        self.outcomes: list[_Outcome] = []
        self.finished = threading.Semaphore(0)
        self.submitted = 0
        self.settled = 0
        self.unrecorded: set[int] = set()

    def run(self, to_send: list[tuple[Chunk, bytes]], max_concurrency: int, *, resumable: bool) -> None:
        pending = list(reversed(to_send))
        throughput = _ThroughputLog(self.report, len(to_send))
        log.info(
            "Batch: sending %d chunks of up to %d %s ids to POST %s, %d at a time",
            len(to_send),
            len(to_send[0][0].ids),
            self.report.selector,
            TRIGGER_PATH,
            max_concurrency,
        )
        workers = _Workers(max_concurrency, self._send_chunk)
        try:
            workers.start()

            def fill_free_slots() -> None:
                while pending and not self.stop.is_set() and self.submitted - self.settled < max_concurrency:
                    workers.submit(*pending.pop())
                    self.submitted += 1

            fill_free_slots()
            while self.settled < self.submitted:
                if self._settle_finished():
                    self.stop.set()  # after a failure: no new chunk, and no resend after a wait
                # Refilled before recording, so requests keep flowing while the progress is written.
                fill_free_slots()
                if self.unrecorded:
                    # From this thread only, so a progress store need not be thread-safe; chunks that
                    # finished together are recorded in one write.
                    self._record_with_retries()
                    throughput.log()
            if pending and not self.report.failed:
                self.report.stopped_by = "the task was killed (on_kill), so no further chunk was sent"
        except BaseException as interruption:
            self.stop.set()
            self.report.stopped_by = _describe_interruption(interruption)
            self._finish(workers)
            raise _batch_error(self.report, resumable=resumable) from interruption
        workers.stop_and_join()
        if self.report.failed or self.report.stopped_by:
            raise _batch_error(self.report, resumable=resumable) from next(
                iter(self.report.failed.values()), None
            )

    def _send_chunk(self, chunk: Chunk, body: bytes) -> None:
        """Runs on a worker thread."""
        try:
            self.outcomes.append(_Outcome(chunk, self.send(body), None))
        except BaseException as err:
            self.outcomes.append(_Outcome(chunk, None, err))
        self.finished.release()

    def _settle_finished(self) -> bool:
        """Wait a little for a chunk to finish, put every finished one in the report; True when any failed."""
        # A short timeout: a stop set by on_kill (in a signal handler) is seen even while nothing finishes.
        self.finished.acquire(timeout=_POLL_SECONDS)
        failed = False
        while self.settled < len(self.outcomes):
            failed |= self._settle(self.outcomes[self.settled])
            self.settled += 1
        return failed

    def _settle(self, outcome: _Outcome) -> bool:
        """Put one chunk's answer or error in the report; True when it failed. Safe to repeat."""
        chunk = outcome.chunk
        if outcome.error is None:
            self.unrecorded.add(chunk.index)  # first, so that an interruption here cannot lose it
            self.report.accepted[chunk.index] = outcome.answer
            return False
        if isinstance(outcome.error, JourneysStoppedError):  # stopped before sending: not sent
            return False
        self.report.failed[chunk.index] = outcome.error
        log.error("Batch: chunk %d (%s) failed: %s", chunk.index, chunk.span, outcome.error)
        return True

    def _finish(self, workers: _Workers) -> None:
        """After an interruption: wait for every chunk a worker took, settle and record them all.

        Shielded: a second signal (Airflow's supervisor escalates SIGINT to SIGTERM) must not skip this.
        """
        while True:
            try:
                workers.stop_and_join()  # each request ends within its timeout; waits end with stop
                # From the first not counted as settled: one an exception struck mid-way is settled again.
                for outcome in self.outcomes[self.settled :]:
                    self._settle(outcome)
                self.settled = len(self.outcomes)
                self._record_once()
                return
            except BaseException as again:
                log.warning(
                    "Batch: %s while finishing the chunks in flight; still finishing", type(again).__name__
                )

    def _record_with_retries(self) -> None:
        for wait_seconds in (*_RECORD_RETRY_WAITS, None):
            try:
                self._record_once(raise_error=True)
                return
            except Exception as err:
                if wait_seconds is None:
                    raise _ProgressNotRecorded(f"the progress store kept failing ({err})") from err
                log.warning(
                    "Batch: recording progress failed (%s); trying again in %.1f s", err, wait_seconds
                )
                time.sleep(wait_seconds)

    def _record_once(self, *, raise_error: bool = False) -> None:
        try:
            if self.unrecorded:
                self.record(sorted(self.unrecorded))
            self.unrecorded.clear()
        except Exception:
            if raise_error:
                raise
            log.exception("Batch: recording progress failed")
        finally:
            self.report.unrecorded = set(self.unrecorded)


class _Workers:
    """A fixed set of threads that run chunks from a queue.

    Written by hand rather than taken from ThreadPoolExecutor, which starts its threads inside ``submit``:
    an exception raised into the calling thread there (Airflow's timeout) leaves a thread running a chunk
    that ``shutdown`` does not wait for. These threads all start before any chunk is queued, and
    ``stop_and_join`` waits for every one of them, whatever happened to the caller. It waits on an event
    each thread sets as it ends, not on ``Thread.join``: a join interrupted by a signal handler's exception
    can leave the thread marked as ended while it still runs (CPython, bpo-45274's fix).
    """

    def __init__(self, count: int, run: Callable[[Chunk, bytes], None]) -> None:
        self.count = count
        self.run = run
        self.queue: queue.SimpleQueue[tuple[Chunk, bytes] | None] = queue.SimpleQueue()
        self.ended: list[threading.Event] = []

    def start(self) -> None:
        for number in range(self.count):
            ended = threading.Event()
            threading.Thread(
                target=self._work, args=(ended,), name=f"journeys-batch-{number}", daemon=True
            ).start()
            # Only once started: a thread whose start was interrupted took no chunk (none is queued yet).
            self.ended.append(ended)

    def submit(self, chunk: Chunk, body: bytes) -> None:
        self.queue.put((chunk, body))

    def stop_and_join(self) -> None:
        for _ in range(self.count):
            self.queue.put(None)
        for ended in self.ended:
            ended.wait()

    def _work(self, ended: threading.Event) -> None:
        try:
            while (item := self.queue.get()) is not None:
                self.run(*item)
        finally:
            ended.set()


@dataclass(frozen=True)
class _Outcome:
    chunk: Chunk
    answer: dict[str, Any] | None
    error: BaseException | None


def _describe_interruption(interruption: BaseException) -> str:
    if isinstance(interruption, _ProgressNotRecorded):
        return str(interruption)
    return f"{type(interruption).__name__} ({interruption or 'no message'}) interrupted the batch"


def _batch_error(report: BatchReport, *, resumable: bool) -> JourneysBatchIncompleteError:
    # Only failures known to have accepted nothing leave the batch retryable; anything else decides for it.
    # Without a store nothing is remembered, so a retry would resend every chunk accepted so far.
    retryable = (
        not report.unrecorded
        and (resumable or not report.accepted)
        and all(isinstance(error, _NOTHING_ACCEPTED) for error in report.failed.values())
    )
    error_type = JourneysBatchIncompleteError if retryable else JourneysBatchFailedError
    rerun = (
        "a rerun sends only the chunks not accepted (and those accepted but not recorded)"
        if resumable and report.unrecorded
        else "a rerun sends only the chunks not accepted"
        if resumable
        else "without a progress store nothing was recorded, so a rerun would resend every chunk"
    )
    next_step = (
        f"Nothing in doubt was sent; {rerun}."
        if retryable
        else f"Check the Sequence for the failed chunks before rerunning; {rerun}."
    )
    return error_type(f"Batch trigger incomplete. {report.describe_failure()}\n{next_step}", report)


class _ThroughputLog:
    """Logs a batch's progress at every tenth of its chunks or every 30 s, whichever comes first."""

    INTERVAL_SECONDS = 30.0

    def __init__(self, report: BatchReport, sending: int) -> None:
        self.report = report
        self.sending = sending
        self.started = self.last_logged = time.monotonic()
        self.tenths_logged = 0

    def log(self) -> None:
        now = time.monotonic()
        sent = len(self.report.accepted)
        tenths = sent * 10 // self.sending
        if tenths == self.tenths_logged and now - self.last_logged < self.INTERVAL_SECONDS:
            return
        self.tenths_logged, self.last_logged = tenths, now
        ids = self.report.ids_in(self.report.accepted.keys())
        log.info(
            "Batch: %d of %d chunks accepted (%d ids by this try, %.0f ids/s)",
            sent + len(self.report.previously_accepted),
            len(self.report.chunks),
            ids,
            ids / max(now - self.started, 1e-9),
        )
