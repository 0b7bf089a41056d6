"""Where the chunks Airship already accepted are remembered, so that a retried task resumes a batch
instead of resending them."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection

    from airflow.sdk import Context

log = logging.getLogger(__name__)


class BatchProgress(Protocol):
    """Remembers which chunks of a batch Airship accepted, across task tries.

    ``batch`` is the batch's fingerprint (a hash of exactly the bodies it sends), so a store never applies
    what it remembers to another batch. The batch calls these from one thread only.
    """

    def load(self, batch: str) -> set[int]:
        """The chunks of ``batch`` accepted before; none when the store remembers another batch."""
        ...

    def record(self, batch: str, indexes: Collection[int]) -> None:
        """Remember that Airship accepted the chunks ``indexes`` of ``batch`` (besides those before)."""
        ...

    def complete(self, batch: str) -> None:
        """Every chunk of ``batch`` was accepted."""
        ...


class NoProgress:
    """Remembers nothing: a rerun sends every chunk again."""

    def load(self, batch: str) -> set[int]:
        return set()

    def record(self, batch: str, indexes: Collection[int]) -> None:
        pass

    def complete(self, batch: str) -> None:
        pass


class VariableBatchProgress:
    """Progress kept in an Airflow Variable, the one store a task can write that survives its retries
    (a retried task instance starts with its XComs cleared). Deleted when the batch completes."""

    def __init__(self, key: str, description: str) -> None:
        self.key = key
        self.description = description
        self._accepted: set[int] = set()

    @classmethod
    def for_task_instance(cls, context: Context) -> VariableBatchProgress:
        """The Variable that remembers this task instance's accepted chunks across its tries."""
        ti = context["ti"]
        identity = f"{ti.dag_id}\0{ti.task_id}\0{ti.run_id}\0{ti.map_index}"
        key = f"journeys_batch_progress_{hashlib.sha256(identity.encode()).hexdigest()[:24]}"
        description = (
            f"Chunks of the Journeys batch {ti.dag_id}.{ti.task_id} (map index {ti.map_index}, run "
            f"{ti.run_id}) that Airship accepted; a retry skips them. Deleted when the batch completes; "
            "delete it to resend all."
        )
        return cls(key, description)

    def load(self, batch: str) -> set[int]:
        from airflow.sdk import Variable

        stored = Variable.get(self.key, default=None, deserialize_json=True)
        matches = isinstance(stored, dict) and stored.get("batch") == batch
        if stored is not None and not matches:
            log.warning(
                "Variable %s records another batch (the ids, their order or the payload changed since it "
                "was written); it is not applied and every chunk of this batch is sent",
                self.key,
            )
        self._accepted = set(stored["accepted"]) if matches else set()
        return set(self._accepted)

    def record(self, batch: str, indexes: Collection[int]) -> None:
        from airflow.sdk import Variable

        self._accepted.update(indexes)
        value = json.dumps({"batch": batch, "accepted": sorted(self._accepted)})
        Variable.set(self.key, value, description=self.description)

    def complete(self, batch: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(self.key)
        self._accepted = set()
