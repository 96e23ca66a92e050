"""Gibbs sampling speed: graphmrf against plain NumPy and thrml, in one run.

Cases (issue "Core II"):
  * checkerboard Gibbs on a 2-D periodic Ising lattice at beta = 0.44: L = 512 with one chain,
    and L = 128 with 16 chains -- spin updates per second;
  * block Gibbs on an RBM with 784 visible and 500 hidden binary units, 1000 chains -- unit
    updates per second;
  * sequential (one unit at a time) Gibbs on a dense 100-unit Boltzmann machine, 1000 chains --
    sweeps per second.

graphmrf is timed through its user-facing entry point, ``gm.sample`` (energies not recorded).
References written here: a hand-written NumPy sub-lattice update (neighbour sums by np.roll)
and a plain NumPy matrix-product RBM sweep. thrml (JAX on the CPU) runs its own block Gibbs
program on the same models in a subprocess with a time limit; its JIT compilation is timed
apart from sampling, and its sampling time is the best of three runs. Run ``bash benchmarks/setup_env.sh`` (and ``pip install thrml==0.1.4``
into ``.bench-venv``) first; ``--quick`` runs smaller sizes.
"""

import argparse
import json
import subprocess
import sys
import time

import numpy as np

import graphmrf as gm


def best(*fns, repeat=5):
    """Best-of-``repeat`` time of each function, measured interleaved (a, b, a, b, ...) so
    that a noisy machine slows both sides alike."""
    times = [np.inf] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i] = min(times[i], time.perf_counter() - t0)
    return times if len(fns) > 1 else times[0]


def ref_ising(L, chains, sweeps, beta, seed=0):
    rng = np.random.default_rng(seed)
    S = np.where(rng.random((chains, L, L)) < 0.5, 1.0, -1.0).astype(np.float32)
    i, j = np.indices((L, L))
    black = ((i + j) % 2 == 0)[None]
    b2 = np.float32(2 * beta)

    def run():
        nonlocal S
        for _ in range(sweeps):
            for mask in (black, ~black):
                nb = np.roll(S, 1, 1) + np.roll(S, -1, 1) + np.roll(S, 1, 2) + np.roll(S, -1, 2)
                p = 1 / (1 + np.exp(-b2 * nb))
                new = np.where(rng.random(S.shape, dtype=np.float32) < p, np.float32(1), np.float32(-1))
                S = np.where(mask, new, S)

    return run


def ref_rbm(nv, nh, chains, sweeps, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.01, (nv, nh)).astype(np.float32)
    b, c = np.zeros(nv, np.float32), np.zeros(nh, np.float32)
    v = (rng.random((chains, nv)) < 0.5).astype(np.float32)

    def run():
        nonlocal v
        for _ in range(sweeps):
            h = (rng.random((chains, nh), dtype=np.float32) < 1 / (1 + np.exp(-(v @ W + c)))).astype(np.float32)
            v = (rng.random((chains, nv), dtype=np.float32) < 1 / (1 + np.exp(-(h @ W.T + b)))).astype(np.float32)

    return run


