"""Test DAG: tasks that send through the provider, then try hard to leak its secrets into their task logs.

Each leak attempt is tagged ``LEAK <how> <what>:`` so that tests/test_task_logs.py can find the line and
check that the secret after the tag came out as ``***``. Each secret's SHA-256 is printed too (the masker
leaves digests alone), so the test can tell that the task really held the secret it tried to leak. Both
grants are covered: ``airship_default`` (client secret) and ``airship_pk`` (assertion grant, EC private
key in extra ``private_key``).
"""

from __future__ import annotations

import hashlib
import json
import logging

import pendulum
from airflow.providers.common.compat.sdk import DAG, BaseHook, task

from airflow_provider_journeys.operators.journeys import JourneysTriggerOperator

log = logging.getLogger(__name__)

TRIGGERING_ID = "leak-probe-trigger"
# People whose ids must stay out of the task log unless the task asks for its bodies to be logged.
NAMED_USERS = [f"probe-person-{number}@example.com" for number in range(5)]


def print_digest(what: str, secret: str) -> None:
    print(f"DIGEST {what}: {hashlib.sha256(secret.encode()).hexdigest()}")


with DAG(
    dag_id="test_journeys_secret_leak_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    max_active_tasks=1,
):
    enroll_with_client_secret = JourneysTriggerOperator(
        task_id="enroll_with_client_secret",
        audience={"segment": "leak-probe-client-secret"},
        triggering_id=TRIGGERING_ID,
        entrance_id="operator-client-secret",
    )

    @task
    def leak_client_secret() -> None:
        from airflow_provider_journeys.hooks.journeys import JourneysHook

        hook = JourneysHook()
        hook.trigger({"segment": "leak-probe-client-secret"}, TRIGGERING_ID, entrance_id="task-client-secret")
        token = hook.tokens.get()  # the cached token the trigger was just sent with
        print_digest("token", token)
        print(f"LEAK print token: {token}")
        log.info("LEAK log token: %s", token)
        password = BaseHook.get_connection("airship_default").password
        print_digest("client secret", password)
        print(f"LEAK print client secret: {password}")
        log.info("LEAK log client secret: %s", password)

    enroll_with_private_key = JourneysTriggerOperator(
        task_id="enroll_with_private_key",
        airship_conn_id="airship_pk",
        audience={"segment": "leak-probe-private-key"},
        triggering_id=TRIGGERING_ID,
        entrance_id="operator-private-key",
    )

    @task
    def leak_private_key() -> None:
        from airflow_provider_journeys.hooks.journeys import JourneysHook

        hook = JourneysHook("airship_pk")
        hook.trigger({"segment": "leak-probe-private-key"}, TRIGGERING_ID, entrance_id="task-private-key")
        token = hook.tokens.get()
        print_digest("token", token)
        print(f"LEAK print token: {token}")
        log.info("LEAK log token: %s", token)
        conn = BaseHook.get_connection("airship_pk")
        # Read the key the way the provider reads it: json.loads of the raw extra.
        pem = json.loads(conn.extra)["private_key"]
        print_digest("private key", pem)
        log.info("LEAK log private key: %s", pem)
        print("LEAK print private key:")
        print(pem)  # stdout reaches the log one line at a time
        log.info("LEAK log extra: %s", conn.extra)
        log.info("LEAK log extra_dejson private key: %s", conn.extra_dejson["private_key"])

    enroll_named_users = JourneysTriggerOperator(
        task_id="enroll_named_users",
        audience={"named_user": NAMED_USERS},
        triggering_id=TRIGGERING_ID,
        entrance_id="named-users",
    )
    enroll_named_users_logging_body = JourneysTriggerOperator(
        task_id="enroll_named_users_logging_body",
        audience={"named_user": NAMED_USERS},
        triggering_id=TRIGGERING_ID,
        entrance_id="named-users-logging-body",
        log_body="{{ params.log_body }}",
        params={"log_body": True},
    )

    (
        enroll_with_client_secret
        >> leak_client_secret()
        >> enroll_with_private_key
        >> leak_private_key()
        >> enroll_named_users
        >> enroll_named_users_logging_body
    )
