"""Secrets stay secret in task log files: real task runs, then their log files read back.

``airflow dags test`` on its own runs each task inside its own process and logs to the console only. With
``--use-executor``, each task runs the way a worker runs it and writes the task's log file,
``$AIRFLOW_HOME/logs/dag_id=…/run_id=…/task_id=…/attempt=1.log``, through Airflow's secrets masker. On
Airflow 3 the LocalExecutor's supervisor process talks to the execution API of an ``airflow api-server``
(here on a free 127.0.0.1 port, with an AIRFLOW_HOME of its own) and writes JSON lines. Airflow 2.11 has
no api-server and refuses the LocalExecutor on SQLite: its SequentialExecutor runs ``airflow tasks run``,
which writes the file through the logging format set here, one record per ``RECORD_START``.

The probe DAG (tests/dags/journeys_secret_leak_probe.py) sends through the provider with both grants
(``airship_default``: client secret; ``airship_pk``: private key in extra), then tries to leak the client
secret, the access token and the private key with ``print()`` and with logging. The log files must show
``***`` wherever it tried, and none of the secrets anywhere. One DAG run serves every test here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from airflow_line import AIRFLOW_LINE, AIRFLOW_VERSION
from airflow_processes import (
    LOOPBACK,
    free_loopback_port,
    migrate_metadata_db,
    start_api_server,
    start_in_own_group,
    stop_process_group,
    tail,
    without_airflow_settings,
)

from airflow_provider_journeys.hooks.journeys import TRIGGER_PATH
from airflow_provider_journeys.testing import AirshipEmulator
from airflow_provider_journeys.testing.emulator import TOKEN_PATH

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

DAG_RUN_TIMEOUT_SECONDS = 150

PROBE_DAG_FILE = Path(__file__).resolve().parent / "dags" / "journeys_secret_leak_probe.py"
DAG_ID = "test_journeys_secret_leak_probe"
LOGICAL_DATE = "2026-11-27"
TRIGGERING_ID = "leak-probe-trigger"
HOOK_LOGGER = "airflow_provider_journeys.hooks.journeys"
AIRFLOW_2 = AIRFLOW_VERSION.major == 2
# The logger a task's print() goes through.
STDOUT_LOGGER = {"2.11": "airflow.task", "3.0": "task"}.get(AIRFLOW_LINE, "task.stdout")
# Airflow 2.11's log format for this run: a record is its logger's name and its message, which may hold
# line breaks, so each record starts with a character no message here contains.
RECORD_START, NAME_END = "\x1e", "\x1f"
AIRFLOW_2_LOG_FORMAT = f"{RECORD_START}%(name)s{NAME_END}%(message)s"
# Each task, the segment it enrolls and the entrance_id it sends (the probe DAG's own values).
SENDS = {
    "enroll_with_client_secret": ("leak-probe-client-secret", "operator-client-secret"),
    "leak_client_secret": ("leak-probe-client-secret", "task-client-secret"),
    "enroll_with_private_key": ("leak-probe-private-key", "operator-private-key"),
    "leak_private_key": ("leak-probe-private-key", "task-private-key"),
}
NAMED_USERS = [f"probe-person-{number}@example.com" for number in range(5)]
# Tasks that enroll NAMED_USERS, and whether each asks for its bodies to be logged.
NAMED_USER_SENDS = {"enroll_named_users": False, "enroll_named_users_logging_body": True}
MASK = "***"
# A line of the key's base64 body shorter than this could turn up in a log by chance.
MIN_KEY_LINE_CHARS = 16
SHOWN_LINE_CHARS = 300


@dataclass
class ProbeRun:
    emulator: AirshipEmulator
    private_key_pem: str
    logs_root: Path
    task_logs: dict[str, Path]
    console: str = field(repr=False)  # airflow dags test's own output, for failure messages

    def events(self, task_id: str) -> list[dict[str, Any]]:
        """The task log file's events: its JSON lines (Airflow 3's supervisor writes one JSON object per
        log event), or its records (Airflow 2.11), a printed text split into its lines as Airflow 3 logs
        them."""
        text = self.task_logs[task_id].read_text()
        if not AIRFLOW_2:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        events = []
        for record in text.split(RECORD_START)[1:]:
            logger, message = record.rstrip("\n").split(NAME_END, 1)
            lines = message.splitlines() if logger == STDOUT_LOGGER else [message]
            events.extend({"logger": logger, "event": line} for line in lines)
        return events

    def messages(self, task_id: str, logger: str | None = None) -> list[str]:
        return [
            str(event["event"])
            for event in self.events(task_id)
            if logger is None or event.get("logger") == logger
        ]

    def digests(self, task_id: str) -> dict[str, str]:
        """``DIGEST <what>: <sha256>`` lines the probe printed for each secret it held."""
        found = {}
        for message in self.messages(task_id, STDOUT_LOGGER):
            if match := re.fullmatch(r"DIGEST (.+): ([0-9a-f]{64})", message):
                found[match[1]] = match[2]
        return found


def airflow_env(
    home: Path, dags_folder: Path, port: int, emulator: AirshipEmulator, private_key_pem: str
) -> dict[str, str]:
    """The test session's environment without any Airflow setting or connection, plus this run's own.

    The api-server and ``dags test`` (and so its LocalExecutor workers) get the same environment: the
    same metadata DB, the same JWT secret (the executor signs the workers' execution-API tokens with it,
    the api-server checks them), and both connections.
    """
    env = without_airflow_settings(dict(os.environ))
    if AIRFLOW_2:
        executor = {
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
            "AIRFLOW__LOGGING__LOG_FORMAT": AIRFLOW_2_LOG_FORMAT,
            # The SequentialExecutor runs each task as `airflow tasks run`, found on PATH.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    else:
        executor = {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # One worker process: the probe's tasks run one after another anyway.
            "AIRFLOW__CORE__PARALLELISM": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{LOOPBACK}:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(port),
        }
    env.update(executor)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW_CONN_AIRSHIP_DEFAULT": json.dumps(emulator.connection()),
            "AIRFLOW_CONN_AIRSHIP_PK": json.dumps(
                emulator.connection(grant="private_key", private_key=private_key_pem)
            ),
            "NO_PROXY": f"{LOOPBACK},localhost",
            "no_proxy": f"{LOOPBACK},localhost",
        }
    )
    return env


def run_probe_dag(env: dict[str, str], console_path: Path) -> None:
    dags_test = start_in_own_group(
        [sys.executable, "-m", "airflow", "dags", "test", "--use-executor", DAG_ID, LOGICAL_DATE],
        env,
        console_path,
    )
    try:
        returncode = dags_test.wait(timeout=DAG_RUN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"airflow dags test --use-executor still running after {DAG_RUN_TIMEOUT_SECONDS} s:\n"
            f"{tail(console_path)}"
        )
    finally:
        stop_process_group(dags_test)  # LocalExecutor workers included
    assert returncode == 0, f"airflow dags test --use-executor failed:\n{tail(console_path)}"


def find_task_logs(logs_root: Path) -> dict[str, Path]:
    run_dirs = sorted((logs_root / f"dag_id={DAG_ID}").glob("run_id=*"))
    assert len(run_dirs) == 1, f"expected one run's logs, found {run_dirs}"
    task_logs = {
        task_id: run_dirs[0] / f"task_id={task_id}" / "attempt=1.log"
        for task_id in [*SENDS, *NAMED_USER_SENDS]
    }
    missing = [str(path) for path in task_logs.values() if not path.is_file()]
    assert not missing, f"no task log file at {missing}; found {sorted(map(str, logs_root.rglob('*')))}"
    return task_logs


@pytest.fixture(scope="module")
def probe(
    tmp_path_factory: pytest.TempPathFactory, private_key_pem: str, public_key_pem: str
) -> Iterator[ProbeRun]:
    home = tmp_path_factory.mktemp("task-logs-airflow-home")
    dags_folder = home / "dags"
    dags_folder.mkdir()
    shutil.copy(PROBE_DAG_FILE, dags_folder)
    port = free_loopback_port()
    with AirshipEmulator(public_key=public_key_pem) as emulator:
        env = airflow_env(home, dags_folder, port, emulator, private_key_pem)
        console_path = home / "dags-test.console"
        if AIRFLOW_2:
            migrate_metadata_db(env)
            run_probe_dag(env, console_path)
        else:
            server = start_api_server(env, home, port)
            try:
                run_probe_dag(env, console_path)
            finally:
                stop_process_group(server)
        logs_root = home / "logs"
        yield ProbeRun(
            emulator=emulator,
            private_key_pem=private_key_pem,
            logs_root=logs_root,
            task_logs=find_task_logs(logs_root),
            console=console_path.read_text(errors="replace"),
        )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key_body_lines(pem: str) -> list[str]:
    return [line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----")]


def texts_in(line: str) -> Iterator[str]:
    """The line as written, and, for a JSON line, every string in it as decoded (escapes undone)."""
    yield line
    try:
        value = json.loads(line)
    except ValueError:
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(str(key) for key in item)
        elif isinstance(item, list):
            stack.extend(item)


def leaks(run: ProbeRun, named_secrets: dict[str, str]) -> list[str]:
    """Where any of ``named_secrets`` appears in any log file under the run's log folder."""
    files = sorted(path for path in run.logs_root.rglob("*") if path.is_file())
    assert set(run.task_logs.values()) <= set(files)
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            for name, secret in named_secrets.items():
                if any(secret in text for text in texts_in(line)):
                    shown = line.replace(secret, f"<{name}>")
                    for other_name, other in named_secrets.items():
                        shown = shown.replace(other, f"<{other_name}>")
                    found.append(
                        f"{name} in {path.relative_to(run.logs_root)}:{number}: {shown[:SHOWN_LINE_CHARS]}"
                    )
    return found


