"""DAG file parse probe: ``parse_probe.py ROUNDS MODE FILE...`` prints one JSON line of parse timings.

Like Airflow 3's DAG processor, a parent with Airflow imported forks one child per parse (after
``gc.freeze()``, as the processor's manager does), and the child builds a ``DagBag`` of that one file.
MODE says what the parent imported before forking:

- ``cold``: only ``airflow.sdk`` and the DagBag: every module the DAG file needs is imported in the child;
- ``processor``: also every ``airflow.*`` module the files import, as the DAG processor does with
  ``[dag_processor] parsing_pre_import_modules = True`` (the default). Modules outside ``airflow.*``
  (this provider's) are still imported in every child;
- ``everything``: every module the files import pre-imported, this provider's too: what the parse would
  cost if the processor pre-imported the provider as well (for the notes: where the time goes).
"""

from __future__ import annotations

import ast
import gc
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import airflow.sdk  # noqa: F401  (the processor has it imported before any file is parsed)
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import iter_airflow_imports


def parse(path: str) -> dict[str, Any]:
    started = time.perf_counter()
    bag = DagBag(dag_folder=path, safe_mode=True, load_op_links=False)
    seconds = time.perf_counter() - started
    return {"path": path, "seconds": seconds, "dags": len(bag.dags), "errors": bag.import_errors}


def in_forked_child(path: str) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse, report, and leave without running the parent's cleanup
        os.close(read_end)
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(parse(path), default=str))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        report: dict[str, Any] = json.loads(reader.read())
    os.waitpid(pid, 0)
    return report


def pre_import_airflow_modules(paths: list[str]) -> None:
    for path in paths:
        for module in iter_airflow_imports(path):
            importlib.import_module(module)


def pre_import_every_module(paths: list[str]) -> None:
    for path in paths:
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                importlib.import_module(node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)


def main(rounds: int, mode: str, paths: list[str]) -> None:
    if mode == "processor":
        pre_import_airflow_modules(paths)
    elif mode == "everything":
        pre_import_every_module(paths)
    gc.freeze()
    for path in paths:  # not measured: writes each DAG file's bytecode, as earlier parses would have
        in_forked_child(path)
    samples = []
    for number in range(rounds):
        # Alternate the order so that no file is always parsed right after the same other file.
        for path in paths if number % 2 == 0 else reversed(paths):
            samples.append(in_forked_child(path))
    print(json.dumps(samples))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
