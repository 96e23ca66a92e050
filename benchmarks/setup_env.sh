#!/usr/bin/env bash
# Make the benchmarks' own virtual environment (.bench-venv) with graphmrf and the peers.
# Peers never enter graphmrf's dependencies. Usage: bash benchmarks/setup_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .bench-venv
. .bench-venv/bin/activate
python -m pip install --quiet -e .
python -m pip install --quiet "pgmpy==${PGMPY_VERSION:-1.1.2}"
python -c "import pgmpy; print('pgmpy', pgmpy.__version__)"
