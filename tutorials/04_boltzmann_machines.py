# %% [markdown]
# # Boltzmann machines: clamped and free statistics, learning with hidden units, annealing
#
# A Boltzmann machine is a Hopfield net with hidden units, run at finite temperature. Its
# learning rule (Ackley, Hinton & Sejnowski, 1985) is
#
# $$\Delta w_{ij} \propto \langle s_i s_j\rangle_{\text{clamped}} - \langle s_i s_j\rangle_{\text{free}},$$
#
# the difference between the correlations with the visible units held at the data and the
# correlations of the machine running freely. Both are expectations graphmrf can compute
# exactly on small machines and estimate by Gibbs sampling on large ones.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf import learn
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"

# %% [markdown]
# ## The lecture's machine: clamped against free statistics
#
# With the data "v = 11 always", the clamped phase sees $v_1 = v_2 = 1$; the free phase sees
# the machine's own distribution ($p(v=11) = 0.466$). The exact gradient is their difference;
# the sampled estimate converges to it.

# %%
lecture = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")), dtype=np.float64)
data = np.array([[1, 1]])
key = "units[binary]~units[binary].weight"
exact = learn.exact_gradient(lecture, data)[key]
grad, pos, neg = learn.boltzmann_gradient(lecture, np.repeat(data, 2000, axis=0), 0, sweeps=50, positive_sweeps=20)
for e, (u, v, _, _) in enumerate(lecture.couplings[0].edges):
    print(
        f"w({u},{v}): clamped {pos.stats[key][e]:.3f}  free {neg.stats[key][e]:.3f}  "
        f"sampled gradient {grad[key][e]:+.3f}  exact {exact[e]:+.3f}"
    )

# %% [markdown]
# ## Learning bars and stripes, with and without hidden units
#
# The 14 images of 3x3 bars and stripes: the best any model can do is $-\log 14 = -2.64$
# nats per image. A machine without hidden units can only use pairwise correlations; hidden
# units let it represent "this is a bar image" explicitly.

# %%
X = gm.datasets.bars_and_stripes(3)
epochs = 60 if FAST else 400
curves = {}
for label, nh in [("no hidden units", 0), ("4 hidden units", 4)]:
    prog = gm.compile(gm.boltzmann(9, nh, lateral=True, seed=0, scale=0.5), dtype=np.float64)
    curves[label] = gm.fit(prog, X, epochs=epochs, lr=0.5, rule="exact", monitors=("log_likelihood",))["log_likelihood"]
pcd = gm.compile(gm.boltzmann(9, 4, lateral=True, seed=0, scale=0.5), dtype=np.float64)
hist = gm.fit(pcd, X, epochs=epochs, lr=0.05, rule="pcd", k=5, chains=500, seed=0, monitors=("log_likelihood",))
curves["4 hidden units, PCD"] = hist["log_likelihood"]
fig, ax = plt.subplots(figsize=(5, 3.4))
for label, ll in curves.items():
    ax.plot(ll, label=f"{label}: {ll[-1]:.3f}")
ax.axhline(-np.log(len(X)), color="k", ls="--", lw=0.8, label=f"entropy bound {-np.log(len(X)):.3f}")
ax.set_xlabel("epoch")
ax.set_ylabel("exact log-likelihood per image")
ax.legend(fontsize=7)
fig.tight_layout()
show(fig, "04_bars_and_stripes")
for label, ll in curves.items():
    print(f"{label:<22} final exact log-likelihood {ll[-1]:.3f}")

# %% [markdown]
# ## Simulated annealing finds low-energy states
#
# Raising $\beta$ slowly lets the machine settle into its ground state; faster schedules get
# stuck more often. The ground state here is known exactly by enumeration.

# %%
rng = np.random.default_rng(11)  # a spin glass whose ground state is 3.2 below the next state
A = np.triu(rng.normal(size=(14, 14)), 1)
glass = gm.compile(gm.hopfield(14, weights=A + A.T, kind="spin"), dtype=np.float64)
e_min = -gm.exact.table(glass).neg_energy.max()
fig, ax = plt.subplots(figsize=(5, 3.2))
for n in (3, 30, 300):
    betas = gm.samplers.geometric(0.05, 5.0, n)
    s, E = gm.samplers.anneal(glass, glass.random_state(200, seed=2), 3, betas, sweep=gm.samplers.sequential_gibbs)
    rate = float(np.mean(np.isclose(glass.energy(s), e_min)))
    style = ".-" if n < 300 else "-"
    ax.plot(betas, np.asarray(E).mean(axis=1), style, label=f"{n} sweeps: ground state in {rate:.0%}")
    print(f"{n:>4} sweeps: ground state found by {rate:.0%} of 200 runs")
ax.axhline(e_min, color="k", ls="--", lw=0.8)
ax.set_xscale("log")
ax.set_xlabel("inverse temperature beta")
ax.set_ylabel("mean energy")
ax.legend(fontsize=8)
fig.tight_layout()
show(fig, "04_annealing")
