"""The ``airship`` connection type as a real ``airflow api-server`` serves it: form metadata, REST, test button.

One api-server per module, on a free 127.0.0.1 port, with an AIRFLOW_HOME of its own (migrated SQLite
metadata DB, no example DAGs) and the simple auth manager: a configured admin user whose password is in a
passwords file we write, exchanged for a JWT at ``POST /auth/token``. Each test gets its own emulator and
creates its own connection through ``POST /api/v2/connections``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow_processes import (
    LOOPBACK,
    free_loopback_port,
    start_api_server,
    stop_process_group,
    tail,
    without_airflow_settings,
)

from airflow_provider_journeys.get_provider_info import get_provider_info
from airflow_provider_journeys.hooks.journeys import EXIT_PATH, TRIGGER_PATH
from airflow_provider_journeys.testing import AirshipEmulator
from airflow_provider_journeys.testing.emulator import TOKEN_PATH

pytestmark = pytest.mark.integration

REQUEST_TIMEOUT_SECONDS = 30
USERNAME = "journeys-tester"
PASSWORD = "journeys-tester-password"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"

# A task that calls the hook directly. Tasks get connections through the execution API, which reads the
# metadata DB; a bare Python process would not (Airflow 3.3 gives it only env vars and external backends).
HOOK_DAG_ID = "journeys_hook_reads_a_rest_connection"
HOOK_DAG = """
import json

import pendulum
from airflow.providers.common.compat.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def journeys_hook_reads_a_rest_connection():
    @task
    def enroll() -> dict:
        from airflow_provider_journeys.hooks.journeys import JourneysHook

        answer = JourneysHook(CONN_ID).trigger({"segment": "s"}, "t")
        print("JOURNEYS_ANSWER " + json.dumps(answer))
        return answer

    enroll()


