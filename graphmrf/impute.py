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

from .arguments import COUNT, Boolean, InstanceOf, Integer, Seed, checked
from .backend import to_host
from .errors import ModelError
from .program import Program
from .samplers.gibbs import block_gibbs
from .support import check_data

__all__ = ["impute", "predict_absent"]


@checked(
    program=InstanceOf(Program),
    n_sweeps=COUNT,
    burn_in=Integer(0),
    chains_per_row=COUNT,
    seed=Seed(),
    return_samples=Boolean(),
)
def impute(program, X, *, n_sweeps=500, burn_in=100, chains_per_row=10, seed=None, return_samples=False):
    """Posterior means of the missing (NaN) visible entries of ``X`` given the observed ones.

    Cost: ``n_sweeps`` block-Gibbs sweeps of ``n * chains_per_row`` chains, batched.

    Parameters
    ----------
    program : Program
        The trained model.
    X : array (n, visible columns) with NaN for missing entries
        Observed entries must lie exactly in their units' supports (they are clamped).
    n_sweeps, burn_in : int
        Gibbs sweeps per chain, and how many of them are discarded.
    chains_per_row : int
        Independent chains per row (the estimate averages over chains and kept sweeps).
    seed : int or Generator, optional
        Default: the Program's generator.
    return_samples : bool
        Also return the kept samples of the visible units (kept, n * chains_per_row, visible).

    Returns
    -------
    array (n, visible columns)
        ``X`` with every missing entry replaced by its posterior mean (and the kept
        samples, with ``return_samples=True``).

    Raises
    ------
    ValueError
        If an observed entry lies outside its unit's support, or ``burn_in >= n_sweeps``.
    TypeError
        If ``program`` is not a Program, or a count is not an integer.

    Examples
    --------
    Two visible units that agree (a strong positive coupling through the hidden unit):
    the missing one follows the observed one.

    >>> import numpy as np, graphmrf as gm
    >>> g = gm.rbm(2, 1, seed=0)
    >>> g.edges["v", "h"]["weight"] = np.array([[4.0], [4.0]])
    >>> g.nodes["v"]["bias"], g.nodes["h"]["bias"] = -2.0, -4.0
    >>> prog = gm.compile(g, seed=0)
    >>> filled = impute(prog, np.array([[1.0, np.nan], [0.0, np.nan]]), n_sweeps=300, burn_in=50, seed=0)
    >>> bool(filled[0, 1] > 0.5 > filled[1, 1])
    True
    """
    xp = program.xp
    X = to_host(check_data(program, X, "X", missing=True, means=False)).astype(np.float64)
    nv = program.visible_columns.size
    if burn_in >= n_sweeps:
        raise ValueError(f"impute: burn_in must be smaller than n_sweeps ({n_sweeps}); got {burn_in}")
    rng = program.generator(seed)
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


