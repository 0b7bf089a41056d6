"""Reads an ``airship`` Airflow connection into checked settings.

Every rule here fails with :class:`JourneysConnectionConfigError` naming the field, before any request.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow.providers.common.compat.sdk import mask_secret
from cryptography.hazmat.primitives.asymmetric.ec import SECP384R1, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from airflow_provider_journeys.exceptions import JourneysConnectionConfigError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Connection

API_BASE_URLS = {"us": "https://api.asnapius.com", "eu": "https://api.asnapieu.com"}
OAUTH_TOKEN_URLS = {"us": "https://oauth2.asnapius.com/token", "eu": "https://oauth2.asnapieu.com/token"}
DEFAULT_REGION = "us"
DEFAULT_SCOPE = "jny"
DEFAULT_TIMEOUT_SECONDS = 30.0
CONN_TYPE = "airship"
# An EC P-384 key in PEM is about 300 characters; room for other headers, never for a pasted bundle.
MAX_PRIVATE_KEY_CHARS = 4096
_ONE_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:EC |ENCRYPTED )?PRIVATE KEY-----[A-Za-z0-9+/=\s:,-]*-----END (?:EC |ENCRYPTED )?PRIVATE KEY-----"
)
# Printable Latin-1, no control characters: what an HTTP header value can carry.
_HEADER_SAFE = re.compile(r"[\x20-\x7e\xa0-\xff]+")


@dataclass(frozen=True)
class AirshipSettings:
    """What the hook needs from an ``airship`` connection; secrets are kept out of ``repr``."""

    app_key: str
    client_id: str
    base_url: str
    oauth_url: str
    scope: str
    timeout: float
    # True (the system's CA certificates) or the path of a CA bundle; TLS verification cannot be turned off.
    verify: bool | str = True
    client_secret: str | None = field(default=None, repr=False)
    private_key: EllipticCurvePrivateKey | None = field(default=None, repr=False)

    @property
    def loopback(self) -> bool:
        """Both endpoints are on this machine (an emulator): reached directly, never through a proxy."""
        return _url_is_loopback(self.base_url)

    @classmethod
    def from_connection(cls, conn: Connection) -> AirshipSettings:
        if conn.conn_type != CONN_TYPE:
            raise JourneysConnectionConfigError(
                f"Connection {conn.conn_id!r} has type {conn.conn_type!r}; the Journeys hook reads only "
                f"connections of type {CONN_TYPE!r} (Airship)"
            )
        extra = _extra(conn)
        region = _region(conn, extra)
        client_secret = conn.password or None
        private_key_pem = _text(extra, "private_key")
        if private_key_pem:
            _mask_private_key(conn, str(extra["private_key"]))  # as stored, trailing newline and all
        if not conn.login:
            raise _missing(conn, "login (App key)")
        if not _HEADER_SAFE.fullmatch(conn.login):
            # It goes into a header and the token request; a line break or a non-Latin-1 character cannot.
            raise JourneysConnectionConfigError(
                f"Connection {conn.conn_id!r}: login (App key) must be printable characters without line breaks"
            )
        client_id = _text(extra, "client_id")
        if not client_id:
            raise _missing(conn, "extra 'client_id' (OAuth client ID)")
        if not client_secret and not private_key_pem:
            raise _missing(conn, "password (OAuth client secret) or extra 'private_key' (assertion grant)")
        base_url = _require_secure_url(
            conn,
            "host",
            (_join_host_port(conn, conn.host, conn.port) if conn.host else API_BASE_URLS[region]).rstrip("/"),
        )
        oauth_url = _require_secure_url(
            conn, "extra 'oauth_url'", _text(extra, "oauth_url") or OAUTH_TOKEN_URLS[region]
        )
        _require_one_side(conn, base_url, oauth_url)
        return cls(
            app_key=conn.login,
            client_id=client_id,
            base_url=base_url,
            oauth_url=oauth_url,
            scope=_text(extra, "scope") or DEFAULT_SCOPE,
            timeout=_timeout(conn, extra),
            verify=_verify(conn, extra),
            client_secret=client_secret,
            # The key serves only when there is no secret; an unused key is not parsed.
            private_key=_private_key(conn, private_key_pem)
            if private_key_pem and not client_secret
            else None,
        )


def _extra(conn: Connection) -> dict[str, Any]:
    if not conn.extra:
        return {}
    try:
        extra = json.loads(conn.extra)
    except json.JSONDecodeError as err:
        # The raw extra may hold a private key: name the error's position, never its text.
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: extra is not valid JSON ({err.msg} at position {err.pos})"
        ) from None
    if not isinstance(extra, dict):
        raise JourneysConnectionConfigError(f"Connection {conn.conn_id!r}: extra must be a JSON object")
    return extra


def _text(extra: dict[str, Any], key: str) -> str | None:
    value = extra.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def _region(conn: Connection, extra: dict[str, Any]) -> str:
    region = (_text(extra, "region") or DEFAULT_REGION).lower()
    if region not in API_BASE_URLS:
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: extra 'region' is {region!r}; it must be one of: "
            f"{', '.join(API_BASE_URLS)}"
        )
    return region


def _timeout(conn: Connection, extra: dict[str, Any]) -> float:
    raw = extra.get("timeout")
    if raw is None or raw == "":  # left empty in the connection form: the default
        return DEFAULT_TIMEOUT_SECONDS
    try:
        # URI-form connections deliver every extra as a string; a JSON true is not a number of seconds.
        timeout = float("nan") if isinstance(raw, bool) else float(raw)
    except (TypeError, ValueError):
        timeout = float("nan")
    if not timeout > 0 or timeout == float("inf"):
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: extra 'timeout' is {raw!r}; it must be a positive number of seconds"
        )
    return timeout


def _mask_private_key(conn: Connection, pem: str) -> None:
    """Mask the key whole and each line of its body: what a task prints reaches its log line by line.

    Only a text shaped like one PEM private key is masked line by line: Airflow's masker slows with every
    entry, and a pasted CA bundle of thousands of lines would hold the task for an hour.
    """
    mask_secret(pem)
    if len(pem) > MAX_PRIVATE_KEY_CHARS or not _ONE_PEM_PRIVATE_KEY.fullmatch(pem.strip()):
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: extra 'private_key' is not one PEM private key "
            f"('-----BEGIN ... PRIVATE KEY-----' to '-----END ... PRIVATE KEY-----', at most "
            f"{MAX_PRIVATE_KEY_CHARS} characters)"
        )
    for line in re.sub(r"-----(BEGIN|END) [A-Z ]*-----", "\n", pem).splitlines():
        if line.strip():
            mask_secret(line.strip())


def _private_key(conn: Connection, pem: str) -> EllipticCurvePrivateKey:
    """The assertion grant signs with ES384, so only an EC P-384 key will do; the key text is never shown."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, EllipticCurvePrivateKey) or not isinstance(key.curve, SECP384R1):
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: extra 'private_key' is not an unencrypted PEM EC P-384 private key"
        )
    return key


