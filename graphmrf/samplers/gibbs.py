r"""Gibbs samplers: block Gibbs over the compiled blocks, and one unit at a time.

A sweep is a pure function ``sweep(program, state, rng, ...) -> (state, info)``: it
returns a new state and leaves its input untouched. Units where ``clamp`` is True keep
their values; a block whose units are all clamped is skipped. ``beta`` is the inverse
temperature of the sweep, never a property of the model (an array of shape (chains, 1)
gives each chain its own, as parallel tempering needs).

>>> import graphmrf as gm, numpy as np
>>> prog = gm.compile(gm.rbm(4, 3, seed=0))
>>> s0 = prog.random_state(5, seed=1)
>>> s1, info = block_gibbs(prog, s0, np.random.default_rng(2))
>>> s1.shape, bool((s0 == prog.random_state(5, seed=1)).all())
((5, 7), True)
"""

from typing import NamedTuple

import numpy as np

from ..backend import as_generator
from ..program import Part
from .clamp import as_mask

__all__ = ["SweepInfo", "block_gibbs", "sequential_gibbs", "unit_parts"]


class SweepInfo(NamedTuple):
    """What a sweep reports; never fed back into the next one."""

    energy: object = None  # E(s) per chain after the sweep (when asked for)
    changed: object = None  # units that changed value, per chain
    accepted: object = None  # acceptance rate per chain (Metropolis) or per swap (tempering)


def _fully_clamped(program, keep, part):
    return keep is not None and bool(program.xp.all(keep[:, program.part_columns(part)]))


def block_gibbs(program, state, rng, beta=1.0, clamp=None, blocks=None, energy=False, count=False, inplace=False,
                workspace=None):
    """One sweep of block Gibbs sampling: each block drawn from p(block | rest), in order.

    Parameters
    ----------
    program : Program
    state : array (chains, columns)
    rng : Generator (or seed)
    beta : float or array (chains, 1)
    clamp : bool mask (columns,) or (chains, columns), optional
    blocks : list of blocks, optional
        Defaults to the compiled blocks; other blocks are checked to be conditionally
        independent first (a parallel update of coupled units is refused).
    energy : bool
        Report ``E(s)`` per chain in the info.
    count : bool
        Report how many units changed value, per chain.
    inplace : bool
        Overwrite ``state`` instead of returning a new array (for callers that own it,
        like :func:`graphmrf.sample`).
    workspace : Workspace, optional
        Reused buffers of the caller's loop (:class:`graphmrf.workspace.Workspace`).

    Cost: one pass over the couplings per sweep (for an RBM two matrix products).
    """
    rng = as_generator(rng, program.backend)
    if blocks is None:
        blocks = program.blocks
    else:
        program.check_blocks(blocks)
    state = program.writable(state, inplace)
    keep = as_mask(program, clamp, state.shape[0])
    T = program.statistic(state)
    changed = 0
    for block in blocks:
        for part in block:
            if _fully_clamped(program, keep, part):
                continue
            changed = changed + program.update_part(state, T, part, rng, beta, keep, count=count, workspace=workspace)
    return state, SweepInfo(energy=program.energy(state) if energy else None, changed=changed if count else None)


def unit_parts(program):
    """Every unit as its own part, layer by layer (the systematic-scan order)."""
    return [Part(L, u, u + 1) for L in program.layers for u in range(L.n)]


def sequential_gibbs(program, state, rng, beta=1.0, clamp=None, order="systematic", energy=False, mode="sample", count=None,
                     inplace=False, workspace=None):
    """One sweep of single-site Gibbs sampling: every unit drawn from p(s_i | rest) in turn.

    ``order="systematic"`` visits units in column order; ``"random"`` draws a fresh
    permutation per sweep (random scan). This is the lecture's one-unit-at-a-time
    Boltzmann machine; ``mode="max"`` gives zero-temperature asynchronous dynamics.
    """
    rng = as_generator(rng, program.backend)
    state = program.writable(state, inplace)
    keep = as_mask(program, clamp, state.shape[0])
    T = program.statistic(state)
    parts = unit_parts(program)
    if order == "random":
        perm = np.asarray(program.backend.xp.asnumpy(rng.permutation(len(parts))) if program.backend.name == "cupy" else rng.permutation(len(parts)))
        parts = [parts[i] for i in perm]
    elif order != "systematic":
        raise ValueError(f"order: expected 'systematic' or 'random'; got {order!r}")
    count = mode == "max" if count is None else count
    fields = _Fields(program, T) if _Fields.applies(program) else None
    changed = 0
    for part in parts:
        if _fully_clamped(program, keep, part):
            continue
        if fields is None or not fields.live:
            changed = changed + program.update_part(state, T, part, rng, beta, keep, mode=mode, count=count, workspace=workspace)
            continue
        cs = program.part_columns(part)
        before = T[:, cs].copy()
        x = fields.input(part)
        changed = changed + program.update_part(state, T, part, rng, beta, keep, mode=mode, count=count, x=x, workspace=workspace)
        fields.moved(part, T[:, cs] - before)
    return state, SweepInfo(energy=program.energy(state) if energy else None, changed=changed if count else None)


class _Fields:
    """Every unit's coupling input, kept up to date through one sequential sweep.

    One matrix product per layer at the start of the sweep; after each single-unit update
    only the chains whose unit changed get a rank-one correction (``x += dT w_u``), so an
    update costs a column read instead of a full matrix-vector product -- near a fixed point
    (Hopfield recall, low temperature) almost nothing changes. When many chains change at
    once (more than 1/16 of them: the gather, add and scatter of their rows then cost more
    than the product) the inputs are dropped and the rest of the sweep computes each unit's
    input directly. Recomputed every sweep, so
    rounding never accumulates past one sweep. Undirected and lateral dense couplings only.
    """

    @staticmethod
    def applies(program):
        return not any(L.directed for L in program.layers) and all(not c.sparse for c in program.couplings)

    def __init__(self, program, T):
        self.program, self.T = program, T
        self.x = {L.index: program.field(T, L) for L in program.layers}
        # for each layer, (destination layer, rows of W feeding it from this layer's columns)
        self.out = {L.index: [] for L in program.layers}
        for c in program.couplings:
            self.out[c.a.index].append((c.b.index, c.W, "rows"))
            if c.type != "lateral":
                self.out[c.b.index].append((c.a.index, c.W, "cols"))
        self.live = True

    def input(self, part):
        return self.x[part.layer.index][:, part.columns].copy()

    def moved(self, part, dT):
        xp = self.program.xp
        L = part.layer
        rows = xp.flatnonzero(xp.any(dT != 0, axis=1))
        if rows.size == 0:
            return
        if rows.size * 16 > dT.shape[0]:
            self.live = False
            return
        cols = part.columns
        d = dT[rows]
        for dst, W, side in self.out[L.index]:
            w_u = W[cols, :] if side == "rows" else W[:, cols].T
            self.x[dst][rows] += d @ w_u
