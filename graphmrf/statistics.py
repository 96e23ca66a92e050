r"""Sufficient statistics: ``-dE/dtheta`` averaged over a batch of states.

Every learning rule contrasts these between data and model,

.. math::

   \nabla_\theta \log p(v) = \langle -\partial_\theta E \rangle_{h|v}
                             - \langle -\partial_\theta E \rangle_{\text{model}},

for a coupling ``w_ij`` the lecture's ``<s_i s_j>``. Units can be *summed*: replaced by
their conditional expectation given the rest (the hidden units of an RBM, ``E[h | v]``),
which gives the same expectation with less variance.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
>>> s = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 1, 1]], dtype=float)
>>> stats = sufficient_stats(prog, s)
>>> stats["v~h.weight"].tolist()
[[0.5, 0.0], [0.0, 0.0], [1.0, 0.5]]
"""

from .errors import ModelError

__all__ = ["sufficient_stats", "weighted_outer", "direct_statistics"]


def weighted_outer(xp, Ta, Tb, w, out=None):
    """``sum_n w_n Ta[n]^T Tb[n]``: one matrix product, the weights (a number or a column)
    scaling the narrower side (fewer multiplications).

    Parameters
    ----------
    xp : module
        The array namespace.
    Ta : array (n, a)
        Statistics of one layer.
    Tb : array (n, b)
        Statistics of the other.
    w : float or array (n, 1)
        Weight of each row.
    out : array (a, b), optional
        Where to write the result.

    Returns
    -------
    array (a, b)

    Examples
    --------
    >>> import numpy as np
    >>> Ta, Tb = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    >>> weighted_outer(np, Ta, Tb, np.array([[0.5], [0.5]]))
    array([[0.5, 1.5, 1.5],
           [0. , 0.5, 0. ]])
    """
    if Ta.shape[1] <= Tb.shape[1]:
        return xp.matmul((Ta * w).T, Tb, out=out)
    return xp.matmul(Ta.T, Tb * w, out=out)


def direct_statistics(program):
    """``[(key, columns a, columns b or None)]`` when every parameter's statistic is a
    column sum of its layer's states (the bias of a binary or spin unit) or an outer
    product of two layers' states (a dense undirected coupling) -- an RBM's -- else None.

    Parameters
    ----------
    program : Program
        The compiled model.

    Returns
    -------
    list of (str, slice, slice or None) or None
        Each parameter's key and the columns whose sum (or, with two, whose outer product)
        is its statistic.

    Examples
    --------
    >>> import graphmrf as gm
    >>> direct_statistics(gm.compile(gm.rbm(3, 2, seed=0)))[2]
    ('v~h.weight', slice(0, 3, None), slice(3, 5, None))
    >>> direct_statistics(gm.compile(gm.sbn([2, 1], seed=0))) is None  # Neal's rule needs residuals
    True
    """
    if not program.identity_statistic:
        return None
    direct = []
    for L in program.layers:
        for k in L.params:
            if k not in L.ops.score_is_state or L.directed or L.children:
                return None
            direct.append((f"{L.name}.{k}", L.sl, None))
    for c in program.couplings:
        if c.type != "undirected" or c.sparse:
            return None
        direct.append((c.key, c.a.sl, c.b.sl))
    return direct


def sufficient_stats(program, state, weights=None, summed=None, fields=None, out=None):
    """Batch average of ``-dE/dtheta`` for every parameter (same keys as ``program.params``).

    Parameters
    ----------
    program : Program
    state : array (chains, columns)
    weights : array (chains,), optional
        Weights of the chains (default: uniform ``1/chains``); they are used as given.
    summed : bool array (columns,), optional
        Units whose statistics are replaced by their conditional expectation given
        the others (e.g. the hidden units of an RBM: ``E[h | v]``).
    fields : dict {layer index: x}, optional
        Coupling inputs of summed layers the caller already computed (reused as is).
    out : dict, optional
        Arrays shaped like ``params`` to write the statistics into (returned); a
        training loop reuses them instead of allocating weight-sized arrays per batch.

    Returns
    -------
    dict
        One array per parameter, shaped like it.

    Notes
    -----
    For a lateral matrix the statistic of entry (i, j) is the derivative with respect to
    the coupling ``w_ij = L_ij = L_ji`` (so it equals ``<T_i T_j>``); for a directed
    weight it is ``T(s_parent) (T(s_child) - E[T(s_child) | parents])``, Neal's rule.
    Cost: one weighted outer product per coupling, one weighted column sum per bias.

    Examples
    --------
    With the hidden units summed, their statistics are ``E[h | v]`` (one half at zero
    weights):

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0, scale=0.0), dtype=np.float64)
    >>> s = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    >>> sufficient_stats(prog, s)["v~h.weight"].tolist()
    [[0.0], [0.0]]
    >>> sufficient_stats(prog, s, summed=prog.hidden_summable())["v~h.weight"].tolist()
    [[0.5], [0.25]]
    """
    xp = program.xp
    state = program.check_shape(state)
    if state.dtype.kind != "f":  # integer or boolean states: the weights 1/n must not truncate to 0
        state = state.astype(program.dtype)
    n = state.shape[0]
    uniform = weights is None
    w = xp.full(n, 1.0 / n, dtype=state.dtype) if uniform else xp.asarray(weights, dtype=state.dtype)
    direct = program.direct_statistics
    if direct is not None and (summed is None or not summed.any()):
        # every statistic is a weighted column sum or a weighted outer product of two layers
        res = {} if out is None else out
        for key, a, b in direct:
            if b is None:
                res[key] = xp.matmul(w, state[:, a], out=res.get(key))
            else:
                res[key] = weighted_outer(xp, state[:, a], state[:, b], w[:, None], out=res.get(key))
        return res
    T = program.statistic(state)
    T, summed_x, summed_es = _sum_out(program, T, summed, fields)
    resid = _directed_residuals(program, T)
    res = {}
    for L in program.layers:
        res.update(_layer_scores(program, L, state, T, w, summed, summed_x, summed_es, resid))
    for c in program.couplings:
        res[c.key] = _coupling_statistic(program, c, T, resid, w, n, uniform, out)
    if out is None:
        return res
    for k, v in res.items():
        if v is not out[k]:
            out[k][...] = v
    return out


