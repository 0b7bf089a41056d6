"""Provider metadata read by Airflow's ProvidersManager; imports nothing, as every Airflow process loads it."""

from __future__ import annotations

from typing import Any

from airflow_provider_journeys import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-journeys",
        "name": "Airship Journeys",
        "description": "Enroll audiences into Airship Sequences and exit them, through the Journeys API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Airship Journeys",
                "external-doc-url": "https://docs.airship.com/api/ua/#tag-journeys",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Airship Journeys",
                "python-modules": ["airflow_provider_journeys.hooks.journeys"],
            }
        ],
        "operators": [
            {
                "integration-name": "Airship Journeys",
                "python-modules": ["airflow_provider_journeys.operators.journeys"],
            }
        ],
        "config": {
            "journeys": {
                "description": "Options for the Airship Journeys operators.",
                "options": {
                    "dry_run": {
                        "description": "Default for the operators' dry_run argument. When True, every "
                        "JourneysTriggerOperator, JourneysExitOperator and JourneysBatchTriggerOperator that does not set dry_run itself "
                        "renders, validates, logs and returns its body without calling Airship (for "
                        "staging deployments).",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "True",
                        "default": "False",
                    },
                    "batch_record_retention_days": {
                        "description": "How long a JourneysBatchTriggerOperator task instance's record of "
                        "the chunks Airship accepted is kept after its batch completed. While it is kept, a "
                        "retry or a cleared rerun of that task instance sends nothing again; records older "
                        "than this are deleted when a later run of the same task completes.",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "7",
                        "default": "30",
                    },
                },
            }
        },
        "connection-types": [
            {
                "connection-type": "airship",
                "hook-class-name": "airflow_provider_journeys.hooks.journeys.JourneysHook",
                "hook-name": "Airship",
                "ui-field-behaviour": {
                    "hidden-fields": ["port", "schema"],
                    "relabeling": {
                        "login": "App key",
                        "password": "OAuth client secret",
                        "host": "API base URL (optional)",
                    },
                    "placeholders": {
                        "login": "Airship app key",
                        "password": "client secret (leave empty to use a private key)",
                        "host": "https://api.asnapius.com (default for region us)",
                    },
                },
                "conn-fields": {
                    "client_id": {
                        "label": "OAuth client ID",
                        "description": "Client ID of the Airship OAuth credentials (required).",
                        "schema": {"type": "string"},
                    },
                    "region": {
                        "label": "Region",
                        "description": "Airship site: us or eu. Picks the default API and token URLs.",
                        # Optional fields allow null: the connection form marks a field required otherwise.
                        "schema": {"type": ["string", "null"], "enum": ["us", "eu", None], "default": "us"},
                    },
                    "private_key": {
                        "label": "Private key (PEM)",
                        "description": "EC P-384 private key for the assertion grant, used when there is no "
                        "client secret.",
                        # A textarea, so a pasted PEM keeps its line breaks (a password input turns them into
                        # spaces). Still a secret by its name: Airflow 3 shows it as *** once saved.
                        "schema": {"type": ["string", "null"], "format": "multiline"},
                    },
                    "scope": {
                        "label": "Scope",
                        "description": "OAuth scope to request; the Journeys API needs jny.",
                        "schema": {"type": ["string", "null"], "default": "jny"},
                    },
                    "oauth_url": {
                        "label": "OAuth token URL",
                        "description": "Token endpoint; defaults to the region's "
                        "(https://oauth2.asnapius.com/token for us).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "verify": {
                        "label": "CA bundle path",
                        "description": "Path of a CA bundle (PEM) to verify Airship's TLS certificate with, "
                        "for corporate TLS proxies. Verification cannot be turned off.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "Seconds each HTTP request may take, from its start to the last byte "
                        "of the answer.",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                },
            }
        ],
    }
