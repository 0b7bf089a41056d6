"""Import cost probe: ``import_probe.py MODULE...`` imports ``airflow.sdk``, then each module in turn, and
prints one JSON line: per module, the seconds its import took and the modules it added to ``sys.modules``.

Run it in a fresh interpreter for every sample: the first module measured is then exactly "imported by a
DAG file right after ``airflow.sdk``".
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import airflow.sdk  # noqa: F401  (the baseline: every DAG file imports it)

# Heavy HTTP stacks that a DAG file should not pay for at parse time.
WATCHED = ("requests", "urllib3", "aiohttp")


def measure_import(module: str) -> dict[str, Any]:
    before = set(sys.modules)
    started = time.perf_counter()
    # The import statement's own path (which `-X importtime` reports on), as in a DAG file.
    __import__(module)
    seconds = time.perf_counter() - started
    added = sorted(set(sys.modules) - before)
    return {
        "module": module,
        "seconds": seconds,
        "added": added,
        "watched_loaded": {name: name in sys.modules for name in WATCHED},
    }


def main(modules: list[str]) -> None:
    preloaded = [name for name in WATCHED if name in sys.modules]
    print(json.dumps({"preloaded": preloaded, "imports": [measure_import(module) for module in modules]}))


if __name__ == "__main__":
    main(sys.argv[1:])
