#!/usr/bin/env bash
# Runs the benchmarks against the local Airship emulator and prints one markdown table of ratios.
#
#   bash benchmarks/run.sh                      # all of them (about 3-4 minutes on 2 cores)
#   bash benchmarks/run.sh import_cost scale    # some of them
#   bash benchmarks/run.sh --quick              # few repeats: checks they run, numbers are rough
#
# The virtualenv: $BENCH_VENV if set, else the repository's .venv if present, else benchmarks/.venv
# (created). It gets the package (editable) and benchmarks/requirements.txt, which holds what only the
# benchmarks need (the HTTP provider they compare against).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${BENCH_VENV:-}" ]; then
    venv=$BENCH_VENV
elif [ -x .venv/bin/python ]; then
    venv=.venv
else
    venv=benchmarks/.venv
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "Creating $venv ..." >&2
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
echo "Installing the package and benchmarks/requirements.txt into $venv ..." >&2
"$venv/bin/python" -m pip install --quiet --editable . --requirement benchmarks/requirements.txt >&2

exec "$venv/bin/python" benchmarks/run.py "$@"