journeys_hook_reads_a_rest_connection()
"""


@dataclass
class ApiServer:
    url: str
    env: dict[str, str]
    log_path: Path
    session: requests.Session

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(f"{self.url}{path}", timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.url}{path}", json=body, timeout=REQUEST_TIMEOUT_SECONDS)

    def log_tail(self) -> str:
        return tail(self.log_path)


def server_env(home: Path, port: int, passwords_file: Path) -> dict[str, str]:
    """The test session's environment without any Airflow setting or connection, plus this server's own."""
    env = without_airflow_settings(dict(os.environ))
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(port),
            "NO_PROXY": f"{LOOPBACK},localhost",
            "no_proxy": f"{LOOPBACK},localhost",
        }
    )
    return env


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp("api-server-airflow-home")
    port = free_loopback_port()
    # The simple auth manager reads each configured user's password from this file.
    passwords_file = home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps({USERNAME: PASSWORD}))
    env = server_env(home, port, passwords_file)
    url = f"http://{LOOPBACK}:{port}"
    log_path = home / "api-server.log"
    process = start_api_server(env, home, port)
    try:
        session = requests.Session()
        session.trust_env = False  # loopback only, never through a proxy
        login = session.post(
            f"{url}/auth/token",
            json={"username": USERNAME, "password": PASSWORD},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        assert login.status_code == 201, f"POST /auth/token: HTTP {login.status_code} {login.text}"
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield ApiServer(url=url, env=env, log_path=log_path, session=session)
    finally:
        stop_process_group(process)


def airship_hook_meta(api_server: ApiServer) -> dict[str, Any]:
    response = api_server.get("/ui/connections/hook_meta")
    assert response.status_code == 200, f"{response.text}\n{api_server.log_tail()}"
    by_type = {entry["connection_type"]: entry for entry in response.json()}
    assert "airship" in by_type, f"airship missing from hook_meta: {sorted(by_type)}"
    return by_type["airship"]


def create_connection(api_server: ApiServer, conn_id: str, **fields: Any) -> dict[str, Any]:
    """``POST /api/v2/connections`` an ``airship`` connection; ``extra`` is given as a dict."""
    body = {"connection_id": conn_id, "conn_type": "airship", **fields}
    if "extra" in body:
        body["extra"] = json.dumps(body["extra"])
    response = api_server.post("/api/v2/connections", body)
    assert response.status_code == 201, (
        f"HTTP {response.status_code}: {response.text}\n{api_server.log_tail()}"
    )
    created: dict[str, Any] = response.json()
    return created


def create_client_secret_connection(api_server: ApiServer, conn_id: str, emulator: AirshipEmulator) -> None:
    create_connection(
        api_server,
        conn_id,
        host=emulator.url,
        login=emulator.app_key,
        password=emulator.client_secret,
        extra={
            "client_id": emulator.client_id,
            "region": "us",
            "scope": "jny",
            "oauth_url": emulator.oauth_url,
            "timeout": 10,
        },
    )


def test_api_server_refuses_the_connection_form_metadata_without_a_token(api_server):
    anonymous = requests.Session()
    anonymous.trust_env = False
    response = anonymous.get(f"{api_server.url}/ui/connections/hook_meta", timeout=REQUEST_TIMEOUT_SECONDS)
    assert response.status_code == 401


def test_connection_form_lists_airship_with_relabeled_and_hidden_standard_fields(api_server):
    airship = airship_hook_meta(api_server)
    assert airship["hook_name"] == "Airship"
    assert airship["hook_class_name"] == "airflow_provider_journeys.hooks.journeys.JourneysHook"
    standard = airship["standard_fields"]
    assert standard["login"]["title"] == "App key"
    assert standard["password"]["title"] == "OAuth client secret"
    assert standard["host"]["title"] == "API base URL (optional)"
    assert not standard["login"]["hidden"]
    assert not standard["password"]["hidden"]
    assert not standard["host"]["hidden"]
    assert standard["port"]["hidden"] is True
    assert standard["url_schema"]["hidden"] is True  # the API calls the "schema" field url_schema
    assert standard["login"]["placeholder"] == "Airship app key"


def test_connection_form_shows_every_airship_extra_field_with_label_description_and_default(api_server):
    extra_fields = airship_hook_meta(api_server)["extra_fields"]
    assert set(extra_fields) == {
        "client_id",
        "region",
        "private_key",
        "scope",
        "oauth_url",
        "timeout",
        "verify",
    }
    declared = get_provider_info()["connection-types"][0]["conn-fields"]
    expected_titles = {
        "client_id": "OAuth client ID",
        "region": "Region",
        "private_key": "Private key (PEM)",
        "scope": "Scope",
        "oauth_url": "OAuth token URL",
        "timeout": "Timeout (seconds)",
        "verify": "CA bundle path",
    }
    for name, title in expected_titles.items():
        field = extra_fields[name]
        assert field["schema"]["title"] == title, name
        assert field["description"], name
        assert field["description"] == declared[name]["description"], name

    # The form's initial value is the schema default.
    # Optional fields allow null, so the form does not mark them required; the client id is required.
    for name in ("region", "scope", "timeout", "private_key", "oauth_url", "verify"):
        assert "null" in extra_fields[name]["schema"]["type"], name
    assert extra_fields["client_id"]["schema"]["type"] == "string"
    assert extra_fields["region"]["schema"]["enum"] == ["us", "eu", None]
    assert extra_fields["region"]["schema"]["default"] == "us"
    assert extra_fields["region"]["value"] == "us"
    assert extra_fields["scope"]["schema"]["default"] == "jny"
    assert extra_fields["scope"]["value"] == "jny"
    assert extra_fields["timeout"]["schema"]["type"] == ["number", "null"]
    assert extra_fields["timeout"]["schema"]["default"] == 30
    assert extra_fields["timeout"]["value"] == 30
    assert extra_fields["client_id"]["value"] is None
    assert extra_fields["oauth_url"]["value"] is None


def test_connection_form_marks_only_the_private_key_as_a_secret_field(api_server):
    # In Airflow 3.3 the UI renders schema format "password" as a masked input, "multiline" as a textarea;
    # "format" holds one value, so a field is one or the other.
    extra_fields = airship_hook_meta(api_server)["extra_fields"]
    formats = {name: field["schema"].get("format") for name, field in extra_fields.items()}
    assert formats == {
        "client_id": None,
        "region": None,
        "private_key": "password",
        "scope": None,
        "oauth_url": None,
        "timeout": None,
        "verify": None,
    }


def test_rest_api_masks_the_client_secret_and_private_key_of_a_stored_connection(
    api_server, emulator, private_key_pem
):
    create_connection(
        api_server,
        "airship_masked",
        host=emulator.url,
        login=emulator.app_key,
        password=emulator.client_secret,
        extra={
            "client_id": emulator.client_id,
            "oauth_url": emulator.oauth_url,
            "private_key": private_key_pem,
        },
    )
    response = api_server.get("/api/v2/connections/airship_masked")
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["password"] == "***"
    assert stored["login"] == emulator.app_key
    extra = json.loads(stored["extra"])
    assert extra["private_key"] == "***"
    assert extra["client_id"] == emulator.client_id
    assert emulator.requests == []  # storing a connection calls nobody


def test_hook_in_a_task_reads_a_connection_created_through_the_rest_api_from_the_metadata_db(
    api_server, emulator, tmp_path
):
    conn_id = "airship_from_rest"
    create_client_secret_connection(api_server, conn_id, emulator)
    (tmp_path / "hook_dag.py").write_text(f"CONN_ID = {conn_id!r}\n{HOOK_DAG}")
    env = {**api_server.env, "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)}
    assert not any(key.startswith("AIRFLOW_CONN_") for key in env)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow",
            "dags",
            "test",
            HOOK_DAG_ID,
            "2026-11-27",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, f"airflow dags test failed:\n{output[-6000:]}"
    assert "JOURNEYS_ANSWER " in output, output[-6000:]
    answer = json.loads(output.split("JOURNEYS_ANSWER ", 1)[1].splitlines()[0])
    assert answer["ok"] is True
    assert emulator.accepted(TRIGGER_PATH) == [{"audience": {"segment": "s"}, "triggering_id": "t"}]
    assert [request.status for request in emulator.received(TOKEN_PATH)] == [200]


def test_test_connection_button_fetches_a_token_and_calls_no_journeys_endpoint(api_server, emulator):
    create_client_secret_connection(api_server, "airship_tested", emulator)
    # The UI's Test button posts the form as loaded from the API: the stored secret comes back masked.
    stored = api_server.get("/api/v2/connections/airship_tested").json()
    assert stored["password"] == "***"

    response = api_server.post("/api/v2/connections/test", stored)

    assert response.status_code == 200, f"{response.text}\n{api_server.log_tail()}"
    assert response.json() == {
        "status": True,
        "message": f"Got an OAuth token for app key {emulator.app_key!r} from {emulator.oauth_url}",
    }
    # Answered synchronously by the api-server itself: no scheduler or worker runs in this module.
    assert [(request.path, request.status) for request in emulator.requests] == [(TOKEN_PATH, 200)]
    assert emulator.received(TRIGGER_PATH) == []
    assert emulator.received(EXIT_PATH) == []


def test_test_connection_button_with_a_wrong_client_secret_says_the_credentials_were_refused(
    api_server, emulator
):
    create_client_secret_connection(api_server, "airship_wrong_secret", emulator)
    stored = api_server.get("/api/v2/connections/airship_wrong_secret").json()

    response = api_server.post("/api/v2/connections/test", {**stored, "password": "not-the-secret"})

    assert response.status_code == 200, f"{response.text}\n{api_server.log_tail()}"
    outcome = response.json()
    assert outcome["status"] is False
    message = outcome["message"]
    assert "refused the credentials" in message
    assert repr(emulator.client_id) in message
    assert repr(emulator.app_key) in message
    assert "HTTP 401" in message
    assert "not-the-secret" not in message
    # Credential errors are not retried, and nothing reaches the Journeys API.
    assert [(request.path, request.status) for request in emulator.requests] == [(TOKEN_PATH, 401)]


def test_test_connection_button_names_the_missing_field_not_the_random_id_of_its_copy(api_server, emulator):
    create_client_secret_connection(api_server, "airship_no_client_id", emulator)
    stored = api_server.get("/api/v2/connections/airship_no_client_id").json()
    extra = json.loads(stored["extra"])
    del extra["client_id"]

    response = api_server.post("/api/v2/connections/test", {**stored, "extra": json.dumps(extra)})

    assert response.status_code == 200, f"{response.text}\n{api_server.log_tail()}"
    outcome = response.json()
    assert outcome["status"] is False
    assert outcome["message"].startswith("The connection is missing extra 'client_id'")
    assert "Connection '" not in outcome["message"]
    assert emulator.requests == []


def test_private_key_pasted_into_the_single_line_secret_field_still_gets_a_token(
    api_server, emulator, private_key_pem
):
    # A browser strips line breaks from what is typed or pasted into an <input type="password">, which is
    # how the UI renders the private key field; the hook must accept the PEM as one line.
    pasted_pem = private_key_pem.replace("\r", "").replace("\n", "")
    create_connection(
        api_server,
        "airship_assertion",
        host=emulator.url,
        login=emulator.app_key,
        extra={"client_id": emulator.client_id, "oauth_url": emulator.oauth_url, "private_key": pasted_pem},
    )

    response = api_server.post(
        "/api/v2/connections/test", {"connection_id": "airship_assertion", "conn_type": "airship"}
    )

    assert response.status_code == 200, f"{response.text}\n{api_server.log_tail()}"
    assert response.json()["status"] is True, response.json()["message"]
    token_requests = emulator.received(TOKEN_PATH)
    assert [request.status for request in token_requests] == [200]
    assert "assertion" in token_requests[0].form
