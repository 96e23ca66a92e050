"""One-unit-at-a-time sweeps, quiet and under contention, against plain NumPy loops.

Three per-unit workloads, each timed against the plain NumPy loop a user would write for it:

* posterior: one Gibbs sweep of the hidden units of a 784-500-500-2000 DBN given 100
  binarized MNIST digits (100 chains). The units of a parent layer are coupled through
  their children (explaining away), so each is drawn on its own; the loop keeps each child
  layer's input up to date with a rank-one correction after every unit and evaluates the
  children's log-likelihood at both values of the unit.
* sequential: five sequential Gibbs sweeps of a dense 100-unit Boltzmann machine (1000
  chains); the loop computes each unit's input as a matrix-vector product.
* recall: two zero-temperature asynchronous sweeps of a 1000-unit Hopfield net storing 50
  Hebb patterns, from 500 probes with 10% of the units flipped.

Each loop runs twice, with NumPy's default BLAS threads and with one BLAS thread
(threadpoolctl), and the faster of the two is the floor. Timings are the best of a few
interleaved repetitions: first on the machine as it is ("quiet"), then while a competing
process this script starts runs large multi-threaded matrix products ("loaded"). Printed:
seconds per call and graphmrf's ratio (floor time / graphmrf time; > 1 means faster).

Before timing, one float64 posterior sweep of the loop and of graphmrf from the same state
and seed are compared: they draw the same uniforms in the same order, so they must agree
unit for unit (the loop is a correct floor).

Run: ``python benchmarks/posterior.py`` (about three minutes on two busy cores).
"""

import argparse
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import graphmrf as gm
from graphmrf.workspace import Workspace

COMPETITOR = (
    "import numpy as np\na = np.random.default_rng(0).random((1500, 1500), dtype=np.float32)\nwhile True:\n    a @ a\n"
)


def softplus(z):
    """log(1 + exp(z)), the fastest stable NumPy form (six passes, no logaddexp)."""
    a = np.abs(z)
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.log1p(a, out=a)
    a += np.maximum(z, 0)
    return a


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# --------------------------------------------------------------------------- posterior sweep
def posterior_case(chains, scale=0.05):
    g = gm.dbn([784, 500, 500, 2000], seed=0, scale=scale)
    for name, n in (("v", 784), ("h1", 500), ("h2", 500), ("h3", 2000)):
        g.nodes[name]["bias"] = np.random.default_rng(len(name) + n).normal(0, 0.5, n)
    try:
        X, _ = gm.datasets.mnist("test", binarize="threshold")
        v = X[:chains]
    except (ImportError, OSError, ValueError):
        v = (np.random.default_rng(0).random((chains, 784)) < 0.13).astype(float)
    return g, v


def plain_posterior(params, S, rng):
    """One sweep of the hidden units of the DBN in the compiled block order (h2 unit by
    unit, h3 as a layer, h1 unit by unit) with ``S = [v, h1, h2, h3]`` updated in place."""
    W1, W2, W3, bv, b1, b2, b3 = params
    v, h1, h2, h3 = S
    n, dt = v.shape[0], v.dtype

    def units(Sp, own, X, W, Sc):
        # own: the layer's input from above (fixed while its units change); X: the input of
        # its children, corrected by one row of W whenever a unit changes
        for u in range(Sp.shape[1]):
            w = W[u]
            X0 = X - Sp[:, u : u + 1] * w  # the children's input with the unit off ...
            X1 = X0 + w  # ... and on
            delta = Sc @ w - (softplus(X1) - softplus(X0)).sum(axis=1)
            new = (rng.random(n, dtype=dt) < sigmoid(own[:, u] + delta)).astype(dt)
            X = X0 + new[:, None] * w
            Sp[:, u] = new

    units(h2, h3 @ W3.T + b2, h2 @ W2 + b1, W2, h1)
    h3[...] = rng.random((n, h3.shape[1]), dtype=dt) < sigmoid(h2 @ W3 + b3)
    units(h1, h2 @ W2 + b1, h1 @ W1 + bv, W1, v)


def posterior_setup(dtype, chains=100):
    g, v = posterior_case(chains)
    prog = gm.compile(g, dtype=dtype)
    p = prog.params
    params = [np.asarray(p[k], dtype=dtype) for k in ("h1->v.weight", "h2->h1.weight", "h2~h3.weight")]
    params += [np.asarray(p[f"{k}.bias"], dtype=dtype) for k in ("v", "h1", "h2", "h3")]
    state = prog.random_state(chains, seed=1)
    state[:, prog.columns("v")] = v
    mask = np.broadcast_to(prog.visible_mask, state.shape)
    return prog, params, state, mask


def split(prog, state):
    return [state[:, prog.columns(k)].copy() for k in ("v", "h1", "h2", "h3")]


def check_posterior_floor():
    """The loop and graphmrf, float64, same state and seed: the same sweep."""
    prog, params, state, mask = posterior_setup(np.float64)
    S = split(prog, state)
    plain_posterior(params, S, np.random.default_rng(7))
    ours, _ = gm.samplers.block_gibbs(prog, state, np.random.default_rng(7), clamp=mask)
    same = all(np.array_equal(a, b) for a, b in zip(S, split(prog, ours)))
    flipped = float(np.mean(ours[:, 784:] != state[:, 784:]))
    print(
        f"posterior: the plain loop and graphmrf agree unit for unit (float64, one sweep): {same}; "
        f"{flipped:.1%} of hidden units changed"
    )
    if not same:
        raise SystemExit("the plain loop is not the same sweep: fix the floor first")


