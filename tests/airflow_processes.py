"""Helpers for tests that run Airflow's own processes (api-server, webserver, executors) on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from pathlib import Path

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 180  # generous: two cores, and another test run may share them
SHUTDOWN_TIMEOUT_SECONDS = 15
LOG_TAIL_CHARS = 6000


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def without_airflow_settings(environ: dict[str, str]) -> dict[str, str]:
    """The environment without any Airflow setting, connection or variable of the test session."""
    return {
        key: value
        for key, value in environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
    }


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-LOG_TAIL_CHARS:] if path.exists() else "(no output)"


def start_in_own_group(command: list[str], env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    """Start a process in a session of its own, so that stop_process_group() also reaches its children."""
    with output.open("wb") as out:
        return subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_until_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    health_path: str = "/api/v2/monitor/health",
    name: str = "airflow api-server",
) -> None:
    """Poll a server's health endpoint until its metadata DB is healthy, for a bounded time.

    Airflow 3 serves it at ``/api/v2/monitor/health``, Airflow 2's webserver at ``/health``; both answer
    ``{"metadatabase": {"status": "healthy"}, ...}``.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = "no answer yet"
    probe = requests.Session()
    probe.trust_env = False  # loopback only, never through a proxy
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode} before becoming healthy:\n{tail(log_path)}")
        try:
            response = probe.get(f"{url}{health_path}", timeout=5)
            if response.status_code == 200 and response.json()["metadatabase"]["status"] == "healthy":
                return
            last_error = f"HTTP {response.status_code}: {response.text[:200]}"
        except (requests.RequestException, ValueError, KeyError) as err:
            last_error = f"{type(err).__name__}: {err}"
        time.sleep(0.25)
    pytest.fail(f"{name} not healthy after {STARTUP_TIMEOUT_SECONDS} s ({last_error}):\n{tail(log_path)}")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's whole group (servers and executors fork), then SIGKILL whatever is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
    # Children that outlived the main process are still in its group.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_airflow_command(*args: str, env: dict[str, str]) -> None:
    """``airflow <args>`` in ``env``; fails with the tail of its output if it exits non-zero."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def migrate_metadata_db(env: dict[str, str]) -> None:
    """``airflow db migrate`` the metadata DB that ``env`` points at."""
    run_airflow_command("db", "migrate", env=env)


def _start_until_healthy(
    command: list[str], env: dict[str, str], log_path: Path, url: str, health_path: str, name: str
) -> subprocess.Popen[bytes]:
    process = start_in_own_group(command, env, log_path)
    try:
        wait_until_healthy(url, process, log_path, health_path=health_path, name=name)
    except BaseException:
        stop_process_group(process)
        raise
    return process


def start_api_server(env: dict[str, str], home: Path, port: int) -> subprocess.Popen[bytes]:
    """Migrate the metadata DB of ``env``, start ``airflow api-server`` on loopback and wait until healthy.

    Airflow 3 only. Its output goes to ``home/api-server.log``; stop it with stop_process_group().
    """
    migrate_metadata_db(env)
    command = [
        sys.executable,
        "-m",
        "airflow",
        "api-server",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return _start_until_healthy(
        command,
        env,
        home / "api-server.log",
        f"http://{LOOPBACK}:{port}",
        "/api/v2/monitor/health",
        "airflow api-server",
    )


def start_webserver(env: dict[str, str], home: Path, port: int) -> subprocess.Popen[bytes]:
    """Start Airflow 2's ``airflow webserver`` (Flask-AppBuilder UI and ``/api/v1``) on loopback.

    The metadata DB must already be migrated (its users are created before the server starts). One
    gunicorn worker. Its output goes to ``home/webserver.log``; stop it with stop_process_group(), which
    reaches the gunicorn workers too.
    """
    command = [
        sys.executable,
        "-m",
        "airflow",
        "webserver",
        "--hostname",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        "1",
        "--pid",
        str(home / "webserver.pid"),
    ]
    return _start_until_healthy(
        command,
        env,
        home / "webserver.log",
        f"http://{LOOPBACK}:{port}",
        "/health",
        "airflow webserver",
    )