THRML = r"""
import json, sys, time
import jax, jax.numpy as jnp
import thrml as th
from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init
spec = json.loads(sys.stdin.read())
t0 = time.perf_counter()
if spec["case"] == "ising":
    L = spec["L"]
    nodes = [th.SpinNode() for _ in range(L * L)]
    idx = lambda i, j: (i % L) * L + (j % L)
    edges = [(nodes[idx(i, j)], nodes[idx(i, j + 1)]) for i in range(L) for j in range(L)]
    edges += [(nodes[idx(i, j)], nodes[idx(i + 1, j)]) for i in range(L) for j in range(L)]
    blocks = [th.Block([nodes[idx(i, j)] for i in range(L) for j in range(L) if (i + j) % 2 == k]) for k in (0, 1)]
    beta = spec["beta"]
else:
    nv, nh = spec["nv"], spec["nh"]
    vis = [th.SpinNode() for _ in range(nv)]
    hid = [th.SpinNode() for _ in range(nh)]
    nodes = vis + hid
    edges = [(a, b) for a in vis for b in hid]
    blocks = [th.Block(vis), th.Block(hid)]
    beta = 1.0
model = IsingEBM(nodes, edges, jnp.zeros(len(nodes)), 0.01 * jnp.ones(len(edges)) if spec["case"] == "rbm" else jnp.ones(len(edges)), jnp.array(beta))
program = IsingSamplingProgram(model, blocks, clamped_blocks=[])
t_build = time.perf_counter() - t0
chains, sweeps = spec["chains"], spec["sweeps"]
key = jax.random.key(0)
init = hinton_init(key, model, blocks, (chains,))
keys = jax.random.split(key, chains)
observe = [th.Block(nodes[:1])]

def run(n):
    sched = th.SamplingSchedule(n_warmup=n - 1, n_samples=1, steps_per_sample=1)
    f = jax.jit(jax.vmap(lambda k, i: th.sample_states(k, program, sched, i, [], observe)))
    return f

f = run(sweeps)
t0 = time.perf_counter()
jax.block_until_ready(f(keys, init))
t_first = time.perf_counter() - t0
t_run = float("inf")
for _ in range(spec.get("repeat", 3)):  # best of a few runs, as for graphmrf
    t0 = time.perf_counter()
    jax.block_until_ready(f(keys, init))
    t_run = min(t_run, time.perf_counter() - t0)
print(json.dumps({"build": t_build, "first": t_first, "run": t_run}))
"""


def run_thrml(spec, limit):
    try:
        import thrml  # noqa: F401
    except ImportError:
        return None, "not installed (pip install thrml==0.1.4 into .bench-venv)"
    try:
        r = subprocess.run([sys.executable, "-c", THRML], input=json.dumps(spec), capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return None, f"> {limit:.0f} s to build, compile and run (stopped)"
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if "Error" in ln] or r.stderr.splitlines() or ["?"]
        return None, f"failed: {lines[-1][:160]}"
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def line(name, rate, unit, ref=None):
    ratio = "" if ref is None else f"{rate / ref:8.2f}x"
    print(f"  {name:<40} {rate:11.3e} {unit}  {ratio}")


def ising_case(L, chains, sweeps, limit):
    print(f"\nIsing {L}x{L} periodic, beta = 0.44, {chains} chain(s), checkerboard Gibbs")
    t0 = time.perf_counter()
    prog = gm.compile(gm.ising(L, periodic=True), seed=0)
    t_compile = time.perf_counter() - t0
    state = prog.random_state(chains, seed=0)
    rng = np.random.default_rng(0)

    def ours():
        nonlocal state
        state = gm.sample(prog, sweeps, chains=chains, burn_in=sweeps - 1, beta=0.44, init=state, seed=rng, record_energy=False).state

    n_upd = L * L * chains * sweeps
    t_gm, t_ref = best(ours, ref_ising(L, chains, sweeps, 0.44))
    line("numpy sub-lattice reference", n_upd / t_ref, "updates/s")
    line("graphmrf (ratio vs reference)", n_upd / t_gm, "updates/s", n_upd / t_ref)
    print(f"  graphmrf: build + compile {t_compile:.2f} s")
    res, err = run_thrml({"case": "ising", "L": L, "chains": chains, "sweeps": sweeps, "beta": 0.44}, limit)
    if err:
        print(f"  {'thrml 0.1.4':<40} {err}")
    else:
        line("thrml 0.1.4 (jitted run)", n_upd / res["run"], "updates/s")
        print(f"  thrml: build {res['build']:.2f} s, first call (JIT) {res['first']:.2f} s; graphmrf vs thrml: {res['run'] / t_gm:.1f}x")
    parts, floor = numpy_floor(prog, chains)
    print(f"  per unit update: graphmrf {t_gm / n_upd * 1e9:.2f} ns; NumPy primitives alone {floor:.2f} ns (" + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()) + ")")
    if not err:
        print(f"  3x thrml needs {res['run'] / n_upd / 3 * 1e9:.2f} ns per update; the primitives' floor is {floor / (res['run'] / n_upd / 3 * 1e9):.2f}x that")


