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

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import graphmrf as gm  # noqa: E402
from graphmrf import memory  # noqa: E402

FAST = os.environ.get("GRAPHMRF_FAST") == "1"
FIGURES = os.environ.get("GRAPHMRF_FIGURES", "figures")
os.makedirs(FIGURES, exist_ok=True)
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
fig.savefig(os.path.join(FIGURES, "03_neuron.png"), dpi=90)
plt.close(fig)

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
fig.savefig(os.path.join(FIGURES, "03_letters.png"), dpi=90)
plt.close(fig)

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
print("synchronous updates of two anti-coupled units:", s.tolist(), "->", gm.samplers.synchronous_step(pair, s).tolist(), "-> ...")

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
fig.savefig(os.path.join(FIGURES, "03_capacity.png"), dpi=90)
plt.close(fig)

# %% [markdown]
# ## At finite temperature a Hopfield net is a Boltzmann machine
#
# Sampling the same model at $\beta < \infty$ is ordinary Gibbs sampling, and on a small
# net the exact distribution is there to check it.

# %%
small = gm.compile(memory.store(xi[:2, :10], "hebb"))
report = gm.verify(small, "sequential", n_chains=2000 if FAST else 10000, n_sweeps=30, beta=2.0, seed=0, stationarity=(1,))
print("stochastic Hopfield net at beta = 2:", "matches the exact distribution" if report.passed else "FAILED")
