# %% [markdown]
# # Belief nets: explaining away, Neal's rule and wake-sleep
#
# A *sigmoid belief net* (Neal, 1992) is a directed acyclic graph of stochastic binary
# units: each unit turns on with probability $\sigma(b_i + \sum_j w_{ji} s_j)$ given its
# parents, so $p(s) = \prod_i p(s_i \mid \text{parents})$ -- no energy to normalise, and
# generating is one pass from the top. The hard part is the other direction: given what
# we see, what caused it? Two causes that are independent a priori become dependent once
# their common effect is observed -- knowing one of them happened makes the other less
# likely. That is *explaining away*, and it is why the posterior over the hidden causes
# does not factorise and why learning these nets is hard.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"

# %% [markdown]
# ## Explaining away, exactly
#
# The lecture's net: a truck or an earthquake (each with prior probability
# $\sigma(-10) \approx 5 \cdot 10^{-5}$) can make the house jump, which it almost never does
# on its own ($\sigma(-20)$) and does with probability $\sigma(0) = 1/2$ given one cause.
# Enumerating the four states of the causes gives the exact posterior.

# %%
net = gm.compile(gm.load(gm.models.path("explaining_away.graphml")), dtype=np.float64)
hidden, post = gm.belief.exact_posterior(net, np.array([[1.0]]))  # the house jumped
for (t, e), p in zip(hidden, post[0]):
    print(f"truck={t:.0f} earthquake={e:.0f}:  p = {p:.6f}")
p_quake = post[0][hidden[:, 1] == 1].sum()
p_quake_truck = post[0][(hidden[:, 0] == 1) & (hidden[:, 1] == 1)].sum() / post[0][hidden[:, 0] == 1].sum()
print(f"p(earthquake | jump) = {p_quake:.4f};  p(earthquake | jump, truck) = {p_quake_truck:.2e}")

# %% [markdown]
# Each cause alone explains the jump, so each is about as likely as not; once we learn that
# a truck passed, the earthquake is explained away -- back to (almost) its prior.
#
# ## The same posterior by Gibbs sampling
#
# With the visible unit clamped, block Gibbs samples the causes. A parent's conditional
# includes its children's likelihood, so the two causes are updated one at a time, each
# looking at the other through their common child. Clamping the truck as well gives the
# explained-away earthquake.

# %%
chains = 2000 if FAST else 20000
s = gm.belief.posterior_sample(net, np.ones((chains, 1)), sweeps=10, seed=0)
codes = (2 * s[:, 0] + s[:, 1]).astype(int)
gibbs = np.bincount(codes, minlength=4) / chains
both = gm.sample(net, 10, chains=chains, clamp={"house_jumps": 1, "truck": 1}, seed=1)
quake_given_truck = float(np.mean(both.state[:, net.columns("earthquake")]))
print(f"Gibbs p(earthquake | jump) = {gibbs[1] + gibbs[3]:.4f};  p(earthquake | jump, truck) = {quake_given_truck:.4f}")
fig, ax = plt.subplots(figsize=(5, 3))
x = np.arange(4)
ax.bar(x - 0.2, post[0], 0.4, label="exact")
ax.bar(x + 0.2, gibbs, 0.4, label=f"Gibbs, {chains} chains")
ax.set_xticks(x, ["neither", "earthquake", "truck", "both"])
ax.set_ylabel("p(causes | house jumps)")
ax.legend()
fig.tight_layout()
show(fig, "08_explaining_away")

# %% [markdown]
# A warning the exact table makes visible: each chain stays with the cause it first picks
# (switching passes through states of probability $e^{-10}$). Here many chains started at
# random split evenly because the two causes are symmetric; in general a Gibbs posterior of
# a belief net can be far from mixed, so check it against enumeration on small nets.
#
# ## Learning by Neal's rule
#
# The gradient of $\log p(v)$ needs the posterior: sample the hidden units given the data
# (Gibbs, as above), then every unit learns to predict its own state from its parents by
# the local delta rule $\Delta w_{ji} \propto s_j\,(s_i - \sigma(x_i))$. No negative phase:
# the net is normalised. `gm.belief.neal` is a gradient estimator for `gm.fit`; on a net small
# enough to enumerate it can be compared with the exact gradient.

