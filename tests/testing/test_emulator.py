"""The Airship emulator over real loopback HTTP: it checks what Airship checks, records, and follows a script."""

from __future__ import annotations

import base64
import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import jwt
import pytest
import requests
from airflow.providers.common.compat.sdk import BaseHook
from cryptography.hazmat.primitives.asymmetric import ec

from airflow_provider_journeys.hooks.journeys import JourneysHook
from airflow_provider_journeys.testing import AirshipEmulator

TRIGGER, EXIT = "/api/journeys/trigger", "/api/journeys/exit"
AIRSHIP_JSON = "application/vnd.urbanairship+json; version=3"
VALID = {
    TRIGGER: {"audience": {"named_user": "user-1"}, "triggering_id": "seq-1"},
    EXIT: {"triggering_id": "seq-1"},
}
TIMEOUT = 5
OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return f"Basic {base64.b64encode(pair.encode()).decode()}"


def post_token(emulator, authorization=None, timeout=TIMEOUT, **form):
    form = {"grant_type": "client_credentials", "sub": f"app:{emulator.app_key}", "scope": "jny", **form}
    headers = {} if authorization is None else {"Authorization": authorization}
    return requests.post(emulator.oauth_url, data=form, headers=headers, timeout=timeout)


def get_token(emulator, scope: str = "jny") -> str:
    response = post_token(emulator, basic(emulator.client_id, emulator.client_secret), scope=scope)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def signed_assertion(emulator, key, *, kid=None, lifetime=300, **claims) -> str:
    now = int(time.time())
    claims = {
        "aud": emulator.oauth_url,
        "iss": emulator.client_id,
        "iat": now,
        "exp": now + lifetime,
        "nonce": uuid.uuid4().hex,
        "sub": f"app:{emulator.app_key}",
        "scope": "jny",
        **claims,
    }
    claims = {name: value for name, value in claims.items() if value is not None}  # None drops a claim
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": kid or emulator.client_id})


def post_assertion(emulator, assertion: str):
    form = {"grant_type": "client_credentials", "assertion": assertion}
    return requests.post(emulator.oauth_url, data=form, timeout=TIMEOUT)


def post_journeys(emulator, path, body, token=None, timeout=TIMEOUT, **header_overrides):
    headers = {
        "Authorization": f"Bearer {token or get_token(emulator)}",
        "Accept": AIRSHIP_JSON,
        "Content-Type": "application/json",
        **header_overrides,
    }
    headers = {name: value for name, value in headers.items() if value is not None}  # None drops a header
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{emulator.url}{path}", data=data, headers=headers, timeout=timeout)


def test_token_is_issued_for_correct_basic_credentials(emulator):
    response = post_token(emulator, basic(emulator.client_id, emulator.client_secret))
    assert response.status_code == 200
    answer = response.json()
    assert emulator.issued_tokens == [answer.pop("access_token")]
    assert answer == {"token_type": "Bearer", "expires_in": 3600, "scope": "jny"}


def test_url_encoded_basic_parts_are_decoded_before_comparing():
    with AirshipEmulator(client_id="id:with%odd/chars", client_secret="s3cr:et%/+ x") as emulator:
        response = post_token(emulator, basic(emulator.client_id, emulator.client_secret))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param(("emulator-client-id", "wrong-secret"), id="wrong-secret"),
        pytest.param(("wrong-client-id", "emulator-client-secret"), id="wrong-client-id"),
        pytest.param(None, id="no-basic-header"),
    ],
)
def test_bad_client_credentials_get_401_invalid_client(emulator, credentials):
    response = post_token(emulator, None if credentials is None else basic(*credentials))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert emulator.issued_tokens == []


def test_a_sub_other_than_the_app_key_gets_400(emulator):
    response = post_token(emulator, basic(emulator.client_id, emulator.client_secret), sub="app:someone-else")
    assert response.status_code == 400
    assert emulator.issued_tokens == []


