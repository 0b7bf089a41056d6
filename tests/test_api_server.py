"""The ``airship`` connection type as each Airflow line's own server serves it: form, REST, Test button.

One server per module, on a free 127.0.0.1 port, with an AIRFLOW_HOME of its own (migrated SQLite metadata
DB, no example DAGs):

* Airflow 3.0 to 3.3: ``airflow api-server`` with the simple auth manager (a configured admin whose password
  is in a passwords file we write, exchanged for a JWT at ``POST /auth/token``); REST at ``/api/v2``, the
  connection form's metadata at ``/ui/connections/hook_meta``.
* Airflow 2.11: ``airflow webserver`` (Flask-AppBuilder) with an admin made by ``airflow users create``;
  REST at ``/api/v1`` with basic auth, the connection form as the HTML page ``/connection/add`` behind the
  real login page.

Each test talks to the server through the same small client (create a connection, read it back, test it,
get the form), and each test gets its own emulator. What differs between lines is in LINES below.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow_line import AIRFLOW_LINE, AIRFLOW_VERSION
from airflow_processes import (
    LOOPBACK,
    free_loopback_port,
    migrate_metadata_db,
    run_airflow_command,
    start_api_server,
    start_webserver,
    stop_process_group,
    tail,
    without_airflow_settings,
)

from airflow_provider_journeys.get_provider_info import get_provider_info
from airflow_provider_journeys.hooks.journeys import EXIT_PATH, TRIGGER_PATH
from airflow_provider_journeys.testing import AirshipEmulator
from airflow_provider_journeys.testing.emulator import TOKEN_PATH

pytestmark = pytest.mark.integration

REQUEST_TIMEOUT_SECONDS = 60
USERNAME = "journeys-tester"
PASSWORD = "journeys-tester-password"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
HOOK_CLASS_NAME = "airflow_provider_journeys.hooks.journeys.JourneysHook"
EXTRA_FIELD_NAMES = ("client_id", "region", "private_key", "scope", "oauth_url", "verify", "timeout")

# How a form field takes its value, whatever the line's way of saying it: a JSON schema "format" on the
# Airflow 3 lines ("password" is a masked input, "multiline" a textarea, none a one-line text input), the
# HTML element on Airflow 2.11's page.
SINGLE_LINE = "single-line"
MULTILINE = "multiline"
SECRET = "secret"
SCHEMA_FORMATS = {None: SINGLE_LINE, "multiline": MULTILINE, "password": SECRET}


@dataclass(frozen=True)
class Line:
    """What one Airflow line's own server serves for the ``airship`` connection type."""

    server: str  # the process that serves the UI and REST
    # GET of a stored connection: the password comes back as "***" on Airflow 3; 2.11 never returns it.
    password_read_back: str | None
    # Whether POST .../connections/test fills what the body leaves masked or out from the stored connection
    # (3.1 and later); 2.11 and 3.0 test only the body, so the user types the secret again before Test.
    test_merges_the_stored_connection: bool
    # How the form is built. None: the line's form has no Airship fields at all.
    form_source: str | None
    form_names_the_hook_class: bool
    # Per extra field: the JSON schema "type" (None where the line serves no schema), the "enum" of the
    # region, the schema defaults, and the initial values the form starts with.
    extra_types: dict[str, Any] | None = None
    region_enum: list[Any] | None = None
    schema_defaults: dict[str, Any] = field(default_factory=dict)
    initial_values: dict[str, Any] = field(default_factory=dict)
    private_key_input: str | None = None
    # What an anonymous request for the form gets.
    anonymous_form_refusal: str = "HTTP 401"


# Optional fields allow null, so the 3.2+ form does not mark them required; the client id is required.
_DECLARED = Line(
    server="api-server",
    password_read_back="***",
    test_merges_the_stored_connection=True,
    form_source="the provider info's conn-fields",
    form_names_the_hook_class=True,
    extra_types={
        "client_id": "string",
        "region": ["string", "null"],
        "private_key": ["string", "null"],
        "scope": ["string", "null"],
        "oauth_url": ["string", "null"],
        "verify": ["string", "null"],
        "timeout": ["number", "null"],
    },
    region_enum=["us", "eu", None],
    schema_defaults={"region": "us", "scope": "jny", "timeout": 30},
    initial_values={"region": "us", "scope": "jny", "timeout": 30},
    private_key_input=MULTILINE,
)

