"""``parse_probe.py MODE ROUNDS FILE...`` prints, as JSON, each DAG file's median parse seconds. As Airflow 3's
DAG processor does, it forks a child per parse after ``gc.freeze()``; MODE says what it imports before:

- ``cold``: only ``airflow.sdk`` and the DagBag, as a fresh process (``airflow dags test``) would;
- ``processor``: also every ``airflow.*`` module the files import, as the DAG processor does with
  ``[dag_processor] parsing_pre_import_modules`` (the default). This provider is not ``airflow.*``;
- ``everything``: this provider's operators module too, which leaves only building the DAG to the parse.
"""

import gc
import importlib
import json
import os
import statistics
import sys
import time

import airflow.sdk  # noqa: F401
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import iter_airflow_imports


def parse_in_forked_child(path: str) -> float:
    read_end, write_end = os.pipe()
    if os.fork() == 0:  # the child: parse, report, and leave without running the parent's cleanup
        try:
            started = time.perf_counter()
            bag = DagBag(dag_folder=path, safe_mode=True, load_op_links=False)
            seconds = time.perf_counter() - started
            one_dag = len(bag.dags) == 1 and not bag.import_errors
            os.write(write_end, json.dumps(seconds if one_dag else str(bag.import_errors)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        found = json.loads(reader.read())
    os.wait()
    if not isinstance(found, float):  # the time of a file that does not parse means nothing
        raise RuntimeError(f"{path} did not parse into one DAG: {found}")
    return found


def main(mode: str, rounds: int, paths: list[str]) -> None:
    for path in paths if mode != "cold" else []:
        for module in iter_airflow_imports(path):
            importlib.import_module(module)
    if mode == "everything":
        importlib.import_module("airflow_provider_journeys.operators.journeys")
    gc.freeze()
    for path in paths:  # not measured: writes each file's bytecode, as earlier parses would have
        parse_in_forked_child(path)
    seconds: dict[str, list[float]] = {path: [] for path in paths}
    for number in range(rounds):
        for path in paths if number % 2 == 0 else reversed(paths):  # no file always goes first
            seconds[path].append(parse_in_forked_child(path))
    print(json.dumps({path: statistics.median(found) for path, found in seconds.items()}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
