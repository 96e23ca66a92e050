# %% [markdown]
# # Deep Boltzmann machines: mean field against Gibbs, pre-training, and AIS
#
# A deep Boltzmann machine (DBM) is a Boltzmann machine whose units sit in layers
# $v, h^1, h^2, \dots$ with couplings only between consecutive layers -- the lecture's "no
# connections within a layer, none between non-adjacent layers", which lets every other
# layer be updated in parallel. Unlike an RBM, its hidden units are coupled to each other,
# so $p(h \mid v)$ does not factorise: the positive phase of Boltzmann learning needs an
# approximation. Salakhutdinov & Hinton (2009) use the *mean-field* posterior for it,
# persistent chains for the negative phase, and a greedy pre-training to start from.
#
# Everything here is small enough (64-16-8 on binarised 8x8 digits) for exact enumeration,
# so each approximation is checked against the truth.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf import deep_boltzmann as db
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"

X, y = gm.datasets.digits(binarize="threshold")
train, test = X[:1400], X[1400:]
prog = gm.compile(gm.dbm([64, 16, 8], seed=0), seed=0)
print(prog)
print("blocks updated together:", [[str(p) for p in b] for b in prog.blocks])

# %% [markdown]
# ## Greedy pre-training
#
# Two RBMs, trained one after the other with `gm.fit`: the bottom one sees every image
# *twice* (its visible layer doubled, the two copies tied), so that its
# $p(h^1 \mid v) = \sigma(2 v W^1 + c)$ counts the input from below twice -- in the DBM,
# $h^1$ will also hear $h^2$ from above. The top RBM doubles its hidden layer for the same
# reason. Composed into the DBM, each middle layer's bias is the mean of its two RBMs'.

# %%
start = gm.exact.log_likelihood(prog, train)
pre = db.pretrain(prog, train, epochs=5 if FAST else 20, lr=0.05, batch_size=20, seed=0)
print([str(r) for r in pre.rbms])
print(
    f"exact log-likelihood per image: random start {start:.2f}, pre-trained {gm.exact.log_likelihood(prog, train):.2f}"
)

# %% [markdown]
# ## Mean field against Gibbs sampling
#
# For one test image, the mean-field means $\mu$ solve
# $\mu^1 = \sigma(b^1 + v W^1 + \mu^2 W^{2\top})$, $\mu^2 = \sigma(b^2 + \mu^1 W^2)$; a few
# iterations reach the fixed point. The true posterior marginals $p(h_j = 1 \mid v)$ come
# from many clamped Gibbs chains. Mean field gets them close but not exactly: it ignores
# the correlations between hidden units.

# %%
v = test[:1]
changes = [db.mean_field(prog, v, tol=0.0, max_iter=i).change for i in range(1, 13)]
q = db.mean_field(prog, v, tol=1e-6)  # float32: about its rounding
print(f"mean field: converged in {q.iterations} iterations")
chains = 500 if FAST else 4000
clamp = np.zeros(prog.n_columns, bool)
clamp[prog.columns("v")] = True
init = prog.random_state(chains, seed=1)
init[:, prog.columns("v")] = v
run = gm.sample(prog, 50, chains=chains, burn_in=20, clamp=clamp, init=init, seed=2, record_energy=False)
gibbs = np.asarray(run.samples).reshape(-1, prog.n_columns).mean(axis=0)
hidden = np.r_[prog.columns("h1"), prog.columns("h2")]
fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
a.semilogy(range(1, 13), changes, ".-")
a.set_xlabel("iteration")
a.set_ylabel("largest change of a mean")
a.set_title("the fixed-point iteration")
b.plot([0, 1], [0, 1], "k:", lw=1)
b.plot(gibbs[hidden], q.means[0, hidden], "o", ms=4)
b.set_xlabel("p(h = 1 | v) from clamped Gibbs chains")
b.set_ylabel("mean-field mean")
b.set_title("posterior marginals of h1 and h2")
fig.tight_layout()
show(fig, "10_mean_field_vs_gibbs")

# %% [markdown]
# ## Learning: mean-field positive phase, persistent negative phase
#
# `db.mean_field_pcd` is a gradient estimator with the signature of
# `gm.learn.contrastive_divergence`, so `gm.fit` runs it with all its machinery (mini-batches,
# momentum, the divergence guard, monitors). The learning rate decays as $1/t$, as
# stochastic approximation with persistent chains asks for. The variational bound is a
# monitor like any other: a function of the model and the data.

# %%
log_z = {"exact": gm.exact.log_partition(prog)}


def bound(program, data):
    return db.variational_bound(program, data, gm.exact.log_partition(program))


hist = gm.fit(
    prog,
    train,
    rule=db.mean_field_pcd,
    epochs=3 if FAST else 20,
    lr=db.decaying_rate(0.02, 10),
    batch_size=20,
    k=5,
    chains=100,
    momentum=0.5,
    seed=0,
    monitors=("log_likelihood", bound),
    monitor_every=1 if FAST else 5,
)
axes = gm.plots.training_curves(hist, ["log_likelihood", "bound"])
axes[0].figure.tight_layout()
show(axes[0].figure, "10_training")
print(f"train: exact log-likelihood {hist['log_likelihood'][-1]:.2f}, variational bound {hist['bound'][-1]:.2f}")

# %% [markdown]
# ## The partition function by AIS, and the test-set bound
#
# Past a few dozen hidden units nothing can be enumerated. AIS anneals from a model with no
# couplings to the DBM; the odd layer $h^1$ is summed out analytically given $v$ and $h^2$,
# which lowers the variance. Here the exact value is still at hand to check it.

# %%
exact_log_z = gm.exact.log_partition(prog)
est = db.log_partition(prog, n_chains=100, betas=500 if FAST else 5000, data=train, seed=0)
print(f"log Z: exact {exact_log_z:.3f}, AIS {est.log_z:.3f} +- {est.stderr:.3f} (ESS {est.ess:.0f}/100)")
exact_test = gm.exact.log_likelihood(prog, test)
print(
    f"test: exact log-likelihood {exact_test:.2f}, "
    f"variational bound with AIS's log Z {db.variational_bound(prog, test, est.log_z):.2f}"
)

# %% [markdown]
# ## What the DBM dreams
#
# Fantasy particles: block Gibbs sampling from random states, the even layers ($v$, $h^2$)
# then the odd one, in turn.

# %%
run = gm.sample(prog, 100 if FAST else 1000, chains=24, seed=3, record_energy=False)
ax = gm.plots.tiles(np.asarray(run.state)[:, prog.columns("v")], (8, 8), ncols=8, title="DBM samples")
show(ax.figure, "10_samples")
