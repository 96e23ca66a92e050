r"""Annealed importance sampling (AIS) estimates of the partition function.

The path runs from a base model with the target's structure and **no couplings** (so its
log Z is a sum of one-unit terms) to the target: at inverse temperature ``beta_k`` the
model has biases ``(1 - beta_k) b_base + beta_k b`` and couplings ``beta_k W`` (gaussian
scales are the target's throughout). Chains start from exact draws of the base, and each
step multiplies the importance weight by ``p*_k(x) / p*_(k-1)(x)`` before a Gibbs sweep that
leaves ``p_k`` invariant -- the same kernels as every other sampler, run at the step's
parameters. Where the hidden units are conditionally independent they are summed
analytically in ``p*`` (free energies), which lowers the variance.

``log Z = log Z_base + log mean(w)``; the standard error is the delta-method estimate
``std(w) / (mean(w) sqrt(n))`` and ``ess = (sum w)^2 / sum w^2``.

>>> import graphmrf as gm, numpy as np
>>> prog = gm.compile(gm.rbm(6, 4, seed=0, scale=0.5))
>>> res = log_partition(prog, n_chains=200, betas=200, seed=0)
>>> bool(abs(res.log_z - gm.exact.log_partition(prog)) < 4 * res.stderr + 1e-3)
True
"""

from typing import NamedTuple

import numpy as np

from .backend import as_generator, to_host
from .builders import _visible_bias
from .compile import compile as _compile
from .samplers.gibbs import block_gibbs
from .samplers.progress import Progress

__all__ = ["log_partition", "AISResult", "base_parameters"]


class AISResult(NamedTuple):
    log_z: float
    stderr: float
    ess: float
    log_weights: np.ndarray
    log_z_base: float


def base_parameters(program, data=None):
    """Parameters of the base model: the target's, with couplings zero and, when ``data``
    (visible columns) is given, visible biases set from it as the field recommends."""
    base = {k: program.xp.array(v, copy=True) for k, v in program.params.items()}
    for c in program.couplings:
        base[c.key][...] = 0
    if data is not None:
        data = np.asarray(to_host(data), dtype=np.float64)
        for L in program.layers:
            if L.visible.all() and L.declared:
                pos = np.searchsorted(program.visible_columns, np.arange(L.sl.start, L.sl.stop))
                cats = L.width if L.kind.onehot else None
                bias = _visible_bias(L.kind.name, data[:, pos], L.n, cats)
                base[f"{L.name}.bias"][...] = program.xp.asarray(np.ravel(bias), dtype=program.dtype)
    return base


def _base_log_z(program, base):
    xp = program.xp
    total = 0.0
    for L in program.layers:
        p = {k: base[f"{L.name}.{k}"] for k in L.params}
        zero = xp.zeros((1, L.cols), dtype=np.float64)
        p64 = {k: xp.asarray(v, dtype=np.float64) for k, v in p.items()}
        total += float(to_host(xp.sum(L.ops.log_partition(zero, p64, 1.0, L.width))))
    return total


def log_partition(program, n_chains=100, betas=1000, data=None, seed=None, sweep=block_gibbs, progress=None):
    """AIS estimate of ``log Z`` of an undirected model; returns :class:`AISResult`.

    Parameters
    ----------
    program : Program
        The target model (its parameters are read, never changed).
    n_chains : int
        Independent AIS runs, batched.
    betas : int or increasing array from 0 to 1
        An int K gives K steps evenly spaced in beta.
    data : array (n, visible columns), optional
        Sets the base model's visible biases (a better-matched start).
    sweep : callable
        The transition kernel (default block Gibbs).
    """
    if program.directed:
        raise ValueError("ais.log_partition: a directed net is normalised (log Z = 0); a DBN's log Z is its top RBM's")
    rng = as_generator(seed, program.backend)
    if isinstance(betas, (int, np.integer)):
        betas = np.linspace(0.0, 1.0, int(betas) + 1)
    betas = np.asarray(betas, dtype=np.float64)
    if betas.size == 1:
        betas = np.array([0.0, float(betas[0])])
    if betas[0] != 0 or betas[-1] != 1 or np.any(np.diff(betas) <= 0):
        raise ValueError("betas: expected an increasing schedule from 0 to 1")
    work = _compile(program.to_graph(), backend=program.backend, dtype=program.dtype)
    base = base_parameters(work, data)
    target = {k: work.xp.array(v, copy=True) for k, v in work.params.items()}
    coupling_keys = {c.key for c in work.couplings}
    xp = work.xp
    summed = work.hidden_summable()
    summed = summed if summed is not None and summed.any() else None

    def set_beta(b):
        for k, v in work.params.items():
            if k in coupling_keys:
                v[...] = b * target[k]
            elif k.endswith(".log_sigma"):
                v[...] = target[k]
            else:
                v[...] = (1 - b) * base[k] + b * target[k]

    def lw(x):
        return work.log_weight(x, summed).astype(np.float64)

    set_beta(0.0)
    x, _ = sweep(work, work.random_state(n_chains, seed=rng), rng)  # exact draws: no couplings
    log_w = xp.zeros(n_chains, dtype=np.float64)
    prev = lw(x)
    with Progress(betas.size - 1, "AIS", progress) as bar:
        for b in betas[1:]:
            set_beta(float(b))
            log_w += lw(x) - prev
            if b < 1:
                x, _ = sweep(work, x, rng)
                prev = lw(x)
            bar.update()
    log_w = to_host(log_w)
    m = log_w.max()
    w = np.exp(log_w - m)
    mean = w.mean()
    log_z_base = _base_log_z(work, base)
    se = float(w.std(ddof=1) / (mean * np.sqrt(n_chains))) if n_chains > 1 else float("inf")
    return AISResult(log_z_base + m + float(np.log(mean)), se, float(w.sum() ** 2 / (w**2).sum()), log_w, log_z_base)
