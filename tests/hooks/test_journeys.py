"""JourneysHook against the emulator over loopback HTTP: grants, tokens, headers and every kind of answer."""

from __future__ import annotations

import base64
import socket
import threading
import time
from email.utils import formatdate
from urllib.parse import quote

import jwt
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowTaskTimeout, redact, timeout

from airflow_provider_journeys.exceptions import (
    JourneysApiError,
    JourneysArgumentError,
    JourneysAuthError,
    JourneysConnectionConfigError,
    JourneysOutcomeUnknownError,
    JourneysRateLimitError,
    JourneysStoppedError,
    JourneysUnavailableError,
)
from airflow_provider_journeys.hooks.journeys import EXIT_PATH, TRIGGER_PATH, JourneysHook
from airflow_provider_journeys.testing import AirshipEmulator

AUDIENCE = {"segment": "segment-1"}


def token_requests(emulator: AirshipEmulator):
    return emulator.received("/token")


def test_client_secret_grant_sends_form_and_url_encoded_basic_auth(set_connection):
    secret = "s3cr:et%/+"
    with AirshipEmulator(client_secret=secret) as emulator:
        set_connection(emulator.connection())
        JourneysHook().trigger(AUDIENCE, "t")
        [token_request] = token_requests(emulator)
    assert token_request.form == {
        "grant_type": "client_credentials",
        "sub": f"app:{emulator.app_key}",
        "scope": "jny",
    }
    expected = base64.b64encode(
        f"{quote(emulator.client_id, safe='')}:{quote(secret, safe='')}".encode()
    ).decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    assert token_request.headers["Accept"] == "application/json"


def test_assertion_grant_sends_an_es384_jwt_and_no_basic_auth(
    emulator, set_connection, private_key_pem, public_key_pem
):
    set_connection(emulator.connection(grant="private_key", private_key=private_key_pem))
    assert JourneysHook().trigger(AUDIENCE, "t")["ok"] is True
    [token_request] = token_requests(emulator)
    assert "Authorization" not in token_request.headers
    assert set(token_request.form) == {"grant_type", "assertion"}
    assertion = token_request.form["assertion"]
    assert jwt.get_unverified_header(assertion) == {"alg": "ES384", "kid": emulator.client_id, "typ": "JWT"}
    claims = jwt.decode(assertion, public_key_pem, algorithms=["ES384"], audience=emulator.oauth_url)
    assert claims["iss"] == emulator.client_id
    assert claims["sub"] == f"app:{emulator.app_key}"
    assert claims["scope"] == "jny"
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert 1 <= len(claims["nonce"]) <= 50


def test_assertion_nonce_is_fresh_for_every_token(emulator, set_connection, private_key_pem):
    set_connection(emulator.connection(grant="private_key", private_key=private_key_pem))
    JourneysHook().trigger(AUDIENCE, "t")
    JourneysHook().trigger(AUDIENCE, "t")
    nonces = [
        jwt.decode(r.form["assertion"], options={"verify_signature": False})["nonce"]
        for r in token_requests(emulator)
    ]
    assert len(nonces) == 2 and nonces[0] != nonces[1]


def test_token_is_fetched_once_and_reused_by_the_hook(airship):
    hook = JourneysHook()
    hook.trigger(AUDIENCE, "t")
    hook.exit("t")
    hook.trigger(AUDIENCE, "t", entrance_id="e")
    assert len(token_requests(airship)) == 1
    bearer_tokens = {r.headers["Authorization"] for r in airship.requests if r.path != "/token"}
    assert bearer_tokens == {f"Bearer {airship.issued_tokens[0]}"}


def test_token_is_refreshed_shortly_before_it_expires(set_connection):
    with AirshipEmulator(token_lifetime=2) as emulator:
        set_connection(emulator.connection())
        hook = JourneysHook()
        hook.trigger(AUDIENCE, "t")
        hook.trigger(AUDIENCE, "t")
        assert len(token_requests(emulator)) == 1
        time.sleep(1.9)  # within the refresh margin (a tenth of the lifetime), before actual expiry
        hook.trigger(AUDIENCE, "t")
        assert len(token_requests(emulator)) == 2
        assert all(r.status == 200 for r in emulator.requests)


def test_access_token_is_registered_with_airflows_secret_masker(airship):
    JourneysHook().trigger(AUDIENCE, "t")
    [token] = airship.issued_tokens
    assert redact(f"token is {token}") == "token is ***"


