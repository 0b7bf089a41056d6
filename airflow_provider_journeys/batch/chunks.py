"""How a list of ids of any length becomes chunks, each one audience Airship accepts, and the report of
what happened to every chunk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

_SHOWN_DUPLICATES = 5


@dataclass(frozen=True)
class Chunk:
    """``ids[first:first + len(ids)]`` of the batch, sent as one trigger."""

    index: int
    first: int
    ids: Sequence[str]

    @property
    def span(self) -> str:
        return f"ids[{self.first}:{self.first + len(self.ids)}]"


def split_into_chunks(ids: Sequence[str], chunk_size: int) -> list[Chunk]:
    return [
        Chunk(index, first, ids[first : first + chunk_size])
        for index, first in enumerate(range(0, len(ids), chunk_size))
    ]


def repeated_ids(ids: Sequence[Any]) -> list[tuple[int, int]]:
    """``(position, first_position)`` of ids that repeat an earlier one: each would be enrolled twice."""
    first_seen: dict[Any, int] = {}
    repeats = []
    for position, value in enumerate(ids):
        try:
            # Compared as sent: a UUID and its string are one user.
            earlier = first_seen.setdefault(value if type(value) is str else _as_sent(value), position)
        except (TypeError, orjson.JSONEncodeError):  # the schema reports it as not a string
            continue
        if earlier != position:
            repeats.append((position, earlier))
    return repeats


def _as_sent(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def describe_repeats(ids: Sequence[Any], repeats: list[tuple[int, int]]) -> str:
    shown = ", ".join(
        f"ids[{position}] {ids[position]!r} repeats ids[{earlier}]"
        for position, earlier in repeats[:_SHOWN_DUPLICATES]
    )
    more = f" and {len(repeats) - _SHOWN_DUPLICATES} more" if len(repeats) > _SHOWN_DUPLICATES else ""
    return f"{shown}{more}"


def chunk_digest(body: bytes) -> str:
    """Identifies a chunk by exactly what it sends, wherever it stands in the list."""
    return hashlib.sha256(body).hexdigest()[:32]


def fingerprint(bodies: Sequence[bytes]) -> str:
    """Identifies a batch by exactly what its chunks send, so progress is never applied to another batch."""
    digest = hashlib.sha256()
    for body in bodies:
        digest.update(len(body).to_bytes(8, "big"))
        digest.update(body)
    return digest.hexdigest()


@dataclass
class BatchReport:
    """What happened to every chunk of a batch; ``as_dict()`` is the operator's XCom."""

    selector: str
    chunks: list[Chunk]
    previously_accepted: set[int] = field(default_factory=set)
    accepted: dict[int, Any] = field(default_factory=dict)
    failed: dict[int, BaseException] = field(default_factory=dict)
    # Accepted by Airship, but the progress store could not record them: a rerun would send them again.
    unrecorded: set[int] = field(default_factory=set)
    # Why the batch stopped before sending every chunk (a timeout, a kill, a lost progress store), if it did.
    stopped_by: str | None = None
    dry_run: bool = False

    @property
    def all_accepted(self) -> set[int]:
        """Chunks accepted by this call or by earlier tries."""
        return self.previously_accepted | self.accepted.keys()

    @property
    def not_sent(self) -> list[Chunk]:
        done = self.all_accepted | self.failed.keys()
        return [chunk for chunk in self.chunks if chunk.index not in done]

    def ids_in(self, indexes: Collection[int]) -> int:
        return sum(len(chunk.ids) for chunk in self.chunks if chunk.index in indexes)

    def as_dict(self) -> dict[str, Any]:
        accepted = self.all_accepted
        return {
            "selector": self.selector,
            "chunks": len(self.chunks),
            "ids": sum(len(chunk.ids) for chunk in self.chunks),
            "chunks_accepted": len(accepted),
            "ids_accepted": self.ids_in(accepted),
            "chunks_accepted_by_earlier_tries": len(self.previously_accepted),
            "operation_ids": {
                str(index): _operation_id(body) for index, body in sorted(self.accepted.items())
            },
            "dry_run": self.dry_run,
        }

    def describe_failure(self) -> str:
        """Which chunks Airship accepted, which failed and how, and which were never sent."""
        by_index = {chunk.index: chunk for chunk in self.chunks}
        lines = [
            f"{len(self.failed)} of {len(self.chunks)} chunks failed; "
            f"{len(self.all_accepted)} were accepted "
            f"({len(self.previously_accepted)} by earlier tries), {len(self.not_sent)} were not sent."
        ]
        lines += [
            f"  chunk {index} ({by_index[index].span}) failed: {error}"
            for index, error in sorted(self.failed.items())
        ]
        lines.append(f"  accepted: {_ranges(self.all_accepted)}")
        if self.unrecorded:
            lines.append(
                f"  accepted but not recorded (a rerun would send them again): {_ranges(self.unrecorded)}"
            )
        lines.append(f"  not sent: {_ranges(chunk.index for chunk in self.not_sent)}")
        if self.stopped_by:
            lines.insert(0, f"Stopped: {self.stopped_by}.")
        return "\n".join(lines)


def _operation_id(body: Any) -> Any:
    return body.get("operation_id") if isinstance(body, dict) else None


def _ranges(indexes: Any) -> str:
    """``0-3, 7, 9-10`` for chunk indexes, so a report of a thousand chunks stays one line."""
    ordered = sorted(indexes)
    if not ordered:
        return "none"
    runs: list[list[int]] = []
    for index in ordered:
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ", ".join(f"{start}" if start == end else f"{start}-{end}" for start, end in runs)
