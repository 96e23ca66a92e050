"""Exact enumeration: graphmrf against the plain NumPy floor and pgmpy, in one run.

Cases (issue "Core I"):
  * log Z and all marginals of dense (fully connected) binary Boltzmann machines, 20 and 24 units;
  * log Z of an RBM with 784 visible and 20 hidden units (the 2^20 hidden states enumerated, the
    visible units summed analytically).

Contenders, each run once per round, rounds interleaved (ratios: best of each, and the range of
the per-round ratios):
  * the floor (``floors.py``), the fastest plain NumPy for the workload: the dense states split
    into a high part (rows) and a low part of 14 units whose bit tables, own terms and cross
    factor are built once; a block of rows' ``exp(cross term)`` over all low states is built by
    doubling (one multiply per state, no exp), and Z and the marginals are matrix-vector
    products of it. For the RBM, ``exp(b + W h)`` as a product of two small tables and the sum
    of softplus terms as the log of products of ``1 + e^x`` over groups of units -- no
    transcendental per (state, unit). Its results must equal graphmrf's to 1e-9;
  * graphmrf: ``gm.exact.marginals(prog, return_log_partition=True)`` and
    ``gm.exact.log_partition(prog)``;
  * pgmpy: variable elimination (marginals of every variable in one query; Z by eliminating
    all but one), in a worker process, warmed up by a first query, then timed per round; a
    query that takes longer than ``--pgmpy-once`` seconds is timed once, not repeated; on the RBM
    (804 variables) it is given ``--pgmpy-rbm-limit`` seconds in all.

``--threads`` pins BLAS threads; ``--quick`` runs smaller sizes. Run
``bash benchmarks/setup_env.sh`` once, then ``.bench-venv/bin/python benchmarks/exact.py``.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import floors  # noqa: E402
from floors import Rounds, report, timer  # noqa: E402

import graphmrf as gm  # noqa: E402

PGMPY = r"""
import numpy as np
from pgmpy.factors.discrete import DiscreteFactor
try:
    from pgmpy.models import DiscreteMarkovNetwork as MN
except ImportError:
    from pgmpy.models import MarkovNetwork as MN
from pgmpy.inference import VariableElimination