LINES: dict[str, Line] = {
    # Flask-AppBuilder renders the hook's WTForms widgets; the page's JS applies hidden/relabelled fields.
    # The private key is a password input there: only that keeps a stored key out of 2.11's edit page.
    "2.11": Line(
        server="webserver",
        password_read_back=None,
        test_merges_the_stored_connection=False,
        form_source="the hook's WTForms widgets, rendered by Flask-AppBuilder",
        form_names_the_hook_class=False,
        initial_values={"region": "us", "scope": "jny", "timeout": "30"},
        private_key_input=SECRET,
        anonymous_form_refusal="redirect to /login/",
    ),
    # The hook's widgets are read through mocks of WTForms that 3.0.6 installs only when WTForms and
    # Flask-AppBuilder are importable; they are not dependencies of Airflow 3, so the hook's
    # get_connection_form_widgets() fails to import them, and Airflow's handler of that ImportError skips
    # get_ui_field_behaviour() too: Airship gets neither standard nor extra fields (a documented 3.0
    # limitation: the connection is edited through its Extra JSON).
    "3.0": Line(
        server="api-server",
        password_read_back="***",
        test_merges_the_stored_connection=False,
        form_source=None,
        form_names_the_hook_class=True,
    ),
    # The hook's widgets through 3.1's mocks of WTForms: every field a nullable string, no schema default
    # (the default is the value), the enum without null; the private key a password field (format password).
    "3.1": Line(
        server="api-server",
        password_read_back="***",
        test_merges_the_stored_connection=True,
        form_source="the hook's WTForms widgets, through Airflow's mocks of WTForms",
        form_names_the_hook_class=True,
        extra_types={name: ["string", "null"] for name in EXTRA_FIELD_NAMES},
        region_enum=["us", "eu"],
        initial_values={"region": "us", "scope": "jny", "timeout": "30"},
        private_key_input=SECRET,
    ),
    "3.2": _DECLARED,
    "3.3": _DECLARED,
}
LINE = LINES[AIRFLOW_LINE]

# A task that calls the hook directly. Tasks get connections through the execution API (Airflow 3) or
# straight from the metadata DB (2.11); a bare Python process would not see a connection stored there
# (Airflow 3.3 gives it only env vars and external backends).
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


@dataclass(frozen=True)
class StandardField:
    hidden: bool = False
    label: str | None = None  # the relabelled title; None keeps Airflow's own
    placeholder: str | None = None


@dataclass(frozen=True)
class ExtraField:
    label: str
    description: str
    initial: Any
    input: str  # SINGLE_LINE, MULTILINE or SECRET
    schema: dict[str, Any] | None  # the JSON schema, on the lines that serve one


@dataclass(frozen=True)
class AirshipForm:
    """The Airship entry of a line's connection form, keyed by the form's field names ("schema", not the
    REST API's "url_schema"). ``standard`` and ``extra`` are None where the line serves none."""

    hook_name: str
    hook_class_name: str | None
    standard: dict[str, StandardField] | None
    extra: dict[str, ExtraField] | None