def test_assertion_grant_issues_a_token_for_a_correct_es384_jwt(emulator, private_key_pem):
    response = post_assertion(emulator, signed_assertion(emulator, private_key_pem, scope="jny"))
    assert response.status_code == 200
    answer = response.json()
    assert (answer["token_type"], answer["scope"]) == ("Bearer", "jny")
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=answer["access_token"]).status_code == 200


def test_assertion_with_a_reused_nonce_is_refused(emulator, private_key_pem):
    first = post_assertion(emulator, signed_assertion(emulator, private_key_pem, nonce="once"))
    again = post_assertion(emulator, signed_assertion(emulator, private_key_pem, nonce="once"))
    assert (first.status_code, again.status_code) == (200, 401)
    assert again.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"lifetime": 601}, id="exp-more-than-600s-after-iat"),
        pytest.param({"aud": "https://oauth2.asnapius.com/token"}, id="wrong-aud"),
        pytest.param({"kid": "another-client-id"}, id="wrong-kid"),
        pytest.param({"key": OTHER_KEY}, id="signed-with-a-different-key"),
        pytest.param({"nonce": None}, id="no-nonce"),
        pytest.param({"nonce": "n" * 51}, id="nonce-over-50-chars"),
    ],
)
def test_assertion_breaking_a_rule_gets_401_invalid_client(emulator, private_key_pem, changes):
    changes = {"key": private_key_pem, **changes}
    response = post_assertion(emulator, signed_assertion(emulator, **changes))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert emulator.issued_tokens == []


def revoked_token(emulator) -> str:
    token = get_token(emulator)
    emulator.revoke_tokens()
    return f"Bearer {token}"


@pytest.mark.parametrize("path", [TRIGGER, EXIT])
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(lambda emulator: None, id="no-token"),
        pytest.param(lambda emulator: "Bearer never-issued", id="unknown-token"),
        pytest.param(revoked_token, id="revoked-token"),
        pytest.param(lambda emulator: f"Bearer {get_token(emulator, scope='push')}", id="scope-without-jny"),
    ],
)
def test_journeys_calls_without_a_valid_jny_token_get_401_text(emulator, path, authorization):
    # token="x" only spares fetching a token: the Authorization header is replaced.
    response = post_journeys(emulator, path, VALID[path], token="x", Authorization=authorization(emulator))
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("accept", [None, "application/json"], ids=["no-accept", "plain-json-accept"])
def test_journeys_calls_without_the_versioned_accept_header_get_406(emulator, accept):
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER], Accept=accept).status_code == 406


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_journeys_calls_with_a_non_json_content_type_are_refused(emulator, content_type):
    response = post_journeys(emulator, TRIGGER, VALID[TRIGGER], **{"Content-Type": content_type})
    assert 400 <= response.status_code < 500
    assert emulator.accepted(TRIGGER) == []


def test_a_body_that_is_not_json_gets_400_with_its_location(emulator):
    response = post_journeys(emulator, TRIGGER, b'{\n  "triggering_id": "seq-1",\n  oops\n}')
    assert response.status_code == 400
    answer = response.json()
    assert (answer["ok"], answer["error_code"]) == (False, 40000)
    assert isinstance(answer["error"], str) and isinstance(answer["details"]["error"], str)
    assert answer["details"]["location"] == {"line": 3, "column": 3}


@pytest.mark.parametrize(
    ("path", "body", "details_path"),
    [
        (TRIGGER, {"audience": {"segmnet": "s"}, "triggering_id": "t"}, "audience.segmnet"),
        (TRIGGER, {"audience": {"and": [{"tag": 5}]}, "triggering_id": "t"}, "audience.and[0].tag"),
        (TRIGGER, {"audience": {"tag": "t"}, "triggering_id": ""}, "triggering_id"),
        (EXIT, {"audience": {"tag": "t"}, "triggering_id": "t"}, "audience"),
    ],
    ids=["selector-typo", "nested-in-array", "empty-triggering-id", "exit-with-audience"],
)
def test_a_body_breaking_the_rules_gets_400_naming_the_path(emulator, path, body, details_path):
    response = post_journeys(emulator, path, body)
    assert response.status_code == 400
    answer = response.json()
    assert (answer["ok"], answer["error_code"]) == (False, 40000)
    assert answer["details"]["path"] == details_path


