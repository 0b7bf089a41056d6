"""Provider registration, as Airflow's own loader and CLI see it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import jsonschema
import pytest
from airflow.providers_manager import ProvidersManager
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

from airflow_provider_journeys import __version__
from airflow_provider_journeys.get_provider_info import get_provider_info
from airflow_provider_journeys.hooks.journeys import JourneysHook

PACKAGE = "airflow-provider-journeys"


def test_provider_info_matches_airflows_schema():
    schema = json.loads((files("airflow") / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_airflows_providers_manager_loads_the_provider_and_its_connection_type():
    assert PACKAGE in ProvidersManager().providers
    hook_info = ProvidersManagerTaskRuntime().hooks["airship"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_journeys.hooks.journeys.JourneysHook"
    assert hook_info.connection_id_attribute_name == JourneysHook.conn_name_attr
    assert hook_info.hook_name == "Airship"


def test_connection_form_relabels_hides_and_adds_the_airship_fields():
    manager = ProvidersManager()
    behaviour = manager.field_behaviours["airship"]
    assert sorted(behaviour["hidden_fields"]) == ["port", "schema"]
    assert behaviour["relabeling"] == {
        "login": "App key",
        "password": "OAuth client secret",
        "host": "API base URL (optional)",
    }
    widgets = manager.connection_form_widgets
    for field in ("client_id", "region", "private_key", "scope", "oauth_url", "timeout"):
        assert f"extra__airship__{field}" in widgets
    assert widgets["extra__airship__private_key"].is_sensitive
    assert widgets["extra__airship__region"].field["schema"]["enum"] == ["us", "eu", None]


def test_get_provider_info_module_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from airflow_provider_journeys.get_provider_info import get_provider_info\n"
        "get_provider_info()\n"
        "print(sorted(m for m in ('airflow', 'requests', 'jsonschema', 'jwt') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.integration
def test_airflow_cli_lists_and_gets_the_provider():
    listed = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert PACKAGE in {provider["package_name"] for provider in json.loads(listed.stdout)}
    got = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "get", PACKAGE, "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(got.stdout) == [{"Provider": PACKAGE, "Version": __version__}]
