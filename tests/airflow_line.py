"""Which Airflow line the suite runs on, for the few tests whose subject differs between lines."""

from __future__ import annotations

from importlib import metadata

from packaging.version import Version

AIRFLOW_VERSION = Version(metadata.version("apache-airflow"))
AIRFLOW_LINE = f"{AIRFLOW_VERSION.major}.{AIRFLOW_VERSION.minor}"
# Airflow 3.2 and later build the connection form from provider info; earlier lines ask the hook.
FORM_FROM_PROVIDER_INFO = Version("3.2") <= AIRFLOW_VERSION
