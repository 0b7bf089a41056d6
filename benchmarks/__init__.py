"""Benchmarks of airflow-provider-journeys against the local Airship emulator: ``bash benchmarks/run.sh``."""
