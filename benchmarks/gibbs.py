"""Gibbs sampling speed: graphmrf against the plain NumPy floor and thrml, in one run.

Cases (issue "Core II"):
  * checkerboard Gibbs on a 2-D periodic Ising lattice at beta = 0.44: L = 512 with one chain,
    and L = 128 with 16 chains -- spin updates per second;
  * block Gibbs on an RBM with 784 visible and 500 hidden binary units, 1000 chains -- unit
    updates per second, and GFLOP/s against this machine's float32 matrix-product rate (a
    1024^2 products timed in the same rounds);
  * sequential (one unit at a time) Gibbs on a dense 100-unit Boltzmann machine, 1000 chains --
    sweeps per second.

Contenders, each run once per round, rounds interleaved (ratios: best of each, and the range of
the per-round ratios):
  * the floor (``floors.py``): the fastest plain NumPy for the workload -- the Ising lattice as
    its two colours, {0,1} bytes, updated in place, float32 ``1/(1+exp(-x))`` written out and
    SFC64's raw bits as uniforms; the RBM sweep in preallocated float32 buffers; the sequential
    sweep with the sigmoid moved into logistic noise drawn for the whole sweep at once, one
    matrix-vector product per unit. Each floor is first checked against exact enumeration on a
    small instance of the same code (energy and m^2, unit means, pair moments), as is graphmrf;
  * graphmrf through ``gm.sample(prog, ..., record_energy=False)``, given the same fast bit
    generator (``seed=np.random.Generator(np.random.SFC64(0))``);
  * thrml 0.1.4 (JAX, CPU), as its documentation runs it: the chains batched under one
    ``jax.jit(jax.vmap(...))`` of ``sample_states``, compiled and warmed up before timing, in a
    worker process timed once per round. A one-chain workload is also run with a batch of
    chains, its best throughput per update.

``--threads`` pins BLAS (and XLA) threads; ``--quick`` runs small sizes. Run
``bash benchmarks/setup_env.sh`` once, then ``.bench-venv/bin/python benchmarks/gibbs.py``.
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

BETA = 0.44

THRML = r"""
import jax, jax.numpy as jnp
import thrml as th
from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init

def setup(spec):
    if spec["case"] == "ising":
        L = spec["L"]
        nodes = [th.SpinNode() for _ in range(L * L)]
        idx = lambda i, j: (i % L) * L + (j % L)
        edges = [(nodes[idx(i, j)], nodes[idx(i, j + 1)]) for i in range(L) for j in range(L)]
        edges += [(nodes[idx(i, j)], nodes[idx(i + 1, j)]) for i in range(L) for j in range(L)]
        blocks = [th.Block([nodes[idx(i, j)] for i in range(L) for j in range(L) if (i + j) % 2 == k]) for k in (0, 1)]
        weights, beta = jnp.ones(len(edges)), spec["beta"]
    else:
        vis = [th.SpinNode() for _ in range(spec["nv"])]
        hid = [th.SpinNode() for _ in range(spec["nh"])]
        nodes = vis + hid
        edges = [(a, b) for a in vis for b in hid]
        blocks = [th.Block(vis), th.Block(hid)]
        weights, beta = 0.01 * jnp.ones(len(edges)), 1.0
    model = IsingEBM(nodes, edges, jnp.zeros(len(nodes)), weights, jnp.array(beta))
    program = IsingSamplingProgram(model, blocks, clamped_blocks=[])
    chains, sweeps = spec["chains"], spec["sweeps"]
    key = jax.random.key(0)
    init = hinton_init(key, model, blocks, (chains,))
    keys = jax.random.split(key, chains)
    observe = [th.Block(nodes[:1])]
    sched = th.SamplingSchedule(n_warmup=sweeps - 1, n_samples=1, steps_per_sample=1)
    f = jax.jit(jax.vmap(lambda k, i: th.sample_states(k, program, sched, i, [], observe)))
    return {}, lambda: jax.block_until_ready(f(keys, init))
