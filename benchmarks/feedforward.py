"""Feed-forward training speed: one epoch of mini-batch backpropagation on MNIST, float32.

The lecture's DBN-DNN shape, 784-500-500-2000-10 (sigmoid hidden layers, softmax output,
cross-entropy), mini-batches of 100, momentum 0.9, weight decay 1e-5, over the 60,000
MNIST training images. Side by side in one run:
  * graphmrf.feedforward.fit (one epoch; its per-batch loss, divergence guard and history);
  * a plain NumPy version of the same update written here (the floor: the six matrix
    products per layer pair and the momentum update, nothing else);
  * scikit-learn's MLPClassifier (logistic hidden units, SGD with momentum, one
    ``partial_fit`` pass), the peer.
Reports seconds per epoch, ratios to the floor, and GFLOP/s against this machine's float32
matrix-product rate measured in the same run.
"""

import argparse
import time
import warnings

import numpy as np

from graphmrf import feedforward as ff
from graphmrf.datasets import mnist

SIZES = [784, 500, 500, 2000, 10]
BATCH, LR, MOMENTUM, DECAY = 100, 0.1, 0.9, 1e-5


def matmul_rate():
    a = np.random.default_rng(0).random((BATCH, 784), dtype=np.float32)
    w = np.random.default_rng(1).random((784, 2000), dtype=np.float32)
    a @ w
    t = time.perf_counter()
    for _ in range(200):
        a @ w
    return 200 * 2 * BATCH * 784 * 2000 / (time.perf_counter() - t) / 1e9


def numpy_epoch(X, y, params, seed=0):
    """The same update in plain NumPy: forward, softmax cross-entropy, backward, momentum.
    Updates ``params`` in place."""
    Ws = [params[f"h{i}.weight"] for i in range(1, 5)]
    bs = [params[f"h{i}.bias"] for i in range(1, 5)]
    vW = [np.zeros_like(W) for W in Ws]
    vb = [np.zeros_like(b) for b in bs]
    order = np.random.default_rng(seed).permutation(X.shape[0])
    eye = np.eye(10, dtype=np.float32)
    for b0 in range(0, X.shape[0], BATCH):
        rows = order[b0 : b0 + BATCH]
        a, T = X[rows], eye[y[rows]]
        acts = [a]
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = a @ W
            z += b
            if i < 3:
                z *= 0.5
                np.tanh(z, out=z)
                z += 1
                z *= 0.5
            else:
                z -= z.max(axis=1, keepdims=True)
                np.exp(z, out=z)
                z /= z.sum(axis=1, keepdims=True)
            a = z
            acts.append(a)
        delta = (a - T) / len(rows)
        for i in range(3, -1, -1):
            gW, gb = acts[i].T @ delta, delta.sum(axis=0)
            if i:
                delta = delta @ Ws[i].T
                delta *= acts[i]
                delta *= 1 - acts[i]
            vW[i] *= MOMENTUM
            vW[i] -= LR * (gW + DECAY * Ws[i])
            vb[i] *= MOMENTUM
            vb[i] -= LR * gb
            Ws[i] += vW[i]
            bs[i] += vb[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60000, help="training images per epoch (default all 60,000)")
    ap.add_argument("--repeat", type=int, default=1, help="interleaved rounds, best of each (default 1)")
    ap.add_argument(
        "--threads", type=int, default=None, help="BLAS threads (threadpoolctl); 1 on a shared, oversubscribed machine"
    )
    args = ap.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        print(f"BLAS threads: {args.threads}")
    X, y = mnist("train")
    X, y = X[: args.rows].astype(np.float32), y[: args.rows]
    peak = matmul_rate()
    pairs = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
    flops = (
        X.shape[0] * 2 * (3 * pairs - SIZES[0] * SIZES[1])
    )  # forward, weight gradient, backward (not into the input)
    print(
        f"{' - '.join(map(str, SIZES))} on {X.shape[0]} MNIST images, batch {BATCH}: "
        f"{flops / 1e9:.0f} GFLOP per epoch; "
        f"machine float32 matrix product ({BATCH} x 784 x 2000): {peak:.0f} GFLOP/s"
    )
    net = ff.Network(SIZES, ["sigmoid"] * 3 + ["softmax"], seed=0)
    start = {k: v.copy() for k, v in net.params.items()}
    floor_params = {k: v.copy() for k, v in start.items()}
    from sklearn.neural_network import MLPClassifier

    def ours():
        for k, v in net.params.items():
            v[...] = start[k]
        return ff.fit(net, X, y, epochs=1, lr=LR, momentum=MOMENTUM, weight_decay=DECAY, batch_size=BATCH, seed=0)

    def floor():
        for k, v in floor_params.items():
            v[...] = start[k]
        numpy_epoch(X, y, floor_params)

    def peer():
        mlp = MLPClassifier(
            hidden_layer_sizes=SIZES[1:-1],
            activation="logistic",
            solver="sgd",
            learning_rate_init=LR,
            momentum=MOMENTUM,
            nesterovs_momentum=False,
            alpha=DECAY,
            batch_size=BATCH,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp.partial_fit(X, y, classes=np.arange(10))
        return mlp

    times = {"plain NumPy (floor)": np.inf, "graphmrf.feedforward.fit": np.inf, "scikit-learn MLPClassifier": np.inf}
    for _ in range(args.repeat):  # interleaved rounds, best of each: the machine may be shared
        for name, fn in zip(times, (floor, ours, peer)):
            t = time.perf_counter()
            out = fn()
            times[name] = min(times[name], time.perf_counter() - t)
            if name.startswith("graphmrf"):
                hist = out
            elif name.startswith("scikit"):
                mlp = out
    base = times["plain NumPy (floor)"]
    for name, sec in times.items():
        rate = flops / sec / 1e9
        print(
            f"  {name:28s} {sec:6.2f} s/epoch  {sec / base:5.2f}x the floor  "
            f"{rate:5.0f} GFLOP/s = {rate / peak:4.0%} of the matrix-product rate"
        )
    gap = max(float(np.abs(net.params[k] - floor_params[k]).max() / np.abs(floor_params[k]).max()) for k in start)
    print(
        f"  the same update: graphmrf's and the floor's parameters after the epoch differ by at most {gap:.1e} "
        "(relative, float32 rounding)"
    )
    print(
        f"  mean training loss over the epoch (chance: ln 10 = {np.log(10):.3f}): graphmrf {hist['loss'][-1]:.3f}, "
        f"scikit-learn {mlp.loss_:.3f}"
        " (each from its own random weights; a deep sigmoid net starts slowly without pretraining)"
    )


if __name__ == "__main__":
    main()
