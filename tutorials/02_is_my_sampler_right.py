# %% [markdown]
# # Is my sampler right?
#
# A Gibbs sampler that is subtly wrong -- a stale neighbour, a temperature applied twice,
# two coupled units updated at once -- still produces plausible-looking samples. On a model
# small enough to enumerate, graphmrf answers the question with a calibrated test:
#
# 1. run many independent chains in one batch and keep each chain's **last** state (these
#    are independent draws, so a chi-square test against the exact distribution has its
#    stated false-positive rate);
# 2. start chains from **exact** samples and check they stay exact after 1, 5 and 50 sweeps
#    (stationarity: immune to slow mixing);
# 3. report single-unit and pairwise z-scores and the total variation distance.

# %%
import os

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import graphmrf as gm  # noqa: E402

FAST = os.environ.get("GRAPHMRF_FAST") == "1"
FIGURES = os.environ.get("GRAPHMRF_FIGURES", "figures")
os.makedirs(FIGURES, exist_ok=True)
CHAINS = 3000 if FAST else 20000

# %% [markdown]
# ## A 10-unit Boltzmann machine with hidden units and lateral couplings
#
# Peaked parameters (weights of order 1) make the test powerful: a flat target hides bugs.

# %%
g = gm.boltzmann(6, 4, lateral=True, seed=1, scale=1.0)
prog = gm.compile(g, seed=0)
print(prog)
report = gm.verify(prog, "gibbs", n_chains=CHAINS, n_sweeps=50, seed=0)
print(report)
assert report.passed

# %% [markdown]
# Every sampler in graphmrf passes the same test: single-site Gibbs (systematic or random
# scan) and Metropolis too.

# %%
for method in ["sequential", "random-scan", "metropolis"]:
    r = gm.verify(prog, method, n_chains=CHAINS, n_sweeps=50, seed=1, stationarity=(1,))
    print(f"{method:<12} passed={r.passed}  TV={r.total_variation:.3f}")

# %% [markdown]
# ## Negative controls: the test must reject wrong samplers
#
# A verification that cannot fail is worthless. Here are three deliberate mistakes.

# %%
def beta_twice(program, state, rng, beta=1.0, clamp=None, energy=False):
    """Applies the inverse temperature twice: samples p^(beta^2) instead of p^beta."""
    return gm.samplers.block_gibbs(program, state, rng, beta=beta * beta, clamp=clamp, energy=energy)


def all_at_once(program, state, rng, beta=1.0, clamp=None, energy=False):
    """Updates every unit of a layer from the old state, though they are coupled."""
    T = program.statistic(state)
    new = state.copy()
    for L in program.layers:
        cond = program.part_conditional(state, T, gm.program.Part(L, 0, L.n), beta)
        new[:, L.sl] = L.ops.draw(cond, lambda s: rng.random(s, dtype=np.float32), None, L.width)
    return new, gm.samplers.SweepInfo(energy=program.energy(new) if energy else None)


flipped = g.copy()
W = np.array(flipped.edges["v", "h"]["weight"])
W[0, 0] = -W[0, 0]
flipped.edges["v", "h"]["weight"] = W

controls = {
    "beta applied twice (beta=2)": gm.verify(prog, beta_twice, n_chains=CHAINS, n_sweeps=50, beta=2.0, seed=2),
    "coupled units in parallel": gm.verify(prog, all_at_once, n_chains=CHAINS, n_sweeps=50, seed=3),
    "one weight's sign flipped": gm.verify(gm.compile(flipped), n_chains=CHAINS, n_sweeps=50, seed=4, reference=prog),
}
for name, r in controls.items():
    print(f"{name:<30} rejected={not r.passed}  TV={r.total_variation:.3f}")

# %% [markdown]
# ## Exact against empirical, on one plot

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
report.plot(axes[0])
controls["coupled units in parallel"].plot(axes[1])
bad = controls["coupled units in parallel"]
axes[1].set_title(f"coupled units updated in parallel\nTV = {bad.total_variation:.3f}, {'pass' if bad.passed else 'REJECTED'}")
fig.tight_layout()
fig.savefig(os.path.join(FIGURES, "02_verify.png"), dpi=100)
plt.close(fig)

# %% [markdown]
# ## Clamping: conditional sampling against the exact conditional
#
# Holding the visible units fixed samples p(h | v); the reference is the exact conditional.

# %%
r = gm.verify(prog, "gibbs", n_chains=CHAINS, n_sweeps=50, clamp={"v": [1, 0, 1, 1, 0, 0]}, seed=5, stationarity=(1,))
print("clamped visible units:", "passed" if r.passed else "FAILED")

# %% [markdown]
# ## Partition functions: exact against annealed importance sampling

# %%
rbm = gm.compile(gm.rbm(20, 12, seed=3, scale=0.5))
exact_log_z = gm.exact.log_partition(rbm)
res = gm.ais.log_partition(rbm, n_chains=100, betas=300 if FAST else 3000, seed=0)
print(f"exact log Z = {exact_log_z:.4f}; AIS = {res.log_z:.4f} +- {res.stderr:.4f} (ESS {res.ess:.0f} of 100)")
