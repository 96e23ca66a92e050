"""Hopfield networks: recall speed against the plain NumPy floor, and the capacity experiment.

* Recall: 1000 probes (10 % of units flipped) in a 1000-unit network storing 50 patterns by
  the Hebb rule; 3 sweeps of asynchronous zero-temperature updates in random order (a fresh
  permutation per sweep), all probes at once. Reported as probes x sweeps per second, in
  interleaved rounds (best of each and the range of the per-round ratios):
  - the floor (``floors.HopfieldRecallFloor``): units in blocks of 64 (in the sweep's order),
    the inputs of a block's units by one matrix product from the current state, then each
    unit's update corrected into the block's later inputs by a rank-one term on the probes
    where it changed; unit-major state (the transposes in and out are timed);
  - graphmrf ``gm.samplers.sequential_gibbs(..., mode="max", order="random", inplace=True)``.
  The floor is first checked to give exactly graphmrf's states (integer Hebb weights, so that
  every input is exact and a tie is a tie on both sides; the same unit order).
* Learning: the time of one epoch of Boltzmann learning (PCD, clamped Gibbs for the coupled
  hidden units) on a 100-unit machine with 20 hidden units (no reference: a timing).
* Capacity: for N = 200 (``--n``) and loads M/N from 0.02 to 0.6, the fraction of stored
  patterns that are fixed points and that are recalled exactly from 10 % corruption, for the
  Hebb, Storkey and pseudo-inverse rules. Prints the critical loads (where the recalled
  fraction falls through 1/2) and saves ``hopfield_capacity.png``.

``--threads`` pins BLAS threads; ``--quick`` runs small sizes.
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
from graphmrf import memory  # noqa: E402


def check_recall(n=120, n_patterns=8, n_probes=300, sweeps=3):
    """Integer Hebb weights (sum of outer products, zero diagonal): the floor's states after
    ``sweeps`` systematic sweeps must equal graphmrf's exactly."""
    rng = np.random.default_rng(5)
    xi = np.where(rng.random((n_patterns, n)) < 0.5, -1.0, 1.0)
    W = xi.T @ xi
    np.fill_diagonal(W, 0)
    prog = gm.compile(gm.hopfield(n, weights=W))
    probes = memory.corrupt(xi[rng.integers(0, n_patterns, n_probes)], 0.2, rng).astype(np.float32)
    s = probes.copy()
    for _ in range(sweeps):
        s, _ = gm.samplers.sequential_gibbs(prog, s, rng, order="systematic", mode="max", count=False, inplace=True)
    ours = floors.HopfieldRecallFloor(W).run(probes, [range(n)] * sweeps)
    moved = int(np.sum(np.asarray(s) != probes))
    same = np.array_equal(np.asarray(s), ours)
    return same and moved > 0, f"floor and graphmrf states identical after {sweeps} sweeps ({moved} unit changes)"


def recall_case(n, n_probes, n_patterns, sweeps, rounds):
    rng = np.random.default_rng(0)
    xi = np.where(rng.random((n_patterns, n)) < 0.5, -1.0, 1.0)
    prog = gm.compile(memory.store(xi, "hebb"))
    probes = memory.corrupt(xi[rng.integers(0, n_patterns, n_probes)], 0.1, rng).astype(np.float32)
    W = np.asarray(prog.params["units~units.weight"])
    print(f"\nrecall: {n} units, {n_patterns} Hebb patterns, {n_probes} probes, {sweeps} asynchronous sweeps")
    t = time.perf_counter()
    ok, msg = check_recall()
    print(f"  check ({time.perf_counter() - t:.1f} s): {'ok' if ok else 'FAILED'} -- {msg}")
    if not ok:
        raise SystemExit("the recall floor and graphmrf disagree")
    fl = floors.HopfieldRecallFloor(W)
    rng_f, rng_g = np.random.default_rng(1), np.random.default_rng(1)

    def ours():
        s = probes.copy()
        for _ in range(sweeps):
            s, _ = gm.samplers.sequential_gibbs(prog, s, rng_g, order="random", mode="max", count=False, inplace=True)

    r = Rounds(
        {
            "floor": timer(lambda: fl.run(probes, [rng_f.permutation(n) for _ in range(sweeps)])),
            "graphmrf": timer(ours),
        },
        rounds,
    )
    report(r, n_probes * sweeps, "probe-sweeps/s")
    final, n_sweeps = memory.recall(prog, probes, rng)
    overlap = np.mean(memory.overlap(final, xi[np.argmax(final @ xi.T, axis=1)]))
    print(f"  recall to a fixed point: {n_sweeps} sweeps; mean overlap with the stored pattern {overlap:.3f}")


def learning_case(n_visible=100, n_hidden=20, n_data=500, batch=100, positive_sweeps=10, k=1):
    """One epoch of Boltzmann learning (PCD) on a fully connected machine."""
    rng = np.random.default_rng(0)
    proto = rng.random((5, n_visible)) < 0.5
    keep = rng.random((n_data, n_visible)) < 0.9
    data = np.where(keep, proto[rng.integers(0, 5, n_data)], ~proto[rng.integers(0, 5, n_data)]).astype(float)
    prog = gm.compile(gm.boltzmann(n_visible, n_hidden, lateral=True, seed=0), seed=0)
    opts = dict(lr=0.01, rule="pcd", k=k, batch_size=batch, chains=batch, positive_sweeps=positive_sweeps)
    gm.fit(prog, data[:batch], epochs=1, monitors=(), seed=0, **opts)
    t0 = time.perf_counter()
    hist = gm.fit(prog, data, epochs=2, monitors=("weight_norm",), seed=1, **opts)
    dt = (time.perf_counter() - t0) / 2
    print(
        f"\nBoltzmann learning: {n_visible} visible + {n_hidden} hidden units, all pairs coupled, "
        f"{n_data} examples, batches of {batch}"
    )
    print(
        f"  PCD-{k}, {positive_sweeps} clamped Gibbs sweeps per batch (the hidden units are coupled): "
        f"{dt:.2f} s per epoch"
    )
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
    titles = ("stored patterns that are fixed points", "recalled exactly from 10% corruption")
    for ax, title in zip(axes, titles, strict=True):
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
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds of recall (default 5, quick 3)")
    args = ap.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 5)
    floors.pin_threads(args.threads)
    print(f"graphmrf {gm.__version__}; {floors.machine(args.threads)}")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    if args.quick:
        recall_case(200, 200, 10, 2, args.rounds)
        learning_case(20, 5, 100, 50, 5)
        capacity_case(100, 1, args.out)
        return
    recall_case(1000, 1000, 50, 3, args.rounds)
    learning_case()
    capacity_case(args.n, args.trials, args.out)


if __name__ == "__main__":
    main()
