"""Provider registration, as Airflow's own loader and CLI see it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
from airflow.providers_manager import ProvidersManager
from airflow_line import AIRFLOW_LINE, FORM_FROM_PROVIDER_INFO

from airflow_provider_journeys import __version__
from airflow_provider_journeys.get_provider_info import get_provider_info
from airflow_provider_journeys.hooks.journeys import JourneysHook

PACKAGE = "airflow-provider-journeys"

# The connection form as a user meets it, the same on every line: the standard fields relabelled or
# hidden, and each extra field with its label and its kind of input.
STANDARD_FIELDS = {
    "hidden_fields": ["port", "schema"],
    "relabeling": {"login": "App key", "password": "OAuth client secret", "host": "API base URL (optional)"},
    "placeholders": {
        "login": "Airship app key",
        "password": "client secret (leave empty to use a private key)",
        "host": "https://api.asnapius.com (default for region us)",
    },
}
EXTRA_FIELDS = {
    "client_id": ("OAuth client ID", "text"),
    "region": ("Region", "text"),
    "private_key": ("Private key (PEM)", "multiline"),
    "scope": ("Scope", "text"),
    "oauth_url": ("OAuth token URL", "text"),
    "verify": ("CA bundle path", "text"),
    "timeout": ("Timeout (seconds)", "text"),
}
# The private key, a secret, is a multi-line input where the declarative form (3.2+) draws it; the lines
# that build the form from the hook (2.11 to 3.1) get a password input, as only that keeps a stored value
# out of 2.11's edit form. Airflow 3.0 builds the form only where WTForms and Flask-AppBuilder are
# installed (the FAB provider brings them); without them it has none of any provider's fields and
# relabels nothing (the connection's Extra JSON remains).
if not FORM_FROM_PROVIDER_INFO:
    EXTRA_FIELDS["private_key"] = ("Private key (PEM)", "secret")
if AIRFLOW_LINE == "3.0":
    STANDARD_FIELDS = {"hidden_fields": [], "relabeling": {}, "placeholders": {}}
    EXTRA_FIELDS.clear()


def last_json_line(stdout: str) -> Any:
    """The JSON an Airflow command printed last (Airflow 3.0 prints log lines to stdout before it)."""
    return json.loads(stdout.strip().splitlines()[-1])


def registered_hooks() -> Any:
    if FORM_FROM_PROVIDER_INFO:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        return ProvidersManagerTaskRuntime().hooks
    return ProvidersManager().hooks


def kind_of_form_field(widget: Any) -> str:
    """What input a field of ``ProvidersManager().connection_form_widgets`` is drawn as."""
    if FORM_FROM_PROVIDER_INFO:
        return {"password": "secret", "multiline": "multiline"}.get(
            widget.field["schema"].get("format"), "text"
        )
    # Airflow 2.11: an unbound WTForms field.
    from wtforms import PasswordField

    return "secret" if widget.field.field_class is PasswordField else "text"


def label_of_form_field(widget: Any) -> str:
    return str(widget.field["schema"]["title"] if FORM_FROM_PROVIDER_INFO else widget.field.args[0])


def test_provider_info_matches_airflows_schema():
    schema = json.loads((files("airflow") / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_airflows_providers_manager_loads_the_provider_and_its_connection_type():
    assert PACKAGE in ProvidersManager().providers
    hook_info = registered_hooks()["airship"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_journeys.hooks.journeys.JourneysHook"
    assert hook_info.connection_id_attribute_name == JourneysHook.conn_name_attr
    assert hook_info.hook_name == "Airship"


def connection_form() -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The standard-field behaviour and the extra fields (label, kind of input) the UI of this line gets."""
    if AIRFLOW_LINE in ("3.0", "3.1"):
        return connection_form_through_hook_meta()
    manager = ProvidersManager()
    widgets = {
        name.removeprefix("extra__airship__"): (label_of_form_field(widget), kind_of_form_field(widget))
        for name, widget in manager.connection_form_widgets.items()
        if name.startswith("extra__airship__")
    }
    return manager.field_behaviours["airship"], widgets


# What the api-server of Airflow 3.0/3.1 serves as /ui/connections/hook_meta, built in a fresh process as
# the api-server builds it (Airflow caches its providers' forms in the first ProvidersManager of a process).
HOOK_META = """
import json
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

(meta,) = [hook for hook in HookMetaService.hook_meta_data() if hook.connection_type == "airship"]
print(json.dumps({
    "standard": meta.standard_fields.model_dump() if meta.standard_fields else {},
    "extra": meta.extra_fields or {},
}))
"""


def connection_form_through_hook_meta() -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    result = subprocess.run([sys.executable, "-c", HOOK_META], capture_output=True, text=True, check=True)
    meta = last_json_line(result.stdout)
    behaviour: dict[str, Any] = {"hidden_fields": [], "relabeling": {}, "placeholders": {}}
    for name, field in meta["standard"].items():
        name = "schema" if name == "url_schema" else name
        if field is None:
            continue
        if field["hidden"]:
            behaviour["hidden_fields"].append(name)
        if field["title"]:
            behaviour["relabeling"][name] = field["title"]
        if field["placeholder"]:
            behaviour["placeholders"][name] = field["placeholder"]
    behaviour["hidden_fields"].sort()
    extras = {
        name: (param["schema"]["title"], "secret" if param["schema"].get("format") == "password" else "text")
        for name, param in meta["extra"].items()
    }
    return behaviour, extras


def test_connection_form_relabels_hides_and_adds_the_airship_fields():
    behaviour, extra_fields = connection_form()
    assert behaviour == STANDARD_FIELDS
    assert extra_fields == EXTRA_FIELDS


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
@pytest.mark.airflow
def test_airflow_cli_lists_and_gets_the_provider():
    listed = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert PACKAGE in {provider["package_name"] for provider in last_json_line(listed.stdout)}
    got = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "get", PACKAGE, "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert last_json_line(got.stdout) == [{"Provider": PACKAGE, "Version": __version__}]
