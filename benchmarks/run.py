"""``python benchmarks/run.py [NAME ...]`` prints the figures of docs/performance.md as one markdown table."""

import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import TextIO

import bench_dag_parse
import bench_import_cost
import bench_request_overhead
import bench_scale
import bench_validation
from common import BENCH_DIR, REPO_ROOT, Emulator, Row

MODULES = (bench_import_cost, bench_dag_parse, bench_validation, bench_request_overhead, bench_scale)
BENCHMARKS: dict[str, Callable[[Emulator], list[Row]]] = {
    module.__name__.removeprefix("bench_"): module.run for module in MODULES
}
LOG_PATH = BENCH_DIR / "last-run.log"


def isolate_airflow(home: str) -> None:
    """A throwaway AIRFLOW_HOME and none of the caller's Airflow settings and connections (an executor or DAG
    folder of theirs would change what is measured), for this process and every child."""
    for key in [key for key in os.environ if key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
        del os.environ[key]
    # An installed wheel comes with bytecode: without it each fresh interpreter would compile the package.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.update(
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(BENCH_DIR / "dags"),
    )


def logs_to_file() -> TextIO:
    """Send stdout and stderr, children's too, to LOG_PATH and return the console. The hook logs every body
    it sends: that cost stays in the measurement, but goes to a file as in a task, not to a terminal."""
    console = os.fdopen(os.dup(1), "w", buffering=1)
    with LOG_PATH.open("wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    return console


def machine() -> str:
    import airflow

    from airflow_provider_journeys import __version__

    git = ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"]
    revision = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()} {platform.system()}), Python {platform.python_version()}, "
        f"Airflow {airflow.__version__}, airflow-provider-journeys {__version__} (git {revision or 'unknown'})"
    )


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(Row._fields) + " |", "|" + " --- |" * len(Row._fields)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def main(names: list[str]) -> int:
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        print(f"unknown: {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    home = tempfile.TemporaryDirectory(prefix="journeys-bench-", ignore_cleanup_errors=True)
    isolate_airflow(home.name)
    console = logs_to_file()
    print(f"logs, and the traceback if the emulator cannot start: {LOG_PATH}", file=console)
    rows: list[Row] = []
    failed = []
    started = time.perf_counter()
    with home, Emulator() as emulator:
        for name in names or BENCHMARKS:
            print(f"running {name} ...", file=console)
            try:
                rows += BENCHMARKS[name](emulator)
            except Exception:  # the other benchmarks' figures still count
                print(traceback.format_exc(), file=console)
                failed.append(name)
    took = time.perf_counter() - started
    print(f"\n{machine()}; {took:.0f} s.\n\n{table(rows)}", file=console)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=console)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
