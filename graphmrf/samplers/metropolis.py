r"""Single-site Metropolis sampling.

Each unit in turn proposes a new value -- the other value of a two-valued unit, another
value or category chosen uniformly otherwise, a Gaussian step of the conditional's
scale for a real unit -- and accepts it with probability
``min(1, p(s'_i | rest) / p(s_i | rest)) = min(1, exp(-beta (E(s') - E(s))))``.
"""

import numpy as np

from .. import kernels
from ..backend import as_generator, random_into
from .clamp import as_mask
from .gibbs import SweepInfo, one_unit_model, unit_parts

__all__ = ["metropolis_sweep"]


def _propose(program, L, cur, cond, rng):
    xp = program.xp
    chains = cur.shape[0]
    if not L.kind.discrete:
        return cur + xp.sqrt(cond["var"]) * rng.standard_normal(cur.shape, dtype=program.dtype)
    if L.kind.onehot:
        k = xp.argmax(cur, axis=1)
        step = xp.floor(rng.random(chains, dtype=program.dtype) * (L.width - 1)).astype(k.dtype) + 1
        new = (k + step) % L.width
        return (xp.arange(L.width)[None, :] == new[:, None]).astype(program.dtype)
    vals = xp.asarray(L.kind.support, dtype=program.dtype)
    m = vals.size
    idx = xp.argmax(cur[:, :1] == vals[None, :], axis=1)
    step = xp.floor(rng.random(chains, dtype=program.dtype) * (m - 1)).astype(idx.dtype) + 1
    return vals[(idx + step) % m][:, None]


def metropolis_sweep(program, state, rng, beta=1.0, clamp=None, energy=False, inplace=False, workspace=None):
    """One sweep of single-site Metropolis over every unit, in column order.

    A model of spin or binary units with dense or sparse couplings takes the fused kernel
    (:func:`graphmrf.kernels.sequential`) when numba is installed.

    Returns ``(state, info)`` with ``info.accepted`` the acceptance rate per chain.

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The chains (left untouched unless ``inplace``).
    rng : Generator (or seed)
        Random generator of the proposals and the acceptances.
    beta : float or array (chains, 1)
        Inverse temperature.
    clamp : bool mask (columns,) or (chains, columns), optional
        Units that keep their values (their proposals are refused).
    energy : bool
        Report ``E(s)`` per chain in the info.
    inplace : bool
        Overwrite ``state`` instead of returning a new array.
    workspace : Workspace, optional
        Reused buffers of the caller's loop.

    Returns
    -------
    state : array (chains, columns)
    info : SweepInfo
        ``accepted``: the fraction of accepted proposals per chain.

    Raises
    ------
    ModelError
        If ``clamp`` is not a boolean mask of a usable shape.

    Examples
    --------
    With every coupling and bias zero every proposal is accepted:

    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0))
    >>> _, info = metropolis_sweep(prog, prog.random_state(4, seed=0), 1)
    >>> info.accepted.tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    rng = as_generator(rng, program.backend)
    xp = program.xp
    state = program.writable(state, inplace)
    keep = as_mask(program, clamp, state.shape[0])
    T = program.statistic(state)
    model = one_unit_model(program, state, T, keep, beta)
    if model is not None:  # the fused kernel, drawing what the loop below draws, in one call
        order = model["order"]
        uniforms = random_into(rng, np.empty((2 * order.size, state.shape[0]), dtype=state.dtype))
        acc = kernels.sequential(state, order, uniforms, model["J"], *model["units"], mode="metropolis")
        return state, SweepInfo(energy=program.energy(state) if energy else None, accepted=acc / order.size)
    acc = xp.zeros(state.shape[0], dtype=program.dtype)
    parts = unit_parts(program)
    for part in parts:
        L = part.layer
        cs = program.part_columns(part)
        cond = program.part_conditional(state, T, part, beta, workspace=workspace)
        cur = state[:, cs]
        prop = _propose(program, L, cur, cond, rng)
        log_a = L.ops.log_prob(cond, prop, L.width) - L.ops.log_prob(cond, cur, L.width)
        log_a = log_a.reshape(state.shape[0])
        ok = xp.log1p(-rng.random(state.shape[0], dtype=program.dtype)) < log_a  # log of a uniform on (0, 1]
        if keep is not None:
            ok &= ~xp.any(keep[:, cs], axis=1)
        new = xp.where(ok[:, None], prop, cur)
        state[:, cs] = new
        T[:, cs] = L.ops.statistic(new, L.p(part.columns))
        acc += ok
    return state, SweepInfo(energy=program.energy(state) if energy else None, accepted=acc / max(1, len(parts)))
