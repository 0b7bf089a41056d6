"""``import_probe.py MODULE``, in a fresh interpreter: imports Airflow's base operator from where the running
Airflow line keeps it (``airflow.sdk`` on 3.x, ``airflow.models.baseoperator`` on 2.11), as a DAG file does,
then MODULE, and prints as JSON its import's seconds (for this provider's operators, the compat layer they
import it through included), the modules it added, and whether those included requests/urllib3 (Airflow 2.11
loads them itself, before any operator).
"""

import importlib.util
import json
import sys
import time

__import__("airflow.sdk" if importlib.util.find_spec("airflow.sdk") else "airflow.models.baseoperator")

before = set(sys.modules)
started = time.perf_counter()
__import__(sys.argv[1])
seconds = time.perf_counter() - started
added = set(sys.modules) - before
http_stacks = " and ".join(sorted({"requests", "urllib3"} & added))
print(json.dumps({"seconds": seconds, "added": len(added), "http_stacks": http_stacks}))
