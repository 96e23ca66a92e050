"""Hopfield networks: recall speed against plain NumPy, and the capacity experiment.

* Recall: 1000 probes (10 % of units flipped) in a 1000-unit network storing 50 patterns by
  the Hebb rule; asynchronous zero-temperature updates in random order, all probes at once.
  Reported as probes x sweeps per second, graphmrf against a NumPy loop over units written
  here, timed interleaved.
* Learning: the time of one epoch of Boltzmann learning (PCD, clamped Gibbs for the coupled
  hidden units) on a 100-unit machine with 20 hidden units.
* Capacity: for N = 200 (``--n``) and loads M/N from 0.02 to 0.6, the fraction of stored
  patterns that are fixed points and that are recalled exactly from 10 % corruption, for the
  Hebb, Storkey and pseudo-inverse rules. Prints the critical loads (where the recalled
  fraction falls through 1/2) and saves ``hopfield_capacity.png``.
"""

import argparse
import os
import time

import numpy as np

import graphmrf as gm
from graphmrf import memory


def recall_case(n, n_probes, n_patterns, sweeps=3, repeat=3):
    rng = np.random.default_rng(0)
    xi = np.where(rng.random((n_patterns, n)) < 0.5, -1.0, 1.0)
    prog = gm.compile(memory.store(xi, "hebb"))
    probes = memory.corrupt(xi[rng.integers(0, n_patterns, n_probes)], 0.1, rng).astype(np.float32)
    W = np.asarray(prog.params["units~units.weight"])

    def ours():
        s = probes.copy()
        for _ in range(sweeps):
            s, _ = gm.samplers.sequential_gibbs(prog, s, rng, order="random", mode="max", count=False, inplace=True)

    def ref():
        S = probes.copy()
        for _ in range(sweeps):
            for i in rng.permutation(n):
                h = S @ W[:, i]
                S[:, i] = np.where(h > 0, 1.0, np.where(h < 0, -1.0, S[:, i]))

    t_gm = t_ref = np.inf
    for _ in range(repeat):
        for fn, which in ((ours, 0), (ref, 1)):
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if which == 0:
                t_gm = min(t_gm, dt)
            else:
                t_ref = min(t_ref, dt)
    rate_gm, rate_ref = n_probes * sweeps / t_gm, n_probes * sweeps / t_ref
    print(f"\nrecall: {n} units, {n_patterns} Hebb patterns, {n_probes} probes, {sweeps} asynchronous sweeps")
    print(f"  numpy loop over units reference   {rate_ref:11.3e} probe-sweeps/s")
    print(f"  graphmrf sequential_gibbs (max)   {rate_gm:11.3e} probe-sweeps/s  {rate_gm / rate_ref:6.2f}x")
    final, n_sweeps = memory.recall(prog, probes, rng)
    print(f"  recall to a fixed point: {n_sweeps} sweeps; mean overlap with the stored pattern {np.mean(memory.overlap(final, xi[np.argmax(final @ xi.T, axis=1)])):.3f}")


def learning_case(n_visible=100, n_hidden=20, n_data=500, batch=100, positive_sweeps=10, k=1):
    """One epoch of Boltzmann learning (PCD) on a fully connected machine."""
    rng = np.random.default_rng(0)
    proto = rng.random((5, n_visible)) < 0.5
    data = np.where(rng.random((n_data, n_visible)) < 0.9, proto[rng.integers(0, 5, n_data)], ~proto[rng.integers(0, 5, n_data)]).astype(float)
    prog = gm.compile(gm.boltzmann(n_visible, n_hidden, lateral=True, seed=0), seed=0)
    gm.fit(prog, data[:batch], epochs=1, lr=0.01, rule="pcd", k=k, batch_size=batch, chains=batch, positive_sweeps=positive_sweeps, monitors=(), seed=0)
    t0 = time.perf_counter()
    hist = gm.fit(prog, data, epochs=2, lr=0.01, rule="pcd", k=k, batch_size=batch, chains=batch, positive_sweeps=positive_sweeps, monitors=("weight_norm",), seed=1)
    dt = (time.perf_counter() - t0) / 2
    print(f"\nBoltzmann learning: {n_visible} visible + {n_hidden} hidden units, all pairs coupled, {n_data} examples, batches of {batch}")
    print(f"  PCD-{k}, {positive_sweeps} clamped Gibbs sweeps per batch (the hidden units are coupled): {dt:.2f} s per epoch")
    print(f"  weight norm: {hist['weight_norm'][0]:.3f} -> {hist['weight_norm'][-1]:.3f} after 2 epochs")


def capacity_case(n, trials, out):
    loads = np.round(np.arange(0.02, 0.62, 0.02), 2)
    print(f"\ncapacity: N = {n}, {trials} trial(s) per load, probes with 10% of units flipped")
    results = {}
    for rule in ("hebb", "storkey", "pseudoinverse"):
        t0 = time.perf_counter()
        r = memory.capacity(n, loads, rule, trials=trials, seed=1)
        results[rule] = r
        print(
            f"  {rule:<14} critical load (recalled < 1/2): {memory.critical_load(r):.3f}   "
            f"(stable < 1/2: {memory.critical_load(r, 'stable'):.3f})   [{time.perf_counter() - t0:.1f} s]"
        )
    print("  theory for the Hebb rule: 0.138 (Amit, Gutfreund & Sompolinsky, 1985)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no plot)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for rule, r in results.items():
        axes[0].plot(r["load"], r["stable"], ".-", label=rule)
        axes[1].plot(r["load"], r["recalled"], ".-", label=rule)
    for ax, title in zip(axes, ("stored patterns that are fixed points", "recalled exactly from 10% corruption")):
        ax.axvline(0.138, color="k", lw=0.7, ls="--")
        ax.set_xlabel("load M / N")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("fraction")
    axes[1].legend()
    fig.suptitle(f"Hopfield capacity, N = {n}")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"  plot: {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="units in the capacity experiment")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--out", default=os.path.join("figures", "hopfield_capacity.png"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    if args.quick:
        recall_case(200, 200, 10, sweeps=2, repeat=1)
        learning_case(20, 5, 100, 50, 5)
        capacity_case(100, 1, args.out)
        return
    recall_case(1000, 1000, 50)
    learning_case()
    capacity_case(args.n, args.trials, args.out)


if __name__ == "__main__":
    main()
