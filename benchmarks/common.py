"""What the benchmarks share: a table row, medians, side-by-side rounds, probes and the emulator process."""

import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple, Self

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
TRIGGER_ID = "1fd202ca-9deb-4372-b052-dff0516f9518"


class Row(NamedTuple):
    benchmark: str
    ours: str
    alternative: str
    ratio: str
    goal: str = "-"


def goal(text: str, met: bool) -> str:
    return f"{text}: {'met' if met else '**missed**'}"


def median(values: Iterable[float]) -> float:
    return float(statistics.median(values))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def timed(call: Callable[[], object], times: int) -> Callable[[], float]:
    """A round of ``times`` calls of ``call`` that returns the seconds per call."""

    def one_round() -> float:
        started = time.perf_counter()
        for _ in range(times):
            call()
        return (time.perf_counter() - started) / times

    return one_round


def side_by_side(rounds: dict[str, Callable[[], float]], count: int) -> dict[str, list[float]]:
    """Each contender's result in each of ``count`` rounds. Every round runs all of them in a rotating order,
    so that a slow spell on this shared machine falls on each alike; one unmeasured round warms them up."""
    names = list(rounds)
    for name in names:
        rounds[name]()
    results: dict[str, list[float]] = {name: [] for name in names}
    for number in range(count):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(rounds[name]())
    return results


def run_probe(script: str, *arguments: str) -> Any:
    """``probes/<script>`` in a fresh interpreter; it prints its measurements as JSON on its last line."""
    command = [sys.executable, str(BENCH_DIR / "probes" / script), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])


class Emulator:
    """The Airship emulator in a process of its own, so that serving does not share a GIL with the client
    being measured (the real Airship is on another machine). While open, ``airship_default`` points at it,
    here and in child processes."""

    def __enter__(self) -> Self:
        self._pipe, child_end = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child_end,))
        self._process.start()
        child_end.close()  # so that recv() fails instead of waiting forever if the emulator dies
        os.environ["AIRFLOW_CONN_AIRSHIP_DEFAULT"] = json.dumps(self._pipe.recv())
        return self

    def named_users_accepted(self) -> tuple[int, int]:
        """(named users in accepted triggers, distinct ones) since the previous call."""
        self._pipe.send("count")
        counts: tuple[int, int] = self._pipe.recv()
        return counts

    def __exit__(self, *exc_info: object) -> None:
        os.environ.pop("AIRFLOW_CONN_AIRSHIP_DEFAULT", None)
        self._pipe.send(None)
        self._process.join(timeout=10)


def _serve(pipe: Connection) -> None:
    from airflow_provider_journeys.hooks.journeys import TRIGGER_PATH
    from airflow_provider_journeys.testing import AirshipEmulator

    with AirshipEmulator() as emulator:
        pipe.send(emulator.connection())
        counted = 0
        while pipe.recv() is not None:
            bodies = emulator.accepted(TRIGGER_PATH)
            users = [user for body in bodies[counted:] for user in body["audience"].get("named_user", [])]
            counted = len(bodies)
            pipe.send((len(users), len(set(users))))
