"""DAG file parse time: the example DAGs against the same DAGs hand-written with the HTTP provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchmarks.common import BENCH_DIR, REPO_ROOT, Outcome, Row, clean_env, median, ms, reproduce, run_probe

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.common import Settings

NAME = "dag_parse"
PAIRS = (
    ("daily_enroll", "example_journeys_daily_enroll.py", "http_journeys_daily_enroll.py"),
)
MODES = {
    "cold": "cold: only airflow.sdk imported before",
    "processor": "as Airflow's DAG processor does: the files' airflow.* imports pre-imported",
}


def run(settings: Settings, home: Path) -> Outcome:
    rounds = settings.repeats(15, 3)
    files = [str(path) for _, ours, http in PAIRS for path in (_ours(ours), _http(http))]
    rows, notes = [], []
    for mode, meaning in MODES.items():
        samples = run_probe("parse_probe.py", [str(rounds), mode, *files], clean_env(home))
        notes.extend(_problems(samples))
        for label, ours_file, http_file in PAIRS:
            ours = _median_seconds(samples, _ours(ours_file))
            http = _median_seconds(samples, _http(http_file))
            rows.append(
                Row(
                    f"DAG parse, {meaning}: {label}",
                    ms(ours),
                    ms(http),
                    ours / http,
                    "≤ 1 (no slower)",
                    ours <= http,
                    reproduce(NAME),
                )
            )
    notes.append(f"{NAME}: median of {rounds} parses per file and mode, each in a child forked for it.")
    notes.append(_everything_pre_imported(rounds, files, home))
    return Outcome(rows, notes)


def _everything_pre_imported(rounds: int, files: list[str], home: Path) -> str:
    """Where ours loses in processor mode: the same parses with this provider pre-imported too."""
    samples = run_probe("parse_probe.py", [str(rounds), "everything", *files], clean_env(home))
    times = ", ".join(
        f"{label} ours {ms(_median_seconds(samples, _ours(ours)))} vs HTTP {ms(_median_seconds(samples, _http(http)))}"
        for label, ours, http in PAIRS
    )
    return (
        f"{NAME}: with every module the files import pre-imported, this provider's too (not something "
        f"Airflow does; it isolates the import): {times}."
    )


def _ours(name: str) -> Path:
    return REPO_ROOT / "example_dags" / name


def _http(name: str) -> Path:
    return BENCH_DIR / "http_dags" / name


def _median_seconds(samples: list[dict[str, Any]], path: Path) -> float:
    return median([sample["seconds"] for sample in samples if sample["path"] == str(path)])


def _problems(samples: list[dict[str, Any]]) -> list[str]:
    """A file that did not parse into one DAG would make its time meaningless: say so."""
    bad = {sample["path"]: sample for sample in samples if sample["errors"] or sample["dags"] != 1}
    return [
        f"{NAME}: WARNING {path} parsed into {sample['dags']} DAG(s) with errors {sample['errors']}"
        for path, sample in bad.items()
    ]
