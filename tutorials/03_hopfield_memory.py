# %% [markdown]
# # Stochastic binary neurons and Hopfield associative memory
#
# A stochastic binary neuron turns on with probability $p(s=1) = \sigma(\beta x)$, where $x$
# is its input; as $\beta \to \infty$ it becomes a deterministic threshold unit. A Hopfield
# network is a layer of such units with symmetric couplings and energy
# $E(\mathbf s) = -\tfrac12 \mathbf s^\top W \mathbf s - \mathbf b^\top \mathbf s$;
# asynchronous zero-temperature updates never raise the energy, so the stored patterns --
# minima of $E$ -- are attractors.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf import memory
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"
rng = np.random.default_rng(0)

# %% [markdown]
# ## A stochastic neuron at several temperatures

# %%
x = np.linspace(-6, 6, 200)
fig, ax = plt.subplots(figsize=(4, 3))
for beta in (0.5, 1, 4):
    ax.plot(x, 1 / (1 + np.exp(-beta * x)), label=f"beta = {beta}")
ax.set_xlabel("input x")
ax.set_ylabel("p(s = 1)")
ax.legend()
fig.tight_layout()
show(fig, "03_neuron")

# %% [markdown]
# ## Storing letters
#
# Five 7x7 letters, as +-1 pixels, stored by the Hebb rule $w_{ij} = \frac1N\sum_\mu \xi_i^\mu \xi_j^\mu$.

# %%
LETTERS = {
    "A": ["..###..", ".#...#.", "#.....#", "#######", "#.....#", "#.....#", "#.....#"],
    "H": ["#.....#", "#.....#", "#.....#", "#######", "#.....#", "#.....#", "#.....#"],
    "T": ["#######", "...#...", "...#...", "...#...", "...#...", "...#...", "...#..."],
    "O": [".#####.", "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", ".#####."],
    "X": ["#.....#", ".#...#.", "..#.#..", "...#...", "..#.#..", ".#...#.", "#.....#"],
}
xi = np.array([[1.0 if c == "#" else -1.0 for row in rows for c in row] for rows in LETTERS.values()])
prog = gm.compile(memory.store(xi, "pseudoinverse"))  # letters are correlated: the projection rule keeps them apart
probes = memory.corrupt(xi, 0.15, rng)
recalled, sweeps = memory.recall(prog, probes, rng)
print(f"recalled {int(np.sum(np.all(recalled == xi, axis=1)))} of {len(xi)} letters in {sweeps} sweeps")

fig, axes = plt.subplots(3, len(xi), figsize=(1.4 * len(xi), 4.2))
for j in range(len(xi)):
    for i, (img, title) in enumerate(((xi[j], "stored"), (probes[j], "probe"), (recalled[j], "recalled"))):
        axes[i, j].imshow(img.reshape(7, 7), cmap="gray_r", vmin=-1, vmax=1)
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
        if j == 0:
            axes[i, j].set_ylabel(title)
fig.tight_layout()
show(fig, "03_letters")

# %% [markdown]
# ## The energy only goes down (asynchronously) -- and synchronous updates can cycle

# %%
state = probes[:1].copy()
energies = [float(prog.energy(state.astype(np.float32))[0])]
for _ in range(3):
    state, _ = gm.samplers.sequential_gibbs(prog, state, rng, order="random", mode="max")
    energies.append(float(prog.energy(state)[0]))
print("energy along asynchronous sweeps:", np.round(energies, 3))
assert all(b <= a + 1e-6 for a, b in zip(energies, energies[1:]))
pair = gm.compile(gm.hopfield(2, weights=np.array([[0.0, -1.0], [-1.0, 0.0]])))
s = np.array([[1.0, 1.0]])
after = gm.samplers.synchronous_step(pair, s)
print("synchronous updates of two anti-coupled units:", s.tolist(), "->", after.tolist(), "-> ...")

# %% [markdown]
# ## The lecture's rule for 0/1 units
#
# With activities $\pm1$ the Hebb rule adds $\Delta w_{ij} = s_i s_j$ per pattern. With
# activities 0 and 1 the lecture's rule is $\Delta w_{ij} = 4(s_i - \tfrac12)(s_j - \tfrac12)$,
# so $w_{ij} = \sum_\mu (2s_i^\mu - 1)(2s_j^\mu - 1)$ -- the $\pm1$ products again, here without
# the $1/N$. `"hebb01"` stores exactly that, with thresholds $b_i = -\tfrac12\sum_j w_{ij}$: the
# input $b_i + \sum_j w_{ij} s_j = \tfrac12 \sum_j w_{ij} (2 s_j - 1)$ then has the sign the
# $\pm1$ net's has, and recall makes the same decision at every step.

