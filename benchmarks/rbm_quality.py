"""RBM quality on scikit-learn's digits: graphmrf (PCD, CD-1) against scikit-learn's BernoulliRBM.

1. Likelihood: binarised digits (threshold 0.5 on pixel/16), 16 hidden units, the same
   epochs, learning rate and batch size for all three; every model is scored by graphmrf's
   *exact* held-out log-likelihood (2^16 hidden states enumerated, the 64 visible units
   summed analytically).
2. Features: scikit-learn's published example -- RBM features + logistic regression on the
   digits -- with each RBM, test accuracy on the same split.

Run: ``.bench-venv/bin/python benchmarks/rbm_quality.py`` (needs scikit-learn).
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline

import graphmrf as gm
from graphmrf.sklearn import RBM


def exact_ll(W, b, c, X):
    g = gm.rbm(W.shape[0], W.shape[1], seed=0)
    g.edges["v", "h"]["weight"] = W
    g.nodes["v"]["bias"], g.nodes["h"]["bias"] = b, c
    return gm.exact.log_likelihood(gm.compile(g, dtype=np.float64), X)


def main():
    X, y = load_digits(return_X_y=True)
    Xb = (X / 16 > 0.5).astype(np.float64)
    Xtr, Xte, ytr, yte = train_test_split(Xb, y, test_size=0.3, random_state=0)
    n_hidden, epochs, lr, batch = 16, 30, 0.05, 10
    print(
        f"binarised digits: {len(Xtr)} train / {len(Xte)} test, {n_hidden} hidden units, {epochs} epochs, lr {lr}, "
        f"batch {batch}"
    )
    print(f"{'model':<34}{'train LL':>10}{'test LL':>10}{'time':>9}")
    rows = []
    for name, make in [
        (
            "scikit-learn BernoulliRBM (PCD)",
            lambda: BernoulliRBM(
                n_components=n_hidden, learning_rate=lr, batch_size=batch, n_iter=epochs, random_state=0
            ),
        ),
        (
            "graphmrf RBM, PCD-1",
            lambda: RBM(
                n_components=n_hidden, learning_rate=lr, batch_size=batch, n_iter=epochs, rule="pcd", random_state=0
            ),
        ),
        (
            "graphmrf RBM, CD-1",
            lambda: RBM(
                n_components=n_hidden, learning_rate=lr, batch_size=batch, n_iter=epochs, rule="cd", random_state=0
            ),
        ),
    ]:
        est = make()
        t0 = time.perf_counter()
        est.fit(Xtr)
        dt = time.perf_counter() - t0
        W, b, c = (
            est.components_.T.astype(np.float64),
            est.intercept_visible_.astype(np.float64),
            est.intercept_hidden_.astype(np.float64),
        )
        tr, te = exact_ll(W, b, c, Xtr), exact_ll(W, b, c, Xte)
        rows.append((name, tr, te))
        print(f"{name:<34}{tr:10.3f}{te:10.3f}{dt:8.2f}s")
    best = max(rows[1:], key=lambda r: r[2])
    print(f"best graphmrf held-out LL minus scikit-learn's: {best[2] - rows[0][2]:+.3f} nats per image")

    Xs = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(Xs, y, test_size=0.2, random_state=0)
    print("\nscikit-learn's example: RBM(100 units, lr 0.06, 10 epochs) features + logistic regression (C = 6000)")
    for name, rbm in [
        ("scikit-learn BernoulliRBM", BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=0)),
        ("graphmrf RBM (PCD-1)", RBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=0)),
    ]:
        pipe = Pipeline([("rbm", rbm), ("logistic", LogisticRegression(C=6000, max_iter=5000))])
        t0 = time.perf_counter()
        acc = pipe.fit(Xtr, ytr).score(Xte, yte)
        print(f"  {name:<28} test accuracy {acc:.4f}   ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