def test_every_api_request_sends_airships_headers(airship):
    JourneysHook().trigger(AUDIENCE, "t")
    JourneysHook().exit("t")
    for request in airship.received(TRIGGER_PATH) + airship.received(EXIT_PATH):
        assert request.headers["Accept"] == "application/vnd.urbanairship+json; version=3"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-UA-Appkey"] == airship.app_key
        assert request.headers["Authorization"].startswith("Bearer ")


def test_one_hook_reuses_one_connection_for_token_and_calls(airship):
    hook = JourneysHook()
    for _ in range(3):
        hook.trigger(AUDIENCE, "t")
    assert len({request.client for request in airship.requests}) == 1


def test_a_netrc_entry_for_the_host_replaces_neither_the_token_nor_the_grant(
    emulator, set_connection, private_key_pem, tmp_path, monkeypatch
):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    set_connection(emulator.connection(grant="private_key", private_key=private_key_pem))
    assert JourneysHook().trigger(AUDIENCE, "t")["ok"] is True
    token_request, call = emulator.requests
    assert "Authorization" not in token_request.headers
    assert call.headers["Authorization"].startswith("Bearer ")


def test_body_is_sent_exactly_as_given_without_none_arguments(airship):
    audience = {"and": [{"tag": "vip", "group": "loyalty"}, {"not": {"named_user": ["u1", "u2"]}}]}
    attributes = {"product": {"name": "widget", "discount": None}, "tags": ["a", None]}
    JourneysHook().trigger(audience, ["t1", "t2"], global_attributes=attributes)
    JourneysHook().exit("t1")
    assert airship.accepted(TRIGGER_PATH) == [
        {"audience": audience, "triggering_id": ["t1", "t2"], "global_attributes": attributes}
    ]
    assert airship.accepted(EXIT_PATH) == [{"triggering_id": "t1"}]


def test_401_fetches_a_new_token_once_and_resends(airship):
    hook = JourneysHook()
    hook.trigger(AUDIENCE, "t")
    airship.revoke_tokens()
    assert hook.trigger(AUDIENCE, "t")["ok"] is True
    assert [r.status for r in airship.received(TRIGGER_PATH)] == [200, 401, 200]
    assert len(token_requests(airship)) == 2


def test_second_401_fails_clearly_without_looping(airship):
    airship.answer_next(401, path=TRIGGER_PATH, times=5)
    with pytest.raises(JourneysAuthError, match=r"refused a freshly fetched token.*'jny' scope"):
        JourneysHook().trigger(AUDIENCE, "t")
    assert len(airship.received(TRIGGER_PATH)) == 2
    assert len(token_requests(airship)) == 2


@pytest.mark.parametrize("retry_after", ["1", "date"])
def test_429_waits_for_retry_after_then_resends(airship, retry_after):
    header = formatdate(time.time() + 2, usegmt=True) if retry_after == "date" else retry_after
    airship.answer_next(429, path=EXIT_PATH, retry_after=header)
    started = time.monotonic()
    assert JourneysHook().exit("t")["ok"] is True
    assert time.monotonic() - started >= 0.9
    assert [r.status for r in airship.received(EXIT_PATH)] == [429, 200]


def test_429_without_retry_after_backs_off_then_resends(airship):
    airship.answer_next(429, path=TRIGGER_PATH)
    started = time.monotonic()
    assert JourneysHook().trigger(AUDIENCE, "t")["ok"] is True
    assert time.monotonic() - started >= 0.5  # the first backoff step is 0.5-1 s
    assert [r.status for r in airship.received(TRIGGER_PATH)] == [429, 200]


def test_429_for_longer_than_max_retry_wait_fails_saying_it_was_rate_limited(airship):
    airship.answer_next(429, path=TRIGGER_PATH, retry_after=1, times=10)
    with pytest.raises(JourneysRateLimitError, match=r"rate limited.*Gave up after \d+\.\d s and 1 resend"):
        JourneysHook(max_retry_wait=1.5).trigger(AUDIENCE, "t")
    assert len(airship.received(TRIGGER_PATH)) == 2
    assert not issubclass(JourneysRateLimitError, AirflowFailException)  # nothing was enrolled: retry is safe


