"""Runs the benchmarks and prints one markdown table: ``python benchmarks/run.py [NAME ...]``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from benchmarks import (
    bench_dag_parse,
    bench_import_cost,
    bench_request_overhead,
    bench_scale,
    bench_validation,
)
from benchmarks.common import (
    BENCH_DIR,
    Outcome,
    Row,
    Settings,
    machine_lines,
    render_table,
    use_bytecode_cache,
    warm_bytecode_cache,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

LOG_PATH = BENCH_DIR / "last-run.log"

BENCHMARKS: dict[str, Callable[[Settings, Path], Outcome]] = {
    bench_import_cost.NAME: bench_import_cost.run,
    bench_dag_parse.NAME: bench_dag_parse.run,
    bench_validation.NAME: bench_validation.run,
    bench_request_overhead.NAME: bench_request_overhead.run,
    bench_scale.NAME: bench_scale.run,
}


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="few repeats: checks the benchmarks run, not the numbers"
    )
    parser.add_argument(
        "--mapped-tasks",
        type=int,
        default=100,
        help="mapped tasks in the scale benchmark (1000 ids each); fewer are extrapolated to 100,000 ids",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return arguments


def isolate_airflow(home: Path) -> None:
    """Point this process at a throwaway AIRFLOW_HOME before Airflow is first imported (it reads, and may
    write, its configuration there), without the caller's Airflow settings and connections."""
    for key in [key for key in os.environ if key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
        del os.environ[key]
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


@contextmanager
def output_to(log_path: Path) -> Iterator[TextIO]:
    """Send everything written to stdout and stderr (Airflow's and the hook's logs, at the file descriptor
    level, so child processes too) to ``log_path``; yields the console's stderr for progress lines.

    The hook logs every body it sends, as it does into a task's log file: that cost stays in the
    measurement, but the log goes to a file, as in a task, instead of between the table's lines.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    console_out, console_err = os.dup(1), os.dup(2)
    with log_path.open("wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    progress = os.fdopen(os.dup(console_err), "w", buffering=1)
    try:
        yield progress
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(console_out, 1)
        os.dup2(console_err, 2)
        for descriptor in (console_out, console_err):
            os.close(descriptor)
        progress.close()


def run_one(name: str, settings: Settings, home: Path, progress: TextIO) -> Outcome:
    started = time.perf_counter()
    print(f"running {name} ...", file=progress)
    try:
        outcome = BENCHMARKS[name](settings, home)
    except Exception:
        outcome = Outcome([], [f"{name}: FAILED to run:\n```\n{traceback.format_exc()}```"], failed=True)
    print(f"  {name} took {time.perf_counter() - started:.0f} s", file=progress)
    return outcome


def report(names: list[str], outcomes: list[Outcome], seconds: float) -> str:
    rows: list[Row] = [row for outcome in outcomes for row in outcome.rows]
    notes = [note for outcome in outcomes for note in outcome.notes]
    everything = names == list(BENCHMARKS)
    command = "bash benchmarks/run.sh" if everything else f"bash benchmarks/run.sh {' '.join(names)}"
    return "\n".join(
        [
            "## airflow-provider-journeys benchmarks (local Airship emulator)",
            "",
            *machine_lines(),
            f"- Ran: {', '.join(names)} in {seconds:.0f} s. Reproduce: `{command}` "
            "(or `python benchmarks/run.py NAME` for one benchmark).",
            "- Ratio is ours ÷ alternative (for throughputs, higher is better; for times, lower is better).",
            "",
            render_table(rows),
            "",
            "Notes:",
            *(f"- {note}" for note in notes),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    names = arguments.names or list(BENCHMARKS)
    settings = Settings(quick=arguments.quick, mapped_tasks=arguments.mapped_tasks)
    home = Path(tempfile.mkdtemp(prefix="journeys-bench-home-"))
    isolate_airflow(home)
    started = time.perf_counter()
    try:
        with output_to(LOG_PATH) as progress:
            print(f"logs of this run: {LOG_PATH}", file=progress)
            use_bytecode_cache()
            warm_bytecode_cache(home)
            outcomes = [run_one(name, settings, home, progress) for name in names]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(report(names, outcomes, time.perf_counter() - started), flush=True)
    failed_to_run = any(outcome.failed for outcome in outcomes)
    missed = any(row.met is False for outcome in outcomes for row in outcome.rows)
    return 1 if failed_to_run or (arguments.strict and missed) else 0