def _verify(conn: Connection, extra: dict[str, Any]) -> bool | str:
    """Extra ``verify``: a CA bundle for corporate TLS proxies. Turning verification off is refused."""
    value = extra.get("verify")
    if value is None or value is True or str(value).strip().lower() in {"", "true"}:
        return True
    if value is False or str(value).strip().lower() in {"false", "0", "no", "off"}:
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: extra 'verify' cannot turn TLS verification off; give the path of a "
            "CA bundle (PEM) instead"
        )
    if not Path(str(value)).is_file():
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: extra 'verify' is {value!r}, which is not a CA bundle file"
        )
    return str(value)


def _join_host_port(conn: Connection, host: str, port: int | None) -> str:
    """URI-form connections split ``http://127.0.0.1:8080`` into host and port; put them back together."""
    url = host if "://" in host else f"https://{host}"
    if not port:
        return url
    try:
        parts = urlsplit(url)
        host_port = parts.port
    except ValueError:
        raise _not_a_url(conn, "host") from None
    if host_port == port:
        return url
    if host_port is not None:
        shown = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))  # never echo user info
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: host {shown!r} has port {host_port} but the port field says {port}"
        )
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


def _require_secure_url(conn: Connection, field_name: str, url: str) -> str:
    # Parsed as requests will parse it when sending (urllib3), so that a URL such as
    # "http://example.com\\@127.0.0.1" cannot look like loopback here and go elsewhere there.
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise _not_a_url(conn, field_name) from None
    if not parts.host:
        raise _not_a_url(conn, field_name)
    if parts.auth:
        # Never echo user info: it may be a password.
        raise JourneysConnectionConfigError(
            f"Connection {conn.conn_id!r}: {field_name} {parts._replace(auth=None).url!r} must not contain "
            "a user name or password; put the app key and client secret in login and password"
        )
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.host.strip("[]"))):
        return url
    raise JourneysConnectionConfigError(
        f"Connection {conn.conn_id!r}: {field_name} is {url!r}; https is required "
        "(plain http is accepted only for loopback hosts such as 127.0.0.1 and localhost)"
    )


def _require_one_side(conn: Connection, base_url: str, oauth_url: str) -> None:
    """Both endpoints on this machine, or neither: half an emulator connection would send the emulator's
    credentials to Airship's token endpoint, or a body and token to Airship's API."""
    if _url_is_loopback(base_url) == _url_is_loopback(oauth_url):
        return
    raise JourneysConnectionConfigError(
        f"Connection {conn.conn_id!r}: host ({base_url}) and extra 'oauth_url' ({oauth_url}) must both be "
        "on this machine (an emulator) or both be Airship's; set both"
    )


def _url_is_loopback(url: str) -> bool:
    host = parse_url(url).host
    return host is not None and _is_loopback(host.strip("[]"))


def _not_a_url(conn: Connection, field_name: str) -> JourneysConnectionConfigError:
    return JourneysConnectionConfigError(
        f"Connection {conn.conn_id!r}: {field_name} is not a URL with a host"
    )


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _missing(conn: Connection, what: str) -> JourneysConnectionConfigError:
    return JourneysConnectionConfigError(f"Connection {conn.conn_id!r} is missing {what}")