@pytest.mark.parametrize("status", [400, 403, 404, 406, 409, 422])
def test_client_errors_fail_at_once_with_airships_error_details(airship, status):
    body = {
        "ok": False,
        "error": "Could not parse request body.",
        "error_code": status * 100,
        "details": {
            "path": "audience.segment",
            "error": "bad segment",
            "location": {"line": 1, "column": 18},
        },
    }
    airship.answer_next(status, path=TRIGGER_PATH, body=body)
    with pytest.raises(JourneysApiError) as raised:
        JourneysHook().trigger(AUDIENCE, "t")
    message = str(raised.value)
    for part in (
        f"HTTP {status}",
        f"error_code {status * 100}",
        "Could not parse request body.",
        "details.path: audience.segment",
        "details.error: bad segment",
        "'column': 18",
    ):
        assert part in message
    assert isinstance(raised.value, AirflowFailException)
    assert raised.value.airship_status == status
    assert len(airship.received(TRIGGER_PATH)) == 1


def test_client_error_with_a_text_body_is_reported_as_text(airship):
    airship.answer_next(403, path=EXIT_PATH, body="Forbidden: Journeys is not in your plan")
    with pytest.raises(JourneysApiError, match="HTTP 403: Forbidden: Journeys is not in your plan"):
        JourneysHook().exit("t")


def test_trigger_is_not_resent_after_5xx_and_says_the_enrollment_may_have_happened(airship):
    airship.answer_next(503, path=TRIGGER_PATH)
    with pytest.raises(JourneysOutcomeUnknownError, match="may or may not have happened") as raised:
        JourneysHook().trigger(AUDIENCE, "t")
    assert isinstance(raised.value, AirflowFailException)
    assert len(airship.received(TRIGGER_PATH)) == 1


def test_trigger_is_resent_after_5xx_when_retry_server_errors_is_on(airship):
    airship.answer_next(502, path=TRIGGER_PATH)
    assert JourneysHook(retry_server_errors=True).trigger(AUDIENCE, "t")["ok"] is True
    assert [r.status for r in airship.received(TRIGGER_PATH)] == [502, 200]


def test_exit_is_resent_after_5xx_with_backoff(airship):
    airship.answer_next(500, path=EXIT_PATH, times=2)
    assert JourneysHook().exit("t", entrance_id="e")["ok"] is True
    assert [r.status for r in airship.received(EXIT_PATH)] == [500, 500, 200]


def test_exit_that_keeps_failing_with_5xx_gives_up_within_max_retry_wait(airship):
    airship.answer_next(503, path=EXIT_PATH, times=20)
    started = time.monotonic()
    with pytest.raises(JourneysUnavailableError, match="exiting again is harmless"):
        JourneysHook(max_retry_wait=2).exit("t")
    assert time.monotonic() - started < 3


def test_lost_answer_fails_a_trigger_but_resends_an_exit(airship):
    airship.answer_next(200, path=TRIGGER_PATH, close_without_answer=True)
    with pytest.raises(JourneysOutcomeUnknownError, match="after the request was sent"):
        JourneysHook().trigger(AUDIENCE, "t")
    airship.answer_next(200, path=EXIT_PATH, close_without_answer=True)
    assert JourneysHook().exit("t")["ok"] is True
    assert [r.status for r in airship.received(TRIGGER_PATH)] == [0]
    assert [r.status for r in airship.received(EXIT_PATH)] == [0, 200]


def test_read_timeout_fails_a_trigger_but_resends_an_exit(emulator, set_connection):
    connection = emulator.connection()
    connection["extra"]["timeout"] = 0.5
    set_connection(connection)
    emulator.answer_next(503, path=TRIGGER_PATH, delay=1.0)
    with pytest.raises(JourneysOutcomeUnknownError, match="ReadTimeout"):
        JourneysHook().trigger(AUDIENCE, "t")
    emulator.answer_next(503, path=EXIT_PATH, delay=1.0)
    assert JourneysHook().exit("t")["ok"] is True


def test_trigger_is_resent_when_the_connection_was_refused(airship):
    hook = JourneysHook()
    hook.trigger(AUDIENCE, "t")  # the token is cached; the next call needs only the API
    airship.refuse_connections(1.0)
    assert hook.trigger(AUDIENCE, "t2")["ok"] is True
    assert [body["triggering_id"] for body in airship.accepted(TRIGGER_PATH)] == ["t", "t2"]


def test_unreachable_api_gives_up_within_max_retry_wait_saying_nothing_was_sent(airship):
    hook = JourneysHook(max_retry_wait=1)
    hook.tokens.get()
    airship.stop()
    with pytest.raises(JourneysUnavailableError, match=r"Connection.*Gave up after .*Nothing was sent"):
        hook.trigger(AUDIENCE, "t")