def setup(spec):
    W, b = np.array(spec["W"]), np.array(spec["b"])
    names = spec["names"]
    n = len(names)
    m = MN()
    m.add_nodes_from(names)
    fs = [DiscreteFactor([names[i]], [2], np.exp([0.0, b[i]])) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if W[i, j] != 0:
                m.add_edge(names[i], names[j])
                fs.append(DiscreteFactor([names[i], names[j]], [2, 2], np.exp(np.array([[0, 0], [0, W[i, j]]]))))
    m.add_factors(*fs)
    ve = VariableElimination(m)
    out = {}
    if spec["task"] == "marginals":
        def run():
            q = ve.query(variables=names, joint=False, show_progress=False)
            out["marginals"] = [float(q[v].values[1] / q[v].values.sum()) for v in names]
    else:
        def run():
            q = ve.query(variables=[names[0]], joint=False, show_progress=False)
            out["log_z"] = float(np.log(q[names[0]].values.sum()))  # unnormalised: its sum is Z
    return out, run  # out is filled by the first (warm-up) query and reported with its timing
"""


def pgmpy_peer(W, b, names, task, args, env, limit=None):
    peer, err = floors.start_peer(
        "pgmpy variable elimination",
        PGMPY,
        {"W": W.tolist(), "b": b.tolist(), "names": names, "task": task},
        limit or args.pgmpy_limit,
        env,
        needs=("pgmpy",),
    )
    if err:
        print(f"  {err}")
        return None, None
    first = peer.info["first"]
    print(f"  pgmpy: build {peer.info['build']:.2f} s, first query {first:.2f} s")
    peer.result = peer.info.get("marginals", peer.info.get("log_z"))
    if first > args.pgmpy_once:
        peer.close()
        return None, first
    return peer, first


def dense_case(n, args, env):
    rng = np.random.default_rng(n)
    A = np.triu(rng.normal(0, 0.3, size=(n, n)), 1)
    W = A + A.T
    b = rng.normal(0, 0.3, size=n)
    prog = gm.compile(gm.hopfield(n, weights=W, bias=b, kind="binary"), dtype=np.float64)
    print(f"\ndense binary Boltzmann machine, {n} units, 2^{n} = {2**n} states")
    fl = floors.DenseExactFloor(W, b)
    lz_f, m_f = fl.marginals()
    m_g, lz_g = gm.exact.marginals(prog, return_log_partition=True)
    lz_f2 = fl.log_partition()
    ok = abs(lz_f - lz_g) < 1e-9 * abs(lz_g) and abs(lz_f2 - lz_g) < 1e-9 * abs(lz_g)
    ok = ok and np.allclose(m_f, m_g["units"], rtol=0, atol=1e-12)
    print(
        f"  check: floor and graphmrf log Z {lz_f:.12f} / {lz_g:.12f}, largest marginal difference "
        f"{np.abs(m_f - m_g['units']).max():.1e}: {'ok' if ok else 'FAILED'}"
    )
    if not ok:
        raise SystemExit("the floor and graphmrf disagree")
    print("  log Z and all marginals:")
    contenders = {
        "floor": timer(fl.marginals),
        "graphmrf": timer(lambda: gm.exact.marginals(prog, return_log_partition=True)),
    }
    peer, first = pgmpy_peer(W, b, [f"x{i}" for i in range(n)], "marginals", args, env)
    if peer:
        contenders["pgmpy variable elimination"] = peer
        gap = np.abs(np.subtract(peer.result, m_g["units"])).max()
        print(f"  pgmpy's marginals differ from graphmrf's by at most {gap:.1e}")
    r = Rounds(contenders, args.rounds)
    if peer:
        peer.close()
    report(r, 2**n, "states/s")
    if first is not None and peer is None:
        print(
            f"  pgmpy variable elimination: {first:.2f} s, once (over --pgmpy-once); "
            f"graphmrf vs pgmpy {first / r.best('graphmrf'):.1f}x"
        )
    print("  log Z alone:")
    r2 = Rounds(
        {"floor": timer(fl.log_partition), "graphmrf": timer(lambda: gm.exact.log_partition(prog))}, args.rounds
    )
    report(r2, 2**n, "states/s")
    return r.best("graphmrf"), r2.best("graphmrf")


def rbm_case(nv, nh, args, env):
    rng = np.random.default_rng(1)
    W = rng.normal(0, 0.1, size=(nv, nh))
    b = rng.normal(0, 0.1, size=nv)
    c = rng.normal(0, 0.1, size=nh)
    g = gm.rbm(nv, nh, seed=0)
    g.edges["v", "h"]["weight"] = W
    g.nodes["v"]["bias"], g.nodes["h"]["bias"] = b, c
    prog = gm.compile(g, dtype=np.float64)
    print(f"\nRBM {nv} visible x {nh} hidden: log Z, 2^{nh} hidden states ({nv} visible units summed per state)")
    fl = floors.RBMExactFloor(W, b, c)
    lz_f, lz_g = fl.log_partition(), gm.exact.log_partition(prog)
    ok = abs(lz_f - lz_g) < 1e-9 * abs(lz_g)
    print(f"  check: floor and graphmrf log Z {lz_f:.10f} / {lz_g:.10f}: {'ok' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit("the floor and graphmrf disagree")
    contenders = {"floor": timer(fl.log_partition), "graphmrf": timer(lambda: gm.exact.log_partition(prog))}
    Wfull = np.zeros((nv + nh, nv + nh))
    Wfull[:nv, nv:] = W
    Wfull = Wfull + Wfull.T
    names = [f"v{i}" for i in range(nv)] + [f"h{j}" for j in range(nh)]
    peer, first = pgmpy_peer(Wfull, np.concatenate([b, c]), names, "logz", args, env, limit=args.pgmpy_rbm_limit)
    if peer:
        contenders["pgmpy variable elimination"] = peer
        print(f"  pgmpy's log Z {peer.result:.10f} (graphmrf {lz_g:.10f})")
    r = Rounds(contenders, args.rounds_rbm, warmup=0)  # the check above ran both once already
    if peer:
        peer.close()
    report(r, 2**nh, "states/s", extra=lambda k: f"{r.best(k) / (2**nh * nv) * 1e9:6.2f} ns per (state, visible unit)")
    if first is not None and peer is None:
        print(f"  pgmpy variable elimination: {first:.2f} s, once; graphmrf vs pgmpy {first / r.best('graphmrf'):.1f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (16/18 units, RBM 784x12)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for every contender (default 1)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--pgmpy-limit", type=float, default=90, help="seconds pgmpy may take in all, per case")
    ap.add_argument("--pgmpy-rbm-limit", type=float, default=30, help="seconds pgmpy may take on the RBM")
    ap.add_argument("--pgmpy-once", type=float, default=10, help="a pgmpy query slower than this is not repeated")
    args = ap.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.rounds_rbm = min(args.rounds, 2 if not args.quick else 3)  # graphmrf takes about 30 s a run here
    env = floors.pin_threads(args.threads)
    t0 = time.perf_counter()
    print(f"graphmrf {gm.__version__}; {floors.machine(args.threads)}")
    sizes = (16, 18) if args.quick else (20, 24)
    for n in sizes:
        t_gm, t_lz = dense_case(n, args, env)
    print(
        f"\n2^{sizes[-1]} dense states with graphmrf: log Z in {t_lz:.3f} s, log Z + marginals in {t_gm:.3f} s "
        "(target: under 2 s)"
    )
    rbm_case(784, 12 if args.quick else 20, args, env)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