# %%
s01 = (xi + 1) / 2  # the letters as 0/1 pixels
W01, b01 = memory.weights(s01, "hebb01")
by_hand = sum(4 * np.outer(p - 0.5, p - 0.5) for p in s01)
np.fill_diagonal(by_hand, 0)
assert np.array_equal(W01, by_hand) and np.array_equal(b01, -0.5 * W01.sum(axis=1))
spin_net = gm.compile(memory.store(xi, "hebb"))
zero_one_net = gm.compile(memory.store(s01, "hebb01"))
out_spin, _ = memory.recall(spin_net, probes, 5)
out_01, _ = memory.recall(zero_one_net, (probes + 1) / 2, 5)
print("0/1 net and +-1 net recall the same states:", np.array_equal((out_spin + 1) / 2, out_01))
n_right = int(np.sum(np.all(out_spin == xi, axis=1)))
print(f"letters recalled by the Hebb rule: {n_right} of {len(xi)} (the letters are correlated)")

# %% [markdown]
# ## Spurious states
#
# The Hebb rule makes more minima than it was asked to. The energy is even in
# $\mathbf s$, so every reversed pattern $-\boldsymbol\xi^\mu$ is as stable as $\boldsymbol\xi^\mu$;
# and the *mixtures* $\mathrm{sgn}(\pm\boldsymbol\xi^1 \pm \boldsymbol\xi^2 \pm \boldsymbol\xi^3)$ of an odd
# number of patterns are fixed points too, with overlap about $\tfrac12$ with each of their
# patterns and energy about $-\tfrac38 N$ against the patterns' $-\tfrac12 N$ (Amit, Gutfreund
# and Sompolinsky, 1985). `memory.attractors` checks these families directly and runs random
# probes down to their fixed points; anything else they reach is labelled "other".

# %%
N3 = 200 if FAST else 500
xi3 = np.where(rng.random((3, N3)) < 0.5, -1.0, 1.0)
net3 = gm.compile(memory.store(xi3, "hebb"), dtype=np.float64)
found = memory.attractors(net3, xi3, n_probes=200 if FAST else 1000, seed=2)
print(found)

fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [1, 1.3]})
colour = {"pattern": "C0", "reversed": "C1", "mixture": "C2", "other": "C3"}
for k, kind in enumerate(colour):
    sel = found.kinds == kind
    if sel.any():
        size = 20 + 200 * found.hits[sel] / found.n_probes
        ax.scatter(np.full(sel.sum(), k), found.energies[sel], s=size, color=colour[kind], alpha=0.7)
ax.axhline(-N3 / 2, ls="--", color="k", lw=0.7, label="-N/2")
ax.axhline(-3 * N3 / 8, ls=":", color="k", lw=0.7, label="-3N/8")
ax.legend(fontsize=8, loc="upper left")
ax.set_xticks(range(len(colour)), list(colour))
ax.set_ylabel("energy E(s)")
ax.set_title("fixed points (size: share of random probes)", fontsize=9)
im = bx.imshow(found.overlaps, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
bx.set_yticks(range(len(found)), found.labels, fontsize=7)
bx.set_xticks(range(3), [f"xi{mu + 1}" for mu in range(3)])
bx.set_title("overlap m with each stored pattern", fontsize=9)
fig.colorbar(im, ax=bx)
fig.tight_layout()
show(fig, "03_spurious_states")

# %% [markdown]
# At a higher load the probes also end in states that are neither patterns nor mixtures.

# %%
xi12 = np.where(rng.random((12, 100)) < 0.5, -1.0, 1.0)
loaded = memory.attractors(gm.compile(memory.store(xi12, "hebb"), dtype=np.float64), xi12, n_probes=300, seed=3)
print(
    "load 0.12:",
    {kind: int(np.sum(loaded.kinds == kind)) for kind in colour},
    "fixed points;",
    f"{int(loaded.hits[loaded.spurious].sum())} of {loaded.n_probes} random probes end in a spurious one",
)

# %% [markdown]
# ## Capacity: how many random patterns fit?
#
# The Hebb rule breaks down near $M/N \approx 0.14$; Storkey's rule and the pseudo-inverse
# store many more.

# %%
N = 100 if FAST else 200
loads = np.round(np.arange(0.04, 0.64, 0.08 if FAST else 0.04), 2)
fig, ax = plt.subplots(figsize=(5, 3.2))
for rule in ("hebb", "storkey", "pseudoinverse"):
    res = memory.capacity(N, loads, rule, trials=1 if FAST else 3, seed=1)
    ax.plot(res["load"], res["recalled"], ".-", label=f"{rule} (critical {memory.critical_load(res):.2f})")
ax.axvline(0.138, ls="--", color="k", lw=0.7)
ax.set_xlabel("load M / N")
ax.set_ylabel("recalled from 10% noise")
ax.legend(fontsize=8)
fig.tight_layout()
show(fig, "03_capacity")

# %% [markdown]
# ## At finite temperature a Hopfield net is a Boltzmann machine
#
# Sampling the same model at $\beta < \infty$ is ordinary Gibbs sampling, and on a small
# net the exact distribution is there to check it.

# %%
small = gm.compile(memory.store(xi[:2, :10], "hebb"))
n_chains = 2000 if FAST else 10000
report = gm.verify(small, "sequential", n_chains=n_chains, n_sweeps=30, beta=2.0, seed=0, stationarity=(1,))
print("stochastic Hopfield net at beta = 2:", "matches the exact distribution" if report.passed else "FAILED")