@pytest.fixture
def unanswered_port():
    """A loopback port whose accept queue is full, so a new connection attempt times out."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    queued = []
    for _ in range(3):
        client = socket.socket()
        client.settimeout(0.2)
        try:
            client.connect(("127.0.0.1", port))
        except TimeoutError:
            client.close()
            break
        queued.append(client)
    yield port
    for client in queued:
        client.close()
    listener.close()


def test_connect_timeout_is_resent_then_gives_up_saying_nothing_was_sent(
    airship, set_connection, unanswered_port
):
    connection = airship.connection()
    connection["host"] = f"http://127.0.0.1:{unanswered_port}"
    connection["extra"]["timeout"] = 0.3
    set_connection(connection)
    with pytest.raises(
        JourneysUnavailableError,
        match=r"ConnectTimeout.*Gave up after .* [1-9]\d* resend\(s\).*Nothing was sent",
    ):
        JourneysHook(max_retry_wait=1.5).trigger(AUDIENCE, "t")


def test_slow_token_endpoint_is_resent_within_max_retry_wait_then_fails(emulator, set_connection):
    connection = emulator.connection()
    connection["extra"]["timeout"] = 0.3
    set_connection(connection)
    emulator.answer_next(200, path="/token", delay=0.6, times=100)
    started = time.monotonic()
    with pytest.raises(
        JourneysUnavailableError,
        match=r"attempt\(s\) in .* s \(max_retry_wait=2 s\); last failure: ReadTimeout",
    ):
        JourneysHook(max_retry_wait=2).exit("t")
    # Every wait was drawn from the budget: the last attempt started within it, and took at most a timeout.
    assert time.monotonic() - started < 2 + 0.3 + 1
    assert len(token_requests(emulator)) >= 2
    assert emulator.received(EXIT_PATH) == []


@pytest.mark.parametrize("status", [400, 401])
def test_token_endpoint_refusal_fails_at_once_naming_the_credentials(airship, status):
    airship.answer_next(status, path="/token", body={"error": "invalid_client"})
    with pytest.raises(JourneysAuthError, match=r"refused the credentials.*invalid_client"):
        JourneysHook().trigger(AUDIENCE, "t")
    assert len(token_requests(airship)) == 1


def test_unreachable_token_endpoint_fails_saying_nothing_was_sent_to_the_api(set_connection, emulator):
    connection = emulator.connection()
    emulator.stop()
    set_connection(connection)
    with pytest.raises(
        JourneysUnavailableError, match=r"after \d+ attempt\(s\).*Nothing was sent to the Journeys API"
    ):
        JourneysHook(max_retry_wait=1).exit("t")


def test_token_endpoint_5xx_is_retried_then_succeeds(airship):
    airship.answer_next(503, path="/token", times=2)
    assert JourneysHook().exit("t")["ok"] is True
    assert [r.status for r in token_requests(airship)] == [503, 503, 200]


def test_token_endpoint_that_keeps_failing_is_resent_until_max_retry_wait_then_fails(airship):
    airship.answer_next(500, path="/token", times=100)
    with pytest.raises(JourneysUnavailableError, match=r"attempt\(s\) .*; last failure: HTTP 500"):
        JourneysHook(max_retry_wait=2.5).trigger(AUDIENCE, "t")
    assert 2 <= len(token_requests(airship)) <= 4  # waits of 0.5-1 s, then 1-2 s, then the budget is spent
    assert airship.received(TRIGGER_PATH) == []


def test_a_token_endpoint_asking_to_wait_past_max_retry_wait_fails_at_once(airship):
    airship.answer_next(429, path="/token", retry_after=600)
    with pytest.raises(JourneysUnavailableError, match="after 1 attempt"):
        JourneysHook(max_retry_wait=30).trigger(AUDIENCE, "t")
    assert len(token_requests(airship)) == 1


def test_stopping_the_hook_ends_a_wait_between_token_fetches_and_sends_nothing(airship):
    airship.answer_next(503, path="/token", retry_after=20)
    hook = JourneysHook(max_retry_wait=60)
    threading.Timer(0.5, hook.stop).start()
    started = time.monotonic()
    with pytest.raises(JourneysStoppedError, match="OAuth token"):
        hook.exit("t")
    assert time.monotonic() - started < 10
    assert airship.received(EXIT_PATH) == []


def test_token_answer_without_an_access_token_fails_clearly(airship):
    airship.answer_next(200, path="/token", body={"token_type": "Bearer"})
    with pytest.raises(JourneysAuthError, match="without an access_token"):
        JourneysHook().trigger(AUDIENCE, "t")
    assert airship.received(TRIGGER_PATH) == []


def test_redirect_from_the_api_is_not_followed(airship):
    airship.answer_next(302, path=TRIGGER_PATH, headers={"Location": "/somewhere-else"})
    with pytest.raises(JourneysApiError, match=r"redirected \(HTTP 302 to '/somewhere-else'\)"):
        JourneysHook().trigger(AUDIENCE, "t")
    assert [(r.method, r.path) for r in airship.requests if r.path != "/token"] == [("POST", TRIGGER_PATH)]


def test_redirect_from_the_token_endpoint_is_not_followed(airship):
    airship.answer_next(307, path="/token", headers={"Location": f"{airship.url}/stolen"})
    with pytest.raises(JourneysConnectionConfigError, match="redirect was not followed"):
        JourneysHook().trigger(AUDIENCE, "t")
    assert [r.path for r in airship.requests] == ["/token"]


def test_2xx_whose_body_is_not_airships_json_fails_a_trigger_as_outcome_unknown(airship):
    airship.answer_next(200, path=TRIGGER_PATH, body="<html>corporate proxy</html>")
    with pytest.raises(JourneysOutcomeUnknownError, match="not Airship's JSON object"):
        JourneysHook().trigger(AUDIENCE, "t")


def test_trigger_that_keeps_losing_its_answer_with_retry_server_errors_fails_as_outcome_unknown(airship):
    airship.answer_next(200, path=TRIGGER_PATH, close_without_answer=True, times=20)
    with pytest.raises(JourneysOutcomeUnknownError, match="enrollment may or may not have happened"):
        JourneysHook(retry_server_errors=True, max_retry_wait=1.5).trigger(AUDIENCE, "t")
    assert len(airship.received(TRIGGER_PATH)) >= 2


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("retry_server_errors", "False"),
        ("dry_run", "yes"),
        ("max_retry_wait", float("nan")),
        ("max_retry_wait", float("inf")),
        ("max_retry_wait", -1),
        ("max_retry_wait", "300"),
        ("max_retry_wait", True),
    ],
)
def test_hook_arguments_of_the_wrong_kind_are_refused(argument, value):
    with pytest.raises(JourneysArgumentError, match=f"{argument} is "):
        JourneysHook(**{argument: value})


NAMED_USERS = [f"person-{number}@example.com" for number in range(3)]


def test_a_send_logs_a_summary_without_user_ids_after_it_was_accepted(airship, caplog, provider_messages):
    with caplog.at_level("INFO"):
        JourneysHook().trigger(
            {"or": [{"named_user": NAMED_USERS}, {"tag": "vip", "group": "loyalty"}]},
            "t",
            entrance_id="e",
            global_attributes={"offer": "WELCOME"},
        )
    sent = airship.received(TRIGGER_PATH)[0].body
    assert provider_messages() == [
        f"POST {airship.url}{TRIGGER_PATH} answered 200: audience named_user (3 ids), tag (1 id), "
        f"triggering_id 't', entrance_id 'e', global_attributes with 1 keys, {len(sent):,} bytes"
    ]
    assert not any(user in caplog.text for user in NAMED_USERS)
    assert "WELCOME" not in caplog.text


def test_with_log_body_a_send_logs_the_exact_body(airship, caplog, provider_messages):
    with caplog.at_level("INFO"):
        JourneysHook(log_body=True).trigger({"named_user": NAMED_USERS}, "t", entrance_id="e")
    sent = airship.received(TRIGGER_PATH)[0].body.decode()
    assert provider_messages() == [f"POST {airship.url}{TRIGGER_PATH} answered 200: {sent}"]


def test_at_debug_a_send_logs_the_exact_body_too(airship, caplog):
    with caplog.at_level("DEBUG", logger="airflow_provider_journeys"):
        JourneysHook().exit("t", entrance_id="e")
    assert f"Body: {airship.received(EXIT_PATH)[0].body.decode()}" in caplog.messages


def test_nothing_is_logged_as_sent_when_nothing_was(emulator, set_connection, caplog):
    connection = emulator.connection()
    connection["password"] = "wrong-secret"
    set_connection(connection)
    with caplog.at_level("INFO"), pytest.raises(JourneysAuthError):
        JourneysHook().trigger({"named_user": NAMED_USERS}, "t")
    assert "POST" not in caplog.text
    assert emulator.received(TRIGGER_PATH) == []


def test_log_body_must_be_a_bool():
    with pytest.raises(JourneysArgumentError, match="log_body is 'yes'"):
        JourneysHook(log_body="yes")  # type: ignore[arg-type]


def test_test_connection_fetches_a_token_and_calls_no_journeys_endpoint(airship):
    ok, message = JourneysHook().test_connection()
    assert ok is True and airship.app_key in message
    assert [r.path for r in airship.requests] == ["/token"]


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        ("client_id", "The connection is missing extra 'client_id'"),
        ("region", "extra 'region' is 'mars'; it must be one of: us, eu"),
    ],
)
def test_test_connection_names_the_field_not_the_connection_id(airship, set_connection, drop, expected):
    connection = airship.connection()
    if drop == "client_id":
        del connection["extra"]["client_id"]
    else:
        connection["extra"]["region"] = "mars"
    set_connection(connection, conn_id="yflXw6H7")  # as the UI's Test button names its copy
    ok, message = JourneysHook("yflXw6H7").test_connection()
    assert ok is False
    assert message.startswith(expected)
    assert "yflXw6H7" not in message
    assert airship.requests == []


def test_test_connection_reports_wrong_credentials(emulator, set_connection):
    connection = emulator.connection()
    connection["password"] = "wrong-secret"
    set_connection(connection)
    ok, message = JourneysHook().test_connection()
    assert ok is False
    assert "refused the credentials" in message and "wrong-secret" not in message
    assert len(token_requests(emulator)) == 1  # a 401 from the token endpoint is never retried


def test_hook_does_not_read_the_connection_when_built():
    hook = JourneysHook(airship_conn_id="does_not_exist")
    assert "settings" not in vars(hook)
    assert repr(hook) == "JourneysHook(airship_conn_id='does_not_exist')"


def test_base_url_and_oauth_url_show_the_endpoints_in_effect(airship):
    hook = JourneysHook()
    assert hook.base_url == airship.url
    assert hook.oauth_url == airship.oauth_url


def test_a_trigger_interrupted_by_the_task_timeout_fails_without_retries_and_is_sent_once(airship):
    airship.answer_next(200, path=TRIGGER_PATH, delay=2)
    interrupted = pytest.raises(JourneysOutcomeUnknownError, match="interrupted by AirflowTaskTimeout")
    with interrupted as raised, timeout(1):
        JourneysHook().trigger(audience={"tag": "x"}, triggering_id="seq")
    assert isinstance(raised.value, AirflowFailException)
    time.sleep(1.5)
    assert len(airship.received(TRIGGER_PATH)) == 1


def test_an_exit_interrupted_by_the_task_timeout_stays_retryable(airship):
    airship.answer_next(200, path=EXIT_PATH, delay=2)
    with pytest.raises(AirflowTaskTimeout), timeout(1):
        JourneysHook().exit(triggering_id="seq")


def test_a_stopped_hook_ends_its_wait_before_a_resend_and_sends_nothing_more(airship):
    airship.answer_next(429, path=TRIGGER_PATH, retry_after=5)
    hook = JourneysHook()
    threading.Timer(0.5, hook.stop).start()
    started = time.monotonic()
    with pytest.raises(JourneysRateLimitError, match="stopped"):
        hook.trigger(audience={"tag": "x"}, triggering_id="seq")
    assert time.monotonic() - started < 2
    assert len(airship.received(TRIGGER_PATH)) == 1


def test_a_timeout_while_the_answer_of_a_trigger_is_read_fails_without_retries(airship, monkeypatch):
    # Stands in for Airflow's SIGALRM landing in the microseconds between the answer and its parse.
    def timed_out(endpoint, response):
        raise AirflowTaskTimeout("Timeout")

    monkeypatch.setattr("airflow_provider_journeys.hooks.journeys.accepted_body", timed_out)
    with pytest.raises(JourneysOutcomeUnknownError, match="interrupted by AirflowTaskTimeout"):
        JourneysHook().trigger(audience={"tag": "x"}, triggering_id="seq")
    assert len(airship.accepted(TRIGGER_PATH)) == 1
