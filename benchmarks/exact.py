"""Exact enumeration: graphmrf against a plain NumPy floor and pgmpy, in one run.

Cases (issue "Core I"):
  * log Z and all marginals of dense (fully connected) binary Boltzmann machines, 20 and 24 units;
  * log Z of an RBM with 784 visible and 20 hidden units (graphmrf and the reference enumerate the
    2^20 hidden states and sum the visible units analytically).

References written here:
  * ``numpy``: the plain vectorised program a NumPy user writes -- states in chunks, energies by
    matrix products, a stable softplus ``np.logaddexp(0, x)``, one log-sum-exp;
  * ``numpy+``: the same with the softplus graphmrf uses, ``max(x,0) + log1p(exp(-|x|))``
    (a tuned floor, so that the ratio shows what the library adds or costs beyond that trick);
  * ``pgmpy``: variable elimination (marginals of every variable in one query, and Z by
    eliminating every variable), run in a subprocess with a time limit, where it applies.

Run ``bash benchmarks/setup_env.sh`` once, then ``.bench-venv/bin/python benchmarks/exact.py``.
Without pgmpy installed the pgmpy column says so. ``--quick`` runs smaller sizes.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import graphmrf as gm


def bits(idx, n):
    return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.float64)


def ref_dense_neg_energies(W, b, chunk=2**16):
    """-E of every state of p(s) ~ exp(b.s + s.W.s/2), s in {0,1}^n, in chunks."""
    n = b.size
    N = 2**n
    lw = np.empty(N)
    for s in range(0, N, chunk):
        S = bits(np.arange(s, min(s + chunk, N)), n)
        lw[s : s + S.shape[0]] = S @ b + 0.5 * np.einsum("ij,ij->i", S @ W, S)
    return lw


def ref_dense_log_z(W, b, chunk=2**16):
    """log Z alone, by plain NumPy: energies of chunks of states, one log-sum-exp."""
    lw = ref_dense_neg_energies(W, b, chunk)
    m = lw.max()
    return m + np.log(np.exp(lw - m).sum())


def ref_dense(W, b, chunk=2**16):
    """log Z and marginals by plain NumPy (a second pass over the states for the marginals)."""
    n = b.size
    N = 2**n
    lw = ref_dense_neg_energies(W, b, chunk)
    m = lw.max()
    p = np.exp(lw - m)
    z = p.sum()
    marg = np.zeros(n)
    for s in range(0, N, chunk):
        S = bits(np.arange(s, min(s + chunk, N)), n)
        marg += p[s : s + S.shape[0]] @ S
    return m + np.log(z), marg / z


def softplus_logaddexp(x):
    return np.logaddexp(0, x)


def softplus_tuned(x):
    a = np.abs(x)
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.log1p(a, out=a)
    a += np.maximum(x, 0)
    return a


def ref_rbm(W, b, c, softplus, chunk=2**12):
    """log Z of an RBM, enumerating hidden states and summing visible ones analytically."""
    nh = c.size
    acc = -np.inf
    for s in range(0, 2**nh, chunk):
        H = bits(np.arange(s, min(s + chunk, 2**nh)), nh)
        lw = H @ c + softplus(H @ W.T + b).sum(axis=1)
        m = lw.max()
        acc = np.logaddexp(acc, m + np.log(np.exp(lw - m).sum()))
    return acc


PGMPY_SCRIPT = r"""
import json, sys, time, itertools
import numpy as np
from pgmpy.factors.discrete import DiscreteFactor
try:
    from pgmpy.models import DiscreteMarkovNetwork as MN
except ImportError:
    from pgmpy.models import MarkovNetwork as MN
from pgmpy.inference import VariableElimination
spec = json.loads(sys.stdin.read())
W, b = np.array(spec["W"]), np.array(spec["b"])
names = spec["names"]
n = len(names)
m = MN()
m.add_nodes_from(names)
fs = []
for i in range(n):
    fs.append(DiscreteFactor([names[i]], [2], np.exp([0.0, b[i]])))
for i in range(n):
    for j in range(i + 1, n):
        if W[i, j] != 0:
            m.add_edge(names[i], names[j])
            fs.append(DiscreteFactor([names[i], names[j]], [2, 2], np.exp(np.array([[0, 0], [0, W[i, j]]]))))
m.add_factors(*fs)
ve = VariableElimination(m)
t = time.perf_counter()
task = spec["task"]
if task == "marginals":
    q = ve.query(variables=names[: spec.get("n_marg", n)], joint=False, show_progress=False)
    out = [float(q[v].values[1] / q[v].values.sum()) for v in names[: spec.get("n_marg", n)]]
else:
    q = ve.query(variables=[names[0]], joint=False, show_progress=False)
    out = float(np.log(q[names[0]].values.sum()))  # VE leaves the factor unnormalised: its sum is Z
