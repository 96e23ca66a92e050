# %% [markdown]
# # Declaring a model, compiling it, and enumerating it exactly
#
# The lecture's first Boltzmann machine has two visible units $v_1, v_2$ and two hidden
# units $h_1, h_2$, couplings $w_{v_1h_1} = 2$, $w_{v_2h_2} = 1$, $w_{h_1h_2} = -1$ and no
# biases. Its energy is
#
# $$E(\mathbf v, \mathbf h) = -\sum_{i<j} w_{ij} s_i s_j, \qquad
#   p(\mathbf v, \mathbf h) = \frac{e^{-E(\mathbf v, \mathbf h)}}{Z}, \qquad
#   Z = \sum_{\mathbf u, \mathbf g} e^{-E(\mathbf u, \mathbf g)}.$$
#
# In graphmrf a model *is* a networkx graph: nodes are units (or layers of units) with a
# `kind`, edges are couplings with a `weight`. Run this file as a script
# (`python tutorials/01_declare_compile_enumerate.py`) or open it as a notebook
# (`pip install "graphmrf[notebooks]"`; jupytext reads the `# %%` cells). Figures go through
# `graphmrf.plots.show`: inline in a notebook, saved to the folder named by the environment
# variable `GRAPHMRF_FIGURES` when it is set; `GRAPHMRF_FAST=1` runs a quick version.

# %%
import os

import networkx as nx
import numpy as np

import graphmrf as gm
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"

g = nx.Graph(name="lecture")
for name, visible in [("v1", True), ("v2", True), ("h1", False), ("h2", False)]:
    g.add_node(name, kind="binary", visible=visible, bias=0.0)
g.add_edge("v1", "h1", weight=2.0)
g.add_edge("v2", "h2", weight=1.0)
g.add_edge("h1", "h2", weight=-1.0)

# %% [markdown]
# ## Compiling
#
# `gm.compile` validates the graph (a typo in a kind or a weight of the wrong shape is an
# error naming the node or edge), colours it into *blocks* of units that are conditionally
# independent given the rest, and lays the units out as columns of one state array.

# %%
prog = gm.compile(g, dtype=np.float64)
print(prog)
for i, block in enumerate(prog.blocks):
    print(f"block {i}:", [p.layer.nodes[u] for p in block for u in p.indices])

# %% [markdown]
# ## The lecture's table
#
# `gm.exact.table` lists every joint state with $-E$, $e^{-E}$, $p(\mathbf v,\mathbf h)$ and
# $p(\mathbf v)$. Compare with the lecture: $Z \approx 39.70$ and
# $p(\mathbf v) = .466, .305, .144, .084$ for $\mathbf v = 11, 10, 01, 00$.

# %%
table = gm.exact.table(prog)
print(table)
states, p_v = gm.exact.distribution(prog)
for s, p in zip(states[::-1], p_v[::-1]):
    print("v =", "".join(str(int(x)) for x in s), f"p(v) = {p:.3f}")
assert abs(np.exp(table.log_z) - 39.70) < 0.015

# %% [markdown]
# ## Marginals, log-likelihood and its gradient
#
# The same enumeration gives the marginal means $E[s_i]$, the exact log-likelihood of data
# and the exact gradient $\partial \log p(\mathbf v)/\partial w_{ij} =
# \langle s_i s_j\rangle_{\text{data}} - \langle s_i s_j\rangle_{\text{model}}$ -- the
# quantity every learning rule later estimates by sampling.

# %%
print(gm.exact.marginals(prog))
data = np.array([[1, 1], [1, 0], [1, 1]])
print("mean log p(v) of the data:", gm.exact.log_likelihood(prog, data))
grad = gm.exact.log_likelihood_grad(prog, data)
print("gradient of the couplings:", np.round(grad["units[binary]~units[binary].weight"], 4))

# %% [markdown]
# ## Plot p(v)

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4, 3))
labels = ["".join(str(int(x)) for x in s) for s in states]
ax.bar(labels, p_v, color="tab:blue")
ax.set_xlabel("visible state v1 v2")
ax.set_ylabel("p(v)")
ax.set_title(f"lecture Boltzmann machine, Z = {np.exp(table.log_z):.2f}")
fig.tight_layout()
show(fig, "01_lecture_p_v")

# %% [markdown]
# ## Larger models: what is summed and what is enumerated
#
# For an RBM the hidden layer (or the visible one, whichever is larger) is summed
# analytically -- $\sum_{h_j} e^{h_j x_j} = 1 + e^{x_j}$ -- and only the smaller layer is
# enumerated. A 784-visible RBM with a handful of hidden units is therefore exact.

# %%
rbm = gm.compile(gm.rbm(784, 8 if FAST else 16, seed=0, scale=0.1))
print(gm.exact.plan(rbm).describe())
print("log Z =", gm.exact.log_partition(rbm))
