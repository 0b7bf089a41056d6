"""Import cost at DAG parse: what importing the operators module adds once ``airflow.sdk`` is imported."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from benchmarks.common import PROBES, Outcome, Row, clean_env, median, ms, reproduce, run_probe

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.common import Settings

NAME = "import_cost"
OURS = "airflow_provider_journeys.operators.journeys"
HTTP = "airflow.providers.http.operators.http"
GOAL_SECONDS = 0.005
HEAVY = ("requests", "urllib3")
# `-X importtime` lines: "import time:  self [us] | cumulative | name", the name indented by nesting.
IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def run(settings: Settings, home: Path) -> Outcome:
    env = clean_env(home)
    rounds = settings.repeats(15, 3)
    # One fresh interpreter per round. Ours is imported first, right after airflow.sdk, exactly as the goal
    # states; the HTTP operator after it is not helped, since ours adds nothing but its own modules.
    samples = [run_probe("import_probe.py", [OURS, HTTP], env) for _ in range(rounds)]
    ours = [sample["imports"][0] for sample in samples]
    http = [sample["imports"][1] for sample in samples]
    ours_seconds = median([sample["seconds"] for sample in ours])
    http_seconds = median([sample["seconds"] for sample in http])
    ours_added, http_added = ours[0]["added"], http[0]["added"]
    heavy_loaded = sorted({name for sample in ours for name in HEAVY if sample["watched_loaded"][name]})
    foreign = [name for name in ours_added if not name.startswith("airflow_provider_journeys")]
    rows = [
        Row(
            "import cost: time added after `import airflow.sdk` (median of fresh interpreters)",
            ms(ours_seconds),
            ms(http_seconds),
            ours_seconds / http_seconds,
            f"< {ms(GOAL_SECONDS)}",
            ours_seconds < GOAL_SECONDS,
            reproduce(NAME),
        ),
        Row(
            "import cost: new `sys.modules`; requests/urllib3 imported?",
            f"{len(ours_added)}; {'yes: ' + ', '.join(heavy_loaded) if heavy_loaded else 'no'}",
            f"{len(http_added)}; {_yes_no(http[0]['watched_loaded'], HEAVY)}",
            len(ours_added) / len(http_added),
            "no requests/urllib3",
            not heavy_loaded,
            reproduce(NAME),
        ),
    ]
    notes = [
        f"{NAME}: {rounds} fresh interpreters; ours {_spread(ours)}, HttpOperator {_spread(http)}.",
        f"{NAME}: modules ours adds: {', '.join(ours_added)}"
        + (f" (outside the package: {', '.join(foreign)})" if foreign else ""),
        _without_bytecode_note(home),
        f"{NAME}: where ours spends it (`python -X importtime`, self time, largest first): {_importtime(env)}",
    ]
    return Outcome(rows, notes)


def _without_bytecode_note(home: Path, runs: int = 3) -> str:
    """The same import in this shell's environment as it is, where the package may have no bytecode."""
    env = clean_env(home, bytecode=False)
    seconds = median(
        [run_probe("import_probe.py", [OURS], env)["imports"][0]["seconds"] for _ in range(runs)]
    )
    setting = os.environ.get("PYTHONDONTWRITEBYTECODE")
    return (
        f"{NAME}: with bytecode as this shell leaves it (PYTHONDONTWRITEBYTECODE={setting or 'unset'}, no "
        f"bytecode cache dir): ours {ms(seconds)}, median of {runs}. Measured above with cached bytecode, as "
        "after `pip install` of the wheel; without it every import compiles the package's source."
    )


def _yes_no(loaded: dict[str, bool], names: tuple[str, ...]) -> str:
    found = [name for name in names if loaded[name]]
    return f"yes: {', '.join(found)}" if found else "no"


def _spread(samples: list[dict[str, Any]]) -> str:
    seconds = sorted(sample["seconds"] for sample in samples)
    return f"min {ms(seconds[0])}, median {ms(median(seconds))}, max {ms(seconds[-1])}"


def _importtime(env: dict[str, str], runs: int = 3) -> str:
    """Median self time of each module our import loads, over a few interpreters run with ``-X importtime``."""
    self_seconds: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, seconds in _importtime_once(env).items():
            self_seconds.setdefault(name, []).append(seconds)
    ranked = sorted(((median(found), name) for name, found in self_seconds.items()), reverse=True)
    return ", ".join(f"{name} {ms(seconds)}" for seconds, name in ranked[:8])


def _importtime_once(env: dict[str, str]) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(PROBES / "import_probe.py"), OURS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [match.groups() for match in map(IMPORTTIME_LINE.match, result.stderr.splitlines()) if match]
    # Everything after the last top-level import of airflow.sdk was loaded by our import.
    starts = [
        index for index, (_, _, indent, name) in enumerate(lines) if name == "airflow.sdk" and indent == " "
    ]
    ours = lines[starts[-1] + 1 :] if starts else lines
    # Below 0.1 ms is noise (and the `gc` that interpreter shutdown imports).
    return {name: int(self_us) / 1e6 for self_us, _, _, name in ours if int(self_us) >= 100}
