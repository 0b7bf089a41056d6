"""The Airship connection form for the Airflow lines that build it from the hook (2.11, 3.0 and 3.1).

Airflow 3.2 and later read the declarative ``conn-fields`` and ``ui-field-behaviour`` of
``get_provider_info`` and never call the hook for them. The older lines call the hook's
``get_connection_form_widgets()`` and ``get_ui_field_behaviour()``: Airflow 2.11 renders the widgets with
Flask-AppBuilder, and 3.0/3.1 pass them (through mocks of these same classes) to the React UI as
``/ui/connections/hook_meta``. Both are translated here from the declarative definition, so a label,
placeholder or hidden field is written once, in ``get_provider_info``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_journeys.get_provider_info import get_provider_info

# Extras that Airflow masks by name (its sensitive words include "private_key"). Airflow 2.11's edit form
# keeps a stored value out of the page only for a password input, and 3.0/3.1 have no multi-line input,
# so these are password inputs here even where the declarative form (3.2+) draws a multi-line one; a PEM
# typed into one arrives with its line breaks turned into spaces, which the hook accepts.
SECRET_EXTRAS = frozenset({"private_key"})


def _connection_type() -> dict[str, Any]:
    (airship,) = get_provider_info()["connection-types"]
    return dict(airship)


def ui_field_behaviour() -> dict[str, Any]:
    """``ui-field-behaviour`` with the underscored keys the hook method returns."""
    behaviour = _connection_type()["ui-field-behaviour"]
    return {key.replace("-", "_"): value for key, value in behaviour.items()}


def form_widgets() -> dict[str, Any]:
    """One WTForms field per ``conn-fields`` entry, keyed by its extra name.

    Only ``StringField`` and ``PasswordField`` are used, the classes Airflow 3.0/3.1 mock. No field carries
    a "required" validator: Airflow 2.11 validates every connection type's extras in one form, so it would
    block saving any other type; a missing value is reported by the hook instead, naming the field.
    """
    # Imported here: only the webserver (2.11) and the api-server's hook_meta (3.0/3.1) draw a form.
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import PasswordField, StringField
    from wtforms.validators import Optional, any_of

    widgets: dict[str, Any] = {}
    for name, field in _connection_type()["conn-fields"].items():
        schema = field["schema"]
        validators: list[Any] = [Optional()]
        if "enum" in schema:
            validators.append(any_of([value for value in schema["enum"] if value is not None]))
        optional: dict[str, Any] = {"default": str(schema["default"])} if "default" in schema else {}
        secret = schema.get("format") == "password" or name in SECRET_EXTRAS
        field_class, widget = (
            (PasswordField, BS3PasswordFieldWidget) if secret else (StringField, BS3TextFieldWidget)
        )
        widgets[name] = field_class(
            lazy_gettext(field["label"]),
            widget=widget(),
            description=field.get("description", ""),
            validators=validators,
            **optional,
        )
    return widgets
