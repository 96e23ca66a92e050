r"""Missing values: fill the unobserved visible entries by sampling with the observed ones clamped.

``impute(program, X)`` takes visible vectors with ``NaN`` where a value is missing (a softmax
unit is missing as a whole: all K columns NaN), clamps every observed entry per chain, runs
Gibbs sampling over the rest, and returns the posterior mean of each missing entry,
``E[v_i | v_observed]`` (category probabilities for softmax units). A missing entry never
influences its own prediction: its value is never read.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(4, 3, seed=0, scale=1.0), seed=0)
>>> X = np.array([[1.0, np.nan, 0.0, 1.0]])
>>> filled = impute(prog, X, n_sweeps=200, burn_in=50, chains_per_row=20, seed=0)
>>> filled[0, [0, 2, 3]].tolist(), bool(0.0 < filled[0, 1] < 1.0)
([1.0, 0.0, 1.0], True)
"""

import numpy as np

from .backend import as_generator, to_host
from .errors import ModelError
from .samplers.gibbs import block_gibbs

__all__ = ["impute"]


def impute(program, X, n_sweeps=500, burn_in=100, chains_per_row=10, seed=None, return_samples=False):
    """Posterior means of the missing (NaN) visible entries of ``X`` given the observed ones.

    Parameters
    ----------
    program : Program
    X : array (n, visible columns) with NaN for missing entries
    n_sweeps, burn_in : int
        Gibbs sweeps per chain, and how many of them are discarded.
    chains_per_row : int
        Independent chains per row (the estimate averages over chains and kept sweeps).
    seed : int or Generator
    return_samples : bool
        Also return the kept samples of the visible units (kept, n * chains_per_row, visible).
    """
    xp = program.xp
    X = np.asarray(to_host(X), dtype=np.float64)
    nv = program.visible_columns.size
    if X.ndim != 2 or X.shape[1] != nv:
        raise ModelError(f"impute: X has shape {X.shape}; expected (n, {nv}) -- the visible columns")
    if burn_in >= n_sweeps:
        raise ValueError(f"burn_in: must be smaller than n_sweeps ({n_sweeps}); got {burn_in}")
    rng = as_generator(seed, program.backend)
    missing = np.isnan(X)
    rows = np.repeat(X, chains_per_row, axis=0)
    miss = np.repeat(missing, chains_per_row, axis=0)
    state = program.random_state(rows.shape[0], seed=rng)
    host = to_host(state).astype(np.float64)
    vis = host[:, program.visible_columns]
    vis[~miss] = rows[~miss]
    host[:, program.visible_columns] = vis
    clamp = np.zeros(host.shape, dtype=bool)
    clamp[:, program.visible_columns] = ~miss
    state = xp.asarray(host, dtype=program.dtype)
    mask = xp.asarray(clamp)
    total = np.zeros_like(vis)
    kept = []
    for t in range(1, n_sweeps + 1):
        state, _ = block_gibbs(program, state, rng, clamp=mask, inplace=True)
        if t > burn_in:
            v = to_host(state[:, xp.asarray(program.visible_columns)]).astype(np.float64)
            total += v
            if return_samples:
                kept.append(v)
    mean = total / (n_sweeps - burn_in)
    mean = mean.reshape(X.shape[0], chains_per_row, nv).mean(axis=1)
    out = np.where(missing, mean, X)
    if return_samples:
        return out, np.stack(kept)
    return out
