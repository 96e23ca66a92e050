"""RBM training speed: one epoch of CD-1 and of PCD-1, 784 visible x 500 hidden, float32.

10,000 binary training vectors (noisy copies of 20 random prototypes, generated here),
mini-batches of 100. Side by side in one run:
  * graphmrf ``gm.fit`` (rule "cd" and "pcd", k = 1, 100 persistent chains);
  * a plain NumPy CD-1 written here (the floor: five matrix products per batch);
  * scikit-learn's BernoulliRBM (its only rule, PCD-1, one pass);
  * learnergy's RBM on the CPU (torch), when installed in the benchmark environment.
Reports samples per second, ratios, and the achieved GFLOP/s against this machine's
float32 matrix-product rate measured in the same script.
"""

import argparse
import time

import numpy as np

import graphmrf as gm

NV, NH, N, BATCH = 784, 500, 10000, 100


def data(seed=0):
    rng = np.random.default_rng(seed)
    proto = rng.random((20, NV)) < 0.3
    X = proto[rng.integers(0, 20, N)]
    flip = rng.random((N, NV)) < 0.05
    return np.where(flip, ~X, X).astype(np.float32)


def numpy_cd1(X, lr=0.01, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.01, (NV, NH)).astype(np.float32)
    b, c = np.zeros(NV, np.float32), np.zeros(NH, np.float32)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for i in range(0, len(X), BATCH):
        v0 = X[i : i + BATCH]
        ph0 = sig(v0 @ W + c)
        h0 = (rng.random(ph0.shape, dtype=np.float32) < ph0).astype(np.float32)
        v1 = (rng.random(v0.shape, dtype=np.float32) < sig(h0 @ W.T + b)).astype(np.float32)
        ph1 = sig(v1 @ W + c)
        n = len(v0)
        W += lr * (v0.T @ ph0 - v1.T @ ph1) / n
        b += lr * (v0 - v1).mean(0)
        c += lr * (ph0 - ph1).mean(0)
    return W


def matmul_rate():
    a = np.random.default_rng(0).random((1000, 1000), dtype=np.float32)
    a @ a
    t = time.perf_counter()
    for _ in range(10):
        a @ a
    return 10 * 2e9 / (time.perf_counter() - t) / 1e9


def timed(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds (best of each)")
    args = ap.parse_args()
    X = data()
    peak = matmul_rate()
    flops = N * 5 * 2 * NV * NH  # CD-1: five (batch x 784 x 500) matrix products per batch
    print(f"machine float32 matrix product: {peak:.1f} GFLOP/s; one epoch of CD-1 is {flops / 1e9:.1f} GFLOP")
    prog = gm.compile(gm.rbm(NV, NH, seed=0), seed=0)  # compiled once, outside the timing
    start = {k: v.copy() for k, v in prog.params.items()}

    def ours(rule):
        for k, v in prog.params.items():
            v[...] = start[k]
        gm.fit(prog, X, epochs=1, lr=0.01, rule=rule, k=1, batch_size=BATCH, chains=BATCH, monitors=(), seed=0)

    contenders = {"numpy CD-1 (floor)": lambda: numpy_cd1(X), "graphmrf CD-1": lambda: ours("cd"), "graphmrf PCD-1": lambda: ours("pcd")}
    try:
        from sklearn.neural_network import BernoulliRBM

        contenders["scikit-learn BernoulliRBM (PCD-1)"] = lambda: BernoulliRBM(n_components=NH, batch_size=BATCH, n_iter=1, learning_rate=0.01, random_state=0).fit(X)
    except ImportError:
        print("scikit-learn: not installed")
    # interleaved rounds, best of each: drift in the machine's speed hits every contender alike
    rows = {name: np.inf for name in contenders}
    for _ in range(args.repeat):
        for name, fn in contenders.items():
            rows[name] = min(rows[name], timed(fn, 1))
    try:
        import torch
        from learnergy.models.bernoulli import RBM as LRBM

        torch.manual_seed(0)
        Xt = torch.from_numpy(X)

        def learnergy():
            model = LRBM(n_visible=NV, n_hidden=NH, steps=1, learning_rate=0.01, use_gpu=False)
            model.fit(torch.utils.data.TensorDataset(Xt, torch.zeros(N)), batch_size=BATCH, epochs=1)

        rows["learnergy RBM (CD-1, torch CPU)"] = timed(learnergy, 1)
    except Exception as exc:  # not installed, or its API moved
        print(f"learnergy: not run ({type(exc).__name__}: {str(exc)[:80]})")
    ref = rows["numpy CD-1 (floor)"]
    print(f"\n{'':<36}{'seconds':>9}{'samples/s':>12}{'GFLOP/s':>9}{'vs numpy':>10}")
    for name, t in rows.items():
        print(f"{name:<36}{t:9.3f}{N / t:12.0f}{flops / t / 1e9:9.1f}{ref / t:9.2f}x")
    for peer in ("scikit-learn BernoulliRBM (PCD-1)", "learnergy RBM (CD-1, torch CPU)"):
        if peer in rows:
            print(f"graphmrf PCD-1 vs {peer}: {rows[peer] / rows['graphmrf PCD-1']:.2f}x; CD-1: {rows[peer] / rows['graphmrf CD-1']:.2f}x")


if __name__ == "__main__":
    main()
