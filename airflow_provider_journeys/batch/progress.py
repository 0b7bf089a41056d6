"""Where the chunks Airship already accepted, and the batches that completed, are remembered, so that a
retried or rerun task sends nothing twice."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from airflow.providers.common.compat.sdk import Context

log = logging.getLogger(__name__)

# ``[journeys] batch_record_retention_days``: how long a completed batch stays remembered.
RETENTION_CONFIG = ("journeys", "batch_record_retention_days")
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Remembered:
    """What a store knows of one task's batches."""

    # Digests of the chunk bodies Airship accepted (see ``chunks.chunk_digest``): a chunk whose ids and
    # payload did not change is skipped, whatever its position and whatever else changed.
    accepted: frozenset[str] = frozenset()
    # The result of each batch that completed, by its fingerprint: a rerun returns it and sends nothing.
    completed: Mapping[str, dict[str, Any]] = field(default_factory=dict)


class BatchProgress(Protocol):
    """Remembers, across task tries, which chunks Airship accepted and which batches completed.

    The batch calls these from one thread only.
    """

    def load(self) -> Remembered:
        """What is remembered so far."""
        ...

    def record(self, accepted: Collection[str]) -> None:
        """Remember that Airship accepted the chunks with these digests (besides those before)."""
        ...

    def complete(self, batch: str, result: dict[str, Any]) -> None:
        """Remember that the batch with fingerprint ``batch`` completed, with ``result``."""
        ...


class NoProgress:
    """Remembers nothing: a rerun sends every chunk again."""

    def load(self) -> Remembered:
        return Remembered()

    def record(self, accepted: Collection[str]) -> None:
        pass

    def complete(self, batch: str, result: dict[str, Any]) -> None:
        pass


class VariableBatchProgress:
    """Progress kept in an Airflow Variable per task instance, the one store a task can write that survives
    its retries (a retried task instance starts with its XComs cleared).

    A completed batch stays recorded, so that a retry after completion (a failing ``post_execute``, a lost
    worker) sends nothing. Records of batches completed more than ``retention_days`` ago are deleted by a
    later completion of the same task, listed for that in a second Variable per task (``index_key``).
    """

    def __init__(self, key: str, description: str, *, index_key: str, retention_days: float) -> None:
        self.key = key
        self.description = description
        self.index_key = index_key
        self.retention = timedelta(days=retention_days)
        self._accepted: set[str] = set()
        self._completed: dict[str, dict[str, Any]] = {}

    @classmethod
    def for_task_instance(cls, context: Context) -> VariableBatchProgress:
        """The Variable that remembers this task instance's batch across its tries and reruns."""
        from airflow.providers.common.compat.sdk import conf

        ti = context["ti"]
        key = "journeys_batch_progress_" + _short_hash(ti.dag_id, ti.task_id, ti.run_id, str(ti.map_index))
        description = (
            f"Chunks of the Journeys batch {ti.dag_id}.{ti.task_id} (map index {ti.map_index}, run "
            f"{ti.run_id}) that Airship accepted, and its result once complete; a retry or rerun sends none "
            "of them again. Delete it to resend everything."
        )
        return cls(
            key,
            description,
            index_key="journeys_batch_runs_" + _short_hash(ti.dag_id, ti.task_id, str(ti.map_index)),
            retention_days=conf.getfloat(*RETENTION_CONFIG, fallback=DEFAULT_RETENTION_DAYS),
        )

    def load(self) -> Remembered:
        stored = _get(self.key)
        if stored is not None and not _is_record(stored):
            log.warning(
                "Variable %s does not hold a batch record of this provider version; it is not applied",
                self.key,
            )
            stored = None
        self._accepted = set(stored["accepted"]) if stored else set()
        self._completed = dict(stored["completed"]) if stored else {}
        return Remembered(frozenset(self._accepted), dict(self._completed))

    def record(self, accepted: Collection[str]) -> None:
        self._accepted.update(accepted)
        self._write()

    def complete(self, batch: str, result: dict[str, Any]) -> None:
        self._completed[batch] = result
        updated_at = self._write()
        self._forget_records_untouched_since(updated_at - self.retention, updated_at)

    def _write(self) -> datetime:
        from airflow.providers.common.compat.sdk import Variable

        now = datetime.now(UTC)
        record = {
            "accepted": sorted(self._accepted),
            "completed": self._completed,
            "updated_at": now.isoformat(),
        }
        Variable.set(self.key, json.dumps(record), description=self.description)
        return now

    def _forget_records_untouched_since(self, cutoff: datetime, now: datetime) -> None:
        from airflow.providers.common.compat.sdk import Variable

        index = _get(self.index_key) or {}
        index[self.key] = now.isoformat()
        for key, updated_at in list(index.items()):
            if key == self.key or datetime.fromisoformat(updated_at) >= cutoff:
                continue
            # Read again, not trusted from the index: a record rerun since it completed is younger.
            stored = _get(key)
            if _is_record(stored) and datetime.fromisoformat(stored["updated_at"]) >= cutoff:
                index[key] = stored["updated_at"]
                continue
            if _is_record(stored):
                Variable.delete(key)
                log.info("Deleted %s: its batch completed more than %s ago", key, self.retention)
            del index[key]
        Variable.set(
            self.index_key,
            json.dumps(index),
            description="Completed Journeys batch records of one task, deleted after the retention period.",
        )


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def _get(key: str) -> Any:
    # Raises when the Variable cannot be read: read as "no record", it would resend what Airship accepted.
    from airflow_provider_journeys.version_compat import get_json_variable

    return get_json_variable(key)


def _is_record(stored: Any) -> bool:
    return (
        isinstance(stored, dict)
        and isinstance(stored.get("accepted"), list)
        and isinstance(stored.get("completed"), dict)
        and isinstance(stored.get("updated_at"), str)
    )