@checked(program=InstanceOf(Program))
def predict_absent(program, X, rows, units):
    """Exact ``p(v_unit | observed units of X[row])`` for each ``(row, unit)`` pair, where
    the row's missing units are *absent*: each row is its own RBM over the units it
    observed, sharing the weights (the collaborative-filtering RBM of Salakhutdinov, Mnih
    and Hinton, 2007), and the hidden units are summed analytically.

    For candidate value ``k`` of the unit, ``log p(k) = -f(k) + sum_j log Z_j(x_j + T(k) W_j)``
    up to a constant, with ``x`` the hidden units' input from the row's observed units. The
    unit's own entry in ``X`` is never read (observed or not): it cannot leak into its own
    prediction.

    Cost: per pair, one product of the unit's weights with each candidate value.

    Parameters
    ----------
    program : Program
        One visible layer of discrete units (softmax, binary, ...), coupled only to
        hidden units that can be summed (an RBM).
    X : array (n, visible columns)
        NaN for missing entries.
    rows, units : int arrays of one length
        The pairs asked about (``units`` index the visible layer's units).

    Returns
    -------
    numpy.ndarray (pairs, K)
        The probability of each value (softmax: category 1..K in order; a two-valued
        unit: its support in order).

    Raises
    ------
    ModelError
        If the model is not an RBM of one discrete visible layer.
    ValueError
        If an observed entry lies outside its unit's support, ``rows`` and ``units``
        differ in shape, or an index is out of range.
    TypeError
        If ``program`` is not a Program.

    Examples
    --------
    A user who rated items 0 and 2; the distribution of their rating of item 1:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, visible="softmax", categories=4, seed=0, scale=1.0), dtype=np.float64)
    >>> X = gm.datasets.ratings_matrix(np.array([0, 0]), np.array([0, 2]), np.array([4, 1]), n_items=3, categories=4)
    >>> p = predict_absent(prog, X, np.array([0]), np.array([1]))
    >>> p.shape, bool(np.isclose(p.sum(), 1.0))
    ((1, 4), True)
    """
    xp = program.xp
    summed = program.hidden_summable()
    visible = [L for L in program.layers if L.visible.any()]
    if summed is None or len(visible) != 1 or not visible[0].visible.all():
        raise ModelError(
            "predict_absent: needs one visible layer whose hidden units can be summed analytically (an RBM)"
        )
    Lv = visible[0]
    if not Lv.kind.discrete:
        raise ModelError(f"predict_absent: defined for discrete visible units; {Lv.name!r} is {Lv.kind.name}")
    couplings = [c for c in program.couplings if Lv in (c.a, c.b)]
    if any(c.a is c.b or not summed[(c.b if c.a is Lv else c.a).sl].all() for c in couplings):
        raise ModelError("predict_absent: the visible units must be coupled to hidden units only")
    X = to_host(check_data(program, X, "X", missing=True, means=False)).astype(np.float64)
    rows, units = np.asarray(rows, dtype=np.int64), np.asarray(units, dtype=np.int64)
    if rows.shape != units.shape or rows.ndim != 1:
        raise ValueError(
            f"predict_absent: rows and units must be 1-d of one length; got {rows.shape} and {units.shape}"
        )
    if rows.size and (rows.min() < 0 or rows.max() >= X.shape[0] or units.min() < 0 or units.max() >= Lv.n):
        raise ValueError(f"predict_absent: rows must lie in [0, {X.shape[0]}) and units in [0, {Lv.n})")
    w = Lv.width
    # statistics of the observed units; an absent unit contributes nothing
    state = np.nan_to_num(X, nan=float(Lv.ops.d.values[0]) if not Lv.kind.onehot else 0.0)
    T = Lv.ops.statistic(xp.asarray(state, dtype=program.dtype), Lv.params)
    absent = np.isnan(X).reshape(X.shape[0], Lv.n, w).any(axis=2)
    T = T * xp.asarray(np.repeat(~absent, w, axis=1), dtype=program.dtype)
    # candidate values of one unit and their statistics, (K, w)
    if Lv.kind.onehot:
        cand = np.eye(w)
    else:
        cand = np.asarray(Lv.ops.d.values, dtype=np.float64)[:, None]
    K = cand.shape[0]
    cols = units[:, None] * w + np.arange(w)[None, :]  # (pairs, w) columns of each unit
    params_u = {k: v[xp.asarray(cols)] for k, v in Lv.params.items()}  # (pairs, w)
    cand_x = xp.asarray(np.broadcast_to(cand[None], (rows.size, K, w)), dtype=program.dtype)
    Tc = Lv.ops.statistic(cand_x, {k: v[:, None, :] for k, v in params_u.items()})  # (pairs, K, w)
    f = Lv.ops.self_energy(cand_x, {k: v[:, None, :] for k, v in params_u.items()}).sum(axis=2)  # (pairs, K)
    logp = -f
    T_own = T[xp.asarray(rows)[:, None], xp.asarray(cols)]  # the unit's own entry: removed below
    inputs = {}  # hidden layer -> its input for every pair and candidate, (pairs, K, H.cols)
    for c in couplings:
        H = c.b if c.a is Lv else c.a
        Wd = c.dense() if c.a is Lv else c.dense().T  # (Lv.cols, H.cols)
        x = T @ Wd  # (n, H.cols): input from every observed unit of each row
        Wu = Wd[xp.asarray(cols)]  # (pairs, w, H.cols)
        xp_pair = x[xp.asarray(rows)] - xp.einsum("pw,pwj->pj", T_own, Wu)
        xk = xp_pair[:, None, :] + xp.einsum("pkw,pwj->pkj", Tc, Wu)
        inputs[H.index] = inputs[H.index] + xk if H.index in inputs else xk
    for index, xk in inputs.items():
        H = program.layers[index]
        logp = logp + xp.sum(H.ops.log_partition(xk, H.params, 1.0, H.width), axis=2)
    logp = logp - xp.max(logp, axis=1, keepdims=True)
    p = xp.exp(logp)
    return to_host(p / xp.sum(p, axis=1, keepdims=True))
