r"""Associative memory in Hopfield networks: storage rules, recall, and capacity.

A Hopfield net is an ordinary model graph (one layer with a lateral coupling matrix, see
:func:`graphmrf.hopfield` in the builders); this module fills in the weights from patterns
and measures what the net remembers. Recall is zero-temperature asynchronous dynamics
(:func:`graphmrf.samplers.descend`), batched over many probes; stochastic recall at
finite beta is just sampling the same model.

Storage rules, for patterns ``xi`` (M x N, entries +-1, or 0/1 for ``kind="binary"``):

* ``"hebb"``: ``W = (1/N) sum_mu xi xi^T`` with zero diagonal;
* ``"hebb01"``: the lecture's rule for 0/1 units, ``w_ij = (1/N) sum 4 (s_i - 1/2)(s_j - 1/2)``,
  with thresholds ``b_i = -1/2 sum_j w_ij`` so that it recalls exactly like the +-1 net;
* ``"storkey"``: Storkey's incremental rule
  ``w_ij += (1/N)(xi_i xi_j - xi_i h_ji - h_ij xi_j)``, ``h_ij = sum_(k != i, j) w_ik xi_k``;
* ``"pseudoinverse"``: the projection rule ``W = Xi (Xi^T Xi)^+ Xi^T`` with zero diagonal.

>>> import numpy as np, graphmrf as gm
>>> rng = np.random.default_rng(0)
>>> xi = np.where(rng.random((5, 100)) < 0.5, -1.0, 1.0)
>>> prog = gm.compile(store(xi, rule="hebb"))
>>> probes = corrupt(xi, 0.1, rng)
>>> out, sweeps = recall(prog, probes, rng)
>>> float(np.mean(np.all(out == xi, axis=1)))
1.0
"""

import numpy as np

from .backend import as_generator, to_host
from .builders import hopfield as _hopfield_graph
from .errors import ModelError

__all__ = ["weights", "store", "recall", "corrupt", "overlap", "capacity", "critical_load", "RULES"]

RULES = ("hebb", "hebb01", "storkey", "pseudoinverse")


def _as_spins(patterns, kind):
    X = np.asarray(patterns, dtype=np.float64)
    if X.ndim != 2:
        raise ModelError(f"patterns: expected shape (M, N); got {X.shape}")
    if kind == "binary":
        if not np.isin(X, (0, 1)).all():
            raise ModelError("patterns: binary patterns must hold 0 and 1")
        return 2 * X - 1
    if not np.isin(X, (-1, 1)).all():
        raise ModelError("patterns: spin patterns must hold -1 and +1")
    return X


def weights(patterns, rule="hebb", kind="spin"):
    """Weight matrix (and biases) storing ``patterns``; returns ``(W, b)``.

    ``W`` is symmetric with a zero diagonal; ``b`` is zero except for ``"hebb01"``.
    Cost: O(M N^2) (Storkey: M matrix-vector products; pseudo-inverse: an M x M solve).
    """
    if rule not in RULES:
        raise ModelError(f"rule: unknown storage rule {rule!r}; expected one of {', '.join(RULES)}")
    S = _as_spins(patterns, "binary" if rule == "hebb01" else kind)
    M, N = S.shape
    b = np.zeros(N)
    if rule in ("hebb", "hebb01"):
        W = S.T @ S / N
    elif rule == "storkey":
        W = np.zeros((N, N))
        for xi in S:
            h = W @ xi  # h_i = sum_k w_ik xi_k (w_ii = 0)
            H = h[:, None] - W * xi[None, :]  # H[i, j] = h_ij = h_i - w_ij xi_j
            W = W + (np.outer(xi, xi) - xi[:, None] * H.T - H * xi[None, :]) / N
            np.fill_diagonal(W, 0.0)
    else:
        W = S.T @ np.linalg.pinv(S @ S.T) @ S
    np.fill_diagonal(W, 0.0)
    W = 0.5 * (W + W.T)
    if rule == "hebb01":
        # 0/1 units s = (sigma + 1)/2: the spin energy -1/2 sigma' J sigma becomes
        # -1/2 s' (4J) s + (2 J 1)' s, so w = 4 J and thresholds b = -1/2 sum_j w_ij.
        W = 4 * W
        b = -0.5 * W.sum(axis=1)
    return W, b


def store(patterns, rule="hebb", kind="spin"):
    """A Hopfield model graph storing ``patterns`` by ``rule`` (see :func:`weights`)."""
    if rule == "hebb01":
        kind = "binary"
    W, b = weights(patterns, rule, kind)
    return _hopfield_graph(W.shape[0], weights=W, bias=b, kind=kind)


