"""Airflow behaviour that differs between the supported lines where ``airflow.providers.common.compat``
does not cover it (it covers the import paths): one function per difference, saying which lines it serves.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS


def get_json_variable(key: str) -> Any:
    """The JSON value of Variable ``key``; None only when there is no such Variable. A read that fails
    raises, so that a caller never takes "could not read" for "nothing stored".

    - Airflow 3 (Task SDK): ``Variable.get`` raises when the execution API fails and returns the default
      only for a Variable that is not found.
    - Airflow 2.11: ``Variable.get`` logs any error of a secrets backend (a locked or unreachable metadata
      DB included) and returns the default, exactly as for a missing Variable. The provider's Variables
      are written to the metadata DB, so they are read from it alone, through the backend that raises.
    """
    if AIRFLOW_V_3_0_PLUS:
        from airflow.providers.common.compat.sdk import Variable

        return Variable.get(key, default=None, deserialize_json=True)
    from airflow.secrets.metastore import MetastoreBackend

    stored = MetastoreBackend().get_variable(key)
    return None if stored is None else json.loads(stored)
