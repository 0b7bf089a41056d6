#!/usr/bin/env bash
# Installs the provider and its test tools into a virtualenv, then runs the linters, the type checker and
# the whole test suite (which starts its own Airship emulators and Airflow metadata DBs). Extra arguments
# go to pytest: `bash scripts/test.sh -m "not integration" -n 4` skips the tests that start Airflow processes
# and spreads the rest over four workers (most of their time is real waits for retries and timeouts).
# AIRFLOW_VERSION=<x.y.z> tests against that Airflow release instead of the newest, in a virtualenv of its
# own (.venv-airflow-<x.y.z>); CI runs both ends of the supported range.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
packages=(--editable ".[test]")
if [ -n "${AIRFLOW_VERSION:-}" ]; then
    venv=".venv-airflow-$AIRFLOW_VERSION"
    packages+=("apache-airflow==$AIRFLOW_VERSION")
fi
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "${packages[@]}"
echo "Testing with apache-airflow $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))')"

"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
"$venv/bin/mypy"
"$venv/bin/pytest" "$@"