def corrupt(patterns, fraction, rng):
    """Copies of ``patterns`` with a ``fraction`` of the units of each flipped (exactly
    ``round(fraction N)`` units per pattern, chosen at random)."""
    rng = as_generator(rng)
    X = np.array(patterns, dtype=np.float64, copy=True)
    M, N = X.shape
    k = int(round(fraction * N))
    lo, hi = (0.0, 1.0) if np.isin(X, (0, 1)).all() else (-1.0, 1.0)
    idx = np.argsort(rng.random((M, N)), axis=1)[:, :k]
    rows = np.repeat(np.arange(M), k)
    cols = idx.ravel()
    X[rows, cols] = lo + hi - X[rows, cols]
    return X


def overlap(states, patterns):
    """Overlap ``m = (1/N) sum_i sigma_i xi_i`` of each state with its pattern (in +-1 terms)."""
    a = np.asarray(states, dtype=np.float64)
    p = np.asarray(patterns, dtype=np.float64)
    if np.isin(p, (0, 1)).all() and np.isin(a, (0, 1)).all():
        a, p = 2 * a - 1, 2 * p - 1
    return np.mean(a * p, axis=1)


def recall(program, probes, rng=None, max_sweeps=100):
    """Asynchronous zero-temperature recall of every probe at once (probes are chains).

    Returns ``(states, sweeps)``: the fixed points reached and the number of sweeps.
    """
    from .samplers.dynamics import descend

    states, sweeps = descend(program, program.xp.asarray(probes, dtype=program.dtype), as_generator(rng, program.backend), max_sweeps=max_sweeps)
    return to_host(states).astype(np.float64), sweeps


def capacity(n_units, loads, rule="hebb", corruption=0.1, trials=1, seed=None, max_sweeps=50):
    """Fractions of stored patterns that are stable and that are recalled, against load.

    For each load ``M / N`` in ``loads``, stores ``M`` random patterns of ``n_units`` units
    and measures: ``stable`` -- the fraction that are fixed points; ``recalled`` -- the
    fraction recovered exactly from a probe with ``corruption`` of its units flipped;
    ``overlap`` -- the mean final overlap with the stored pattern.

    Returns a dict of arrays keyed ``"load"``, ``"stable"``, ``"recalled"``, ``"overlap"``.
    """
    from .compile import compile as _compile

    rng = as_generator(seed)
    out = {"load": np.asarray(loads, dtype=np.float64), "stable": [], "recalled": [], "overlap": []}
    kind = "binary" if rule == "hebb01" else "spin"
    for load in out["load"]:
        M = max(1, int(round(load * n_units)))
        st, rc, ov = [], [], []
        for _ in range(trials):
            xi = np.where(rng.random((M, n_units)) < 0.5, -1.0, 1.0)
            if kind == "binary":
                xi = (xi + 1) / 2
            prog = _compile(store(xi, rule), dtype=np.float64)
            fixed = _is_fixed(prog, xi)
            final, _ = recall(prog, corrupt(xi, corruption, rng), rng, max_sweeps=max_sweeps)
            st.append(fixed.mean())
            rc.append(np.mean(np.all(final == xi, axis=1)))
            ov.append(np.mean(overlap(final, xi)))
        out["stable"].append(np.mean(st))
        out["recalled"].append(np.mean(rc))
        out["overlap"].append(np.mean(ov))
    for k in ("stable", "recalled", "overlap"):
        out[k] = np.asarray(out[k])
    return out


def _is_fixed(program, patterns):
    """True for each pattern that no single-unit zero-temperature update would change."""
    L = program.layers[0]
    x = program.field(program.statistic(program.xp.asarray(patterns, dtype=program.dtype)), L)
    cond = L.ops.conditional(x, L.params, 1.0, L.width)
    s = program.xp.asarray(patterns, dtype=program.dtype)
    return to_host(program.xp.all(L.ops.mode(cond, s, L.width) == s, axis=1))


def critical_load(result, key="recalled", level=0.5):
    """The load at which ``result[key]`` first falls below ``level`` (linear interpolation)."""
    load, y = result["load"], result[key]
    below = np.flatnonzero(y < level)
    if below.size == 0:
        return float("inf")
    i = below[0]
    if i == 0:
        return float(load[0])
    return float(load[i - 1] + (level - y[i - 1]) * (load[i] - load[i - 1]) / (y[i] - y[i - 1]))
