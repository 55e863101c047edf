#!/usr/bin/env bash
# Create (or update) a virtualenv with Airflow, the provider (editable) and the test tools.
# Usage: scripts/bootstrap.sh VENV AIRFLOW_VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
airflow_version=${2:-3.3.2}
python=${PYTHON:-python3}
stamp="$venv/.installed-$airflow_version"
py_minor=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
constraints="constraints/airflow-$airflow_version-py$py_minor.txt"

newest() { ls -t "$@" 2>/dev/null | head -n 1; }
if [ -f "$stamp" ] && [ "$(newest "$stamp" pyproject.toml "$constraints")" = "$stamp" ]; then
  exit 0
fi

# uv installs Airflow in seconds; it lives in its own small tool venv.
if [ ! -x .tools/bin/uv ]; then
  echo "Installing uv into .tools ..."
  "$python" -m venv .tools
  .tools/bin/pip install -q --disable-pip-version-check uv
fi
[ -x "$venv/bin/python" ] || .tools/bin/uv venv -q --python "$python" "$venv"

args=(--compile-bytecode --python "$venv/bin/python" -e ".[test,openlineage]" "apache-airflow==$airflow_version")
if [ -f "$constraints" ]; then
  args+=(-c "$constraints")
else
  echo "No $constraints: resolving without constraints." >&2
fi
echo "Installing Airflow $airflow_version and the provider into $venv ..."
start=$(date +%s)
.tools/bin/uv pip install -q "${args[@]}"
echo "Installed in $(( $(date +%s) - start )) s."
rm -f "$venv"/.installed-*
touch "$stamp"