def test_each_task_log_file_holds_the_providers_own_line_for_its_send(probe):
    for task_id, (segment, entrance_id) in SENDS.items():
        body = {"audience": {"segment": segment}, "triggering_id": TRIGGERING_ID, "entrance_id": entrance_id}
        size = len(json.dumps(body, separators=(",", ":")))
        expected = (
            f"POST {probe.emulator.url}{TRIGGER_PATH} answered 200: audience segment (1 id), "
            f"triggering_id {TRIGGERING_ID!r}, entrance_id {entrance_id!r}, {size:,} bytes"
        )
        assert probe.messages(task_id, HOOK_LOGGER) == [expected], task_id
    assert sorted(body["entrance_id"] for body in probe.emulator.accepted(TRIGGER_PATH)) == sorted(
        [entrance_id for _, entrance_id in SENDS.values()] + ["named-users", "named-users-logging-body"]
    )
    # Each task process fetched its own token: two with the client secret, two with a signed assertion.
    grants = Counter(
        "assertion" if "assertion" in request.form else "client secret"
        for request in probe.emulator.received(TOKEN_PATH)
        if request.status == 200
    )
    assert grants == {"client secret": 4, "assertion": 2}
    assert len(probe.emulator.issued_tokens) == 6


@pytest.mark.parametrize(("task_id", "logs_body"), NAMED_USER_SENDS.items())
def test_user_ids_reach_the_task_log_only_when_the_task_asks_for_its_bodies(probe, task_id, logs_body):
    log_file = probe.task_logs[task_id].read_text()
    assert [user in log_file for user in NAMED_USERS] == [logs_body] * len(NAMED_USERS)
    (line,) = probe.messages(task_id, HOOK_LOGGER)  # either way, one line about what was sent
    assert ("named_user (5 ids)" in line) is not logs_body
    assert {request["entrance_id"] for request in probe.emulator.accepted(TRIGGER_PATH)} >= {
        "named-users",
        "named-users-logging-body",
    }


