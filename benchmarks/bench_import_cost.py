"""What a DAG file pays to import the operators once it has imported Airflow's base operator, against
HttpOperator."""

from typing import Any

from common import Emulator, Row, goal, median, ms, run_probe

OURS = "airflow_provider_journeys.operators.journeys"
HTTP = "airflow.providers.http.operators.http"
ROUNDS = 15
GOAL_SECONDS = 0.005


def run(emulator: Emulator) -> list[Row]:
    run_probe("import_probe.py", OURS)  # writes the package's bytecode, which an installed wheel comes with
    samples: dict[str, list[dict[str, Any]]] = {OURS: [], HTTP: []}
    for _ in range(ROUNDS):
        for module, found in samples.items():
            found.append(run_probe("import_probe.py", module))
    ours, http = (median(sample["seconds"] for sample in samples[module]) for module in (OURS, HTTP))
    ours_last, http_last = samples[OURS][-1], samples[HTTP][-1]
    return [
        Row(
            f"import of the operators module after the base operator (fresh interpreter, median of {ROUNDS})",
            f"{ms(ours)}, {ours_last['added']} modules, {_stacks(ours_last['http_stacks'])}",
            f"`HttpOperator`: {ms(http)}, {http_last['added']} modules, {_stacks(http_last['http_stacks'])}",
            f"{ours / http:.3f}",
            goal("< 5 ms, no requests/urllib3", ours < GOAL_SECONDS and not ours_last["http_stacks"]),
        )
    ]


def _stacks(loaded: str) -> str:
    return f"loads {loaded}" if loaded else "no requests/urllib3"