def _sum_out(program, T, summed, fields):
    """Replace the summed units' statistics by their expectations; returns the new T, the
    summed layers' inputs and their expected scores."""
    xp = program.xp
    summed_x, summed_es = {}, {}
    if summed is None or not summed.any():
        return T, summed_x, summed_es
    if not program.independent(summed):
        raise ModelError("sufficient_stats: the summed units must be conditionally independent given the rest")
    given = [L for L in program.layers if summed[L.sl].all() and fields and L.index in fields]
    if len(given) == sum(bool(summed[L.sl].any()) for L in program.layers):
        T0 = None  # every summed layer whole, its input given: no masked copy needed
        T = T.copy()
    else:
        T0 = T * xp.asarray(~summed, dtype=T.dtype)
        T = T0.copy()
    for L in program.layers:
        m = summed[L.sl]
        if m.any():
            x = fields[L.index] if fields and L.index in fields else program.field(T0, L)
            summed_x[L.index] = x  # no coupling joins summed units: x is final
            eT, summed_es[L.index] = L.ops.expectations(x, L.params, 1.0, L.width)
            T[:, L.sl] = eT if T0 is None else xp.where(xp.asarray(m), eT, T0[:, L.sl])
    return T, summed_x, summed_es


def _directed_residuals(program, T):
    """``(x, T_c - E[T_c | parents])`` of every directed layer: Neal's delta rule."""
    resid = {}
    for L in program.layers:
        if L.directed:
            x = program.field(T, L)
            resid[L.index] = (x, T[:, L.sl] - L.ops.expected_statistic(x, L.params, 1.0, L.width))
    return resid


def _layer_scores(program, L, state, T, w, summed, summed_x, summed_es, resid):
    """The statistics of one layer's own parameters (biases, scales)."""
    xp = program.xp
    has_summed = summed is not None and summed[L.sl].any()
    if has_summed and L.index in summed_es and summed[L.sl].all():
        return {f"{L.name}.{k}": w @ v for k, v in summed_es[L.index].items()}
    if L.ops.score_uses_x or L.children or (has_summed and L.index not in summed_x):
        x = program.field(T, L)  # the full coupling input (kinds whose scores need it)
        for c in L.children:
            x = x + resid[c.b.index][1] @ c.dense().T
    else:
        x = summed_x.get(L.index, 0.0)  # scores of this kind do not depend on x
    sc = L.ops.score(state[:, L.sl], x, L.params)
    if L.directed:
        es = L.ops.expected_score(resid[L.index][0], L.params, 1.0, L.width)
        sc = {k: sc[k] - es[k] for k in sc}
    if has_summed:
        m = summed[L.sl]
        es = summed_es[L.index] if L.index in summed_es else L.ops.expected_score(x, L.params, 1.0, L.width)
        sc = es if m.all() else {k: xp.where(xp.asarray(m), es[k], sc[k]) for k in sc}
    return {f"{L.name}.{k}": w @ v for k, v in sc.items()}


def _bond_statistic(xp, c, Ta, w):
    """``<T_i . T_j>`` of each bond of a lattice (site with its next neighbour along each
    axis), or its sum over the bonds for one shared coupling."""
    L = c.a
    chains = Ta.shape[0]
    S = Ta.reshape((chains,) + tuple(L.shape) + (L.width,))
    per_axis = []
    for a in range(len(L.shape)):
        prod = (S * xp.roll(S, -1, axis=a + 1)).sum(axis=-1)
        if not c.periodic:
            sl = [slice(None)] * (len(L.shape) + 1)
            sl[a + 1] = -1
            prod[tuple(sl)] = 0  # no bond past the last site of an open lattice
        per_axis.append(w @ prod.reshape(chains, -1))
    stats = xp.stack(per_axis).reshape((len(L.shape),) + tuple(L.shape))
    return stats.sum().reshape(1) if c.W.size == 1 else stats


def _coupling_statistic(program, c, T, resid, w, n, uniform, out):
    """``<T_a T_b>`` of one coupling (the child's residual for a directed one)."""
    xp = program.xp
    Ta = T[:, c.a.sl]
    if c.type == "stencil":
        return _bond_statistic(xp, c, Ta, w)
    Tb = resid[c.b.index][1] if c.type == "directed" else T[:, c.b.sl]
    if c.sparse:
        return w @ (Ta[:, xp.asarray(c.rows)] * Tb[:, xp.asarray(c.cols_)])
    G = out[c.key] if out is not None and c.type != "lateral" else None
    G = weighted_outer(xp, Ta, Tb, (1.0 / n) if uniform else w[:, None], out=G)
    if c.type == "lateral":
        G = G - xp.diag(xp.diag(G))
        G = 0.5 * (G + G.T)
    return G
