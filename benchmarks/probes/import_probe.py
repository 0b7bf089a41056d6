"""``import_probe.py MODULE``, in a fresh interpreter: imports Airflow's base operator as every operator
module does (through ``airflow.providers.common.compat.sdk``, which finds it on every Airflow line), then
MODULE, and prints as JSON its import's seconds, the modules it added, and whether those included
requests/urllib3 (Airflow 2.11 loads them itself, before any operator).
"""

import json
import sys
import time

from airflow.providers.common.compat.sdk import BaseOperator  # noqa: F401

before = set(sys.modules)
started = time.perf_counter()
__import__(sys.argv[1])
seconds = time.perf_counter() - started
added = set(sys.modules) - before
http_stacks = " and ".join(sorted({"requests", "urllib3"} & added))
print(json.dumps({"seconds": seconds, "added": len(added), "http_stacks": http_stacks}))
