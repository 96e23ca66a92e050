r"""Parallel tempering (replica exchange) over a ladder of inverse temperatures.

``R`` replicas of each of ``C`` chains run at ``betas[0] < ... < betas[R-1]``, batched as
one array of ``R * C`` chains (one matrix product per block for all of them). After each
sweep, neighbouring temperatures propose to swap states, alternating even and odd pairs,
accepted with probability ``min(1, exp((beta_i - beta_j) (E_i - E_j)))``; this leaves the
product of the tempered distributions invariant, so the replica at ``beta = 1`` samples
the model.
"""

from typing import NamedTuple

import numpy as np

from ..backend import as_generator
from ..support import check_state
from .gibbs import SweepInfo, block_gibbs

__all__ = ["TemperingState", "tempering_init", "tempering_step"]


class TemperingState(NamedTuple):
    states: object  # (R, C, columns)
    betas: np.ndarray  # (R,)
    parity: int  # which neighbour pairs propose next: 0 -> (0,1), (2,3)...; 1 -> (1,2)...


def tempering_init(program, betas, states):
    """Start a ladder from ``states`` of shape (R, C, columns) or (C, columns) (copied)."""
    xp = program.xp
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.size < 2 or not np.all(np.isfinite(betas)) or np.any(np.diff(betas) <= 0) or betas[0] < 0:
        raise ValueError(f"tempering_init: betas must be a strictly increasing ladder of at least two finite values >= 0; got {betas.tolist()}")
    s = xp.asarray(states)
    if s.ndim == 3:
        if s.shape[0] != betas.size:
            raise ValueError(f"tempering_init: states has {s.shape[0]} replicas; expected one per beta ({betas.size})")
        check_state(program, s.reshape(-1, s.shape[-1]), "states")
    else:
        s = check_state(program, s, "states")
    s = s.astype(program.dtype, copy=False)
    if s.ndim == 2:
        s = xp.broadcast_to(s, (betas.size,) + s.shape)
    return TemperingState(xp.array(s, copy=True), betas, 0)


def tempering_step(program, ts, rng, clamp=None, sweep=block_gibbs):
    """One sweep of every replica at its own beta, then one round of neighbour swaps."""
    rng = as_generator(rng, program.backend)
    xp = program.xp
    R, C, n = ts.states.shape
    beta_col = xp.asarray(np.repeat(ts.betas, C)[:, None], dtype=program.dtype)
    flat, _ = sweep(program, ts.states.reshape(R * C, n), rng, beta=beta_col, clamp=None if clamp is None else _tile(xp, clamp, R, C, n))
    states = flat.reshape(R, C, n)
    E = program.energy(flat).reshape(R, C)
    accepted = np.zeros(R - 1)
    lo = np.arange(ts.parity, R - 1, 2)
    if lo.size:
        hi = lo + 1
        db = xp.asarray((ts.betas[lo] - ts.betas[hi])[:, None], dtype=program.dtype)
        log_a = db * (E[lo] - E[hi])
        u = rng.random((lo.size, C), dtype=program.dtype)
        swap = xp.log1p(-u) < log_a  # log of a uniform on (0, 1]
        lo_x, hi_x = xp.asarray(lo), xp.asarray(hi)
        a, b = states[lo_x], states[hi_x]
        sw = swap[:, :, None]
        states[lo_x], states[hi_x] = xp.where(sw, b, a), xp.where(sw, a, b)
        E_lo, E_hi = E[lo_x], E[hi_x]
        E[lo_x], E[hi_x] = xp.where(swap, E_hi, E_lo), xp.where(swap, E_lo, E_hi)
        accepted[lo] = np.asarray(program.backend.xp.mean(swap, axis=1).tolist())
    return TemperingState(states, ts.betas, 1 - ts.parity), SweepInfo(energy=E, accepted=accepted)


def _tile(xp, clamp, R, C, n):
    m = xp.asarray(clamp)
    if m.ndim == 1:
        return m
    return xp.broadcast_to(m[None], (R, C, n)).reshape(R * C, n)