"""


def thrml_peer(name, spec, args, env):
    peer, err = floors.start_peer(name, THRML, spec, args.peer_limit, env, needs=("thrml", "jax"))
    if err:
        print(f"  {err}")
    else:
        print(f"  {name}: build {peer.info['build']:.2f} s, first call (compile + run) {peer.info['first']:.2f} s")
    return peer


def sample_fn(prog, sweeps, chains, state, **kw):
    """graphmrf's side: gm.sample continuing its own chains, with a fast bit generator."""
    rng = np.random.Generator(np.random.SFC64(0))
    box = [state]

    def run():
        box[0] = gm.sample(
            prog, sweeps, chains=chains, burn_in=sweeps - 1, init=box[0], seed=rng, record_energy=False, **kw
        ).state

    return run


# ---------------------------------------------------------------------------------------------
# checks: each floor against exact enumeration on a small instance (5 standard errors)


def within(name, est, se, exact, z=5.0):
    ok = bool(np.all(np.abs(np.asarray(est) - exact) <= z * np.asarray(se) + 1e-12))
    return ok, f"{name} {np.round(est, 4)} +- {np.round(se, 4)} vs exact {np.round(exact, 4)}"


def check_ising():
    """4x4 periodic lattice at beta = 0.44: energy per site and m^2, floor and graphmrf."""
    L, chains = 4, 4000
    prog = gm.compile(gm.ising(L, periodic=True), dtype=np.float64, seed=0)
    states, p = gm.exact.distribution(prog, beta=BETA)
    exact = np.array([p @ prog.energy(states) / L**2, p @ states.mean(axis=1) ** 2])
    fl = floors.IsingFloor(L, chains, BETA, seed=1)
    fl.sweep(50)
    acc = []
    for _ in range(50):
        fl.sweep()
        acc.append(floors.ising_stats(fl.spins()))
    per_chain = np.mean(acc, axis=0)  # (2, chains): each chain's time average
    ok_f, msg_f = within("floor", per_chain.mean(1), per_chain.std(1) / np.sqrt(chains), exact)
    s = gm.sample(prog, 100, chains=chains, burn_in=50, beta=BETA, seed=2, record_energy=False).samples
    stats = np.stack([prog.energy(s.reshape(-1, L * L)).reshape(s.shape[:2]) / L**2, s.mean(axis=2) ** 2]).mean(axis=1)
    ok_g, msg_g = within("graphmrf", stats.mean(1), stats.std(1) / np.sqrt(chains), exact)
    return ok_f and ok_g, f"E/site, m^2: {msg_f}; {msg_g}"


def rbm_program(nv, nh, scale, seed):
    prog = gm.compile(gm.rbm(nv, nh, seed=seed, scale=scale), seed=seed)
    rng = np.random.default_rng(seed)
    prog.params["v.bias"][...] = rng.normal(0, scale, nv)
    prog.params["h.bias"][...] = rng.normal(0, scale, nh)
    return prog


def check_rbm():
    """A 6 x 4 RBM with strong weights: unit means of the floor and graphmrf against exact."""
    nv, nh, chains = 6, 4, 4000
    prog = rbm_program(nv, nh, 1.0, 3)
    W, b, c = (np.asarray(prog.params[k]) for k in ("v~h.weight", "v.bias", "h.bias"))
    m = gm.exact.marginals(prog)
    exact = np.concatenate([m["v"], m["h"]])
    fl = floors.RBMGibbsFloor(W, b, c, chains, seed=1)
    fl.sweep(50)
    acc = []
    for _ in range(50):
        fl.sweep()
        acc.append(np.concatenate([fl.v, fl.h], axis=1))
    per_chain = np.mean(acc, axis=0)
    ok_f, msg_f = within("floor", per_chain.mean(0), per_chain.std(0) / np.sqrt(chains), exact)
    s = gm.sample(prog, 100, chains=chains, burn_in=50, seed=2, record_energy=False).samples.mean(axis=0)
    ok_g, msg_g = within("graphmrf", s.mean(0), s.std(0) / np.sqrt(chains), exact)
    dev = f"floor {np.abs(per_chain.mean(0) - exact).max():.4f}, graphmrf {np.abs(s.mean(0) - exact).max():.4f}"
    return ok_f and ok_g, f"unit means: max deviation {dev}" + ("" if ok_f and ok_g else f" ({msg_f}; {msg_g})")


