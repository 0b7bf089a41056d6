"""The Journeys operators: templating, execute, batch progress keys, and what they cost to import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG, AirflowException, TaskDeferred
from airflow.providers.common.compat.standard.triggers import TimeDeltaTrigger

from airflow_provider_journeys.batch import VariableBatchProgress
from airflow_provider_journeys.exceptions import (
    JourneysArgumentError,
    JourneysPayloadError,
    JourneysRateLimitError,
)
from airflow_provider_journeys.hooks.journeys import EXIT_PATH, TRIGGER_PATH
from airflow_provider_journeys.operators.journeys import (
    JourneysBatchTriggerOperator,
    JourneysExitOperator,
    JourneysTriggerOperator,
)

CONTEXT = {"ds": "2026-11-27", "ds_nodash": "20261127", "params": {"segment": "vip"}}


def test_every_payload_argument_and_the_conn_id_are_template_fields():
    assert set(JourneysTriggerOperator.template_fields) == {
        "audience",
        "triggering_id",
        "entrance_id",
        "global_attributes",
        "airship_conn_id",
        "dry_run_setting",
        "log_body",
    }
    assert set(JourneysExitOperator.template_fields) == {
        "triggering_id",
        "entrance_id",
        "airship_conn_id",
        "dry_run_setting",
        "log_body",
    }
    assert JourneysTriggerOperator.template_fields_renderers["audience"] == "json"


def test_nested_templates_render_then_the_rendered_payload_is_sent(airship):
    operator = JourneysTriggerOperator(
        task_id="enroll",
        audience={
            "and": [{"segment": "{{ params.segment }}"}, {"not": {"tag": ["opt-out-{{ ds_nodash }}"]}}]
        },
        triggering_id=["{{ 'seq' }}-1"],
        entrance_id="daily-{{ ds_nodash }}",
        global_attributes={"run": {"date": "{{ ds }}", "empty": None}},
        airship_conn_id="{{ 'airship_default' }}",
    )
    operator.render_template_fields(CONTEXT)
    response = operator.execute(CONTEXT)
    assert airship.accepted(TRIGGER_PATH) == [
        {
            "audience": {"and": [{"segment": "vip"}, {"not": {"tag": ["opt-out-20261127"]}}]},
            "triggering_id": ["seq-1"],
            "entrance_id": "daily-20261127",
            "global_attributes": {"run": {"date": "2026-11-27", "empty": None}},
        }
    ]
    assert response["ok"] is True
    assert json.loads(json.dumps(response)) == response  # a JSON-serialisable XCom


def test_exit_operator_sends_the_rendered_entrance(airship):
    operator = JourneysExitOperator(task_id="exit", triggering_id="seq", entrance_id="daily-{{ ds_nodash }}")
    operator.render_template_fields(CONTEXT)
    assert operator.execute(CONTEXT)["ok"] is True
    assert airship.accepted(EXIT_PATH) == [{"triggering_id": "seq", "entrance_id": "daily-20261127"}]


def test_a_payload_that_renders_invalid_fails_before_any_request(airship):
    operator = JourneysTriggerOperator(
        task_id="enroll", audience={"segment": "s"}, triggering_id="seq", entrance_id="{{ 'x' * 65 }}"
    )
    operator.render_template_fields(CONTEXT)
    with pytest.raises(
        JourneysPayloadError,
        match=r"\$\.entrance_id: 'x+…' is 65 characters, too long \(at most 64 characters\)",
    ):
        operator.execute(CONTEXT)
    assert airship.requests == []


def test_operators_hand_their_retry_settings_to_the_hook():
    trigger = JourneysTriggerOperator(
        task_id="t",
        audience={},
        triggering_id="x",
        airship_conn_id="other",
        retry_server_errors=True,
        max_retry_wait=9,
    )
    assert (trigger.hook.airship_conn_id, trigger.hook.retry_server_errors, trigger.hook.max_retry_wait) == (
        "other",
        True,
        9,
    )
    exit_ = JourneysExitOperator(task_id="e", triggering_id="x", max_retry_wait=4)
    assert (exit_.hook.airship_conn_id, exit_.hook.max_retry_wait) == ("airship_default", 4)


def test_payload_arguments_can_be_mapped_with_expand():
    with DAG("mapping", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        mapped = JourneysTriggerOperator.partial(task_id="enroll", triggering_id="seq").expand(
            audience=[{"segment": "a"}, {"segment": "b"}], entrance_id=["e1", "e2"]
        )
    assert set(mapped.expand_input.value) == {"audience", "entrance_id"}


def test_operators_are_keyword_only():
    # Airflow 2.11's BaseOperator refuses positional arguments itself, before the operator's __init__.
    with pytest.raises((TypeError, AirflowException)):
        JourneysExitOperator("seq")  # type: ignore[misc]


# What a DAG file pays for the operators beyond Airflow's base operator, which it imports as every operator
# module does (through the compat layer, so on every Airflow line). A fresh interpreter, as the DAG processor
# parses each DAG file in a fresh process.
MODULES_ADDED_BY_THE_OPERATORS = (
    "import sys, json\n"
    "from airflow.providers.common.compat.sdk import BaseOperator\n"
    "before = set(sys.modules)\n"
    "import airflow_provider_journeys.operators.journeys\n"
    "print(json.dumps(sorted(set(sys.modules) - before)))"
)


def modules_added_by_the_operators() -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", MODULES_ADDED_BY_THE_OPERATORS], capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout))


def test_importing_the_operators_module_loads_neither_requests_nor_urllib3():
    # Airflow 2.11 loads requests itself on `import airflow`; what matters is that the operators add none.
    added = modules_added_by_the_operators()
    assert [m for m in added if m.split(".")[0] in ("requests", "urllib3", "jwt")] == []


def test_importing_the_operators_module_loads_nothing_but_itself_and_the_defaults():
    # Every module imported here is paid for on every parse of every DAG file that uses the operators.
    # Nothing but these three: no third-party module, not even the provider's own exceptions. The package's
    # __init__ (a version string) is loaded already on Airflow 3, which read the provider's metadata.
    assert [m for m in modules_added_by_the_operators() if m != "airflow_provider_journeys"] == [
        "airflow_provider_journeys.defaults",
        "airflow_provider_journeys.operators",
        "airflow_provider_journeys.operators.journeys",
    ]


@pytest.mark.parametrize("dry_run", [True, "{{ 'true' }}", "{{ params.staging }}"])
def test_dry_run_validates_logs_and_returns_the_body_without_calling_airship(
    airship, caplog, provider_messages, dry_run
):
    operator = JourneysTriggerOperator(
        task_id="enroll",
        audience={"segment": "s"},
        triggering_id="seq",
        entrance_id="d-{{ ds_nodash }}",
        dry_run=dry_run,
    )
    operator.render_template_fields({**CONTEXT, "params": {"staging": "yes"}})
    with caplog.at_level("INFO"):
        result = operator.execute(CONTEXT)
    body = {"audience": {"segment": "s"}, "triggering_id": "seq", "entrance_id": "d-20261127"}
    assert result == {"dry_run": True, "path": TRIGGER_PATH, "body": body}
    assert provider_messages() == [
        f"Dry run, nothing sent: POST {TRIGGER_PATH}: audience segment (1 id), triggering_id 'seq', "
        "entrance_id 'd-20261127', 77 bytes"
    ]
    assert airship.requests == []


@pytest.mark.parametrize(("log_body", "logs_body"), [(False, False), ("{{ params.log_body }}", True)])
def test_log_body_is_templated_and_puts_the_whole_body_in_the_log(airship, caplog, log_body, logs_body):
    users = ["ana@example.com", "bo@example.com"]
    operator = JourneysTriggerOperator(
        task_id="enroll", audience={"named_user": users}, triggering_id="seq", log_body=log_body
    )
    operator.render_template_fields({**CONTEXT, "params": {"log_body": "true"}})
    with caplog.at_level("INFO"):
        operator.execute(CONTEXT)
    assert [user in caplog.text for user in users] == [logs_body, logs_body]
    assert len(airship.accepted(TRIGGER_PATH)) == 1


def test_a_log_body_that_is_not_a_flag_is_refused_before_anything_is_sent(airship):
    operator = JourneysExitOperator(task_id="exit", triggering_id="seq", log_body="maybe")
    with pytest.raises(JourneysArgumentError, match="log_body is 'maybe'; it must render to true or false"):
        operator.execute(CONTEXT)
    assert airship.requests == []


def test_dry_run_needs_no_connection_at_all():
    operator = JourneysExitOperator(
        task_id="exit", triggering_id="seq", airship_conn_id="missing", dry_run=True
    )
    assert operator.execute({}) == {"dry_run": True, "path": EXIT_PATH, "body": {"triggering_id": "seq"}}


def test_dry_run_still_rejects_a_bad_payload():
    operator = JourneysExitOperator(task_id="exit", triggering_id="", dry_run=True)
    with pytest.raises(JourneysPayloadError, match=r"\$\.triggering_id"):
        operator.execute({})


def test_deployment_config_turns_dry_run_on_unless_the_operator_says_otherwise(airship, monkeypatch):
    monkeypatch.setenv("AIRFLOW__JOURNEYS__DRY_RUN", "True")
    assert JourneysExitOperator(task_id="a", triggering_id="seq").execute({})["dry_run"] is True
    assert airship.requests == []
    assert JourneysExitOperator(task_id="b", triggering_id="seq", dry_run=False).execute({})["ok"] is True
    assert airship.accepted(EXIT_PATH) == [{"triggering_id": "seq"}]


@pytest.mark.parametrize(
    ("word", "dry"), [("yes", True), ("On", True), ("1", True), ("no", False), ("off", False)]
)
def test_the_deployment_setting_takes_the_same_words_as_the_argument(airship, monkeypatch, word, dry):
    monkeypatch.setenv("AIRFLOW__JOURNEYS__DRY_RUN", word)
    result = JourneysExitOperator(task_id="a", triggering_id="seq").execute({})
    assert result.get("dry_run", False) is dry
    assert len(airship.accepted(EXIT_PATH)) == (0 if dry else 1)


def test_a_deployment_setting_that_is_neither_true_nor_false_is_an_error_naming_it(airship, monkeypatch):
    monkeypatch.setenv("AIRFLOW__JOURNEYS__DRY_RUN", "sometimes")
    with pytest.raises(JourneysArgumentError, match=r"\[journeys\] dry_run is 'sometimes'"):
        JourneysExitOperator(task_id="a", triggering_id="seq").execute({})
    assert airship.requests == []


def test_dry_run_that_renders_to_neither_true_nor_false_is_an_error(airship):
    operator = JourneysExitOperator(task_id="exit", triggering_id="seq", dry_run="maybe")
    with pytest.raises(JourneysArgumentError, match="dry_run is 'maybe'"):
        operator.execute({})
    assert airship.requests == []


def test_deferrable_operator_defers_on_a_long_retry_after_and_sends_again_when_resumed(airship):
    airship.answer_next(429, path=TRIGGER_PATH, retry_after=30)
    operator = JourneysTriggerOperator(
        task_id="enroll",
        audience={"segment": "s"},
        triggering_id="seq",
        deferrable=True,
        defer_waits_longer_than=10,
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({})
    assert isinstance(deferred.value.trigger, TimeDeltaTrigger)
    assert deferred.value.method_name == "resume_after_wait"
    assert 29 <= deferred.value.kwargs["waited"] <= 31
    assert [r.status for r in airship.received(TRIGGER_PATH)] == [429]  # nothing slept on the worker

    assert operator.resume_after_wait({}, event=None, **deferred.value.kwargs)["ok"] is True
    assert [r.status for r in airship.received(TRIGGER_PATH)] == [429, 200]


def test_waits_shorter_than_the_threshold_are_slept_not_deferred(airship):
    airship.answer_next(429, path=EXIT_PATH, retry_after=1)
    operator = JourneysExitOperator(
        task_id="exit", triggering_id="seq", deferrable=True, defer_waits_longer_than=5
    )
    assert operator.execute({})["ok"] is True


def test_a_wait_past_max_retry_wait_fails_instead_of_deferring(airship):
    airship.answer_next(429, path=EXIT_PATH, retry_after=30)
    operator = JourneysExitOperator(
        task_id="exit", triggering_id="seq", deferrable=True, defer_waits_longer_than=5, max_retry_wait=10
    )
    with pytest.raises(JourneysRateLimitError):
        operator.execute({})


def test_resumed_operator_has_only_the_rest_of_its_retry_budget(airship):
    airship.answer_next(429, path=EXIT_PATH, retry_after=2)
    operator = JourneysExitOperator(task_id="exit", triggering_id="seq", max_retry_wait=60)
    with pytest.raises(JourneysRateLimitError):
        operator.resume_after_wait({}, event=None, waited=59)


def test_deferrable_defaults_to_airflows_default_deferrable_setting():
    code = (
        "from airflow_provider_journeys.operators.journeys import JourneysExitOperator\n"
        "print(JourneysExitOperator(task_id='e', triggering_id='t').deferrable)"
    )
    env = {**os.environ, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    # The last line: Airflow 3.0 prints log lines to stdout before it.
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_batch_operator_templates_its_ids_and_payload_fields():
    assert set(JourneysBatchTriggerOperator.template_fields) == {
        "ids",
        "selector",
        "triggering_id",
        "entrance_id",
        "global_attributes",
        "airship_conn_id",
        "dry_run_setting",
        "log_body",
    }


def test_batch_operator_refuses_ids_that_rendered_to_a_string_and_says_how_to_pass_a_list(airship):
    operator = JourneysBatchTriggerOperator(
        task_id="enroll", ids="{{ ti.xcom_pull('query') }}", triggering_id="seq"
    )
    operator.render_template_fields({"ti": SimpleNamespace(xcom_pull=lambda task_id: ["a", "b"])})
    with pytest.raises(JourneysArgumentError, match=r"ids=fetch_ids.output.*render_template_as_native_obj"):
        operator.execute({})
    assert airship.requests == []


def test_batch_operator_dry_run_validates_every_chunk_and_needs_no_connection_or_task_instance():
    operator = JourneysBatchTriggerOperator(
        task_id="enroll",
        ids=[f"user-{number}" for number in range(2500)],
        triggering_id="seq",
        airship_conn_id="missing",
        dry_run=True,
    )
    result = operator.execute({})
    assert (result["dry_run"], result["chunks"], result["ids"]) == (True, 3, 2500)


def test_batch_progress_is_kept_per_task_instance_and_run():
    def key(dag_id="d", task_id="t", run_id="r", map_index=-1):
        ti = SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index)
        return VariableBatchProgress.for_task_instance({"ti": ti}).key

    assert key() == key()
    others = {key(dag_id="d2"), key(task_id="t2"), key(run_id="r2"), key(map_index=0), key(map_index=1)}
    assert len(others | {key()}) == 6
    assert len(key(run_id="x" * 250)) < 250  # Airflow's limit on Variable keys


def test_batch_ids_can_be_mapped_with_expand():
    with DAG("batch_mapping", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        mapped = JourneysBatchTriggerOperator.partial(task_id="enroll", triggering_id="seq").expand(
            ids=[["a", "b"], ["c"]]
        )
    assert set(mapped.expand_input.value) == {"ids"}


@pytest.mark.parametrize(
    "unsupported", [{"deferrable": True}, {"deferrable": False}, {"defer_waits_longer_than": 5}]
)
def test_batch_operator_refuses_deferral_arguments_when_the_dag_is_parsed(unsupported):
    [name] = unsupported
    with pytest.raises(JourneysArgumentError, match=f"does not take {name}"):
        JourneysBatchTriggerOperator(task_id="enroll", ids=["a"], triggering_id="seq", **unsupported)
    with pytest.raises(JourneysArgumentError, match=f"does not take {name}"):
        JourneysBatchTriggerOperator.partial(task_id="enroll", triggering_id="seq", **unsupported)


def test_a_dag_wide_deferrable_default_reaches_the_single_operators_and_spares_the_batch():
    with DAG(
        "deferrable_defaults",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        default_args={"deferrable": True, "max_retry_wait": 7},
    ):
        trigger = JourneysTriggerOperator(task_id="enroll", audience={"segment": "s"}, triggering_id="seq")
        batch = JourneysBatchTriggerOperator(task_id="batch", ids=["a"], triggering_id="seq")
    assert (trigger.deferrable, trigger.max_retry_wait) == (True, 7)
    assert batch.max_retry_wait == 7
    assert not hasattr(batch, "deferrable")


def test_parameters_declared_once_on_the_base_can_be_mapped_and_typos_are_still_refused():
    with DAG("shared_mapping", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        mapped = JourneysTriggerOperator.partial(task_id="enroll", triggering_id="seq", dry_run=True).expand(
            audience=[{"segment": "a"}], max_retry_wait=[1, 2], airship_conn_id=["x"]
        )
        assert set(mapped.expand_input.value) == {"audience", "max_retry_wait", "airship_conn_id"}
        with pytest.raises(TypeError, match="max_retry_wiat"):
            JourneysTriggerOperator.partial(task_id="typo", triggering_id="seq").expand(max_retry_wiat=[1])
        with pytest.raises(TypeError, match="retry_server_errors"):
            JourneysExitOperator.partial(task_id="exit", retry_server_errors=True)


def test_the_hook_is_built_once_per_operator():
    operator = JourneysExitOperator(task_id="exit", triggering_id="seq", dry_run=True)
    assert operator.hook is operator.hook
