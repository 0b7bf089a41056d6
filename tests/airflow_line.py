"""Which Airflow line the suite runs on, for the few tests whose subject differs between lines."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.version import Version

AIRFLOW_VERSION = Version(metadata.version("apache-airflow"))
AIRFLOW_LINE = f"{AIRFLOW_VERSION.major}.{AIRFLOW_VERSION.minor}"
# Airflow 3.2 and later build the connection form from provider info; earlier lines ask the hook.
FORM_FROM_PROVIDER_INFO = Version("3.2") <= AIRFLOW_VERSION

# What an install of this line needs pinned, from the table CI and scripts/test.sh read.
_LINES_TABLE = Path(__file__).resolve().parent.parent / "scripts" / "airflow-lines.txt"


def _pins_of_this_line() -> list[str]:
    for row in _LINES_TABLE.read_text().splitlines():
        release, *rest = row.split() or ["#"]
        if not release.startswith("#") and Version(release).release[:2] == AIRFLOW_VERSION.release[:2]:
            return rest[1:]
    return []


LINE_PINS = _pins_of_this_line()