def test_the_leak_attempts_held_the_real_secrets(probe):
    # Digests pass the masker: they prove that what came out as *** was the real secret, not a None.
    issued = {sha256(token) for token in probe.emulator.issued_tokens}
    client_secret_task = probe.digests("leak_client_secret")
    assert client_secret_task["token"] in issued
    assert client_secret_task["client secret"] == sha256(probe.emulator.client_secret)
    private_key_task = probe.digests("leak_private_key")
    assert private_key_task["token"] in issued
    assert private_key_task["private key"] == sha256(probe.private_key_pem)


def extra_as_logged(run: ProbeRun) -> str:
    """The connection's raw extra as the masker leaves it: Airflow 3 masks the whole string; Airflow 2.11
    masks each line of the key's body inside it (the key's BEGIN and END lines are no secret)."""
    if not AIRFLOW_2:
        return MASK
    extra = json.dumps(run.emulator.connection(grant="private_key", private_key=run.private_key_pem)["extra"])
    for line in key_body_lines(run.private_key_pem):
        extra = extra.replace(line, MASK)
    assert extra.count(MASK) == len(key_body_lines(run.private_key_pem))
    return extra


def test_every_leak_attempt_logged_or_printed_came_out_masked(probe):
    # print() and logging reach the supervisor on different sockets, so their relative order may vary.
    def attempts(task_id: str) -> Counter[str]:
        return Counter(message for message in probe.messages(task_id) if message.startswith("LEAK "))

    assert attempts("leak_client_secret") == Counter(
        [
            f"LEAK print token: {MASK}",
            f"LEAK log token: {MASK}",
            f"LEAK print client secret: {MASK}",
            f"LEAK log client secret: {MASK}",
        ]
    )
    assert attempts("leak_private_key") == Counter(
        [
            f"LEAK print token: {MASK}",
            f"LEAK log token: {MASK}",
            f"LEAK log private key: {MASK}",
            f"LEAK log extra: {extra_as_logged(probe)}",
            f"LEAK log extra_dejson private key: {MASK}",
            "LEAK print private key:",
        ]
    )


