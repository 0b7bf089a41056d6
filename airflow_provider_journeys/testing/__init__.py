"""Test helpers for users of the provider: a local Airship emulator for DAG and hook tests."""

from airflow_provider_journeys.testing.emulator import AirshipEmulator, RecordedRequest

__all__ = ["AirshipEmulator", "RecordedRequest"]
