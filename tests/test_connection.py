"""How an ``airship`` connection becomes the settings JourneysHook uses, and how a bad one is refused."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from airflow.providers.common.compat.sdk import AirflowNotFoundException
from airflow_line import AIRFLOW_LINE
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from loopback_servers import LoopbackServer

from airflow_provider_journeys.exceptions import JourneysConnectionConfigError
from airflow_provider_journeys.hooks.journeys import JourneysHook

if TYPE_CHECKING:
    from collections.abc import Callable

APP_KEY = "the-app-key"
CLIENT_ID = "the-client-id"
CLIENT_SECRET = "the-client-secret-xyz"
HTTPS_REQUIRED = "https is required"


def connection(**fields: Any) -> dict[str, Any]:
    """A JSON-form connection with the client-secret grant; ``None`` drops a field, ``extra`` adds to it."""
    extra = {"client_id": CLIENT_ID, **fields.pop("extra", {})}
    conn = {"conn_type": "airship", "login": APP_KEY, "password": CLIENT_SECRET, **fields, "extra": extra}
    conn["extra"] = {key: value for key, value in extra.items() if value is not None}
    return {key: value for key, value in conn.items() if value is not None}


def pem_of(key: Any, encryption: Any = None) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    ).decode()


def secret_parts(conn: dict[str, Any]) -> list[str]:
    """The password and every base64 line of the private key: none may ever be shown."""
    extra = conn.get("extra")
    pem = (extra.get("private_key") if isinstance(extra, dict) else None) or ""
    lines = [line for line in pem.splitlines() if line.strip() and not line.startswith("-----")]
    return [part for part in (conn.get("password"), *lines) if part]


@pytest.fixture
def settings_of(set_connection: Callable[..., None]) -> Callable[[dict[str, Any] | str], Any]:
    def read(conn: dict[str, Any] | str) -> Any:
        set_connection(conn)
        return JourneysHook().settings

    return read


@pytest.fixture
def config_error(set_connection: Callable[..., None]) -> Callable[[dict[str, Any] | str], str]:
    """The message of the error the connection raises; checks that it shows no secret."""

    def read(conn: dict[str, Any] | str) -> str:
        set_connection(conn)
        with pytest.raises(JourneysConnectionConfigError) as raised:
            _ = JourneysHook().settings
        message = str(raised.value)
        if isinstance(conn, dict):
            assert [part for part in secret_parts(conn) if part in message] == []
        return message

    return read


@pytest.mark.parametrize(
    ("region", "base_url", "oauth_url"),
    [
        (None, "https://api.asnapius.com", "https://oauth2.asnapius.com/token"),
        ("us", "https://api.asnapius.com", "https://oauth2.asnapius.com/token"),
        ("eu", "https://api.asnapieu.com", "https://oauth2.asnapieu.com/token"),
    ],
)
def test_region_sets_the_default_urls(settings_of, region, base_url, oauth_url):
    settings = settings_of(connection(extra={"region": region}))
    assert (settings.base_url, settings.oauth_url) == (base_url, oauth_url)
    assert (settings.app_key, settings.client_id, settings.client_secret) == (
        APP_KEY,
        CLIENT_ID,
        CLIENT_SECRET,
    )
    assert (settings.scope, settings.timeout, settings.private_key) == ("jny", 30.0, None)


def test_explicit_host_oauth_url_scope_and_timeout_override_the_defaults(set_connection):
    extra = {"region": "eu", "oauth_url": "https://oauth.example.com/token", "scope": "jny x", "timeout": 5}
    set_connection(connection(host="https://api.example.com/", extra=extra))
    hook = JourneysHook()
    assert (hook.base_url, hook.oauth_url) == ("https://api.example.com", "https://oauth.example.com/token")
    assert (hook.settings.scope, hook.settings.timeout) == ("jny x", 5.0)


@pytest.mark.parametrize(
    ("host", "port", "base_url"),
    [
        ("http://127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("https://api.example.com", 8443, "https://api.example.com:8443"),
        ("api.example.com", None, "https://api.example.com"),
        ("api.example.com", 8443, "https://api.example.com:8443"),
    ],
)
def test_host_and_port_are_joined_and_a_host_without_scheme_means_https(settings_of, host, port, base_url):
    oauth_url = "http://127.0.0.1:8081/token" if "127.0.0.1" in host else None
    assert settings_of(connection(host=host, port=port, extra={"oauth_url": oauth_url})).base_url == base_url


def test_uri_form_joins_host_and_port_and_coerces_string_extras(settings_of):
    uri = (
        "airship://KEY:SECRET@http%3A%2F%2F127.0.0.1:8080?client_id=cid&region=eu&timeout=12.5&scope=jny"
        "&oauth_url=http%3A%2F%2F127.0.0.1%3A8081%2Ftoken"
    )
    settings = settings_of(uri)
    assert (settings.app_key, settings.client_secret, settings.client_id) == ("KEY", "SECRET", "cid")
    assert (settings.base_url, settings.oauth_url) == ("http://127.0.0.1:8080", "http://127.0.0.1:8081/token")
    assert settings.timeout == 12.5


def test_a_hook_built_from_the_uri_form_reaches_the_emulator(emulator, set_connection):
    set_connection(emulator.connection_uri())
    hook = JourneysHook()
    assert (hook.base_url, hook.oauth_url) == (emulator.url, emulator.oauth_url)
    assert hook.trigger({"segment": "s"}, "t")["ok"] is True
    assert emulator.accepted("/api/journeys/trigger") == [
        {"audience": {"segment": "s"}, "triggering_id": "t"}
    ]


def token_request(emulator: Any) -> Any:
    [request] = emulator.received(urlsplit(emulator.oauth_url).path)
    return request


def lowercase_keys(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_the_assertion_grant_is_used_when_there_is_no_password(emulator, set_connection, private_key_pem):
    set_connection(emulator.connection(grant="private_key", private_key=private_key_pem))
    assert JourneysHook().trigger({"segment": "s"}, "t")["ok"] is True
    request = token_request(emulator)
    assert "assertion" in request.form
    assert "authorization" not in lowercase_keys(request.headers)


def test_the_client_secret_grant_wins_when_both_password_and_private_key_are_set(
    emulator, set_connection, private_key_pem
):
    conn = emulator.connection()
    conn["extra"]["private_key"] = private_key_pem
    set_connection(conn)
    hook = JourneysHook()
    assert hook.trigger({"segment": "s"}, "t")["ok"] is True
    request = token_request(emulator)
    assert lowercase_keys(request.headers)["authorization"].startswith("Basic ")
    assert "assertion" not in request.form
    assert hook.settings.private_key is None


LOOPBACK_URLS = [
    "http://127.0.0.1",
    "http://127.5.6.7:8080",
    "http://localhost",
    "http://localhost:9",
    "http://[::1]:8080",
]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_http_is_accepted_for_a_loopback_host(set_connection, url):
    set_connection(connection(host=url, extra={"oauth_url": f"{url}/token"}))
    hook = JourneysHook()
    assert (hook.base_url, hook.oauth_url) == (url, f"{url}/token")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com",
        "http://10.0.0.1",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com",
        "ftp://127.0.0.1",
        # requests ends the host at the backslash and would send to api.example.com over plain http
        pytest.param("http://api.example.com\\@127.0.0.1", id="backslash-userinfo"),
    ],
)
@pytest.mark.parametrize("field", ["host", "oauth_url"])
def test_http_is_refused_for_a_non_loopback_host(config_error, url, field):
    conn = connection(host=url) if field == "host" else connection(extra={"oauth_url": f"{url}/token"})
    message = config_error(conn)
    assert HTTPS_REQUIRED in message
    assert field in message


@pytest.mark.parametrize(
    ("conn", "named"),
    [
        (connection(login=None), ["login"]),
        (connection(extra={"client_id": None}), ["client_id"]),
        (connection(extra={"client_id": "  "}), ["client_id"]),
        (connection(password=None), ["password", "private_key"]),
        (connection(extra={"region": "ap"}), ["region"]),
    ],
    ids=["login", "client_id", "blank-client_id", "no-secret-nor-key", "unknown-region"],
)
def test_a_missing_or_unknown_field_is_named_in_the_error(config_error, conn, named):
    message = config_error(conn)
    assert [name for name in named if name not in message] == []


def test_optional_fields_left_empty_in_the_connection_form_take_their_defaults(settings_of):
    conn = connection()
    conn["extra"].update(region=None, scope=None, timeout=None, oauth_url=None, verify=None)
    settings = settings_of(conn)
    assert (settings.scope, settings.timeout) == ("jny", 30.0)
    assert settings.base_url == "https://api.asnapius.com"


@pytest.mark.parametrize("timeout", ["abc", 0, "0", -1, "-2.5", "nan", "inf"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(config_error, timeout):
    assert "timeout" in config_error(connection(extra={"timeout": timeout}))


def test_a_numeric_timeout_string_is_coerced(settings_of):
    assert settings_of(connection(extra={"timeout": " 7.25 "})).timeout == 7.25


BAD_KEYS: dict[str, Callable[[], str]] = {
    "not-pem": lambda: "definitely-not-a-key-abcdefgh",
    "p256": lambda: pem_of(ec.generate_private_key(ec.SECP256R1())),
    "rsa": lambda: pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "encrypted-p384": lambda: pem_of(
        ec.generate_private_key(ec.SECP384R1()), serialization.BestAvailableEncryption(b"passphrase")
    ),
}


@pytest.mark.parametrize("make_key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_private_key_that_is_not_an_ec_p384_pem_is_named_and_not_shown(config_error, make_key):
    key = make_key()
    message = config_error(connection(password=None, extra={"private_key": key}))
    assert "private_key" in message
    assert key not in message


def test_a_truncated_private_key_is_refused(config_error, private_key_pem):
    assert "private_key" in config_error(
        connection(password=None, extra={"private_key": private_key_pem[:200]})
    )


@pytest.mark.parametrize(
    "extra", ['{"client_id": "c", "private_key": "TOPSECRETKEYTEXT', "not json", "[1, 2]"]
)
def test_an_extra_that_is_not_a_json_object_is_refused_without_showing_it(
    config_error, set_connection, caplog, extra
):
    conn = connection()
    conn["extra"] = extra
    if AIRFLOW_LINE in ("3.0", "3.1"):
        # These lines' environment-variable backend refuses such a connection before any hook sees it.
        set_connection(conn)
        with pytest.raises(AirflowNotFoundException) as raised:
            _ = JourneysHook().settings
        message = str(raised.value)
    else:
        message = config_error(conn)
        assert "extra" in message
    assert "TOPSECRETKEYTEXT" not in message
    assert "TOPSECRETKEYTEXT" not in caplog.text


@pytest.mark.parametrize("grant", ["client_secret", "private_key"])
def test_secrets_stay_out_of_the_hook_and_settings_repr(set_connection, private_key_pem, grant):
    conn = (
        connection(password=None, extra={"private_key": private_key_pem})
        if grant == "private_key"
        else connection()
    )
    set_connection(conn)
    hook = JourneysHook()
    shown = repr(hook) + repr(hook.settings)
    assert [part for part in secret_parts(conn) if part in shown] == []
    assert CLIENT_ID in repr(hook.settings)


def test_a_port_in_the_host_that_disagrees_with_the_port_field_is_refused(config_error):
    message = config_error(connection(host="http://127.0.0.1:8080", port=9090))
    assert "8080" in message and "9090" in message


def test_a_port_in_the_host_that_matches_the_port_field_is_kept_once(set_connection):
    set_connection(
        connection(
            host="http://127.0.0.1:8080", port=8080, extra={"oauth_url": "http://127.0.0.1:8080/token"}
        )
    )
    assert JourneysHook().base_url == "http://127.0.0.1:8080"


def test_a_boolean_timeout_is_refused(config_error):
    assert "timeout" in config_error(connection(extra={"timeout": True}))


@pytest.mark.parametrize("field", ["host", "oauth_url"])
@pytest.mark.parametrize(
    "url", ["https://svc:Hunter2Secret@api.example.com", "http://127.0.0.1@api.example.com"]
)
def test_user_info_in_a_url_is_refused_without_being_shown(config_error, field, url):
    conn = connection(host=url) if field == "host" else connection(extra={"oauth_url": url})
    message = config_error(conn)
    assert "must not contain a user name or password" in message and field in message
    assert "Hunter2Secret" not in message and "127.0.0.1@" not in message


@pytest.mark.parametrize("host", ["::1", "https://h:abc"])
def test_a_host_that_is_not_a_url_is_refused_naming_the_field(config_error, host):
    assert "host is not a URL with a host" in config_error(connection(host=host))


@pytest.mark.parametrize("value", [False, "false", "0", "off"])
def test_tls_verification_cannot_be_turned_off(config_error, value):
    message = config_error(connection(extra={"verify": value}))
    assert "cannot turn TLS verification off" in message


def test_verify_must_name_an_existing_ca_bundle(config_error, tmp_path):
    assert "not a CA bundle file" in config_error(connection(extra={"verify": str(tmp_path / "missing.pem")}))


def test_verify_path_is_kept_and_defaults_to_the_system_store(set_connection, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    set_connection(connection(extra={"verify": str(bundle)}))
    assert JourneysHook().settings.verify == str(bundle)
    set_connection(connection())
    assert JourneysHook().settings.verify is True


@pytest.mark.parametrize(
    ("fields", "extra"),
    [
        pytest.param({"host": "http://127.0.0.1:8080"}, {}, id="emulator-host-airship-token-endpoint"),
        pytest.param(
            {}, {"oauth_url": "http://localhost:8080/token"}, id="emulator-token-endpoint-airship-api"
        ),
        pytest.param(
            {"host": "https://api.example.com"}, {"oauth_url": "http://[::1]:8080/token"}, id="ipv6"
        ),
    ],
)
def test_a_connection_half_on_this_machine_is_refused_naming_both_fields(
    airship, config_error, fields, extra
):
    message = config_error(connection(**fields, extra=extra))
    assert "host (" in message and "extra 'oauth_url' (" in message
    assert "must both be on this machine (an emulator) or both be Airship's" in message
    assert airship.requests == []


class RecordingProxy(LoopbackServer):
    """A loopback listener standing in for a proxy: it counts every connection and answers nothing."""

    def __init__(self) -> None:
        self.connections = 0
        super().__init__()

    def handle(self, connection: socket.socket) -> None:
        self.connections += 1


def test_loopback_traffic_never_goes_through_a_proxy_variable(airship, monkeypatch):
    proxy = RecordingProxy()
    try:
        for variable in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(variable, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert JourneysHook().trigger({"segment": "s"}, "t")["ok"] is True
        assert len(airship.received("/token")) == 1
        assert len(airship.accepted("/api/journeys/trigger")) == 1
        assert proxy.connections == 0
    finally:
        proxy.close()


def test_remote_https_traffic_still_honours_the_proxy_variables(set_connection, monkeypatch):
    set_connection(connection())
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert JourneysHook().session.trust_env is True


def test_a_connection_of_another_type_is_refused_naming_it(airship, config_error):
    message = config_error(connection(conn_type="http"))
    assert "has type 'http'" in message and "'airship'" in message
    assert airship.requests == []


@pytest.mark.parametrize("login", ["app\r\nX-Injected: 1", "app\nkey", "app€key", "app\x00"])
def test_a_login_that_cannot_go_into_a_header_is_refused_as_a_connection_error(airship, config_error, login):
    assert "login (App key) must be printable characters" in config_error(connection(login=login))
    assert airship.requests == []


def test_a_port_mismatch_never_echoes_the_user_info_of_the_host(config_error):
    message = config_error(connection(host="http://user:hunter2-SECRET@127.0.0.1:80", port=81))
    assert "hunter2" not in message and "user" not in message
    assert "port field says 81" in message


def test_a_pasted_ca_bundle_as_private_key_is_refused_without_masking_it_line_by_line(
    config_error, private_key_pem, monkeypatch
):
    masked: list[str] = []
    monkeypatch.setattr("airflow_provider_journeys.connection.mask_secret", masked.append)
    bundle = "".join(
        f"-----BEGIN CERTIFICATE-----\nMIIB{number:060d}\n-----END CERTIFICATE-----\n"
        for number in range(1200)
    )
    message = config_error(connection(password=None, extra={"private_key": private_key_pem + bundle}))
    assert "is not one PEM private key" in message
    assert "MIIB" not in message
    assert len(masked) == 1  # the whole text once, not each of its 3,600 lines
