"""The ``airship`` connection form as a user meets it: headless Chromium on a real ``airflow api-server``.

One api-server for the module, on a free 127.0.0.1 port, with an AIRFLOW_HOME of its own (migrated SQLite
metadata DB, no example DAGs) and the simple auth manager in its all-admins mode, so the browser reaches
the UI without logging in and the REST calls here need no token. The browser is Debian's chromium driven
through its chromedriver (``scripts/install-browser.sh`` installs both); a missing chromedriver fails the
test rather than skipping it. The form checked is Airflow 3.3's React UI: marked ``browser``, the module runs
on the newest line only (scripts/test.sh leaves it out elsewhere).

What the form shows comes from the provider's ``conn-fields`` and ``ui-field-behaviour``: labels, hidden
standard fields, which fields are required (Airflow 3.3 marks a field required unless its schema allows
null: a red ``*`` after the label, ``data-required`` on the label, ``required`` on the input) and the
widget of each field (``format: password`` is a masked input, ``format: multiline`` a textarea).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.integration, pytest.mark.browser]

T = TypeVar("T")

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
REQUEST_TIMEOUT_SECONDS = 30
UI_TIMEOUT_SECONDS = 30
INSTALL_HINT = "run scripts/install-browser.sh (apt: chromium chromium-driver) before this test"

APP_KEY = "browser-app-key"
CLIENT_SECRET = "browser-client-secret-7f3a"
CLIENT_ID = "browser-client-id"
CONN_ID = "airship_from_the_form"

# The form's sections and the labels they show, in order; the asterisk is not part of a label.
STANDARD_LABELS = ["Description", "API base URL (optional)", "App key", "OAuth client secret"]
EXTRA_LABELS = [
    "OAuth client ID",
    "Region",
    "Private key (PEM)",
    "Scope",
    "OAuth token URL",
    "CA bundle path",
    "Timeout (seconds)",
]

# Per field row of the dialog: its label's text, whether it carries the required asterisk (and
# data-required), whether its input is required (the ``required`` attribute, or ``aria-required`` on a
# select's combobox), and its widget (tag, type and name or id of the control).
FIELD_ROWS_SCRIPT = """
const rows = [];
for (const root of arguments[0].querySelectorAll('[data-scope="field"][data-part="root"]')) {
  const label = root.querySelector('label[data-part="label"]');
  if (!label) continue;
  const text = Array.from(label.childNodes)
    .filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => node.textContent).join('').trim();
  const star = label.querySelector('.chakra-field__requiredIndicator');
  const control = root.querySelector('input:not([type=hidden]):not([aria-hidden=true]), textarea');
  rows.push({
    label: text,
    star: star ? star.textContent.trim() : null,
    label_data_required: label.hasAttribute('data-required'),
    input_required: control ? (control.required || control.getAttribute('aria-required') === 'true') : null,
    tag: control ? control.tagName.toLowerCase() : null,
    type: control ? control.getAttribute('type') : null,
    role: control ? control.getAttribute('role') : null,
    name: control ? (control.getAttribute('name') || control.id) : null,
    value: control ? control.value : null,
    shown: label.getClientRects().length > 0,
  });
}
return rows;
"""

# The lines the extra's JSON editor (Monaco) draws, as shown.
EDITOR_TEXT_SCRIPT = """
const lines = arguments[0].querySelector('.monaco-editor .view-lines');
return lines && lines.getClientRects().length > 0 ? lines.innerText : null;
"""


@dataclass
class UiServer:
    url: str
    env: dict[str, str]
    home: Path
    rest: requests.Session

    def log_tail(self) -> str:
        return tail(self.home / "api-server.log")

    def rest_connection(self, conn_id: str) -> requests.Response:
        return self.rest.get(f"{self.url}/api/v2/connections/{conn_id}", timeout=REQUEST_TIMEOUT_SECONDS)

    def stored_connection(self, conn_id: str) -> dict[str, Any]:
        """The connection as the metadata DB holds it, decrypted: ``airflow connections get -o json``."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "connections", "get", conn_id, "-o", "json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"airflow connections get failed:\n{result.stdout}\n{result.stderr}"
        (stored,) = json.loads(result.stdout.strip().splitlines()[-1])
        return dict(stored)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    home = tmp_path_factory.mktemp("browser-airflow-home")
    port = free_loopback_port()
    env = without_airflow_settings(dict(os.environ))
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            # Every request is an admin's: the UI opens without a login page, REST needs no token.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(port),
            "NO_PROXY": f"{LOOPBACK},localhost",
            "no_proxy": f"{LOOPBACK},localhost",
        }
    )
    process = start_api_server(env, home, port)
    try:
        rest = requests.Session()
        rest.trust_env = False  # loopback only, never through a proxy
        yield UiServer(url=f"http://{LOOPBACK}:{port}", env=env, home=home, rest=rest)
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromedriver = shutil.which("chromedriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromedriver is None or chromium is None:
        pytest.fail(
            f"chromedriver or chromium is not on PATH (chromedriver: {chromedriver}, chromium: {chromium}): "
            f"{INSTALL_HINT}",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium  # given, so Selenium Manager looks nothing up (there is no internet)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-dev-shm-usage",
        "--no-proxy-server",  # loopback only
        "--window-size=1400,1800",  # the whole dialog fits, nothing to scroll to
        "--lang=en-US",  # the UI's own words (Save, Extra Fields) follow the browser's language
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, server: UiServer, what: str, condition: Callable[[WebDriver], T]) -> T:
    """The first truthy result of ``condition``; on timeout, fail with a screenshot and the server's log."""
    try:
        return WebDriverWait(driver, UI_TIMEOUT_SECONDS, poll_frequency=0.1).until(condition)
    except TimeoutException:
        screenshot = server.home / "browser-failure.png"
        driver.save_screenshot(str(screenshot))
        pytest.fail(
            f"Timed out after {UI_TIMEOUT_SECONDS} s waiting for {what} at {driver.current_url} "
            f"(screenshot: {screenshot}).\napi-server log:\n{server.log_tail()}"
        )


def displayed(driver: WebDriver, by: str, selector: str) -> WebElement | None:
    return next((element for element in driver.find_elements(by, selector) if element.is_displayed()), None)


def dialog(driver: WebDriver, server: UiServer, heading: str) -> WebElement:
    return wait_for(
        driver,
        server,
        f"the {heading!r} dialog",
        lambda d: displayed(d, By.XPATH, f"//*[@role='dialog'][.//h2[normalize-space()={heading!r}]]"),
    )


def button(driver: WebDriver, server: UiServer, scope: WebElement | WebDriver, text: str) -> WebElement:
    """A displayed, enabled button whose text (or whose child's text) is ``text``."""
    xpath = f".//button[normalize-space()={text!r} or .//*[normalize-space()={text!r}]]"
    return wait_for(
        driver,
        server,
        f"the {text!r} button",
        lambda d: next(
            (b for b in scope.find_elements(By.XPATH, xpath) if b.is_displayed() and b.is_enabled()), None
        ),
    )


def open_section(driver: WebDriver, server: UiServer, form: WebElement, title: str) -> None:
    """Open an accordion section of the dialog (opening one closes the others)."""
    trigger = button(driver, server, form, title)
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
    wait_for(
        driver,
        server,
        f"the {title!r} section to open",
        lambda d: trigger.get_attribute("aria-expanded") == "true",
    )


def field_rows(
    driver: WebDriver, server: UiServer, form: WebElement, labels: list[str], closed: list[str]
) -> dict[str, dict[str, Any]]:
    """The dialog's field rows by label, once ``labels`` are displayed and those of a ``closed`` section not."""

    def shown_rows(d: WebDriver) -> dict[str, dict[str, Any]] | None:
        rows: list[dict[str, Any]] = d.execute_script(FIELD_ROWS_SCRIPT, form)
        by_label = {row["label"]: row for row in rows}
        if all(by_label.get(label, {}).get("shown") for label in labels) and not any(
            by_label.get(label, {}).get("shown") for label in closed
        ):
            return by_label
        return None

    return wait_for(driver, server, f"the fields {labels}", shown_rows)


def gone(element: WebElement) -> bool:
    try:
        return not element.is_displayed()
    except StaleElementReferenceException:  # removed from the page
        return True


def shown_labels(rows: dict[str, dict[str, Any]], besides: list[str]) -> list[str]:
    return [label for label, row in rows.items() if row["shown"] and label not in besides]


def open_add_connection_form(driver: WebDriver, server: UiServer) -> WebElement:
    driver.get(f"{server.url}/connections")
    button(driver, server, driver, "Add Connection").click()
    form = dialog(driver, server, "Add Connection")
    combobox = wait_for(
        driver,
        server,
        "the connection type select",
        lambda d: displayed(d, By.CSS_SELECTOR, "[role=dialog] input[role=combobox]"),
    )
    combobox.send_keys("Airship")
    wait_for(
        driver,
        server,
        "the 'Airship' connection type option",
        lambda d: displayed(d, By.XPATH, "//*[@role='option'][normalize-space()='Airship']"),
    ).click()
    return form


def paste(driver: WebDriver, element: WebElement, text: str) -> None:
    """Put ``text`` into ``element`` the way a paste does: one insertion, line breaks included."""
    element.click()
    driver.execute_cdp_cmd("Input.insertText", {"text": text})


def pem_body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_add_connection_form_shows_the_airship_fields_and_requires_only_the_client_id(browser, ui_server):
    form = open_add_connection_form(browser, ui_server)

    # Standard fields: relabelled, Port and Schema hidden; none of ours is required.
    standard = field_rows(browser, ui_server, form, STANDARD_LABELS, closed=EXTRA_LABELS)
    assert shown_labels(standard, besides=["Connection ID", "Connection Type"]) == STANDARD_LABELS
    assert not any(row["shown"] for label, row in standard.items() if label in ("Port", "Schema"))
    assert {row["name"] for label, row in standard.items() if label in STANDARD_LABELS} == {
        "description",
        "host",
        "login",
        "password",
    }
    # What "required" looks like here, on Airflow's own required field.
    assert standard["Connection ID"]["star"] == "*"
    assert standard["Connection ID"]["label_data_required"] is True
    assert standard["Connection ID"]["input_required"] is True
    for label in STANDARD_LABELS:
        row = standard[label]
        assert (row["star"], row["label_data_required"], row["input_required"]) == (None, False, False), row
    assert (standard["OAuth client secret"]["tag"], standard["OAuth client secret"]["type"]) == (
        "input",
        "password",
    )

    # Extra fields: every conn-field with its label; only the client id is required. Region, Scope and
    # Timeout have defaults and schemas that allow null, so the form must not demand them.
    open_section(browser, ui_server, form, "Extra Fields")
    rows = field_rows(browser, ui_server, form, EXTRA_LABELS, closed=STANDARD_LABELS)
    assert shown_labels(rows, besides=["Connection ID", "Connection Type"]) == EXTRA_LABELS
    required = {
        label: (rows[label]["star"], rows[label]["label_data_required"], rows[label]["input_required"])
        for label in EXTRA_LABELS
    }
    assert required == {
        "OAuth client ID": ("*", True, True),
        "Region": (None, False, False),
        "Private key (PEM)": (None, False, False),
        "Scope": (None, False, False),
        "OAuth token URL": (None, False, False),
        "CA bundle path": (None, False, False),
        "Timeout (seconds)": (None, False, False),
    }
    # Widgets and the defaults the form starts with.
    assert rows["Private key (PEM)"]["tag"] == "textarea"  # multi-line: a PEM keeps its line breaks
    assert rows["Private key (PEM)"]["name"] == "element_private_key"
    assert (
        rows["Region"]["role"],
        form.find_element(By.CSS_SELECTOR, "input[name=element_region]").get_attribute("value"),
    ) == ("combobox", "us")
    assert rows["Scope"]["value"] == "jny"
    assert (rows["Timeout (seconds)"]["role"], rows["Timeout (seconds)"]["value"]) == ("spinbutton", "30")


def test_connection_saved_from_the_form_keeps_the_pem_and_shows_its_secrets_only_masked(
    browser, ui_server, private_key_pem
):
    assert private_key_pem.count("\n") >= 4 and private_key_pem.endswith("-----END PRIVATE KEY-----\n")
    form = open_add_connection_form(browser, ui_server)
    field_rows(browser, ui_server, form, STANDARD_LABELS, closed=EXTRA_LABELS)
    form.find_element(By.NAME, "connection_id").send_keys(CONN_ID)
    form.find_element(By.NAME, "login").send_keys(APP_KEY)
    form.find_element(By.NAME, "password").send_keys(CLIENT_SECRET)
    open_section(browser, ui_server, form, "Extra Fields")
    field_rows(browser, ui_server, form, EXTRA_LABELS, closed=STANDARD_LABELS)
    form.find_element(By.ID, "element_client_id").send_keys(CLIENT_ID)
    private_key = form.find_element(By.ID, "element_private_key")
    paste(browser, private_key, private_key_pem)
    assert private_key.get_property("value") == private_key_pem  # the field took the line breaks
    button(browser, ui_server, form, "Save").click()
    wait_for(browser, ui_server, "the dialog to close after Save", lambda d: gone(form))

    # The REST API (which the UI reads) gives both secrets back masked, the rest as entered.
    response = ui_server.rest_connection(CONN_ID)
    assert response.status_code == 200, f"{response.text}\n{ui_server.log_tail()}"
    shown = response.json()
    assert (shown["conn_type"], shown["login"], shown["password"]) == ("airship", APP_KEY, "***")
    extra = json.loads(shown["extra"])
    assert (extra["client_id"], extra["private_key"], extra["region"], extra["scope"], extra["timeout"]) == (
        CLIENT_ID,
        "***",
        "us",
        "jny",
        30,
    )
    for secret in (CLIENT_SECRET, *pem_body_lines(private_key_pem)):
        assert secret not in response.text

    # The metadata DB kept the secret and the PEM exactly as entered, line breaks and all.
    stored = ui_server.stored_connection(CONN_ID)
    assert stored["password"] == CLIENT_SECRET
    assert stored["extra_dejson"]["private_key"] == private_key_pem

    # Reopened for editing, the form shows the secrets masked and nothing of the key.
    browser.get(f"{ui_server.url}/connections")
    row = wait_for(
        browser,
        ui_server,
        f"the row of {CONN_ID}",
        lambda d: displayed(d, By.XPATH, f"//tr[.//*[normalize-space()={CONN_ID!r}]]"),
    )
    row.find_element(By.CSS_SELECTOR, "button[aria-label='Edit Connection']").click()
    form = dialog(browser, ui_server, "Edit Connection")
    standard = field_rows(browser, ui_server, form, STANDARD_LABELS, closed=EXTRA_LABELS)
    assert (standard["OAuth client secret"]["type"], standard["OAuth client secret"]["value"]) == (
        "password",
        "***",
    )
    open_section(browser, ui_server, form, "Extra Fields")
    rows = field_rows(browser, ui_server, form, EXTRA_LABELS, closed=STANDARD_LABELS)
    assert (rows["OAuth client ID"]["value"], rows["Private key (PEM)"]["value"]) == (CLIENT_ID, "***")
    # The same dialog's JSON editor of the extra shows the key masked too.
    open_section(browser, ui_server, form, "Extra Fields JSON")
    extra_json = wait_for(
        browser,
        ui_server,
        "the extra's JSON editor to show the private key",
        lambda d: next(
            (
                text.replace("\u00a0", " ")
                for text in [d.execute_script(EDITOR_TEXT_SCRIPT, form)]
                if text and "private_key" in text
            ),
            None,
        ),
    )
    assert '"private_key": "***"' in extra_json, extra_json
    assert f'"client_id": "{CLIENT_ID}"' in extra_json, extra_json
    page = browser.page_source
    for secret in (CLIENT_SECRET, *pem_body_lines(private_key_pem)):
        assert secret not in page

    # Saving the edit form unchanged keeps the stored secrets: the masks are not written back.
    button(browser, ui_server, form, "Save").click()
    wait_for(browser, ui_server, "the dialog to close after Save", lambda d: gone(form))
    stored = ui_server.stored_connection(CONN_ID)
    assert stored["password"] == CLIENT_SECRET
    assert stored["extra_dejson"]["private_key"] == private_key_pem