class AirflowServer:
    """A running Airflow server and an authenticated client of it, with the same methods on every line."""

    rest: str
    created_status: int

    def __init__(self, url: str, env: dict[str, str], log_path: Path) -> None:
        self.url = url
        self.env = env
        self.log_path = log_path
        self.session = loopback_session()

    def log_tail(self) -> str:
        return tail(self.log_path)

    def log_in(self) -> None:
        raise NotImplementedError

    def create_connection(self, conn_id: str, **fields: Any) -> dict[str, Any]:
        """POST an ``airship`` connection to the REST API; ``extra`` is given as a dict."""
        body = {"connection_id": conn_id, "conn_type": "airship", **fields}
        if "extra" in body:
            body["extra"] = json.dumps(body["extra"])
        response = self.session.post(
            f"{self.url}{self.rest}/connections", json=body, timeout=REQUEST_TIMEOUT_SECONDS
        )
        assert response.status_code == self.created_status, (
            f"HTTP {response.status_code}: {response.text}\n{self.log_tail()}"
        )
        created: dict[str, Any] = response.json()
        return created

    def read_connection_response(self, conn_id: str) -> requests.Response:
        return self.session.get(
            f"{self.url}{self.rest}/connections/{conn_id}", timeout=REQUEST_TIMEOUT_SECONDS
        )

    def read_connection(self, conn_id: str) -> dict[str, Any]:
        response = self.read_connection_response(conn_id)
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text}"
        stored: dict[str, Any] = response.json()
        return stored

    def form_before_test(self, conn_id: str, typed_secret: str) -> dict[str, Any]:
        """What the UI posts when Test is pressed on a stored connection's edit form: the connection as read
        back, and on the lines that test only what is posted (2.11, 3.0) the client secret typed again,
        since the form does not hold it."""
        body = self.read_connection(conn_id)
        if not LINE.test_merges_the_stored_connection:
            body["password"] = typed_secret
        return body

    def test_connection(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to the REST API's connection test (the UI's Test button); its answer."""
        response = self.session.post(
            f"{self.url}{self.rest}/connections/test", json=body, timeout=REQUEST_TIMEOUT_SECONDS
        )
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text}\n{self.log_tail()}"
        outcome: dict[str, Any] = response.json()
        return outcome

    def form(self) -> AirshipForm:
        raise NotImplementedError

    def edit_form_source(self, conn_id: str) -> str:
        """What the UI's edit form of a stored connection is filled from, as text."""
        raise NotImplementedError

    def anonymous_form_refusal(self) -> str:
        raise NotImplementedError


