# %% [markdown]
# # Your first RBM: binarised digits, honest monitors, filters and samples
#
# An RBM is a two-node graph: 64 binary visible units (8x8 pixels) and a layer of binary
# hidden units. With few hidden units the likelihood is *exact* -- the hidden layer is
# enumerated and the visible one summed analytically -- so we can watch the real
# objective instead of its usual stand-in, the reconstruction error.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"

X, y = gm.datasets.digits(binarize="threshold")
train, test = X[:1400], X[1400:]
if FAST:
    train = train[:300]

# %% [markdown]
# ## Declare, compile, train
#
# Visible biases start at log(p / (1 - p)) of the pixel frequencies (Hinton's guide);
# weights at N(0, 0.01^2). Persistent contrastive divergence (PCD-1), mini-batches of 20.

# %%
n_hidden = 8 if FAST else 16
prog = gm.compile(gm.rbm(64, n_hidden, data=train, seed=0))
hist = gm.fit(
    prog,
    train,
    epochs=3 if FAST else 30,
    lr=0.1,
    rule="pcd",
    batch_size=20,
    chains=100,
    seed=0,
    monitors=("log_likelihood", "reconstruction_error", "weight_norm"),
)
print(f"exact log-likelihood per image: {hist['log_likelihood'][0]:.2f} -> {hist['log_likelihood'][-1]:.2f}")
print(f"held-out exact log-likelihood: {gm.exact.log_likelihood(prog, test):.2f}")

# %% [markdown]
# ## Why reconstruction error misleads
#
# The reconstruction error measures how well one pass down and up reproduces the data;
# it is not what PCD optimises and it can improve while the model's samples and its
# likelihood do not. Plot both.

# %%
axes = gm.plots.training_curves(hist, ["log_likelihood", "reconstruction_error", "weight_norm"])
axes[0].figure.tight_layout()
show(axes[0].figure, "05_training_curves")

# %% [markdown]
# ## Is it healthy? Overfitting and parameter health
#
# Hinton's practical guide watches three more numbers. The *free-energy gap* -- the mean
# free energy of held-out images minus that of as many training images -- grows when the
# model starts to memorise. The *update ratio* (size of a step over size of the weights)
# should sit near 1e-3. *Saturated* hidden units are stuck near 0 or 1 for every image and
# learn nothing more. They cost little, so a run can monitor them every few epochs.

# %%
health = gm.fit(
    prog,
    train,
    epochs=2 if FAST else 10,
    lr=0.1,
    rule="pcd",
    batch_size=20,
    seed=1,
    monitors=("free_energy_gap", "update_ratio", "saturated_hidden"),
    validation=test,
    monitor_every=2,
)
for key in ("free_energy_gap", "update_ratio", "saturated_hidden"):
    print(f"{key:>18}: {np.round(health[key], 4).tolist()}")

# %% [markdown]
# ## What the hidden units learned, and what the model dreams

# %%
fig, (a, b) = plt.subplots(1, 2, figsize=(8, 4))
gm.plots.filters(prog, (8, 8), ax=a)
run = gm.sample(prog, n_sweeps=50 if FAST else 1000, chains=16, seed=1)
gm.plots.tiles(np.asarray(run.state)[:, prog.columns("v")], (8, 8), ax=b, title="samples (fantasy particles)")
fig.tight_layout()
show(fig, "05_filters_and_samples")

# %% [markdown]
# ## Partition function: exact against AIS
#
# Past about 20 hidden units exact enumeration stops; annealed importance sampling takes
# over. Here both are available, so check AIS against the truth.

# %%
exact_log_z = gm.exact.log_partition(prog)
ais = gm.ais.log_partition(prog, n_chains=100, betas=200 if FAST else 2000, data=train, seed=0)
print(f"log Z: exact {exact_log_z:.3f}, AIS {ais.log_z:.3f} +- {ais.stderr:.3f}")
