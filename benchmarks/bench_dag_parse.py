"""Parse time of an example DAG against the same DAG written with HttpOperator, as a user without this
provider would (``http_journeys_daily_enroll.py``)."""

from common import BENCH_DIR, REPO_ROOT, Emulator, Row, goal, ms, run_probe

OURS = str(REPO_ROOT / "example_dags" / "example_journeys_daily_enroll.py")
HTTP = str(BENCH_DIR / "http_journeys_daily_enroll.py")
ROUNDS = 15
# parse_probe.py's modes: what is imported before the parse forks.
MODES = {
    "cold": "DAG file parse, fresh process (`example_journeys_daily_enroll`)",
    "processor": "DAG file parse as Airflow's DAG processor does it (it pre-imports the `airflow.*` modules "
    "a file uses, not ours)",
    "everything": "DAG file parse with every import pre-imported, ours too (building the DAG alone)",
}


def run(emulator: Emulator) -> list[Row]:
    rows = []
    for mode, label in MODES.items():
        seconds = run_probe("parse_probe.py", mode, str(ROUNDS), OURS, HTTP)
        ours, http = seconds[OURS], seconds[HTTP]
        no_slower = "-" if mode == "everything" else goal("no slower", ours <= http)
        rows.append(Row(label, ms(ours), f"`HttpOperator`: {ms(http)}", f"{ours / http:.2f}", no_slower))
    return rows
