"""Batch enrollment: a list of ids of any length sent as audiences of up to 1000 (``chunks``), validated
and sent concurrently (``sending``), resuming across task tries from what a store remembers
(``progress``)."""

from __future__ import annotations

from airflow_provider_journeys.batch.chunks import BatchReport, Chunk, split_into_chunks
from airflow_provider_journeys.batch.progress import (
    BatchProgress,
    NoProgress,
    Remembered,
    VariableBatchProgress,
)
from airflow_provider_journeys.batch.sending import send_batch

__all__ = [
    "BatchProgress",
    "BatchReport",
    "Chunk",
    "NoProgress",
    "Remembered",
    "VariableBatchProgress",
    "send_batch",
    "split_into_chunks",
]
