r"""Associative memory in Hopfield networks: storage rules, recall, capacity, spurious states.

A Hopfield net is an ordinary model graph (one layer with a lateral coupling matrix, see
:func:`graphmrf.hopfield` in the builders); this module fills in the weights from patterns
and measures what the net remembers. Recall is zero-temperature asynchronous dynamics
(:func:`graphmrf.samplers.descend`), batched over many probes; stochastic recall at
finite beta is just sampling the same model.

Storage rules, for patterns ``xi`` (M x N, entries +-1, or 0/1 for ``kind="binary"``):

* ``"hebb"``: ``W = (1/N) sum_mu xi xi^T`` with zero diagonal (Haykin's table 13.2);
* ``"hebb01"``: the lecture's rule for 0/1 units, ``Delta w_ij = 4 (s_i - 1/2)(s_j - 1/2)``
  for each pattern, i.e. ``w_ij = sum_mu (2 s_i^mu - 1)(2 s_j^mu - 1)`` (no 1/N), with
  thresholds ``b_i = -1/2 sum_j w_ij`` so that it recalls exactly like the +-1 net;
* ``"storkey"``: Storkey's incremental rule
  ``w_ij += (1/N)(xi_i xi_j - xi_i h_ji - h_ij xi_j)``, ``h_ij = sum_(k != i, j) w_ik xi_k``;
* ``"pseudoinverse"``: the projection rule ``W = Xi (Xi^T Xi)^+ Xi^T`` with zero diagonal.

Besides the stored patterns, Hebbian storage makes *spurious* attractors: the reversed
patterns ``-xi`` (the energy is even in the state), mixtures ``sgn(+-xi^1 +- xi^2 +- xi^3)``
of an odd number of patterns, and, at higher load, states unrelated to any pattern.
:func:`attractors` finds and classifies them.

>>> import numpy as np, graphmrf as gm
>>> rng = np.random.default_rng(0)
>>> xi = np.where(rng.random((5, 100)) < 0.5, -1.0, 1.0)
>>> prog = gm.compile(store(xi, rule="hebb"))
>>> probes = corrupt(xi, 0.1, rng)
>>> out, sweeps = recall(prog, probes, rng)
>>> float(np.mean(np.all(out == xi, axis=1)))
1.0
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .arguments import COUNT, PROBABILITY, AnyOf, Boolean, Integer, Options, Real, Seed, checked
from .backend import as_generator, to_host
from .builders import hopfield as _hopfield_graph
from .compile import compile as _compile
from .errors import ModelError
from .program import Part
from .samplers.dynamics import descend
from .samplers.progress import Progress

__all__ = [
    "weights",
    "store",
    "recall",
    "corrupt",
    "overlap",
    "is_fixed_point",
    "attractors",
    "Attractors",
    "capacity",
    "critical_load",
    "RULES",
]

RULES = ("hebb", "hebb01", "storkey", "pseudoinverse")
#: more candidate mixture states than this and :func:`attractors` asks for a lower ``max_order``
MAX_CANDIDATES = 2**16
_PROGRESS = AnyOf(None, Boolean())


def _as_spins(patterns, kind):
    X = np.asarray(patterns, dtype=np.float64)
    if X.ndim != 2:
        raise ModelError(f"patterns: expected shape (M, N); got {X.shape}")
    if kind == "binary":
        if not np.isin(X, (0, 1)).all():
            raise ModelError(f"patterns: binary patterns must hold 0 and 1; got values {np.unique(X)[:6].tolist()}")
        return 2 * X - 1
    if not np.isin(X, (-1, 1)).all():
        raise ModelError(f"patterns: spin patterns must hold -1 and +1; got values {np.unique(X)[:6].tolist()}")
    return X


@checked(rule=Options(*RULES), kind=Options("spin", "binary"))
def weights(patterns, rule="hebb", kind="spin"):
    """Weight matrix (and thresholds) storing ``patterns``; returns ``(W, b)``.

    ``W`` is symmetric with a zero diagonal; ``b`` is zero except for ``"hebb01"``, whose
    patterns are always 0/1 and whose weights are the lecture's
    ``w_ij = sum_mu 4 (s_i^mu - 1/2)(s_j^mu - 1/2) = sum_mu (2 s_i^mu - 1)(2 s_j^mu - 1)``
    with thresholds ``b_i = -1/2 sum_j w_ij``.

    Why those thresholds: with ``sigma = 2 s - 1`` the input of a 0/1 unit is
    ``b_i + sum_j w_ij s_j = 1/2 sum_j w_ij sigma_j``, which is ``N/2`` times the input the
    ``"hebb"`` rule gives the +-1 unit, so zero-temperature recall makes the same decisions.
    The energies agree up to a constant and a scale: ``E_01(s) = (N/4) E_hebb(sigma) + c``,
    so sampling the 0/1 net at ``beta`` is sampling the +-1 net at ``beta N / 4``.

    Parameters
    ----------
    patterns : array of shape (M, N)
        The memories, +-1 (``kind="spin"``) or 0/1 (``kind="binary"``, and ``"hebb01"``).
    rule : {"hebb", "hebb01", "storkey", "pseudoinverse"}
    kind : {"spin", "binary"}
        The units' values (0/1 patterns are turned into +-1 ones by ``2 s - 1``).

    Returns
    -------
    W : array of shape (N, N)
    b : array of shape (N,)

    Raises
    ------
    ModelError
        Patterns not of shape (M, N) or holding other values than the kind's.
    TypeError
        If an argument is of the wrong type.
    ValueError
        If ``rule`` or ``kind`` is unknown.

    Notes
    -----
    Cost: O(M N^2) (Storkey: M matrix-vector products; pseudo-inverse: an M x M solve).

    Examples
    --------
    >>> W, b = weights([[1, 0, 1], [1, 1, 0]], "hebb01")
    >>> W.tolist(), b.tolist()
    ([[0.0, 0.0, 0.0], [0.0, 0.0, -2.0], [0.0, -2.0, 0.0]], [0.0, 1.0, 1.0])
    """
    S = _as_spins(patterns, "binary" if rule == "hebb01" else kind)
    M, N = S.shape
    b = np.zeros(N)
    if rule == "hebb":
        W = S.T @ S / N
    elif rule == "hebb01":
        W = S.T @ S  # sum_mu (2 s_i - 1)(2 s_j - 1): integers, so the thresholds below are exact
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
        b = 0.0 - 0.5 * W.sum(axis=1)  # 0.0 - ...: no -0.0 thresholds
    return W, b


@checked(rule=Options(*RULES), kind=Options("spin", "binary"))
def store(patterns, rule="hebb", kind="spin"):
    """A Hopfield model graph storing ``patterns`` by ``rule`` (see :func:`weights`).

    ``"hebb01"`` always makes a net of 0/1 (``binary``) units.

    Parameters
    ----------
    patterns : array (M, N)
        The patterns, +-1 (or 0/1 for ``kind="binary"`` and ``"hebb01"``).
    rule : {"hebb", "hebb01", "storkey", "pseudoinverse"}
        The storage rule.
    kind : {"spin", "binary"}
        The units' kind.

    Returns
    -------
    networkx.Graph
        A :func:`graphmrf.hopfield` graph with ``W`` and ``b`` filled in.

    Raises
    ------
    ModelError
        Patterns not of shape (M, N) or holding other values than the kind's.
    TypeError
        If an argument is of the wrong type.
    ValueError
        If ``rule`` or ``kind`` is unknown.

    Examples
    --------
    >>> g = store([[1, -1, 1, -1]], "hebb")
    >>> g.nodes["units"]["kind"], g.edges["units", "units"]["weight"][0].tolist()
    ('spin', [0.0, -0.25, 0.25, -0.25])
    """
    if rule == "hebb01":
        kind = "binary"
    W, b = weights(patterns, rule, kind)
    return _hopfield_graph(W.shape[0], weights=W, bias=b, kind=kind)


@checked(fraction=PROBABILITY, rng=Seed())
def corrupt(patterns, fraction, rng):
    """Copies of ``patterns`` with a ``fraction`` of the units of each flipped (exactly
    ``round(fraction N)`` units per pattern, chosen at random).

    Parameters
    ----------
    patterns : array (M, N)
        +-1 or 0/1 patterns (a flip maps a value to the other one).
    fraction : float in [0, 1]
        Fraction of the units to flip.
    rng : None, int or Generator
        Random generator of the choice.

    Returns
    -------
    numpy.ndarray (M, N)
        A new array.

    Raises
    ------
    ValueError
        If ``patterns`` is not 2-d, or ``fraction`` is outside [0, 1].
    TypeError
        If an argument is of the wrong type.

    Examples
    --------
    >>> x = np.array([[1.0, -1.0, 1.0, -1.0, 1.0, 1.0]])
    >>> int(np.sum(corrupt(x, 0.5, 0) != x))
    3
    """
    rng = as_generator(rng)
    X = np.array(patterns, dtype=np.float64, copy=True)
    if X.ndim != 2:
        raise ValueError(f"corrupt: patterns must have shape (M, N); got shape {X.shape}")
    M, N = X.shape
    k = int(round(fraction * N))
    lo, hi = (0.0, 1.0) if np.isin(X, (0, 1)).all() else (-1.0, 1.0)
    idx = np.argsort(rng.random((M, N)), axis=1)[:, :k]
    rows = np.repeat(np.arange(M), k)
    cols = idx.ravel()
    X[rows, cols] = lo + hi - X[rows, cols]
    return X


def overlap(states, patterns):
    """Overlap ``m = (1/N) sum_i sigma_i xi_i`` of each state with its pattern (in +-1 terms).

    1 for the pattern itself, -1 for its reverse, about 0 for an unrelated state; 0/1
    states and patterns are read as ``2 s - 1``.

    Parameters
    ----------
    states : array (M, N)
        One state per pattern.
    patterns : array (M, N)
        The patterns.

    Returns
    -------
    numpy.ndarray (M,)

    Examples
    --------
    >>> overlap([[1, 1, -1, -1]], [[1, 1, 1, -1]]).tolist()
    [0.5]
    """
    a = np.asarray(states, dtype=np.float64)
    p = np.asarray(patterns, dtype=np.float64)
    if np.isin(p, (0, 1)).all() and np.isin(a, (0, 1)).all():
        a, p = 2 * a - 1, 2 * p - 1
    return np.mean(a * p, axis=1)


@checked(rng=Seed(), max_sweeps=COUNT)
def recall(program, probes, rng=None, max_sweeps=100):
    """Asynchronous zero-temperature recall of every probe at once (probes are chains).

    Returns ``(states, sweeps)``: the fixed points reached and the number of sweeps.

    Parameters
    ----------
    program : Program
        A Hopfield net.
    probes : array (n, N)
        The starting states.
    rng : None, int or Generator
        Random generator of the visiting orders.
    max_sweeps : int
        Stop after this many sweeps.

    Returns
    -------
    states : numpy.ndarray (n, N)
        float64, on the host.
    sweeps : int

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If ``max_sweeps < 1``, or a probe has the wrong shape or a value outside the
        units' support.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(store([[1, -1, 1, -1]]))
    >>> recall(prog, [[1, 1, 1, -1]], 0)
    (array([[ 1., -1.,  1., -1.]]), 2)
    """

    probes = program.xp.asarray(probes, dtype=program.dtype)
    states, sweeps = descend(program, probes, as_generator(rng, program.backend), max_sweeps=max_sweeps)
    return to_host(states).astype(np.float64), sweeps


def _memory_layer(program, where):
    """The one two-valued layer of a Hopfield net."""
    layers = program.layers
    if len(layers) != 1 or len(layers[0].kind.support) != 2 or layers[0].width != 1:
        got = ", ".join(f"{L.name!r} ({L.kind.name})" for L in layers)
        raise ValueError(f"{where}: program must be a Hopfield net (one layer of spin or binary units); got {got}")
    return layers[0]


def is_fixed_point(program, states):
    """True for each state that no single-unit zero-temperature update would change.

    A state ``s`` of a Hopfield net is a fixed point when every unit already takes its
    most probable value given the others: ``s_i = sgn(b_i + sum_j w_ij s_j)`` (a zero input
    keeps the unit as it is, as :func:`graphmrf.samplers.descend` does).

    Parameters
    ----------
    program : Program
        A Hopfield net (one layer of two-valued units).
    states : array (n, N)
        The states to test.

    Returns
    -------
    numpy.ndarray of bool (n,)

    Raises
    ------
    ValueError
        If ``program`` is not a Hopfield net or ``states`` has the wrong shape.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(store([[1, -1, 1, -1]]), dtype=np.float64)
    >>> is_fixed_point(prog, [[1, -1, 1, -1], [-1, 1, -1, 1], [1, 1, 1, 1]]).tolist()
    [True, True, False]
    """
    L = _memory_layer(program, "is_fixed_point")
    xp = program.xp
    s = xp.asarray(np.asarray(to_host(states), dtype=np.float64), dtype=program.dtype)
    if s.ndim != 2 or s.shape[1] != program.n_columns:
        raise ValueError(f"is_fixed_point: states must have shape (n, {program.n_columns}); got shape {tuple(s.shape)}")
    z = program.conditional(s, [Part(L, 0, L.n)])[0]["logits"][..., 0]  # log p(hi) / p(lo) given the rest
    lo, hi = L.kind.support
    kept = xp.where(z > 0, s == hi, xp.where(z < 0, s == lo, True))
    return to_host(xp.all(kept, axis=1))


@dataclass(frozen=True)
class Attractors:
    """Fixed points of a Hopfield net's zero-temperature dynamics, classified.

    What :func:`attractors` returns; ``str`` of it is a table, ``len`` the number of
    fixed points and ``spurious`` a mask of those that are not stored patterns.

    Attributes
    ----------
    states : array of shape (K, N)
        The fixed points, in the net's units (+-1 or 0/1).
    kinds : array of str, shape (K,)
        ``"pattern"`` (a stored pattern), ``"reversed"`` (``-xi``), ``"mixture"``
        (``sgn`` of a signed sum of an odd number >= 3 of patterns) or ``"other"``.
    labels : tuple of str
        ``"xi2"``, ``"-xi2"``, ``"sgn(xi1 + xi2 - xi3)"`` (patterns numbered from 1, as in
        the field's notation; pattern ``xi_mu`` is row ``mu - 1``), or ``"other"``.
    signs : int array of shape (K, M)
        The coefficients ``c``, with ``state = sgn(sum_mu c_mu xi^mu)``; zero for "other".
    energies : array of shape (K,)
        ``E(s)`` of each fixed point under the net.
    overlaps : array of shape (K, M)
        ``m_mu = (1/N) sum_i sigma_i xi_i^mu`` with every stored pattern (+-1 terms).
    hits : int array of shape (K,)
        How many of the random probes ended in each fixed point.
    stored_fixed : bool array of shape (M,)
        Whether each stored pattern is a fixed point (those that are lead the list).
    n_probes : int
        Number of random probes run.

    Examples
    --------
    One stored pattern: it and its reverse are the only fixed points.

    >>> import graphmrf as gm
    >>> found = attractors(gm.compile(store([[1, -1, 1, -1]]), dtype=np.float64), [[1, -1, 1, -1]], seed=0)
    >>> len(found), found.labels, found.spurious.tolist()
    (2, ('xi1', '-xi1'), [False, True])
    >>> print(str(found).splitlines()[1])
    xi1                          pattern       -1.500     ...  +1.00
    """

    states: np.ndarray
    kinds: np.ndarray
    labels: tuple
    signs: np.ndarray
    energies: np.ndarray
    overlaps: np.ndarray
    hits: np.ndarray
    stored_fixed: np.ndarray
    n_probes: int

    def __len__(self):
        return len(self.labels)

    @property
    def spurious(self):
        """Mask of the fixed points that are not stored patterns."""
        return self.kinds != "pattern"

    def __str__(self):
        M = self.overlaps.shape[1]
        head = f"{'state':<28} {'kind':<9} {'energy':>10} {'hits':>6}  " + ("overlaps" if M <= 6 else "max |overlap|")
        rows = [head]
        for k in range(len(self)):
            m = self.overlaps[k]
            ov = " ".join(f"{v:+.2f}" for v in m) if M <= 6 else f"{np.max(np.abs(m)):.2f}"
            rows.append(f"{self.labels[k]:<28} {self.kinds[k]:<9} {self.energies[k]:>10.3f} {self.hits[k]:>6d}  {ov}")
        return "\n".join(rows)


def _label(c):
    terms = [(int(v), mu + 1) for mu, v in enumerate(c) if v]
    if len(terms) == 1:
        v, mu = terms[0]
        return f"xi{mu}" if v > 0 else f"-xi{mu}"
    text = ("-" if terms[0][0] < 0 else "") + f"xi{terms[0][1]}"
    for v, mu in terms[1:]:
        text += f" {'+' if v > 0 else '-'} xi{mu}"
    return f"sgn({text})"


def _candidates(M, max_order):
    """Coefficient rows (n, M) of the patterns, their reverses and the odd mixtures."""
    rows = [np.eye(M, dtype=np.int64), -np.eye(M, dtype=np.int64)]
    for k in range(3, min(max_order, M) + 1, 2):
        for members in itertools.combinations(range(M), k):
            signs = np.array(list(itertools.product((1, -1), repeat=k)), dtype=np.int64)
            c = np.zeros((len(signs), M), dtype=np.int64)
            c[:, list(members)] = signs
            rows.append(c)
    return np.concatenate(rows)


@checked(n_probes=Integer(0), max_order=Integer(1), seed=Seed(), max_sweeps=COUNT)
def attractors(program, patterns, *, n_probes=200, max_order=3, seed=None, max_sweeps=100):
    """Find and classify the fixed points of a Hopfield net storing ``patterns``.

    Two searches, both exact about what they report (every state returned passes
    :func:`is_fixed_point`):

    1. The known families, built and checked directly: each stored pattern ``xi^mu``, its
       reverse ``-xi^mu``, and every mixture ``sgn(c_1 xi^mu1 + ... + c_k xi^muk)`` with
       ``k`` odd, ``3 <= k <= max_order`` and signs ``c = +-1`` (an odd sum of +-1 values is
       never zero, so the sign is defined). For Hebbian storage at low load the reverses
       and the symmetric 3-mixtures are fixed points, at energy about ``-3N/8`` against the
       patterns' ``-N/2`` [Amit, Gutfreund & Sompolinsky 1985].
    2. ``n_probes`` random states run to their fixed points by asynchronous zero-temperature
       dynamics; a fixed point reached that is none of the known family is ``"other"``.
       ``hits`` counts the probes that ended in each fixed point (a rough basin size).

    Parameters
    ----------
    program : Program
        A Hopfield net: one layer of spin or binary units (e.g. ``gm.compile(store(xi))``).
    patterns : array of shape (M, N)
        The stored patterns, in the net's units.
    n_probes : int
        Random initial states for the second search (0 skips it).
    max_order : int
        Largest number of patterns mixed (odd orders 3, 5, ... up to it; 1 for none).
        The candidates number ``sum_k C(M, k) 2^k``.
    seed : None, int or Generator
    max_sweeps : int
        Sweeps of the zero-temperature dynamics per probe (asynchronous updates of a
        symmetric net always stop; a probe still moving after ``max_sweeps`` is dropped).

    Returns
    -------
    Attractors
        Stored patterns first (those that are fixed), then reverses, mixtures (by order),
        then the other fixed points by increasing energy; ``str()`` prints a table.

    Raises
    ------
    ValueError
        ``program`` is not a one-layer two-valued net, ``patterns`` do not fit it, or
        ``max_order`` asks for more than :data:`MAX_CANDIDATES` candidates.
    TypeError
        If an argument is of the wrong type.

    Notes
    -----
    Cost: O(K N^2) for K candidates plus ``n_probes`` recalls of O(N^2) per sweep.

    Examples
    --------
    >>> import graphmrf as gm
    >>> xi = np.where(np.random.default_rng(1).random((3, 400)) < 0.5, -1.0, 1.0)
    >>> found = attractors(gm.compile(store(xi), dtype=np.float64), xi, n_probes=50, seed=0)
    >>> [lab for lab, kind in zip(found.labels, found.kinds) if kind != "mixture"]
    ['xi1', 'xi2', 'xi3', '-xi1', '-xi2', '-xi3']
    >>> found.labels[6], round(float(np.abs(found.overlaps[6]).mean()), 1)
    ('sgn(xi1 + xi2 + xi3)', 0.5)
    """
    L = _memory_layer(program, "attractors")
    lo, hi = (float(v) for v in L.kind.support)
    X = np.asarray(patterns, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != L.n:
        raise ValueError(f"attractors: patterns must have shape (M, {L.n}) for this net; got shape {X.shape}")
    if not np.isin(X, (lo, hi)).all():
        got = np.unique(X)[:6].tolist()
        raise ValueError(f"attractors: patterns must hold only the net's values {lo:g} and {hi:g}; got values {got}")
    S = np.where(X == hi, 1.0, -1.0)  # +-1 view of the patterns
    M, N = S.shape
    n_cand = 2 * M + sum(math.comb(M, k) * 2**k for k in range(3, min(max_order, M) + 1, 2))
    if n_cand > MAX_CANDIDATES:
        raise ValueError(
            f"attractors: max_order={max_order} with {M} patterns makes {n_cand} candidate states; "
            f"the limit is {MAX_CANDIDATES}: lower max_order"
        )
    to_units = lambda sigma: np.where(sigma > 0, hi, lo)  # noqa: E731

    # 1. the known families, deduplicated (a mixture can coincide with a pattern in a small net)
    C = _candidates(M, max_order)
    sigma = np.sign(C @ S)
    _, first = np.unique(sigma, axis=0, return_index=True)
    keep = np.sort(first)
    C, sigma = C[keep], sigma[keep]
    fixed = np.concatenate([is_fixed_point(program, to_units(sigma[i : i + 4096])) for i in range(0, len(sigma), 4096)])
    index = {sigma[i].tobytes(): i for i in range(len(sigma))}

    # 2. random probes, each run to its fixed point
    hits = np.zeros(len(sigma), dtype=np.int64)
    other = {}
    if n_probes:
        # the probes are drawn on the host: the program's own generator where it is NumPy's
        rng = program.generator(seed) if program.backend.name == "numpy" else as_generator(seed)
        probes = to_units(np.where(rng.random((n_probes, N)) < 0.5, -1.0, 1.0))
        # the descent draws its unit orders on the program's backend (a CuPy net needs a CuPy generator)
        order_rng = rng if program.backend.name == "numpy" else int(rng.integers(2**62))
        final, _ = recall(program, probes, order_rng, max_sweeps=max_sweeps)
        final = final[is_fixed_point(program, final)]
        ends, counts = np.unique(np.where(final == hi, 1.0, -1.0), axis=0, return_counts=True)
        for state, count in zip(ends, counts):
            i = index.get(state.tobytes())
            if i is None:
                other[state.tobytes()] = (state, int(count))
            else:
                hits[i] += count

    known = np.flatnonzero(fixed)
    o_states = np.array([v[0] for v in other.values()]).reshape(-1, N)
    all_sigma = np.concatenate([sigma[known], o_states])
    states = to_units(all_sigma)
    energies = np.zeros(0)
    if len(states):
        energies = to_host(program.energy(program.xp.asarray(states, dtype=program.dtype))).astype(np.float64)
    order = np.concatenate([np.arange(len(known)), len(known) + np.argsort(energies[len(known) :], kind="stable")])
    nonzero = np.count_nonzero(C[known], axis=1)
    kinds = np.where(nonzero > 1, "mixture", np.where(C[known].sum(axis=1) > 0, "pattern", "reversed"))
    kinds = np.concatenate([kinds, np.full(len(o_states), "other")]).astype("<U8")
    signs = np.concatenate([C[known], np.zeros((len(o_states), M), dtype=np.int64)])
    labels = [_label(c) for c in C[known]] + ["other"] * len(o_states)
    all_hits = np.concatenate([hits[known], np.array([v[1] for v in other.values()], dtype=np.int64)])
    return Attractors(
        states=states[order],
        kinds=kinds[order],
        labels=tuple(labels[i] for i in order),
        signs=signs[order],
        energies=energies[order],
        overlaps=(all_sigma @ S.T / N)[order] if len(states) else np.zeros((0, M)),
        hits=all_hits[order],
        stored_fixed=is_fixed_point(program, X),
        n_probes=int(n_probes),
    )


@checked(
    n_units=Integer(2),
    rule=Options(*RULES),
    corruption=PROBABILITY,
    trials=COUNT,
    seed=Seed(),
    max_sweeps=COUNT,
    progress=_PROGRESS,
)
def capacity(n_units, loads, rule="hebb", *, corruption=0.1, trials=1, seed=None, max_sweeps=50, progress=None):
    """Fractions of stored patterns that are stable and that are recalled, against load.

    For each load ``M / N`` in ``loads``, stores ``M`` random patterns of ``n_units`` units
    and measures: ``stable`` -- the fraction that are fixed points; ``recalled`` -- the
    fraction recovered exactly from a probe with ``corruption`` of its units flipped;
    ``overlap`` -- the mean final overlap with the stored pattern.

    Parameters
    ----------
    n_units : int
        N.
    loads : sequence of float
        Loads ``M / N`` (each > 0).
    rule : str
        A storage rule of :data:`RULES`.
    corruption : float
        Fraction of the units flipped in each probe.
    trials : int
        Independent pattern sets per load (results are averaged).
    seed : None, int or Generator
    max_sweeps : int
        Sweeps of recall per probe.
    progress : bool, optional
        Show a progress bar over loads x trials (default: for long runs on a terminal
        or in a notebook).

    Returns
    -------
    dict of arrays keyed ``"load"``, ``"stable"``, ``"recalled"``, ``"overlap"``.

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If an argument breaks its rule (a load that is not a finite real > 0).

    Examples
    --------
    >>> res = capacity(100, [0.05], seed=0)
    >>> res["stable"].tolist(), res["recalled"].tolist()
    ([1.0], [1.0])
    """

    loads = np.asarray(loads, dtype=np.float64).ravel()
    if loads.size == 0 or not np.all(np.isfinite(loads)) or np.any(loads <= 0):
        raise ValueError(f"capacity: loads must be finite reals > 0; got {loads.tolist()[:8]}")
    rng = as_generator(seed)
    out = {"load": loads, "stable": [], "recalled": [], "overlap": []}
    kind = "binary" if rule == "hebb01" else "spin"
    with Progress(len(loads) * trials, f"capacity ({rule})", progress) as bar:
        for load in out["load"]:
            M = max(1, int(round(load * n_units)))
            st, rc, ov = [], [], []
            for _ in range(trials):
                xi = np.where(rng.random((M, n_units)) < 0.5, -1.0, 1.0)
                if kind == "binary":
                    xi = (xi + 1) / 2
                prog = _compile(store(xi, rule), dtype=np.float64)
                fixed = is_fixed_point(prog, xi)
                final, _ = recall(prog, corrupt(xi, corruption, rng), rng, max_sweeps=max_sweeps)
                st.append(fixed.mean())
                rc.append(np.mean(np.all(final == xi, axis=1)))
                ov.append(np.mean(overlap(final, xi)))
                bar.update(load=f"{load:.3g}")
            out["stable"].append(np.mean(st))
            out["recalled"].append(np.mean(rc))
            out["overlap"].append(np.mean(ov))
    for k in ("stable", "recalled", "overlap"):
        out[k] = np.asarray(out[k])
    return out


@checked(key=Options("stable", "recalled", "overlap"), level=Real())
def critical_load(result, key="recalled", level=0.5):
    """The load at which ``result[key]`` first falls below ``level`` (linear interpolation).

    For Hebbian storage the classic value for large nets is a load of about 0.138
    [Amit, Gutfreund & Sompolinsky 1985]; small nets and corrupted probes measure below it.

    Parameters
    ----------
    result : dict
        What :func:`capacity` returned.
    key : {"stable", "recalled", "overlap"}
        Which curve.
    level : float
        The threshold.

    Returns
    -------
    float
        ``inf`` when the curve never falls below ``level``.

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If ``key`` is none of these or ``level`` is not finite.

    Examples
    --------
    >>> critical_load({"load": np.array([0.1, 0.2]), "recalled": np.array([1.0, 0.0])})
    0.15...
    """
    load, y = result["load"], result[key]
    below = np.flatnonzero(y < level)
    if below.size == 0:
        return float("inf")
    i = below[0]
    if i == 0:
        return float(load[0])
    return float(load[i - 1] + (level - y[i - 1]) * (load[i] - load[i - 1]) / (y[i] - y[i - 1]))