# %%
rng = np.random.default_rng(0)
teacher = gm.compile(gm.sbn([6, 4, 2], seed=3, scale=3.0), dtype=np.float64)
X = gm.belief.dream(teacher, 500, seed=0)[:, teacher.visible_columns]
print(
    f"data: 500 vectors from a 6-4-2 teacher net; "
    f"their exact log-likelihood under it: {gm.exact.log_likelihood(teacher, X):.3f}"
)

student = gm.compile(gm.sbn([6, 4, 2], seed=0, scale=1.0), dtype=np.float64)
exact = gm.learn.exact_gradient(student, X)
sampled, _ = gm.belief.neal(student, X, rng, positive_sweeps=20)
fig, ax = plt.subplots(figsize=(3.6, 3.4))
for key in exact:
    ax.plot(np.ravel(exact[key]), np.ravel(sampled[key]), ".", label=key)
lim = max(abs(np.concatenate([np.ravel(v) for v in exact.values()])).max(), 0.1)
ax.plot([-lim, lim], [-lim, lim], "k-", lw=0.7)
ax.set_xlabel("exact gradient")
ax.set_ylabel("Neal's rule (one batch)")
ax.legend(fontsize=7)
fig.tight_layout()
show(fig, "08_neal_gradient")

# %%
epochs = 8 if FAST else 40
runs = {}
for rule in ("exact", gm.belief.neal):
    model = gm.compile(gm.sbn([6, 4, 2], seed=0, scale=0.1), seed=0)
    runs[getattr(rule, "__name__", rule)] = gm.fit(
        model,
        X,
        rule=rule,
        epochs=epochs,
        lr=0.5,
        batch_size=50,
        positive_sweeps=5,
        monitors=("log_likelihood",),
        seed=1,
    )

# %% [markdown]
# ## Wake-sleep
#
# Gibbs sampling every hidden unit for every example is slow. Wake-sleep (Hinton, Dayan,
# Frey & Neal, 1995) learns a second, bottom-up *recognition* net $q(h \mid v)$ that
# guesses the causes in one pass. Its weights are edges of the graph too,
# `(child, parent, recognition=True)`, saved and loaded with the model.
#
# * **wake**: recognise the data ($h \sim q(h \mid v)$) and train the generative weights by
#   the delta rule on these states;
# * **sleep**: dream a fantasy $(h, v)$ from the generative net and train the recognition
#   weights to recover its $h$ from its $v$.
#
# The wake phase climbs the variational bound
# $\mathcal F = \sum_h q(h\mid v)\,[\log p(v,h) - \log q(h\mid v)] \le \log p(v)$; the
# sleep phase fits $q$ to the model's posterior the other way round, so the pair follows no
# single objective. On a small net both the log-likelihood and the bound can be enumerated.

# %%
model = gm.compile(gm.sbn([6, 4, 2], seed=0, scale=0.1, recognition=True), seed=0)
ws = gm.belief.wake_sleep(
    model, X, epochs=epochs, lr=0.5, batch_size=50, seed=1, monitors=("log_likelihood", gm.belief.variational_bound)
)
fig, ax = plt.subplots(figsize=(5, 3.4))
ax.plot(runs["exact"]["epoch"], runs["exact"]["log_likelihood"], "k-", label="exact gradient")
ax.plot(runs["neal"]["epoch"], runs["neal"]["log_likelihood"], ".-", label="Neal's rule")
ax.plot(ws["epoch"], ws["log_likelihood"], ".-", label="wake-sleep: log p(v)")
ax.plot(ws["epoch"], ws["variational_bound"], "--", label="wake-sleep: bound F")
ax.set_xlabel("epoch")
ax.set_ylabel("mean log-likelihood (exact)")
ax.legend(fontsize=8)
fig.tight_layout()
show(fig, "08_learning")
for name, h in (("exact gradient", runs["exact"]), ("Neal's rule", runs["neal"]), ("wake-sleep", ws)):
    print(f"{name:<15} log p(v): {h['log_likelihood'][0]:.3f} -> {h['log_likelihood'][-1]:.3f}")
gap = ws["log_likelihood"][-1] - ws["variational_bound"][-1]
print(f"wake-sleep's final bound {ws['variational_bound'][-1]:.3f}: a gap KL(q || p) of {gap:.3f} nats per example")
