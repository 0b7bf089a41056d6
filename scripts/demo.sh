#!/usr/bin/env bash
# The provider end to end on this machine, no Airship account needed: installs it into ./.venv, starts the
# local Airship emulator, runs the example DAGs with `airflow dags test` on a throwaway SQLite metadata DB,
# and prints every request the emulator received.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable .

export AIRFLOW_HOME="$repo/.airflow-demo"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$repo/example_dags"
rm -rf "$AIRFLOW_HOME" && mkdir -p "$AIRFLOW_HOME"
emulator_log="$AIRFLOW_HOME/emulator.log"

.venv/bin/python -m airflow_provider_journeys.testing --port 0 >"$emulator_log" 2>&1 &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^export AIRFLOW_CONN_AIRSHIP_DEFAULT=' "$emulator_log" && break
    sleep 0.1
done
connection_line=$(grep '^export AIRFLOW_CONN_AIRSHIP_DEFAULT=' "$emulator_log" || true)
[ -n "$connection_line" ] || { cat "$emulator_log"; echo "The emulator did not start." >&2; exit 1; }
eval "$connection_line"  # the emulator prints it shell-quoted, ready to paste
head -n 1 "$emulator_log"

echo "Migrating the Airflow metadata DB in $AIRFLOW_HOME ..."
.venv/bin/airflow db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/migrate.log"; exit 1; }

logical_date=$(.venv/bin/python -c 'import datetime as d; print(d.date.today() - d.timedelta(days=1))')
for dag_id in example_journeys_daily_enroll example_journeys_exit_after_days example_journeys_fan_out; do
    echo "airflow dags test $dag_id $logical_date ..."
    if ! .venv/bin/airflow dags test "$dag_id" "$logical_date" >"$AIRFLOW_HOME/$dag_id.log" 2>&1; then
        tail -n 60 "$AIRFLOW_HOME/$dag_id.log"
        echo "$dag_id failed; its full log is $AIRFLOW_HOME/$dag_id.log" >&2
        exit 1
    fi
done
sleep 0.3  # the emulator prints what it received every 0.1 s

echo
echo "What the Airship emulator received:"
tail -n +3 "$emulator_log"
