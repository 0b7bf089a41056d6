"""What every benchmark shares: result rows, medians, clean Airflow homes, the emulator process, probes."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PROBES = BENCH_DIR / "probes"
TRIGGER_ID = "1fd202ca-9deb-4372-b052-dff0516f9518"
MIGRATE_TIMEOUT_SECONDS = 180
CONNECTION_VARIABLE = "AIRFLOW_CONN_AIRSHIP_DEFAULT"
# Bytecode for every module the benchmarks import, kept here (see clean_env).
PYCACHE_DIR = BENCH_DIR / ".pycache"
# What the benchmarks import; compiled once up front so that no measurement pays for compiling them.
WARM_MODULES = (
    "airflow.sdk",
    "airflow.dag_processing.dagbag",
    "airflow.providers.http.operators.http",
    "airflow_provider_journeys.operators.journeys",
    "airflow_provider_journeys.hooks.journeys",
    "airflow_provider_journeys.testing",
)


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    benchmark: str
    ours: str
    alternative: str
    ratio: float | None
    goal: str
    # None: informational, no goal to meet.
    met: bool | None
    reproduce: str


@dataclass(frozen=True)
class Outcome:
    """What one benchmark found: its table rows, and notes printed below the table (details, checks)."""

    rows: list[Row]
    notes: list[str]
    # The benchmark could not run to the end (its notes say why).
    failed: bool = False


@dataclass(frozen=True)
class Settings:
    """Knobs shared by all benchmarks; ``quick`` shrinks repeats for a smoke run, not for numbers."""

    quick: bool = False
    mapped_tasks: int = 100

    def repeats(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def reproduce(name: str) -> str:
    return f"python benchmarks/run.py {name}"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def clean_env(airflow_home: Path, *, bytecode: bool = True, **extra: str) -> dict[str, str]:
    """This environment without the caller's Airflow settings and connections, on its own AIRFLOW_HOME.

    A developer's own ``AIRFLOW__*`` settings (executor, DB, DAG folder) would otherwise change what is
    measured. With ``bytecode``, modules load from cached bytecode (in PYCACHE_DIR), as an installed
    provider does (pip compiles a wheel's modules at install): an editable install run with
    PYTHONDONTWRITEBYTECODE=1 instead compiles this package from source on every import, which no
    deployment pays and which would otherwise dominate the import and parse numbers.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
    }
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_DIR)
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # The benchmarks' own DAGs are not where DAG bundles look by default.
        AIRFLOW__CORE__DAGS_FOLDER=str(BENCH_DIR / "dags"),
    )
    env.update(extra)
    return env


class TemporaryAirflowHome:
    """A throwaway AIRFLOW_HOME; ``migrate=True`` also creates its SQLite metadata DB (for ``dags test``)."""

    def __init__(self, *, migrate: bool) -> None:
        self.migrate = migrate
        self.path = Path(tempfile.mkdtemp(prefix="journeys-bench-airflow-home-"))

    def __enter__(self) -> Path:
        if self.migrate:
            result = subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                env=clean_env(self.path),
                capture_output=True,
                text=True,
                timeout=MIGRATE_TIMEOUT_SECONDS,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
                )
        return self.path

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class EmulatorProcess:
    """``benchmarks/emulator_server.py`` in a child process; ``connection`` points a hook at it."""

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "emulator_server.py")],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.connection: dict[str, Any] = json.loads(self._stdout.readline())

    @property
    def _stdout(self) -> IO[str]:
        assert self._process.stdout is not None
        return self._process.stdout

    def _ask(self, command: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        reply: dict[str, Any] = json.loads(self._stdout.readline())
        return reply

    @property
    def connection_env(self) -> str:
        return json.dumps(self.connection)

    def mark(self) -> int:
        return int(self._ask("mark")["mark"])

    def stats(self, since: int) -> dict[str, Any]:
        """Trigger requests received since ``mark()`` returned ``since``, and the ids they carried."""
        return self._ask(f"stats {since}")

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def use_bytecode_cache() -> None:
    """This process too reads and writes bytecode in PYCACHE_DIR (see clean_env)."""
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(PYCACHE_DIR)


def warm_bytecode_cache(airflow_home: Path) -> None:
    """Compile what the benchmarks import, once (about 5 s the first time, 35 MB in PYCACHE_DIR)."""
    result = subprocess.run(
        [sys.executable, "-c", "; ".join(f"import {module}" for module in WARM_MODULES)],
        env=clean_env(airflow_home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing what the benchmarks need failed:\n{result.stderr[-3000:]}")


def run_probe(script: str, arguments: Sequence[str], env: dict[str, str]) -> Any:
    """Run ``benchmarks/probes/<script>`` in a fresh interpreter; it prints its measurements as JSON."""
    result = subprocess.run(
        [sys.executable, str(PROBES / script), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    # The JSON is the last line: anything Airflow logs on import comes before it.
    return json.loads(result.stdout.strip().splitlines()[-1])


@contextmanager
def airship_connection(emulator: EmulatorProcess) -> Iterator[None]:
    """``airship_default`` points at ``emulator`` in this process (hooks read it from the environment)."""
    os.environ[CONNECTION_VARIABLE] = emulator.connection_env
    try:
        yield
    finally:
        os.environ.pop(CONNECTION_VARIABLE, None)


def machine_lines() -> list[str]:
    import airflow

    return [
        f"- CPUs: {os.cpu_count()} ({platform.machine()}, {platform.system()} {platform.release()})",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- Airflow: {airflow.__version__}; airflow-provider-journeys: {_package_version()} ({_git_revision()})",
    ]


def _package_version() -> str:
    from airflow_provider_journeys import __version__

    return __version__


def _git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"git {revision}"


def render_table(rows: Sequence[Row]) -> str:
    header = "| benchmark | ours | alternative | ratio | goal | met? | reproduce |"
    lines = [header, "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.3g}"
        met = "-" if row.met is None else ("yes" if row.met else "**NO**")
        lines.append(
            f"| {row.benchmark} | {row.ours} | {row.alternative} | {ratio} | {row.goal} | {met} | "
            f"`{row.reproduce}` |"
        )
    return "\n".join(lines)