def test_a_private_key_printed_to_stdout_comes_out_masked_line_by_line(probe):
    # A task's stdout reaches the supervisor, and so the log file, one line at a time: the whole PEM
    # never passes the masker in one piece, each line of its body has to be masked on its own.
    stdout = probe.messages("leak_private_key", STDOUT_LOGGER)
    start = stdout.index("LEAK print private key:") + 1
    body_lines = len(key_body_lines(probe.private_key_pem))
    printed = stdout[start : start + body_lines + 2]
    assert printed == ["-----BEGIN PRIVATE KEY-----", *[MASK] * body_lines, "-----END PRIVATE KEY-----"]


def test_neither_the_client_secret_nor_any_access_token_appears_in_any_task_log(probe):
    named = {"client secret": probe.emulator.client_secret}
    named.update(
        {f"access token {number}": token for number, token in enumerate(probe.emulator.issued_tokens)}
    )
    assert len(named) == 7
    assert leaks(probe, named) == []


def test_neither_the_private_key_nor_any_line_of_its_body_appears_in_any_task_log(probe):
    pem = probe.private_key_pem
    body = key_body_lines(pem)
    assert len(body) >= 4 and all(len(line) >= MIN_KEY_LINE_CHARS for line in body), body
    named = {
        "private key": pem,
        "private key, JSON-escaped": json.dumps(pem)[1:-1],
        "private key body on one line": "".join(body),
    }
    named.update({f"private key body line {number}": line for number, line in enumerate(body, start=1)})
    assert leaks(probe, named) == []