print(json.dumps({"seconds": time.perf_counter() - t, "out": out}))
"""


def run_pgmpy(W, b, names, task, limit, n_marg=None):
    try:
        import pgmpy  # noqa: F401
    except ImportError:
        return None, "not installed (bash benchmarks/setup_env.sh)"
    spec = {"W": W.tolist(), "b": b.tolist(), "names": names, "task": task}
    if n_marg:
        spec["n_marg"] = n_marg
    try:
        r = subprocess.run([sys.executable, "-c", PGMPY_SCRIPT], input=json.dumps(spec), capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return None, f"> {limit} s (stopped)"
    if r.returncode < 0:
        return None, f"failed: killed by signal {-r.returncode} (out of memory on this machine)"
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().splitlines() if "Error" in ln] or r.stderr.strip().splitlines()
        return None, "failed: " + lines[-1].strip()[:160]
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def timed(fn, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def row(name, states, secs, ref=None):
    rate = states / secs
    ratio = "" if ref is None else f"{ref / secs:8.2f}x"
    print(f"  {name:<34} {secs:9.4f} s  {rate:10.3e} states/s  {ratio}")


def dense_case(n, limit):
    rng = np.random.default_rng(n)
    A = np.triu(rng.normal(0, 0.3, size=(n, n)), 1)
    W = A + A.T
    b = rng.normal(0, 0.3, size=n)
    g = gm.hopfield(n, weights=W, bias=b, kind="binary")
    prog = gm.compile(g, dtype=np.float64)
    print(f"\ndense binary Boltzmann machine, {n} units, 2^{n} = {2**n} states: log Z + all marginals")
    t_ref, (lz_ref, m_ref) = timed(lambda: ref_dense(W, b))
    t_gm, (m, lz) = timed(lambda: gm.exact.marginals(prog, return_log_partition=True))
    m = m["units"]
    assert abs(lz - lz_ref) < 1e-9 * abs(lz_ref) and np.allclose(m, m_ref, atol=1e-12), "graphmrf and the reference disagree"
    t_ref_lz, _ = timed(lambda: ref_dense_log_z(W, b))
    t_lz, _ = timed(lambda: gm.exact.log_partition(prog))
    row("numpy reference", 2**n, t_ref)
    row("graphmrf (ratio = speed-up)", 2**n, t_gm, t_ref)
    row("numpy reference, log Z alone", 2**n, t_ref_lz)
    row("graphmrf, log Z alone", 2**n, t_lz, t_ref_lz)
    res, err = run_pgmpy(W, b, [f"x{i}" for i in range(n)], "marginals", limit)
    if err:
        print(f"  {'pgmpy variable elimination':<34} {err}")
    else:
        assert np.allclose(res["out"], m_ref, atol=1e-8)
        row("pgmpy variable elimination", 2**n, res["seconds"])
        print(f"  graphmrf vs pgmpy: {res['seconds'] / t_gm:.1f}x")
    return t_gm, t_lz


def rbm_case(nv, nh, limit):
    rng = np.random.default_rng(1)
    W = rng.normal(0, 0.1, size=(nv, nh))
    b = rng.normal(0, 0.1, size=nv)
    c = rng.normal(0, 0.1, size=nh)
    g = gm.rbm(nv, nh, seed=0)
    g.edges["v", "h"]["weight"] = W
    g.nodes["v"]["bias"], g.nodes["h"]["bias"] = b, c
    prog = gm.compile(g, dtype=np.float64)
    print(f"\nRBM {nv} visible x {nh} hidden: log Z, enumerating 2^{nh} hidden states ({nv} visible summed per state)")
    t_ref, lz_ref = timed(lambda: ref_rbm(W, b, c, softplus_logaddexp), repeat=2)
    t_tuned, lz_tuned = timed(lambda: ref_rbm(W, b, c, softplus_tuned), repeat=2)
    t_gm, lz = timed(lambda: gm.exact.log_partition(prog), repeat=2)
    assert abs(lz - lz_ref) < 1e-9 * abs(lz_ref) and abs(lz_tuned - lz_ref) < 1e-9 * abs(lz_ref)
    row("numpy reference (np.logaddexp)", 2**nh, t_ref)
    row("numpy+ (tuned softplus)", 2**nh, t_tuned)
    row("graphmrf (ratio vs numpy)", 2**nh, t_gm, t_ref)
    print(f"  graphmrf vs numpy+: {t_tuned / t_gm:.2f}x")
    Wfull = np.zeros((nv + nh, nv + nh))
    Wfull[:nv, nv:] = W
    Wfull = Wfull + Wfull.T
    res, err = run_pgmpy(Wfull, np.concatenate([b, c]), [f"v{i}" for i in range(nv)] + [f"h{j}" for j in range(nh)], "logz", limit)
    if err:
        print(f"  {'pgmpy variable elimination':<34} {err}")
    else:
        if abs(res["out"] - lz_ref) > 1e-6 * abs(lz_ref):
            print(f"  note: pgmpy's log Z {res['out']:.6f} differs from the exact {lz_ref:.6f}")
        row("pgmpy variable elimination", 2**nh, res["seconds"])
        print(f"  graphmrf vs pgmpy: {res['seconds'] / t_gm:.1f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (16/18 units, RBM 784x12)")
    ap.add_argument("--pgmpy-limit", type=float, default=300, help="seconds before a pgmpy run is stopped")
    args = ap.parse_args()
    print(f"graphmrf {gm.__version__}, numpy {np.__version__}, {os.cpu_count()} cores")
    sizes = (16, 18) if args.quick else (20, 24)
    for n in sizes:
        t_gm, t_lz = dense_case(n, args.pgmpy_limit)
    print(f"\n2^{sizes[-1]} dense states: log Z in {t_lz:.3f} s, log Z + marginals in {t_gm:.3f} s (target: under 2 s)")
    rbm_case(784, 12 if args.quick else 20, args.pgmpy_limit)


if __name__ == "__main__":
    main()