@pytest.mark.parametrize("path", [TRIGGER, EXIT])
def test_a_valid_call_gets_200_with_an_operation_id(emulator, path):
    response = post_journeys(emulator, path, VALID[path])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == AIRSHIP_JSON
    answer = response.json()
    assert answer == {"ok": True, "operation_id": answer["operation_id"]}
    uuid.UUID(answer["operation_id"])


def test_every_request_is_recorded_in_order_with_its_exact_body_and_status(emulator):
    token = get_token(emulator)
    sent = '{"triggering_id":  "seq-1", "audience": {"named_user": "caf\u00e9"}}'.encode()
    post_journeys(emulator, TRIGGER, sent, token=token)
    post_journeys(emulator, EXIT, {"triggering_id": ""}, token=token)
    recorded = emulator.requests
    assert [(r.method, r.path, r.status, r.scripted) for r in recorded] == [
        ("POST", "/token", 200, False),
        ("POST", TRIGGER, 200, False),
        ("POST", EXIT, 400, False),
    ]
    assert recorded[1].body == sent
    assert recorded[1].headers["Authorization"] == f"Bearer {token}"
    assert recorded[0].form["sub"] == f"app:{emulator.app_key}"
    assert all(r.client[0] == "127.0.0.1" for r in recorded)
    assert emulator.received(EXIT) == [recorded[2]]
    assert emulator.accepted(TRIGGER) == [json.loads(sent)]
    assert emulator.accepted(EXIT) == []


def test_requests_over_one_kept_alive_connection_share_a_client_address(emulator):
    headers = {"Authorization": basic(emulator.client_id, emulator.client_secret)}
    form = {"grant_type": "client_credentials", "sub": f"app:{emulator.app_key}"}
    with requests.Session() as session:
        for _ in range(2):
            session.post(emulator.oauth_url, data=form, headers=headers, timeout=TIMEOUT)
    requests.post(emulator.oauth_url, data=form, headers=headers, timeout=TIMEOUT)
    first, second, third = (r.client for r in emulator.requests)
    assert first == second != third


def test_a_scripted_status_with_retry_after_answers_once_then_normal_answers_resume(emulator):
    token = get_token(emulator)
    emulator.answer_next(429, retry_after=7)
    limited = post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.json()["ok"] is False
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token).status_code == 200
    assert [(r.status, r.scripted) for r in emulator.received(TRIGGER)] == [(429, True), (200, False)]


def test_times_repeats_a_scripted_answer(emulator):
    token = get_token(emulator)
    emulator.answer_next(503, times=2)
    statuses = [post_journeys(emulator, EXIT, VALID[EXIT], token=token).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_after_lets_matching_calls_through_before_the_scripted_answer(emulator):
    token = get_token(emulator)
    emulator.answer_next(503, path=EXIT, after=2)
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token).status_code == 200
    statuses = [post_journeys(emulator, EXIT, VALID[EXIT], token=token).status_code for _ in range(4)]
    assert statuses == [200, 200, 503, 200]
    assert [r.scripted for r in emulator.received(EXIT)] == [False, False, True, False]


def test_a_scripted_answer_for_one_path_leaves_other_paths_alone(emulator):
    token = get_token(emulator)
    emulator.answer_next(500, path=EXIT)
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token).status_code == 200
    assert post_journeys(emulator, EXIT, VALID[EXIT], token=token).status_code == 500


