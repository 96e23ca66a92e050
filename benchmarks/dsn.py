"""Deep stacking networks against logistic regression: digits and MNIST, accuracy and time.

Side by side in one run, on each data set:
  * graphmrf.dsn (Deng & Yu): modules of sigmoid hidden units with a closed-form ridge output
    layer, hidden weights by L-BFGS on the whole training set, stacked on [X, Y_1..Y_k-1];
    the held-out accuracy of every module is printed;
  * scikit-learn's LogisticRegression (lbfgs, multinomial), the linear baseline;
  * a plain NumPy version of one DSN objective evaluation (the floor: the same products,
    nothing else), against graphmrf's, with both rates against this machine's float32
    matrix-product rate measured in the same run.

digits: scikit-learn's 1797 8x8 images, a fixed random quarter held out. MNIST: the 60,000
training images, the 10,000 test images (graphmrf.datasets.mnist). ``--budget`` bounds the
DSN's MNIST training time (modules stop at their best weights so far when it runs out), so
the whole run fits in a few minutes on 2 cores. ``--threads 1`` keeps OpenBLAS from
spinning on a machine whose cores are shared with other work (small products there run
tens of times slower with two threads than with one).
"""

import argparse
import time
import warnings

import numpy as np

from graphmrf import dsn
from graphmrf.datasets import digits, mnist


def matmul_rate():
    a = np.random.default_rng(0).random((2000, 2000), dtype=np.float32)
    a @ a
    t = time.perf_counter()
    for _ in range(5):
        a @ a
    return 5 * 2 * 2000**3 / (time.perf_counter() - t) / 1e9


def numpy_objective(Z, T, W, b, lam):
    """One DSN objective and gradient in plain NumPy (float32 products, float64 solve)."""
    H = Z @ W
    H += b
    H *= 0.5
    np.tanh(H, out=H)
    H += 1
    H *= 0.5
    mh, mt = H.mean(axis=0), T.mean(axis=0)
    Hc = H - mh
    A = (Hc.T @ Hc).astype(np.float64) + lam * np.eye(W.shape[1])
    U = np.linalg.solve(A, (Hc.T @ (T - mt)).astype(np.float64)).astype(np.float32)
    R = Hc @ U
    R += mt
    R -= T
    G = R @ U.T
    G *= H
    G *= 1 - H
    return 0.5 * float(np.vdot(R, R)), Z.T @ G, G.sum(axis=0)


def objective_rates(Z, T, n_hidden, lam, peak):
    W = np.random.default_rng(0).normal(0, 0.1, (Z.shape[1], n_hidden)).astype(np.float32)
    b = np.zeros(n_hidden, np.float32)
    n, d = Z.shape
    flops = 2 * n * d * n_hidden * 2 + 2 * n * n_hidden * n_hidden + 2 * n * n_hidden * T.shape[1] * 3
    runs = {"graphmrf": lambda: dsn.objective(Z, T, W, b, lam=lam), "numpy": lambda: numpy_objective(Z, T, W, b, lam)}
    best = {name: np.inf for name in runs}
    for _ in range(3):  # interleaved rounds, best of each: the machine may be shared
        for name, fn in runs.items():
            best[name] = min(best[name], _timed(fn))
    rate = flops / best["graphmrf"] / 1e9
    print(
        f"  one objective + gradient ({n} x {d} -> {n_hidden}): graphmrf {best['graphmrf'] * 1e3:.0f} ms, "
        f"plain NumPy {best['numpy'] * 1e3:.0f} ms (ratio {best['graphmrf'] / best['numpy']:.2f}); "
        f"{rate:.0f} GFLOP/s = {rate / peak:.0%} of the matrix-product rate"
    )


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(name, X, y, Xt, yt, n_modules, n_hidden, lam, iterations, budget, lr_iter, peak):
    T = np.eye(10, dtype=np.float32)[y]
    print(f"{name}: {X.shape[0]} training, {Xt.shape[0]} test images, {X.shape[1]} pixels")
    objective_rates(X.astype(np.float32), T, n_hidden, lam, peak)
    t = time.perf_counter()
    net = dsn.fit(
        X, T, n_modules=n_modules, n_hidden=n_hidden, lam=lam, iterations=iterations, time_budget=budget, seed=0
    )
    t_dsn = time.perf_counter() - t
    acc = [float((Y.argmax(axis=1) == yt).mean()) for Y in net.outputs(Xt)]
    from sklearn.linear_model import LogisticRegression

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs may stop at max_iter before its tolerance
        logreg = LogisticRegression(max_iter=lr_iter).fit(X, y)
    t_lr = time.perf_counter() - t
    acc_lr = float(logreg.score(Xt, yt))
    per_module = ", ".join(f"{a:.2%}" for a in acc)
    print(
        f"  graphmrf DSN, {net.n_modules} modules x {n_hidden} hidden, lam {lam}, {iterations} L-BFGS iterations each"
        f"{f' (budget {budget:g} s)' if budget else ''}: test accuracy {acc[-1]:.2%} (modules: {per_module}); "
        f"{t_dsn:.1f} s"
    )
    print(f"  scikit-learn LogisticRegression (lbfgs, max_iter {lr_iter}): test accuracy {acc_lr:.2%}; {t_lr:.1f} s")
    print(
        f"  DSN - logistic regression: {100 * (acc[-1] - acc_lr):+.2f} points of accuracy, {t_dsn / t_lr:.1f}x the time"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=150.0, help="seconds for the DSN's MNIST training (default 150)")
    ap.add_argument("--mnist-hidden", type=int, default=500, help="hidden units per MNIST module (default 500)")
    ap.add_argument("--mnist-modules", type=int, default=3)
    ap.add_argument("--no-mnist", action="store_true", help="digits only (seconds)")
    ap.add_argument(
        "--threads", type=int, default=None, help="BLAS threads (threadpoolctl); 1 on a shared, oversubscribed machine"
    )
    args = ap.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        print(f"BLAS threads: {args.threads}")
    peak = matmul_rate()
    print(f"machine float32 matrix product: {peak:.0f} GFLOP/s")
    X, y = digits()
    perm = np.random.default_rng(0).permutation(len(y))
    tr, te = perm[:1347], perm[1347:]
    compare("digits", X[tr], y[tr], X[te], y[te], 3, 300, 1.0, 10, None, 1000, peak)
    if not args.no_mnist:
        X, y = mnist("train")
        Xt, yt = mnist("test")
        compare("MNIST", X, y, Xt, yt, args.mnist_modules, args.mnist_hidden, 1.0, 10, args.budget, 100, peak)


if __name__ == "__main__":
    main()
