r"""Ancestral sampling of directed nets, and generation from a DBN.

A sigmoid belief net is sampled exactly in one pass: parents before children, each layer
from ``p(s | parents)``. A DBN first runs block Gibbs on its undirected top pair (the
RBM) and then passes down the directed layers once.
"""

import networkx as nx

from ..backend import as_generator
from ..errors import ModelError
from ..program import Part
from .clamp import as_mask

__all__ = ["ancestral"]


def _part_order(program):
    """Parts in topological order: whole layers, and single units of unit-level nets."""

    def key(L, u):
        return (L.index, 0, L.n) if L.declared else (L.index, u, u + 1)

    g = nx.DiGraph()
    for L in program.layers:
        g.add_nodes_from({key(L, u) for u in range(L.n)})
    for c in program.couplings:
        if c.type != "directed":
            continue
        if c.sparse:
            g.add_edges_from(
                (key(c.a, int(r) // c.a.width), key(c.b, int(k) // c.b.width)) for r, k in zip(c.rows, c.cols_)
            )
        else:
            g.add_edge(key(c.a, 0), key(c.b, 0))
    return [Part(program.layers[i], a, b) for i, a, b in nx.topological_sort(g)]


def ancestral(program, state, rng, top_sweeps=0, beta=1.0, clamp=None):
    """Draw every directed layer given its parents, in topological order.

    ``state`` supplies the values of clamped units and the start of the top RBM's chain.
    With an undirected top pair, ``top_sweeps`` block-Gibbs sweeps of that pair run first
    (its units' conditionals ignore the directed children, as generation requires); with
    ``top_sweeps=0`` the top pair is left as given.

    Parameters
    ----------
    program : Program
        A directed net (sigmoid belief net or DBN).
    state : array (chains, columns)
        Values of clamped units and the top pair's start (copied, not changed).
    rng : Generator (or seed)
        Random generator of the draws.
    top_sweeps : int
        Block-Gibbs sweeps of an undirected top pair before the pass down.
    beta : float
        Inverse temperature of the top pair's sweeps (the directed layers are drawn from
        ``p(s | parents)`` itself).
    clamp : bool mask, optional
        Units that keep their values.

    Returns
    -------
    array (chains, columns)
        A fresh array.

    Raises
    ------
    ModelError
        If the model is not a directed net, or ``clamp`` is not a usable mask.

    Examples
    --------
    With zero weights and biases every unit of a belief net is a fair coin:

    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.sbn([3, 2], seed=0, scale=0.0))
    >>> draws = ancestral(prog, prog.random_state(1000, seed=0), 0)
    >>> draws.mean(axis=0).round(1).tolist()
    [0.5, 0.5, 0.5, 0.5, 0.5]
    """
    if not program.directed:
        raise ModelError("ancestral: defined for directed nets (sigmoid belief nets, DBNs)")
    rng = as_generator(rng, program.backend)
    xp = program.xp
    state = xp.array(state, dtype=program.dtype, copy=True)
    keep = as_mask(program, clamp, state.shape[0])
    T = program.statistic(state)
    top = [L for L in program.layers if not L.directed]
    for _ in range(top_sweeps):
        for L in top:
            program.update_part(state, T, Part(L, 0, L.n), rng, beta, keep, children=False)
    for part in _part_order(program):
        if part.layer.directed:  # p(s | parents) itself: beta tempers only the undirected top
            program.update_part(state, T, part, rng, 1.0, keep, children=False)
    return state
