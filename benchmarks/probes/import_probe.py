"""``import_probe.py MODULE``, in a fresh interpreter: imports ``airflow.sdk`` as every DAG file does, then
MODULE, and prints as JSON its import's seconds, the modules it added, and whether requests/urllib3 loaded."""

import json
import sys
import time

import airflow.sdk  # noqa: F401

before = set(sys.modules)
started = time.perf_counter()
__import__(sys.argv[1])
seconds = time.perf_counter() - started
http_stacks = " and ".join(sorted({"requests", "urllib3"} & set(sys.modules)))
print(json.dumps({"seconds": seconds, "added": len(set(sys.modules) - before), "http_stacks": http_stacks}))