def check_sequential():
    """A dense 8-unit Boltzmann machine with strong couplings: means and pair moments."""
    n, chains = 8, 4000
    prog = gm.compile(gm.boltzmann(n, 0, seed=4, scale=1.0), seed=0, dtype=np.float64)
    prog.params["v.bias"][...] = np.random.default_rng(4).normal(0, 0.5, n)
    W, b = np.asarray(prog.params["v~v.weight"]), np.asarray(prog.params["v.bias"])
    states, p = gm.exact.distribution(prog)
    iu = np.triu_indices(n, 1)
    moments = lambda S: np.concatenate([S, (S[:, :, None] * S[:, None, :])[:, iu[0], iu[1]]], axis=1)  # noqa: E731
    exact = p @ moments(states)
    fl = floors.SequentialFloor(W, b, chains, seed=1)
    fl.sweep(30)
    acc = []
    for _ in range(50):
        fl.sweep()
        acc.append(moments(fl.state()))
    per_chain = np.mean(acc, axis=0)
    ok_f, _ = within("floor", per_chain.mean(0), per_chain.std(0) / np.sqrt(chains), exact)
    s = gm.sample(prog, 80, chains=chains, burn_in=30, method="sequential", seed=2, record_energy=False).samples
    mom = np.mean([moments(x) for x in s], axis=0)
    ok_g, _ = within("graphmrf", mom.mean(0), mom.std(0) / np.sqrt(chains), exact)
    dev = f"floor {np.abs(per_chain.mean(0) - exact).max():.4f}, graphmrf {np.abs(mom.mean(0) - exact).max():.4f}"
    tol = 5 * per_chain.std(0).max() / np.sqrt(chains)
    return ok_f and ok_g, f"means and pair moments: max deviation {dev} (5 s.e. ~ {tol:.4f})"


def run_check(fn):
    t = time.perf_counter()
    ok, msg = fn()
    print(f"  check ({time.perf_counter() - t:.1f} s): {'ok' if ok else 'FAILED'} -- {msg}")
    if not ok:
        raise SystemExit(f"{fn.__name__}: the floor or graphmrf disagrees with exact enumeration")


# ---------------------------------------------------------------------------------------------
# cases


def ising_case(L, chains, sweeps, args, env, batch=None):
    print(f"\nIsing {L}x{L} periodic, beta = {BETA}, {chains} chain(s), checkerboard Gibbs, {sweeps} sweeps per run")
    if args.check:
        run_check(check_ising)
    t0 = time.perf_counter()
    prog = gm.compile(gm.ising(L, periodic=True), seed=0)
    print(f"  graphmrf: build + compile {time.perf_counter() - t0:.2f} s")
    fl = floors.IsingFloor(L, chains, BETA)
    n_upd = L * L * chains * sweeps
    contenders = {
        "floor": timer(lambda: fl.sweep(sweeps)),
        "graphmrf": timer(sample_fn(prog, sweeps, chains, prog.random_state(chains, seed=0), beta=BETA)),
    }
    work = dict.fromkeys(contenders, n_upd)
    # the memory-traffic bound: a sweep reads and writes every site at least once, so it
    # cannot beat copying the state (float32, as graphmrf keeps it) once per sweep
    src = prog.random_state(chains, seed=1)
    dst = np.empty_like(src)
    contenders["_copy"] = timer(lambda: [np.copyto(dst, src) for _ in range(sweeps)])
    peers = [("thrml 0.1.4", chains)] + ([(f"thrml 0.1.4, batch of {batch}", batch)] if batch else [])
    started = []
    for name, c in peers:
        peer = thrml_peer(name, {"case": "ising", "L": L, "chains": c, "sweeps": sweeps, "beta": BETA}, args, env)
        if peer:
            contenders[name], work[name] = peer, L * L * c * sweeps
            started.append(peer)
    r = Rounds(contenders, args.rounds)
    for p in started:
        p.close()
    report(r, work, "updates/s")
    ns = {k: r.best(k) / n_upd * 1e9 for k in ("floor", "graphmrf", "_copy")}
    rate = 2 * src.nbytes * sweeps / r.best("_copy") / 1e9
    print(
        f"  per update: floor {ns['floor']:.2f} ns, graphmrf {ns['graphmrf']:.2f} ns; memory-traffic bound "
        f"{ns['_copy']:.2f} ns (a copy of the {src.nbytes / 2**20:.1f} MiB state per sweep, {rate:.0f} GB/s): "
        f"graphmrf at {ns['graphmrf'] / ns['_copy']:.1f}x the bound, the floor at {ns['floor'] / ns['_copy']:.1f}x"
    )