def numpy_floor(prog, chains, repeat=50):
    """The least one checkerboard update can cost as a NumPy array program, in ns per unit
    update, from the primitives every exact update needs, each timed alone on one colour
    (best of ``repeat``): one float32 uniform per unit (graphmrf's fastest draw), the
    coupling input as one sparse product on input already laid out for it (no transposes),
    and three elementwise passes (tanh for the probability, the comparison, the map to
    +-1). What graphmrf does beyond these is the layout (two transposes) and the affine
    logit (two more passes)."""
    from graphmrf.backend import uniform_into

    part = prog.blocks[0][0]
    op = prog.inputs.kernels(part)[0]
    n = part.n
    rng = np.random.default_rng(0)
    u = np.empty((chains, n), np.float32)
    S = np.ascontiguousarray(prog.random_state(chains, seed=0)[:, op.cols].T)
    z = np.ones((chains, n), np.float32)
    spins = np.empty((chains, n), np.float32)

    def elementwise():
        np.tanh(z, out=z)
        np.less(u, z, out=spins)
        np.multiply(spins, 2, out=spins)

    parts = dict(uniform=lambda: uniform_into(rng, u), product=lambda: op.M @ S, elementwise=elementwise)
    ns = {k: best(f, repeat=repeat) / (chains * n) * 1e9 for k, f in parts.items()}
    return ns, sum(ns.values())


def rbm_case(nv, nh, chains, sweeps, limit):
    print(f"\nRBM {nv} x {nh} binary, {chains} chains, block Gibbs")
    prog = gm.compile(gm.rbm(nv, nh, seed=0), seed=0)
    state = prog.random_state(chains, seed=0)
    rng = np.random.default_rng(0)

    def ours():
        nonlocal state
        state = gm.sample(prog, sweeps, chains=chains, burn_in=sweeps - 1, init=state, seed=rng, record_energy=False).state

    n_upd = (nv + nh) * chains * sweeps
    t_gm, t_ref = best(ours, ref_rbm(nv, nh, chains, sweeps))
    line("numpy matrix-product reference", n_upd / t_ref, "updates/s")
    line("graphmrf (ratio vs reference)", n_upd / t_gm, "updates/s", n_upd / t_ref)
    res, err = run_thrml({"case": "rbm", "nv": nv, "nh": nh, "chains": chains, "sweeps": sweeps}, limit)
    if err:
        print(f"  {'thrml 0.1.4':<40} {err}")
    else:
        line("thrml 0.1.4 (jitted run)", n_upd / res["run"], "updates/s")
        print(f"  thrml: build {res['build']:.2f} s, first call (JIT) {res['first']:.2f} s; graphmrf vs thrml: {res['run'] / t_gm:.1f}x")


def sequential_case(n, chains, sweeps):
    print(f"\ndense Boltzmann machine, {n} binary units, {chains} chains, sequential Gibbs (one unit at a time)")
    prog = gm.compile(gm.boltzmann(n, 0, seed=0, scale=0.1), seed=0)
    state = prog.random_state(chains, seed=0)
    rng = np.random.default_rng(0)

    def ours():
        nonlocal state
        state = gm.sample(prog, sweeps, chains=chains, burn_in=sweeps - 1, method="sequential", init=state, seed=rng, record_energy=False).state

    W = np.asarray(prog.params["v~v.weight"])
    b = np.asarray(prog.params["v.bias"])
    S = np.asarray(state).copy()

    def ref():
        for _ in range(sweeps):
            for i in range(n):
                p = 1 / (1 + np.exp(-(S @ W[:, i] + b[i])))
                S[:, i] = rng.random(chains, dtype=np.float32) < p

    t, t_ref = best(ours, ref)
    line("numpy loop over units reference", sweeps / t_ref, "sweeps/s")
    line("graphmrf (ratio vs reference)", sweeps / t, "sweeps/s", sweeps / t_ref)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--thrml-limit", type=float, default=600)
    args = ap.parse_args()
    print(f"graphmrf {gm.__version__}, numpy {np.__version__}")
    if args.quick:
        ising_case(64, 1, 20, args.thrml_limit)
        rbm_case(784, 100, 100, 5, args.thrml_limit)
        sequential_case(50, 200, 5)
        return
    ising_case(512, 1, 20, args.thrml_limit)
    ising_case(128, 16, 20, args.thrml_limit)
    rbm_case(784, 500, 1000, 5, args.thrml_limit)
    sequential_case(100, 1000, 5)


if __name__ == "__main__":
    main()