@pytest.mark.parametrize(
    ("body", "content_type", "read"),
    [
        ({"ok": False, "error": "custom", "error_code": 40001}, "application/json", requests.Response.json),
        ("upstream exploded", "text/plain", lambda response: response.text),
    ],
    ids=["json", "text"],
)
def test_a_scripted_body_is_sent_as_given(emulator, body, content_type, read):
    token = get_token(emulator)
    emulator.answer_next(502, body=body)
    response = post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token)
    assert (response.status_code, response.headers["Content-Type"]) == (502, content_type)
    assert read(response) == body


def wait_for_record(emulator, path: str, within: float = 3):
    deadline = time.monotonic() + within
    while not emulator.received(path):
        assert time.monotonic() < deadline, f"nothing recorded on {path} within {within} s"
        time.sleep(0.02)
    return emulator.received(path)


@pytest.mark.parametrize(
    ("script", "recorded_status"),
    [({}, 200), ({"close_without_answer": True}, 0)],
    ids=["answered-late", "closed-late"],
)
def test_a_call_the_client_gave_up_on_is_recorded_on_arrival_not_after_the_delay(
    emulator, script, recorded_status
):
    token = get_token(emulator)
    emulator.answer_next(200, delay=3, **script)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token, timeout=0.1)
    [waiting] = wait_for_record(emulator, TRIGGER, within=1)
    assert (waiting.status, waiting.scripted) == (recorded_status, True)


def test_a_scripted_answer_without_a_path_leaves_the_token_endpoint_alone(emulator):
    emulator.answer_next(503, times=2)
    token = get_token(emulator)
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token).status_code == 503
    assert post_journeys(emulator, EXIT, VALID[EXIT], token=token).status_code == 503
    assert [(r.path, r.status, r.scripted) for r in emulator.requests] == [
        ("/token", 200, False),
        (TRIGGER, 503, True),
        (EXIT, 503, True),
    ]


def test_a_scripted_delay_without_a_path_delays_the_journeys_call_not_its_token(emulator):
    emulator.answer_next(200, delay=3)
    token = post_token(emulator, basic(emulator.client_id, emulator.client_secret), timeout=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token.json()["access_token"], timeout=1)


def test_the_token_endpoint_is_scripted_when_named(emulator):
    emulator.answer_next(503, path="/token")
    assert post_token(emulator, basic(emulator.client_id, emulator.client_secret)).status_code == 503
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER]).status_code == 200
    assert [(r.path, r.status) for r in emulator.requests] == [
        ("/token", 503),
        ("/token", 200),
        (TRIGGER, 200),
    ]


def test_close_without_answer_drops_the_connection_and_records_status_0(emulator):
    token = get_token(emulator)
    emulator.answer_next(200, close_without_answer=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token)
    [dropped] = wait_for_record(emulator, TRIGGER)
    assert (dropped.status, dropped.scripted) == (0, True)
    assert emulator.accepted(TRIGGER) == []


def test_refuse_connections_refuses_for_a_while_then_serves_again_with_tokens_kept(emulator):
    token = get_token(emulator)
    emulator.refuse_connections(0.5)
    with pytest.raises(requests.exceptions.ConnectionError):
        post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token)
    time.sleep(1)
    assert post_journeys(emulator, TRIGGER, VALID[TRIGGER], token=token).status_code == 200


FIELDS = ("conn_type", "host", "login", "password")


def test_connection_uri_parses_back_into_the_same_connection(set_connection):
    with AirshipEmulator(client_secret="s:e%c/r t") as emulator:
        set_connection(emulator.connection_uri())
    # Read as Airflow reads an AIRFLOW_CONN_ variable holding a URI, on every line.
    parsed = BaseHook.get_connection("airship_default")
    parsed_fields = {"extra": parsed.extra_dejson, **{name: getattr(parsed, name) for name in FIELDS}}
    assert parsed_fields == emulator.connection()


