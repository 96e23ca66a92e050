# %% [markdown]
# # Partition functions: exact enumeration, annealed importance sampling, and the pitfalls
#
# $\log Z$ turns an energy into a probability, so every likelihood needs it. For an RBM with
# a few hidden units it is exact: enumerate the $2^{n_h}$ hidden states and sum the visible
# units analytically. Past that, annealed importance sampling (AIS) estimates it by moving
# chains from a model with no couplings (whose $Z$ is a product of one-unit sums) to the
# target through intermediate models, weighting each chain by how much more probable its
# state becomes at every step.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"

X, _ = gm.datasets.digits(binarize="threshold")
prog = gm.compile(gm.rbm(64, 12, data=X, seed=0))
gm.fit(prog, X, epochs=5 if FAST else 20, lr=0.1, rule="pcd", batch_size=20, seed=0, monitors=())
exact = gm.exact.log_partition(prog)
print(gm.exact.plan(prog).describe())
print(f"exact log Z = {exact:.4f}")

# %% [markdown]
# ## Pitfall 1: short schedules are biased low
#
# $E[\hat Z] = Z$, but $E[\log \hat Z] \le \log Z$ (Jensen): with too few intermediate
# temperatures the estimate of $\log Z$ is too small, and its standard error, computed from
# the same few weights, does not show it.

# %%
steps = [10, 100, 1000] if FAST else [10, 30, 100, 300, 1000, 3000]
est, err = [], []
for K in steps:
    r = gm.ais.log_partition(prog, n_chains=100, betas=K, seed=1)
    est.append(r.log_z - exact)
    err.append(r.stderr)
    print(f"{K:>5} steps: AIS - exact = {r.log_z - exact:+.4f} +- {r.stderr:.4f}   (ESS {r.ess:.0f} of 100)")
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.errorbar(steps, est, yerr=err, fmt="o-")
ax.axhline(0, color="k", lw=0.8)
ax.set_xscale("log")
ax.set_xlabel("AIS steps")
ax.set_ylabel("AIS log Z - exact log Z")
fig.tight_layout()
show(fig, "06_ais_bias")

# %% [markdown]
# ## Pitfall 2: the base model matters
#
# Starting from a base whose visible biases match the data's pixel frequencies puts the
# chains where the target has its mass; a uniform base wastes most of the schedule.

# %%
K = 100
plain = gm.ais.log_partition(prog, n_chains=100, betas=K, seed=2)
informed = gm.ais.log_partition(prog, n_chains=100, betas=K, data=X, seed=2)
print(f"{K} steps, base with the target's biases: {plain.log_z - exact:+.4f} (ESS {plain.ess:.0f})")
print(f"{K} steps, base with data-set visible biases: {informed.log_z - exact:+.4f} (ESS {informed.ess:.0f})")

# %% [markdown]
# ## Pitfall 3: a likelihood is only as good as its log Z
#
# The average log-likelihood is $-\overline{F(v)} - \log Z$: an error of 1 nat in $\log Z$ is
# an error of 1 nat per image. Check AIS against exact enumeration on a small model before
# trusting it on a large one.

# %%
mean_free = float(np.mean(-np.asarray(prog.free_energy(X), dtype=np.float64)))
print(f"log-likelihood per image: exact {mean_free - exact:.3f}, with AIS log Z {mean_free - informed.log_z:.3f}")