def rbm_case(nv, nh, chains, sweeps, args, env):
    print(f"\nRBM {nv} x {nh} binary, {chains} chains, block Gibbs, {sweeps} sweeps per run")
    if args.check:
        run_check(check_rbm)
    prog = rbm_program(nv, nh, 0.01, 0)
    W, b, c = (np.asarray(prog.params[k]) for k in ("v~h.weight", "v.bias", "h.bias"))
    fl = floors.RBMGibbsFloor(W, b, c, chains)
    n_upd = (nv + nh) * chains * sweeps
    contenders = {
        "floor": timer(lambda: fl.sweep(sweeps)),
        "graphmrf": timer(sample_fn(prog, sweeps, chains, prog.random_state(chains, seed=0))),
    }
    work = dict.fromkeys(contenders, n_upd)
    peer = thrml_peer("thrml 0.1.4", {"case": "rbm", "nv": nv, "nh": nh, "chains": chains, "sweeps": sweeps}, args, env)
    if peer:
        contenders["thrml 0.1.4"], work["thrml 0.1.4"] = peer, n_upd
    product = floors.MatmulRate(np.float32)
    contenders["_product"] = product  # timed in the same rounds: the rate under the same load
    r = Rounds(contenders, args.rounds)
    if peer:
        peer.close()
    peak = product.rate(r, "_product")
    print(f"  float32 matrix product (1024^2), best of the run: {peak:.1f} GFLOP/s")
    flops = 2 * 2 * nv * nh * chains * sweeps  # two products per sweep

    def gflops(k):
        rate = flops / r.best(k) / 1e9
        return f"{rate:6.1f} GFLOP/s ({rate / peak:.0%} of the product rate)"

    report(r, work, "updates/s", extra=gflops)


def sequential_case(n, chains, sweeps, args):
    print(
        f"\ndense Boltzmann machine, {n} binary units, {chains} chains, sequential Gibbs (one unit at a time), "
        f"{sweeps} sweeps per run"
    )
    if args.check:
        run_check(check_sequential)
    prog = gm.compile(gm.boltzmann(n, 0, seed=0, scale=0.1), seed=0)
    W, b = np.asarray(prog.params["v~v.weight"]), np.asarray(prog.params["v.bias"])
    state = prog.random_state(chains, seed=0)
    fl = floors.SequentialFloor(W, b, chains)
    fl.set_state(state)
    contenders = {
        "floor": timer(lambda: fl.sweep(sweeps)),
        "graphmrf": timer(sample_fn(prog, sweeps, chains, state, method="sequential")),
    }
    r = Rounds(contenders, args.rounds)
    report(r, dict.fromkeys(contenders, sweeps), "sweeps/s")
    print("  thrml: not run (its sampler is block Gibbs; one block per unit would be a 100-block program)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/XLA threads for every contender (default 1)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--peer-limit", type=float, default=300, help="seconds a peer may take in all")
    ap.add_argument("--no-check", dest="check", action="store_false", help="skip the checks against exact enumeration")
    args = ap.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 5)
    env = floors.pin_threads(args.threads)
    t0 = time.perf_counter()
    print(f"graphmrf {gm.__version__}; {floors.machine(args.threads)}")
    if args.quick:
        ising_case(64, 1, 20, args, env, batch=4)
        rbm_case(784, 100, 100, 5, args, env)
        sequential_case(50, 200, 5, args)
    else:
        ising_case(512, 1, 20, args, env, batch=4)
        ising_case(128, 16, 20, args, env)
        rbm_case(784, 500, 1000, 5, args, env)
        sequential_case(100, 1000, 5, args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
