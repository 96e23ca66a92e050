# %% [markdown]
# # Beyond binary: Gaussian RBMs for real values, softmax RBMs for ratings with gaps
#
# The unit kind is a node attribute. A *gaussian* visible layer models real-valued data
# (energy $(v-b)^2/2\sigma^2 - (v/\sigma) W h$); a *softmax* visible layer models one of K
# categories per unit, stored as K one-hot columns -- the collaborative-filtering RBM of
# Salakhutdinov, Mnih & Hinton (2007), where each user is an RBM over the items they rated.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"
rng = np.random.default_rng(0)

# %% [markdown]
# ## A Gaussian-Bernoulli RBM on real-valued data
#
# Standardise first (a constant feature would drive its sigma to zero; `standardize` warns),
# keep the learning rate small, and check the exact log-likelihood -- with a handful of
# hidden units it is available.

# %%
centres = np.array([[2.0, 2.0], [-2.0, 1.0], [0.0, -2.5]])
raw = centres[rng.integers(0, 3, 1500)] + 0.5 * rng.normal(size=(1500, 2))
Z, mean, std = gm.datasets.standardize(raw)
gauss = gm.compile(gm.rbm(2, 6, visible="gaussian", seed=0, scale=0.5), dtype=np.float64)
# lr 0.1 learns slowly but surely; lr 0.5 blows the scales up (try it): Gaussian RBMs need care
hist = gm.fit(gauss, Z, epochs=40 if FAST else 300, lr=0.1, rule="exact", monitors=("log_likelihood",))
ll = hist["log_likelihood"]
sigma = np.round(gauss.get("v", "sigma"), 3)
print(f"Gaussian RBM: exact log-likelihood {ll[0]:.3f} -> {ll[-1]:.3f}; learned sigma {sigma}")
samples = np.asarray(gm.sample(gauss, n_sweeps=200, chains=1500, seed=1).state)[:, :2] * std + mean
fig, ax = plt.subplots(figsize=(4, 4))
ax.plot(raw[:, 0], raw[:, 1], ".", ms=2, alpha=0.4, label="data")
ax.plot(samples[:, 0], samples[:, 1], ".", ms=2, alpha=0.4, label="RBM samples")
ax.legend()
fig.tight_layout()
show(fig, "07_gaussian_rbm")

# %% [markdown]
# ## A softmax RBM for ratings with missing entries
#
# 400 users rate 30 items from 1 to 5 stars, and each user rated only 40 % of them.
# Missing ratings are whole units of NaN: they are *absent* -- they feed nothing to the
# hidden units and get no gradient -- and `impute` fills them afterwards.

# %%
n_users, n_items, K = 400, 30, 5
taste = rng.integers(0, 3, n_users)
profile = rng.integers(1, 6, (3, n_items))
ratings = np.clip(profile[taste] + rng.integers(-1, 2, (n_users, n_items)), 1, 5)
observed = rng.random((n_users, n_items)) < 0.4
held_out = (~observed) & (rng.random((n_users, n_items)) < 0.25)


def one_hot(r, mask):
    out = np.full((len(r), n_items, K), np.nan)
    out[mask] = np.eye(K)[r[mask] - 1]
    return out.reshape(len(r), n_items * K)


train = one_hot(ratings, observed)
soft = gm.compile(gm.rbm(n_items, 12, visible="softmax", categories=K, seed=0))
gm.fit(soft, train, epochs=10 if FAST else 60, lr=0.05, rule="cd", batch_size=20, seed=0, monitors=())
sweeps, burn_in, per_row = (60, 10, 2) if FAST else (300, 50, 5)
filled = gm.impute(soft, train, n_sweeps=sweeps, burn_in=burn_in, chains_per_row=per_row, seed=1)
expected = (filled.reshape(n_users, n_items, K) * np.arange(1, K + 1)).sum(-1)
truth = ratings[held_out]
rmse_rbm = np.sqrt(np.mean((expected[held_out] - truth) ** 2))
item_mean = np.array([ratings[observed[:, j], j].mean() for j in range(n_items)])
rmse_mean = np.sqrt(np.mean((item_mean[np.nonzero(held_out)[1]] - truth) ** 2))
print(f"held-out ratings: RMSE {rmse_rbm:.3f} (softmax RBM) vs {rmse_mean:.3f} (item means)")

# %% [markdown]
# `impute` samples the missing ratings jointly. The collaborative-filtering RBM asks a
# different, exact question: add *one* unrated item to the user's own RBM (the other
# unrated items stay absent) and sum the hidden units out --
# `p(rating | the user's ratings)` in closed form, no sampling. This is how the softmax
# RBM predicts on MovieLens-100k (`benchmarks/movielens.py`).

# %%
users_q, items_q = np.nonzero(held_out)
p_exact = gm.predict_absent(soft, train, users_q, items_q)
rmse_exact = np.sqrt(np.mean((p_exact @ np.arange(1, K + 1) - ratings[users_q, items_q]) ** 2))
print(f"held-out ratings: RMSE {rmse_exact:.3f} (exact predictions of absent units)")
