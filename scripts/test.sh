#!/usr/bin/env bash
# Installs the provider and its test tools into a virtualenv, then runs the linters, the type checker and
# the whole test suite (which starts its own Airship emulators and Airflow metadata DBs): first the unit
# tests, spread over four pytest workers (most of their time is real waits for retries and timeouts), then
# the tests that start Airflow processes or build wheels (marked `integration`), on two workers that take
# a test file each (its server or wheel is built once); the browser test of the connection form (marked
# `browser`) with the newest Airflow only. Each worker has an AIRFLOW_HOME and metadata DB of its own.
#
# Extra arguments replace that plan with one pytest run of their own: `bash scripts/test.sh -m "not
# integration" -n 4` runs only the unit tests; `-m airflow` only the tests that run real Airflow.
#
# AIRFLOW_VERSION=<x.y.z> tests against that Airflow release instead of the newest, in a virtualenv of its
# own (.venv-airflow-<x.y.z>), with the pins its line needs (scripts/airflow-lines.txt). The linters and
# the type checker run with the newest Airflow only: they check this code, typed against the newest
# Airflow's own types, and give the same verdict on every line.
set -euo pipefail
cd "$(dirname "$0")/.."

lines=scripts/airflow-lines.txt
newest=$(awk '!/^#/ && NF { release = $1 } END { print release }' "$lines")
release=${AIRFLOW_VERSION:-}

venv=.venv
packages=(--editable ".[test]")
if [ -n "$release" ]; then
    venv=".venv-airflow-$release"
    packages+=("apache-airflow==$release")
    # The pins of the release's line (major.minor), whichever release of that line is asked for.
    read -r -a pins <<<"$(awk -v line="${release%.*}" '!/^#/ && NF {
        split($1, v, "."); if (v[1] "." v[2] == line) for (i = 3; i <= NF; i++) printf "%s ", $i }' "$lines")"
    packages+=(${pins[@]+"${pins[@]}"})
fi
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "${packages[@]}"
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))')
echo "Testing with apache-airflow $installed"

integration="integration and not browser"
if [ "$installed" = "$newest" ] || [ -z "$release" ]; then
    "$venv/bin/ruff" check .
    "$venv/bin/ruff" format --check .
    "$venv/bin/mypy"
    # The browser test checks the newest line's connection form (Airflow 3.3's React UI).
    bash scripts/install-browser.sh
    integration="integration"
fi

if [ "$#" -gt 0 ]; then
    "$venv/bin/pytest" "$@"
else
    "$venv/bin/pytest" -m "not integration" -n 4
    "$venv/bin/pytest" -m "$integration" -n 2 --dist loadfile
fi
