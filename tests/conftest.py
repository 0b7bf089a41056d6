"""Shared fixtures: an Airflow home of its own, the Airship emulator, and connections that point at it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Airflow reads its configuration when first imported, so this must run before any test module imports it.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="journeys-tests-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.pop("AIRFLOW_CONN_AIRSHIP_DEFAULT", None)

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from airflow_provider_journeys.testing import AirshipEmulator  # noqa: E402

# Property tests: the default profile draws about 2,000 payloads per run; ``--hypothesis-profile=long``
# draws ten times as many. No deadline: examples that make HTTP calls vary with the machine's load.
settings.register_profile("default", max_examples=1000, deadline=None)
settings.register_profile("long", max_examples=10000, deadline=None)

REPO_ROOT = Path(__file__).resolve().parent.parent
CONN_ENV = "AIRFLOW_CONN_AIRSHIP_DEFAULT"


@pytest.fixture(scope="session")
def ec_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def private_key_pem(ec_private_key: ec.EllipticCurvePrivateKey) -> str:
    return ec_private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="session")
def public_key_pem(ec_private_key: ec.EllipticCurvePrivateKey) -> str:
    return (
        ec_private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def emulator(public_key_pem: str) -> Iterator[AirshipEmulator]:
    """A fresh emulator on a free loopback port; it accepts both grants."""
    with AirshipEmulator(public_key=public_key_pem) as running:
        yield running


@pytest.fixture
def set_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Put ``airship_default`` (or another conn id) in the environment, as a JSON dict or a URI string."""

    def set_it(conn: dict[str, Any] | str, conn_id: str = "airship_default") -> None:
        value = conn if isinstance(conn, str) else json.dumps(conn)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)

    return set_it


@pytest.fixture
def airship(emulator: AirshipEmulator, set_connection: Callable[..., None]) -> AirshipEmulator:
    """The emulator, with ``airship_default`` pointing at it (client-secret grant)."""
    set_connection(emulator.connection())
    return emulator


@pytest.fixture
def provider_messages(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The messages the provider's own loggers wrote, in order (Airflow 2.11 logs more of its own around
    them, such as each connection lookup and a warning for ``execute`` called outside a task)."""

    def messages() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name.startswith("airflow_provider_journeys.")]

    return messages
