"""OAuth 2.0 access tokens for the Journeys API: both Airship grants, cached until shortly before expiry."""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jwt
import requests
from airflow.providers.common.compat.sdk import mask_secret

from airflow_provider_journeys.exceptions import (
    JourneysAuthError,
    JourneysConnectionConfigError,
    JourneysStoppedError,
    JourneysUnavailableError,
)
from airflow_provider_journeys.resend import RetryBudget, retry_after_seconds, tls_refusal

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

    from airflow_provider_journeys.connection import AirshipSettings

ASSERTION_LIFETIME_SECONDS = 300
# Refresh this long before expiry (at most a tenth of the token's life), so a token never expires in flight.
EXPIRY_MARGIN_SECONDS = 60.0
# Like Airship's own Java and Ruby clients: these mean the credentials are wrong, so never retry them.
CREDENTIAL_ERROR_STATUSES = frozenset({400, 401, 403, 406})


class OAuthTokens:
    """Fetches and caches the access token for one set of Airship credentials; safe to share across threads."""

    def __init__(self, settings: AirshipSettings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"OAuthTokens(client_id={self._settings.client_id!r}, oauth_url={self._settings.oauth_url!r})"

    def get(self, budget: RetryBudget | None = None) -> str:
        """A valid access token, fetched only when the cached one is missing or about to expire. A fetch that
        fails for a reason a resend may heal is resent within ``budget`` (the same budget as the call the
        token is for, so that ``max_retry_wait`` bounds all waiting); without one, it is tried once."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = self._fetch(RetryBudget(0.0) if budget is None else budget)
                self._expires_at = time.monotonic() + lifetime - min(EXPIRY_MARGIN_SECONDS, lifetime / 10)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Airship refused it); a token already replaced by another thread is left alone."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self, budget: RetryBudget) -> tuple[str, float]:
        attempts = 0
        while True:
            attempts += 1
            requested_wait = None
            try:
                response = self._session.post(
                    self._settings.oauth_url,
                    data=self._grant_form(),
                    auth=self._basic_auth(),
                    headers={"Accept": "application/json"},
                    timeout=self._settings.timeout,
                    verify=self._settings.verify,
                    # A redirect would carry the credentials to wherever it points.
                    allow_redirects=False,
                )
            except requests.RequestException as err:
                failure = f"{type(err).__name__}: {err}"
                if (refusal := tls_refusal(err, self._settings.oauth_url)) is not None:
                    raise JourneysUnavailableError(
                        f"Airship's token endpoint {self._settings.oauth_url}: {refusal} ({failure}); nothing "
                        "was sent. Check the connection's oauth_url, and extra 'verify' (a CA bundle for a TLS "
                        "proxy)."
                    ) from None
            else:
                if response.status_code == 200:
                    return self._read_token(response)
                failure = f"HTTP {response.status_code}: {response.text[:500]}"
                requested_wait = retry_after_seconds(response.headers.get("Retry-After"))
                if 300 <= response.status_code < 400:
                    raise JourneysConnectionConfigError(
                        f"Airship's token endpoint {self._settings.oauth_url} redirected (HTTP {response.status_code} "
                        f"to {response.headers.get('Location')!r}); the redirect was not followed, so that the "
                        "credentials go only where the connection says. Set extra 'oauth_url' to the real endpoint."
                    )
                if response.status_code in CREDENTIAL_ERROR_STATUSES:
                    raise JourneysAuthError(
                        f"Airship's token endpoint {self._settings.oauth_url} refused the credentials of client "
                        f"{self._settings.client_id!r} for app key {self._settings.app_key!r} ({failure}). "
                        "Check the connection's App key, OAuth client ID and client secret or private key."
                    )
            wait = budget.next_wait(requested_wait)
            if wait is None:
                raise JourneysUnavailableError(
                    f"Could not get an OAuth token from {self._settings.oauth_url} after {attempts} "
                    f"attempt(s) in {budget.elapsed:.1f} s (max_retry_wait={budget.max_seconds:g} s); last "
                    f"failure: {failure}. Nothing was sent to the Journeys API."
                )
            if not budget.wait(wait):
                raise JourneysStoppedError(
                    f"The task was stopped while an OAuth token was being fetched ({failure}); nothing was "
                    "sent to the Journeys API."
                )

    def _grant_form(self) -> dict[str, str]:
        subject = f"app:{self._settings.app_key}"
        # The settings carry a private key only when the connection has no client secret.
        if self._settings.private_key is not None:
            return {
                "grant_type": "client_credentials",
                "assertion": self._assertion(subject, self._settings.private_key),
            }
        return {"grant_type": "client_credentials", "sub": subject, "scope": self._settings.scope}

    def _basic_auth(self) -> tuple[str, str] | None:
        if not self._settings.client_secret:
            return None
        # Airship's own tooling URL-encodes both parts, so secrets with ':' or '%' survive Basic auth.
        return quote(self._settings.client_id, safe=""), quote(self._settings.client_secret, safe="")

    def _assertion(self, subject: str, key: EllipticCurvePrivateKey) -> str:
        now = int(time.time())
        claims = {
            "aud": self._settings.oauth_url,
            "iss": self._settings.client_id,
            "sub": subject,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "nonce": uuid.uuid4().hex,
            "scope": self._settings.scope,
        }
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": self._settings.client_id})

    def _read_token(self, response: requests.Response) -> tuple[str, float]:
        try:
            body: Any = response.json()
            token, lifetime = str(body["access_token"]), float(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise JourneysAuthError(
                f"Airship's token endpoint {self._settings.oauth_url} answered 200 without an access_token "
                "and expires_in"
            ) from None
        mask_secret(token)
        return token, lifetime