class ApiServer(AirflowServer):
    """Airflow 3's ``airflow api-server``: a JWT from ``/auth/token``, REST at ``/api/v2``."""

    rest = "/api/v2"
    created_status = 201

    def log_in(self) -> None:
        login = self.session.post(
            f"{self.url}/auth/token",
            json={"username": USERNAME, "password": PASSWORD},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        assert login.status_code == 201, f"POST /auth/token: HTTP {login.status_code} {login.text}"
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def form(self) -> AirshipForm:
        response = self.session.get(f"{self.url}/ui/connections/hook_meta", timeout=REQUEST_TIMEOUT_SECONDS)
        assert response.status_code == 200, f"{response.text}\n{self.log_tail()}"
        by_type = {entry["connection_type"]: entry for entry in response.json()}
        assert "airship" in by_type, f"airship missing from hook_meta: {sorted(by_type)}"
        airship = by_type["airship"]
        standard = None
        if airship["standard_fields"] is not None:
            # A field the provider leaves as Airflow has it is null here.
            standard = {
                ("schema" if name == "url_schema" else name): (
                    StandardField(
                        hidden=behaviour["hidden"],
                        label=behaviour["title"],
                        placeholder=behaviour["placeholder"],
                    )
                    if behaviour
                    else StandardField()
                )
                for name, behaviour in airship["standard_fields"].items()
            }
        extra = None
        if airship["extra_fields"] is not None:
            extra = {
                name: ExtraField(
                    label=param["schema"]["title"],
                    description=param["description"],
                    initial=param["value"],
                    input=SCHEMA_FORMATS[param["schema"].get("format")],
                    schema=param["schema"],
                )
                for name, param in airship["extra_fields"].items()
            }
        return AirshipForm(
            hook_name=airship["hook_name"],
            hook_class_name=airship["hook_class_name"],
            standard=standard,
            extra=extra,
        )

    def edit_form_source(self, conn_id: str) -> str:
        # The React UI fills its edit form from the REST API's read of the connection.
        return self.read_connection_response(conn_id).text

    def anonymous_form_refusal(self) -> str:
        response = loopback_session().get(
            f"{self.url}/ui/connections/hook_meta", timeout=REQUEST_TIMEOUT_SECONDS
        )
        return f"HTTP {response.status_code}"


class Webserver(AirflowServer):
    """Airflow 2.11's ``airflow webserver``: basic auth for ``/api/v1``, the login page for the UI."""

    rest = "/api/v1"
    created_status = 200

    def log_in(self) -> None:
        self.session.auth = (USERNAME, PASSWORD)
        # The UI is a separate, cookie-authenticated client, logged in through the login form and its CSRF
        # token as a browser is.
        self.browser = loopback_session()
        login_page = self.browser.get(f"{self.url}/login/", timeout=REQUEST_TIMEOUT_SECONDS)
        assert login_page.status_code == 200, login_page.text[:2000]
        page = parse_page(login_page.text)
        csrf_token = page.elements["csrf_token"]["value"]
        answer = self.browser.post(
            f"{self.url}/login/",
            data={"username": USERNAME, "password": PASSWORD, "csrf_token": csrf_token},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        assert answer.status_code == 200, answer.text[:2000]
        assert "/login" not in answer.url, f"login refused, still at {answer.url}"

    def form(self) -> AirshipForm:
        response = self.browser.get(f"{self.url}/connection/add", timeout=REQUEST_TIMEOUT_SECONDS)
        assert response.status_code == 200, f"{response.text[:2000]}\n{self.log_tail()}"
        assert response.url.endswith("/connection/add"), f"redirected to {response.url}"
        page = parse_page(response.text)
        # The page's JS reads these scripts with JSON.parse after decoding HTML entities, as html.unescape
        # does; field_behaviours says which standard fields to hide, relabel and give a placeholder.
        behaviours = json.loads(html.unescape(page.scripts["field_behaviours"]))
        # The Test button is enabled for the types listed here, when the meta tag says testing is enabled.
        assert "'airship'" in html.unescape(page.scripts["testable_connection_types"])
        assert page.meta["config_test_connection"] == "Enabled"
        standard = None
        if "airship" in behaviours:
            airship = behaviours["airship"]
            names = ("description", "host", "schema", "login", "password", "port")
            standard = {
                name: StandardField(
                    hidden=name in airship.get("hidden_fields", []),
                    label=airship.get("relabeling", {}).get(name),
                    placeholder=airship.get("placeholders", {}).get(name),
                )
                for name in names
            }
            # The JS finds each named field by its id (and a relabelled one's label by its for=); a name the
            # page does not have would stop it.
            targets = {
                *airship.get("hidden_fields", []),
                *airship.get("relabeling", {}),
                *airship.get("placeholders", {}),
            }
            assert targets <= set(page.elements), targets - set(page.elements)
            assert set(airship.get("relabeling", {})) <= set(page.labels)
        extra = {}
        prefix = "extra__airship__"
        for element_id, element in page.elements.items():
            if not element_id.startswith(prefix):
                continue
            if element["tag"] == "textarea":
                # A browser drops the one line break that follows <textarea>.
                kind, initial = MULTILINE, re.sub(r"\A\r?\n", "", element["text"])
            elif element.get("type") == "password":
                kind, initial = SECRET, element.get("value", "")
            else:
                kind, initial = SINGLE_LINE, element.get("value", "")
            extra[element_id.removeprefix(prefix)] = ExtraField(
                label=page.labels[element_id],
                description=page.help[element_id],
                initial=initial or None,
                input=kind,
                schema=None,
            )
        hook_name = page.options["conn_type"]["airship"]
        return AirshipForm(hook_name=hook_name, hook_class_name=None, standard=standard, extra=extra or None)

    def edit_form_source(self, conn_id: str) -> str:
        # Flask-AppBuilder renders the edit page with the stored values; find it from the filtered list.
        listing = self.browser.get(
            f"{self.url}/connection/list/",
            params={"_flt_0_conn_id": conn_id},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        assert listing.status_code == 200, listing.text[:2000]
        edit_paths = set(re.findall(r"/connection/edit/\d+", listing.text))
        assert len(edit_paths) == 1, edit_paths
        page = self.browser.get(f"{self.url}{edit_paths.pop()}", timeout=REQUEST_TIMEOUT_SECONDS)
        assert page.status_code == 200, page.text[:2000]
        assert parse_page(page.text).elements["conn_id"]["value"] == conn_id
        return page.text

    def anonymous_form_refusal(self) -> str:
        response = loopback_session().get(
            f"{self.url}/connection/add", timeout=REQUEST_TIMEOUT_SECONDS, allow_redirects=False
        )
        if response.status_code == 302 and "/login/" in response.headers.get("Location", ""):
            return "redirect to /login/"
        return f"HTTP {response.status_code}"


@dataclass
class Page:
    """What a test needs of a Flask-AppBuilder page: elements by id, labels and help text by the field
    they belong to, <script id=...> contents, <meta name=...> contents and <select> options."""

    elements: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, str]] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._text_of: tuple[str, str, str] | None = None  # (kind, key, subkey) whose text is being read
        self._text: list[str] = []
        self._last_field: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        element_id = attributes.get("id")
        if tag == "meta" and "name" in attributes:
            self.page.meta[attributes["name"]] = attributes.get("content", "")
        if tag == "label" and "for" in attributes:
            self._read("label", attributes["for"])
        elif tag == "script" and element_id:
            self._read("script", element_id)
        elif tag == "span" and "help-block" in attributes.get("class", "").split() and self._last_field:
            self._read("help", self._last_field)
        elif tag == "option" and self._select:
            self._read("option", self._select, attributes.get("value", ""))
        if element_id and tag in ("input", "textarea", "select"):
            self.page.elements[element_id] = {"tag": tag, **attributes, "text": ""}
            self._last_field = element_id
            if tag == "textarea":
                self._read("textarea", element_id)
            if tag == "select":
                self._select = element_id
        elif element_id:
            self.page.elements.setdefault(element_id, {"tag": tag, **attributes, "text": ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if self._text_of is None or tag not in ("label", "script", "span", "option", "textarea"):
            return
        kind, key, subkey = self._text_of
        text = "".join(self._text)
        if kind == "label":
            self.page.labels[key] = text.strip()
        elif kind == "script":
            self.page.scripts[key] = text
        elif kind == "help":
            self.page.help[key] = text.strip()
        elif kind == "option":
            self.page.options.setdefault(key, {})[subkey] = text.strip()
        elif kind == "textarea":
            self.page.elements[key]["text"] = text
        self._text_of = None

    def handle_data(self, data: str) -> None:
        if self._text_of is not None:
            self._text.append(data)

    def _read(self, kind: str, key: str, subkey: str = "") -> None:
        self._text_of = (kind, key, subkey)
        self._text = []


def parse_page(text: str) -> Page:
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser.page


def loopback_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only, never through a proxy
    return session


def server_env(home: Path, port: int) -> dict[str, str]:
    """The test session's environment without any Airflow setting or connection, plus this server's own."""
    env = without_airflow_settings(dict(os.environ))
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "NO_PROXY": f"{LOOPBACK},localhost",
            "no_proxy": f"{LOOPBACK},localhost",
        }
    )
    if LINE.server == "api-server":
        # The simple auth manager reads each configured user's password from this file.
        passwords_file = home / "simple_auth_manager_passwords.json"
        passwords_file.write_text(json.dumps({USERNAME: PASSWORD}))
        env.update(
            {
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
                "AIRFLOW__API__HOST": LOOPBACK,
                "AIRFLOW__API__PORT": str(port),
            }
        )
    else:
        env.update(
            {
                "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth",
                "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": LOOPBACK,
                "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(port),
            }
        )
    return env


def create_admin_user(env: dict[str, str]) -> None:
    """Airflow 2.11's Flask-AppBuilder auth manager keeps its users in the metadata DB."""
    run_airflow_command(
        "users",
        "create",
        "--username",
        USERNAME,
        "--password",
        PASSWORD,
        "--role",
        "Admin",
        "--firstname",
        "Journeys",
        "--lastname",
        "Tester",
        "--email",
        "journeys-tester@example.com",
        env=env,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowServer]:
    """This line's server, started once for the module, with a logged-in client."""
    home = tmp_path_factory.mktemp(f"{LINE.server}-airflow-home")
    port = free_loopback_port()
    env = server_env(home, port)
    url = f"http://{LOOPBACK}:{port}"
    client: AirflowServer
    if LINE.server == "api-server":
        process = start_api_server(env, home, port)
        client = ApiServer(url, env, home / "api-server.log")
    else:
        migrate_metadata_db(env)
        create_admin_user(env)
        process = start_webserver(env, home, port)
        client = Webserver(url, env, home / "webserver.log")
    try:
        client.log_in()
        yield client
    finally:
        stop_process_group(process)


def create_client_secret_connection(server: AirflowServer, conn_id: str, emulator: AirshipEmulator) -> None:
    server.create_connection(
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


def airship_fields(form: AirshipForm) -> bool:
    """Whether the line's form has Airship fields; where it has none (3.0), that it plainly has none."""
    if LINE.form_source is None:
        assert form.standard is None, form.standard
        assert form.extra is None, form.extra
        return False
    assert form.standard is not None
    assert form.extra is not None
    return True


def test_the_server_is_the_running_lines_own(server):
    # The row of LINES in use and the server started are those of the Airflow these tests import.
    response = server.session.get(f"{server.url}{server.rest}/version", timeout=REQUEST_TIMEOUT_SECONDS)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == str(AIRFLOW_VERSION)
    assert isinstance(server, ApiServer if AIRFLOW_VERSION.major >= 3 else Webserver)


def test_the_connection_form_is_refused_without_credentials(server):
    assert server.anonymous_form_refusal() == LINE.anonymous_form_refusal


def test_connection_form_lists_airship_with_relabeled_and_hidden_standard_fields(server):
    form = server.form()
    assert form.hook_name == "Airship"
    assert form.hook_class_name == (HOOK_CLASS_NAME if LINE.form_names_the_hook_class else None)
    if not airship_fields(form):
        return
    standard = form.standard
    assert standard["login"] == StandardField(hidden=False, label="App key", placeholder="Airship app key")
    assert standard["password"] == StandardField(
        hidden=False,
        label="OAuth client secret",
        placeholder="client secret (leave empty to use a private key)",
    )
    assert standard["host"] == StandardField(
        hidden=False,
        label="API base URL (optional)",
        placeholder="https://api.asnapius.com (default for region us)",
    )
    assert standard["port"].hidden is True
    assert standard["schema"].hidden is True  # the REST API calls the "schema" field url_schema
    assert standard["description"] == StandardField()  # left as Airflow has it


def test_connection_form_shows_every_airship_extra_field_with_label_description_and_default(server):
    form = server.form()
    if not airship_fields(form):
        return
    extra_fields = form.extra
    assert set(extra_fields) == set(EXTRA_FIELD_NAMES)
    declared = get_provider_info()["connection-types"][0]["conn-fields"]
    expected_labels = {
        "client_id": "OAuth client ID",
        "region": "Region",
        "private_key": "Private key (PEM)",
        "scope": "Scope",
        "oauth_url": "OAuth token URL",
        "timeout": "Timeout (seconds)",
        "verify": "CA bundle path",
    }
    for name, label in expected_labels.items():
        assert extra_fields[name].label == label, name
        assert extra_fields[name].description, name
        assert extra_fields[name].description == declared[name]["description"], name

    # The form starts each field at its default, in the type the line gives it.
    initial = {name: field.initial for name, field in extra_fields.items()}
    assert initial == {**dict.fromkeys(EXTRA_FIELD_NAMES), **LINE.initial_values}

    if LINE.extra_types is None:  # 2.11 serves HTML inputs, not schemas
        assert all(field.schema is None for field in extra_fields.values())
        return
    types = {name: field.schema["type"] for name, field in extra_fields.items()}
    assert types == LINE.extra_types
    assert extra_fields["region"].schema["enum"] == LINE.region_enum
    defaults = {
        name: field.schema["default"] for name, field in extra_fields.items() if "default" in field.schema
    }
    assert defaults == LINE.schema_defaults


def test_connection_form_gives_only_the_private_key_an_input_of_its_own_kind(server):
    # Airflow 3.2+ draws the PEM key in a text area (schema format "multiline"), so it keeps its line breaks.
    # Where the hook builds the form (2.11, 3.1) it is a password input (an <input type="password">; schema
    # format "password"). On Airflow 3 "format" holds one value: a masked input or a text area, not both.
    form = server.form()
    if not airship_fields(form):
        return
    inputs = {name: field.input for name, field in form.extra.items()}
    assert inputs == {**dict.fromkeys(EXTRA_FIELD_NAMES, SINGLE_LINE), "private_key": LINE.private_key_input}
    if LINE.extra_types is not None:
        formats = {name: field.schema.get("format") for name, field in form.extra.items()}
        (expected_format,) = (name for name, kind in SCHEMA_FORMATS.items() if kind == LINE.private_key_input)
        assert formats == {**dict.fromkeys(EXTRA_FIELD_NAMES), "private_key": expected_format}


def test_rest_api_masks_the_client_secret_and_private_key_of_a_stored_connection(
    server, emulator, private_key_pem
):
    server.create_connection(
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
    response = server.read_connection_response("airship_masked")
    assert response.status_code == 200, response.text
    assert emulator.client_secret not in response.text
    assert "PRIVATE KEY" not in response.text
    stored = response.json()
    assert stored.get("password") == LINE.password_read_back
    if LINE.password_read_back is None:
        assert "password" not in stored  # Airflow 2.11's REST API never returns it
    assert stored["login"] == emulator.app_key
    extra = json.loads(stored["extra"])
    assert extra["private_key"] == "***"
    assert extra["client_id"] == emulator.client_id
    # Nor does the UI's edit form of the connection carry either secret.
    edit_form_source = server.edit_form_source("airship_masked")
    assert emulator.app_key in edit_form_source
    assert emulator.client_id in edit_form_source
    assert emulator.client_secret not in edit_form_source
    assert "PRIVATE KEY" not in edit_form_source
    assert emulator.requests == []  # storing a connection calls nobody


def test_hook_in_a_task_reads_a_connection_created_through_the_rest_api_from_the_metadata_db(
    server, emulator, tmp_path
):
    conn_id = "airship_from_rest"
    create_client_secret_connection(server, conn_id, emulator)
    (tmp_path / "hook_dag.py").write_text(f"CONN_ID = {conn_id!r}\n{HOOK_DAG}")
    env = {**server.env, "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)}
    assert not any(key.startswith("AIRFLOW_CONN_") for key in env)

    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", HOOK_DAG_ID, "2026-11-27"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, f"airflow dags test failed:\n{output[-6000:]}"
    assert "JOURNEYS_ANSWER " in output, output[-6000:]
    answer = json.loads(output.split("JOURNEYS_ANSWER ", 1)[1].splitlines()[0])
    assert answer["ok"] is True
    assert emulator.accepted(TRIGGER_PATH) == [{"audience": {"segment": "s"}, "triggering_id": "t"}]
    assert [request.status for request in emulator.received(TOKEN_PATH)] == [200]


def test_test_connection_button_fetches_a_token_and_calls_no_journeys_endpoint(server, emulator):
    create_client_secret_connection(server, "airship_tested", emulator)
    # The UI's Test button posts the edit form: the connection as read back (secret masked or absent), with
    # the secret typed again on the lines that do not fill it from the stored connection.
    body = server.form_before_test("airship_tested", typed_secret=emulator.client_secret)
    assert body["password"] == ("***" if LINE.test_merges_the_stored_connection else emulator.client_secret)

    outcome = server.test_connection(body)

    assert outcome == {
        "status": True,
        "message": f"Got an OAuth token for app key {emulator.app_key!r} from {emulator.oauth_url}",
    }
    # Answered synchronously by the server itself: no scheduler or worker runs in this module.
    assert [(request.path, request.status) for request in emulator.requests] == [(TOKEN_PATH, 200)]
    assert emulator.received(TRIGGER_PATH) == []
    assert emulator.received(EXIT_PATH) == []


def test_test_connection_button_on_the_form_as_loaded_uses_the_stored_secret_only_where_airflow_fills_it(
    server, emulator
):
    # Pressing Test without typing the secret again: 3.1 and later fill the masked password from the stored
    # connection; 3.0 sends the mask itself as the secret, and 2.11's form has no secret to send.
    create_client_secret_connection(server, "airship_untyped", emulator)
    body = server.read_connection("airship_untyped")

    outcome = server.test_connection(body)

    statuses = [(request.path, request.status) for request in emulator.requests]
    if LINE.test_merges_the_stored_connection:
        assert outcome["status"] is True, outcome["message"]
        assert statuses == [(TOKEN_PATH, 200)]
    elif LINE.password_read_back == "***":
        assert outcome["status"] is False
        assert "refused the credentials" in outcome["message"]
        assert statuses == [(TOKEN_PATH, 401)]
    else:
        assert outcome["status"] is False
        assert outcome["message"].startswith(
            "The connection is missing password (OAuth client secret) or extra 'private_key'"
        ), outcome["message"]
        assert statuses == []


def test_test_connection_button_with_a_wrong_client_secret_says_the_credentials_were_refused(
    server, emulator
):
    create_client_secret_connection(server, "airship_wrong_secret", emulator)
    body = server.form_before_test("airship_wrong_secret", typed_secret=emulator.client_secret)

    outcome = server.test_connection({**body, "password": "not-the-secret"})

    assert outcome["status"] is False
    message = outcome["message"]
    assert "refused the credentials" in message
    assert repr(emulator.client_id) in message
    assert repr(emulator.app_key) in message
    assert "HTTP 401" in message
    assert "not-the-secret" not in message
    # Credential errors are not retried, and nothing reaches the Journeys API.
    assert [(request.path, request.status) for request in emulator.requests] == [(TOKEN_PATH, 401)]


def test_test_connection_button_names_the_missing_field_not_the_random_id_of_its_copy(server, emulator):
    create_client_secret_connection(server, "airship_no_client_id", emulator)
    body = server.form_before_test("airship_no_client_id", typed_secret=emulator.client_secret)
    extra = json.loads(body["extra"])
    del extra["client_id"]

    outcome = server.test_connection({**body, "extra": json.dumps(extra)})

    assert outcome["status"] is False
    assert outcome["message"].startswith("The connection is missing extra 'client_id'")
    assert "Connection '" not in outcome["message"]
    assert emulator.requests == []


@pytest.mark.parametrize("line_break", ["", " "], ids=["line-breaks-dropped", "line-breaks-as-spaces"])
def test_private_key_pasted_as_one_line_still_gets_a_token(server, emulator, private_key_pem, line_break):
    # A browser drops the line breaks of what is pasted into a one-line input, or turns them into spaces;
    # 2.11 and 3.1 draw the private key field as a password input. The hook must accept the PEM as one line.
    # The body is the whole connection, as every line's Test button posts it.
    pasted_pem = private_key_pem.replace("\r", "").replace("\n", line_break)
    assert "\n" not in pasted_pem

    outcome = server.test_connection(
        {
            "connection_id": "airship_assertion",
            "conn_type": "airship",
            "host": emulator.url,
            "login": emulator.app_key,
            "extra": json.dumps(
                {"client_id": emulator.client_id, "oauth_url": emulator.oauth_url, "private_key": pasted_pem}
            ),
        }
    )

    assert outcome["status"] is True, outcome["message"]
    token_requests = emulator.received(TOKEN_PATH)
    assert [request.status for request in token_requests] == [200]
    assert "assertion" in token_requests[0].form
