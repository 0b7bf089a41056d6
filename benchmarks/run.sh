#!/usr/bin/env bash
# Prints every figure of docs/performance.md (about 2 minutes on 2 cores): bash benchmarks/run.sh [NAME ...]
# Installs the package (editable) and benchmarks/requirements.txt into $BENCH_VENV, else the repository's
# .venv if there is one, else benchmarks/.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-benchmarks/.venv}
if [ -z "${BENCH_VENV:-}" ] && [ -x .venv/bin/python ]; then venv=.venv; fi
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --editable . --requirement benchmarks/requirements.txt >&2
exec "$venv/bin/python" benchmarks/run.py "$@"