def posterior_runners():
    prog, params, state, mask = posterior_setup(np.float32)
    S = split(prog, state)
    ws = Workspace()
    rng = np.random.default_rng(0)

    def ours():
        gm.samplers.block_gibbs(prog, state, rng, clamp=mask, inplace=True, workspace=ws)

    def plain():
        plain_posterior(params, S, rng)

    return ours, plain


# --------------------------------------------------------------------------- sequential Gibbs
def sequential_runners(n=100, chains=1000, sweeps=5):
    """benchmarks/gibbs.py's case: a dense Boltzmann machine, the chains column-major (as
    ``gm.sample`` keeps them for one-unit samplers)."""
    prog = gm.compile(gm.boltzmann(n, 0, seed=0, scale=0.1), seed=0)
    state = np.asfortranarray(prog.random_state(chains, seed=0))
    S = np.array(state, order="F")
    W = np.asarray(prog.params["v~v.weight"])
    b = np.asarray(prog.params["v.bias"])
    ws = Workspace()
    rng = np.random.default_rng(0)

    def ours():
        s = state
        for _ in range(sweeps):
            s, _ = gm.samplers.sequential_gibbs(prog, s, rng, inplace=True, workspace=ws)

    def plain():
        for _ in range(sweeps):
            for i in range(n):
                S[:, i] = rng.random(chains, dtype=np.float32) < sigmoid(S @ W[:, i] + b[i])

    return ours, plain


# --------------------------------------------------------------------------- Hopfield recall
def recall_runners(n=1000, n_probes=500, n_patterns=50, sweeps=2):
    from graphmrf import memory

    rng0 = np.random.default_rng(0)
    xi = np.where(rng0.random((n_patterns, n)) < 0.5, -1.0, 1.0)
    prog = gm.compile(memory.store(xi, "hebb"))
    probes = memory.corrupt(xi[rng0.integers(0, n_patterns, n_probes)], 0.1, rng0).astype(np.float32)
    W = np.asarray(prog.params["units~units.weight"])
    rng = np.random.default_rng(0)
    ws = Workspace()

    def ours():
        s = probes.copy()
        for _ in range(sweeps):
            s, _ = gm.samplers.sequential_gibbs(
                prog, s, rng, order="random", mode="max", count=False, inplace=True, workspace=ws
            )

    def plain():
        S = probes.copy()
        for _ in range(sweeps):
            for i in rng.permutation(n):
                h = S @ W[:, i]
                S[:, i] = np.where(h > 0, 1.0, np.where(h < 0, -1.0, S[:, i]))

    return ours, plain


# --------------------------------------------------------------------------- timing
def best_times(ours, plain, repeat):
    """Best of ``repeat`` interleaved calls of graphmrf, the loop with default BLAS threads
    and the loop with one BLAS thread."""
    best = [np.inf, np.inf, np.inf]
    for _ in range(repeat):
        for i in range(3):
            t0 = time.perf_counter()
            if i == 2:
                with threadpool_limits(1, user_api="blas"):
                    plain()
            else:
                (ours, plain)[i]()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def report(label, condition, times):
    t_gm, t_default, t_one = times
    floor = min(t_default, t_one)
    print(
        f"  {label:<10} {condition:<7} graphmrf {t_gm:7.3f} s | loop, default threads {t_default:7.3f} s, "
        f"one thread {t_one:7.3f} s | ratio vs floor {floor / t_gm:5.2f}x  "
        f"(vs default-thread loop {t_default / t_gm:5.2f}x)"
    )
    return floor / t_gm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="interleaved repetitions per timing (the best counts)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    check_posterior_floor()
    cases = {"posterior": posterior_runners(), "sequential": sequential_runners(), "recall": recall_runners()}
    for ours, plain in cases.values():  # warm-up: compiled kernels, workspaces, caches
        ours()
        plain()
    ratios = {}
    print("\nquiet (the machine as it is; other work may be running):")
    for label, (ours, plain) in cases.items():
        ratios[label, "quiet"] = report(label, "quiet", best_times(ours, plain, args.repeat))
    competitor = subprocess.Popen(
        [sys.executable, "-c", COMPETITOR], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(1.0)  # let it start its products
        print("\nloaded (a competing process runs multi-threaded 1500 x 1500 matrix products):")
        for label, (ours, plain) in cases.items():
            ratios[label, "loaded"] = report(label, "loaded", best_times(ours, plain, args.repeat))
    finally:
        competitor.kill()
        competitor.wait()
    print("\nratios (floor time / graphmrf time; >= 1.0 means at least as fast as the best plain loop):")
    for label in cases:
        print(f"  {label:<10} quiet {ratios[label, 'quiet']:5.2f}x   loaded {ratios[label, 'loaded']:5.2f}x")
    print(f"\n[{time.perf_counter() - t_start:.0f} s]")


if __name__ == "__main__":
    main()