@pytest.mark.parametrize("form", ["uri", "client_secret", "private_key"])
def test_the_connection_it_describes_works_with_the_hook(emulator, set_connection, private_key_pem, form):
    if form == "uri":
        set_connection(emulator.connection_uri())
    else:
        set_connection(emulator.connection(grant=form, private_key=private_key_pem))
    ok, message = JourneysHook().test_connection()
    assert ok is True, message


@pytest.fixture
def emulator_command():
    """Starts ``python -m airflow_provider_journeys.testing`` with the given options; returns its lines."""
    started: list[tuple[subprocess.Popen[str], threading.Thread]] = []

    def start(*options: str) -> queue.Queue[str]:
        command = [sys.executable, "-m", "airflow_provider_journeys.testing", "--port", "0", *options]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: queue.Queue[str] = queue.Queue()

        def read_lines() -> None:
            for line in process.stdout:
                lines.put(line.rstrip("\n"))

        reader = threading.Thread(target=read_lines, daemon=True)
        reader.start()
        started.append((process, reader))
        return lines

    yield start
    for process, reader in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def pasted_into_a_shell(line: str) -> dict:
    """The connection a program started after ``line`` was pasted into a shell finds in its environment."""
    script = f"{line}\nexec env"
    printed = subprocess.run(
        ["sh", "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True
    ).stdout
    [value] = [found for found in printed.splitlines() if found.startswith("AIRFLOW_CONN_AIRSHIP_DEFAULT=")]
    return json.loads(value.partition("=")[2])


def test_the_command_prints_an_export_line_then_each_request_without_secrets(
    emulator_command, set_connection
):
    secret = 'it\'s a "secret" $HOME `id` \\'  # what a shell would otherwise read as its own
    lines = emulator_command("--client-secret", secret)
    url_line, export_line = lines.get(timeout=30), lines.get(timeout=5)
    assert url_line.startswith("Airship emulator listening on http://127.0.0.1:")
    assert export_line.startswith("export AIRFLOW_CONN_AIRSHIP_DEFAULT=")
    conn = pasted_into_a_shell(export_line)
    assert conn["password"] == secret
    set_connection(conn)
    assert JourneysHook().trigger(**VALID[TRIGGER])["ok"] is True
    token_line, trigger_line = lines.get(timeout=5), lines.get(timeout=5)
    assert token_line == "POST /token -> 200 (OAuth token, client secret grant)"
    sent_body = json.dumps(VALID[TRIGGER], separators=(",", ":"))
    assert trigger_line == f"POST /api/journeys/trigger -> 200 {sent_body}"
    time.sleep(0.3)  # the command prints every 0.1 s: anything more would be here by now
    assert not any(secret in line for line in [token_line, trigger_line, *lines.queue])


def test_the_command_sums_up_a_batch_chunk_as_its_selector_count_and_first_and_last_id(
    emulator_command, set_connection
):
    lines = emulator_command()
    lines.get(timeout=30)
    set_connection(pasted_into_a_shell(lines.get(timeout=5)))
    ids = [f"user-{number:04d}" for number in range(1500)]
    JourneysHook().trigger_batch(selector="named_user", ids=ids, triggering_id="seq-1", max_concurrency=1)
    printed = [lines.get(timeout=5) for _ in range(3)]
    rest = '{"triggering_id":"seq-1"}'
    assert printed == [
        "POST /token -> 200 (OAuth token, client secret grant)",
        f'POST /api/journeys/trigger -> 200 named_user: 1000 ids, first "user-0000", last "user-0999"; {rest}',
        f'POST /api/journeys/trigger -> 200 named_user: 500 ids, first "user-1000", last "user-1499"; {rest}',
    ]


def test_every_command_line_option_has_a_description():
    from airflow_provider_journeys.testing.__main__ import build_parser

    parser = build_parser()
    assert [action.dest for action in parser._actions if not action.help] == []
    assert {action.dest for action in parser._actions} >= {"port", "app_key", "client_id", "client_secret"}
