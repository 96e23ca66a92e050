r"""Exact enumeration: the ground truth every sampler and learning rule is checked against.

Everything here sums over every joint state of the discrete units that cannot be summed
out analytically, in float64, in chunks of bounded memory, with log-sum-exp.

What is enumerated: the compiler's blocks are sets of conditionally independent units,
so one block can be summed analytically (softplus for a binary unit, its analogue for
spin and softmax units, the Gaussian integral for real-valued units) while the others
are enumerated. The block is chosen to make the work smallest -- for an RBM the larger
layer is summed and the smaller one enumerated -- and real-valued units must all lie
in it. Directed nets are enumerated in full. Past ``max_states`` enumerated states the
functions raise :class:`~graphmrf.errors.EnumerationTooLargeError` stating the state
count and the estimated time and memory.

The lecture's 2-visible/2-hidden Boltzmann machine (Z = 39.70):

>>> import graphmrf as gm
>>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
>>> round(float(np.exp(log_partition(prog))), 1)
39.7
>>> [f"{p:.4f}" for p in distribution(prog)[1][::-1]]  # v = 11, 10, 01, 00
['0.4660', '0.3050', '0.1441', '0.0849']
"""

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .arguments import BETA, COUNT, Boolean, InstanceOf, Options, checked
from .backend import logsumexp
from .errors import EnumerationTooLargeError, ModelError
from .program import Program
from .support import check_data

__all__ = [
    "log_partition",
    "marginals",
    "distribution",
    "table",
    "joint",
    "log_likelihood",
    "log_likelihood_grad",
    "pseudo_log_likelihood",
    "plan",
    "DEFAULT_MAX_STATES",
]

#: Default limit on enumerated joint states (2^27, about 10 s of work on two cores).
DEFAULT_MAX_STATES = 2**27
_TILE = 2**21  # elements per tile (rows x lo-states x summed columns)
_CACHED_TILE = 2**18  # elements per tile of weights built by doubling (2 MiB): a few tiles, in the cache


def _host64(program):
    """The float64 NumPy form of ``program`` the sums run on: itself, or its cached copy
    (:meth:`Program.float64`, refreshed only when a parameter changed)."""
    return program.float64()


class _Units:
    """Mixed-radix enumeration of a list of (layer, unit) pairs."""

    def __init__(self, program, units):
        self.units = units
        self.cols, self.tables, self.radix = [], [], []
        for L, u in units:
            w = L.width
            self.cols.extend(range(L.offset + u * w, L.offset + (u + 1) * w))
            if L.kind.onehot:
                t = np.eye(w)
            else:
                t = np.asarray(L.kind.support, dtype=np.float64)[:, None]
            self.tables.append(t)
            self.radix.append(t.shape[0])
        self.cols = np.asarray(self.cols, dtype=np.int64)
        self.n = int(np.prod(self.radix, dtype=object)) if units else 1
        # first unit is the most significant digit
        self.stride = [int(np.prod(self.radix[i + 1 :], dtype=object)) for i in range(len(units))]

    def values(self, idx):
        out = np.empty((idx.size, self.cols.size))
        c = 0
        for t, r, s in zip(self.tables, self.radix, self.stride):
            digit = (idx // s) % r
            w = t.shape[1]
            out[:, c : c + w] = t[digit]
            c += w
        return out


@dataclass
class Plan:
    """What an exact computation will enumerate and what it sums analytically."""

    enumerated: list  # (Layer, unit) pairs, most significant first
    summed: np.ndarray  # column mask of units summed analytically (or all False)
    n_states: int

    def describe(self):
        s = int(self.summed.sum())
        return f"{self.n_states} enumerated states ({len(self.enumerated)} units), {s} columns summed analytically"


def _all_units(program):
    return [(L, u) for L in program.layers for u in range(L.n)]


@checked(program=InstanceOf(Program), max_states=COUNT, estimate=Boolean())
def plan(program, fixed=None, hidden_only=False, max_states=DEFAULT_MAX_STATES, estimate=True):
    """Choose which units to enumerate and which block to sum analytically: the cheapest
    plan within ``max_states`` enumerated states.

    Parameters
    ----------
    program : Program
        The compiled model.
    fixed : bool array over columns, optional
        Columns given from outside (data), neither enumerated nor summed.
    hidden_only : bool
        Only hidden units may be summed (for distributions over visible units).
    max_states : int
        The limit on enumerated states.
    estimate : bool
        When no plan fits, time a few chunks of the smallest one so that the error states
        how long it would take (about a second of work); False skips it.

    Returns
    -------
    Plan

    Raises
    ------
    EnumerationTooLargeError
        When every plan enumerates more than ``max_states`` states; the message gives the
        count, the estimated time and the memory per chunk.
    ModelError
        If real-valued units cannot all be summed in one block.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).

    Examples
    --------
    For an RBM the larger layer is summed and the smaller one enumerated:

    >>> import graphmrf as gm
    >>> plan(gm.compile(gm.rbm(10, 3, seed=0))).describe()
    '8 enumerated states (3 units), 10 columns summed analytically'
    >>> plan(gm.compile(gm.rbm(30, 30, seed=0)), max_states=1000, estimate=False)
    Traceback (most recent call last):
    ...
    graphmrf.errors.EnumerationTooLargeError: exact: enumerating 30 units means 1.074e+09 states (2^30.0); ...
    """
    fixed = np.zeros(program.n_columns, bool) if fixed is None else fixed
    real = np.zeros(program.n_columns, bool)
    for L in program.layers:
        if not L.kind.discrete:
            real[L.sl] = True
    candidates = [np.zeros(program.n_columns, bool)]
    if not program.directed:
        for b in program.blocks:
            m = np.zeros(program.n_columns, bool)
            for p in b:
                m[program.part_columns(p)] = True
            m &= ~fixed
            if hidden_only:
                m &= ~program.visible_mask
            if m.any():
                candidates.append(m)
        # the block may be restricted to the units that are not fixed / hidden: still independent
    plans = []
    for m in candidates:
        if np.any(real & ~fixed & ~m):
            continue
        units = [
            (L, u) for L, u in _all_units(program) if not (fixed[L.offset + u * L.width] or m[L.offset + u * L.width])
        ]
        n = 1
        for L, _u in units:
            n *= L.kind.n_states(L.width)
        plans.append((n * (1 + 2 * int(m.sum())), Plan(units, m, n)))
    if not plans:
        raise ModelError(
            "exact: real-valued units can only be summed analytically when they form one conditionally independent "
            "block (no couplings among them, no directed edges)"
        )
    # the cheapest plan within the limit: summing a block may fit where enumerating all does not
    within = [entry for entry in plans if entry[1].n_states <= max_states]
    if within:
        return min(within, key=lambda entry: entry[0])[1]
    p = min(plans, key=lambda entry: entry[1].n_states)[1]
    when = f"estimated time {_estimated_seconds(program, p):.3g} s (from timed chunks of it), " if estimate else ""
    raise EnumerationTooLargeError(
        f"exact: enumerating {len(p.enumerated)} units means {p.n_states:.4g} states (2^{math.log2(p.n_states):.1f}); "
        f"the limit is max_states={max_states} (2^{math.log2(max_states):.1f}); {when}"
        f"memory {_TILE * 8 * 4 / 2**20:.0f} MiB per chunk; raise max_states to run it anyway",
        p.n_states,
        max_states,
    )


def _estimated_seconds(program, p, budget=0.3):
    """The time to enumerate plan ``p``: its set-up and first chunk as timed, plus the
    rest at the rate of its next chunks (at most about ``budget`` seconds of work)."""
    program = program.float64()
    t0 = time.perf_counter()
    first, done, tiles, t1 = None, 0, 0, None
    for _tiler, _row_s, _lo_idx, lw in _iterate(program, p, 1.0, weights=True):  # as log_partition runs
        size = lw.P.size if isinstance(lw, _Weights) else lw.size
        if first is None:
            first, t1 = size, time.perf_counter()
        else:
            done, tiles = done + size, tiles + 1
        if first + done >= p.n_states or (tiles >= 2 and time.perf_counter() - t1 > budget):
            break
    now = time.perf_counter()
    if not done:
        return p.n_states * (now - t0) / first
    return (t1 - t0) + (p.n_states - first) * (now - t1) / done


class _Tiler:
    """Computes -beta E (summed units marginalised) for row states x lo states."""

    def __init__(self, program, row_cols, lo_units, summed, beta):
        self.prog, self.beta = program, beta
        self.summed = summed
        self.lo = _Units(program, lo_units)
        self.row_cols = np.asarray(row_cols, dtype=np.int64)
        self.sum_cols = np.flatnonzero(summed)
        self.fast = not program.directed and program.n_columns <= 4096
        if self.fast:
            self.J = self._coupling_matrix()
            lo_s = self.lo.values(np.arange(self.lo.n))
            self.lo_s = lo_s
            self.lo_T = self._stat(lo_s, self.lo.cols)
            Jll = self.J[np.ix_(self.lo.cols, self.lo.cols)]
            self.lo_a = self._neg_self(lo_s, self.lo.cols) + 0.5 * np.sum((self.lo_T @ Jll) * self.lo_T, axis=1)
            self.Jrl = self.J[np.ix_(self.row_cols, self.lo.cols)]
            self.Jrr = self.J[np.ix_(self.row_cols, self.row_cols)]
            if self.sum_cols.size:
                self.JrS = self.J[np.ix_(self.row_cols, self.sum_cols)]
                self.loX = self.lo_T @ self.J[np.ix_(self.lo.cols, self.sum_cols)]
                self.sum_layers = []
                for L in program.layers:
                    m = summed[L.sl]
                    if m.any():
                        idx = np.flatnonzero(m)
                        pos = np.searchsorted(self.sum_cols, L.offset + idx)
                        if np.array_equal(pos, np.arange(pos[0], pos[0] + pos.size)):
                            pos = slice(int(pos[0]), int(pos[0]) + pos.size)  # a view, not a copy
                        if np.array_equal(idx, np.arange(L.cols)):
                            idx = slice(None)
                        self.sum_layers.append((L, idx, pos))
        self.slopes = self._summed_slopes() if self.fast and self.sum_cols.size else None
        self.lo_B = None  # exp(s (x_l + b)) per summed unit and lo state, made when first needed
        self.tiles = 0
        # every lo unit two-valued, one column each, nothing summed: weights by doubling
        self.doubling = (
            self.fast
            and not self.sum_cols.size
            and all(r == 2 for r in self.lo.radix)
            and all(t.shape[1] == 1 for t in self.lo.tables)
        )
        if self.doubling:  # the statistic of each lo unit at its two values
            stride = np.asarray(self.lo.stride, dtype=np.int64)
            self.t0 = self.lo_T[0].copy()
            self.t1 = self.lo_T[stride, np.arange(stride.size)]
            col = beta * self.lo_a
            self.col_max = float(col.max())
            self.col_weight = np.exp(col - self.col_max)

    def _coupling_matrix(self):
        return self.prog.coupling_matrix()

    def _by_layer(self, cols):
        for L in self.prog.layers:
            sel = np.flatnonzero((cols >= L.sl.start) & (cols < L.sl.stop))
            if sel.size:
                yield L, sel, cols[sel] - L.offset

    def _stat(self, s, cols):
        T = np.empty_like(s)
        for L, sel, local in self._by_layer(cols):
            T[:, sel] = L.ops.statistic(s[:, sel], {k: v[local] for k, v in L.params.items()})
        return T

    def _neg_self(self, s, cols):
        out = np.zeros(s.shape[0])
        for L, sel, local in self._by_layer(cols):
            out -= np.sum(L.ops.self_energy(s[:, sel], {k: v[local] for k, v in L.params.items()}), axis=1)
        return out

    def tile(self, row_s, lo_idx):
        """lw[r, l] = -beta E(row r, lo state l) with summed units marginalised."""
        beta = self.beta
        if not self.fast:
            return self._tile_generic(row_s, lo_idx)
        T_r = self._stat(row_s, self.row_cols)
        a_r = self._neg_self(row_s, self.row_cols) + 0.5 * np.sum((T_r @ self.Jrr) * T_r, axis=1)
        whole = lo_idx.size == self.lo.n  # the whole lo table: index nothing, copy nothing
        T_l = self.lo_T if whole else self.lo_T[lo_idx]
        lw = a_r[:, None] + (self.lo_a if whole else self.lo_a[lo_idx])[None, :] + (T_r @ self.Jrl) @ T_l.T
        lw *= beta
        self.tiles += 1
        # by products from the second row on: their table costs what one row's logarithms do
        if self.sum_cols.size and self.slopes is not None and whole and (self.tiles > 1 or row_s.shape[0] > 1):
            summed = self._summed_by_products(T_r @ self.JrS)
            if summed is not None:
                lw += summed
                return lw
        if self.sum_cols.size:
            X = (T_r @ self.JrS)[:, None, :] + (self.loX if whole else self.loX[lo_idx])[None, :, :]
            for L, idx, pos in self.sum_layers:
                pp = {k: v[idx] for k, v in L.params.items()}
                lw += np.sum(L.ops.log_partition(X[..., pos], pp, beta, L.width), axis=-1)
        return lw

    def _summed_slopes(self):
        """``s`` per summed column when every summed unit is two-valued and its log-partition
        is ``beta lo (x + b) + softplus(s (x + b))``, ``s = beta (hi - lo)`` (checked on
        sample inputs against the kind's own), else None; ``self.sum_bias`` holds the ``b``
        and ``self.sum_low`` the ``beta lo``."""
        rng = np.random.default_rng(0)
        slopes, biases, lows = (np.empty(self.sum_cols.size) for _ in range(3))
        for L, idx, pos in self.sum_layers:
            if L.kind.onehot or L.width != 1 or L.kind.support == "real" or len(L.kind.support) != 2:
                return None
            pp = {k: v[idx] for k, v in L.params.items()}
            count = np.arange(self.sum_cols.size)[pos].size
            bias = np.broadcast_to(np.asarray(pp.get("bias", 0.0), dtype=np.float64), (count,))
            low = self.beta * L.kind.support[0]
            slope = self.beta * (L.kind.support[1] - L.kind.support[0])
            x = rng.normal(0, 3, (4, bias.size))
            got = L.ops.log_partition(x, pp, self.beta, L.width)
            want = low * (x + bias) + np.logaddexp(0, slope * (x + bias))
            if not np.allclose(got, want, rtol=1e-12, atol=1e-12):
                return None
            slopes[pos], biases[pos], lows[pos] = slope, bias, low
        self.sum_bias, self.sum_low = biases, lows
        return slopes

    def _summed_by_products(self, X_r):
        """``sum_i [beta lo_i y + softplus(s_i y)]``, ``y = x_ri + x_li + b_i``, over the
        summed units for every row r and lo state l, without a transcendental per (state,
        unit): ``exp`` of the softplus's argument is ``A[r, i] B[i, l]``, and the sum of
        ``log(1 + A B)`` is the log of products of
        ``1 + A B`` over groups of units -- one multiply and one add per element, the products
        by halving contiguous blocks (as many units to a group as keep every product below
        e^600), one log per group. None where an argument's size could overflow."""
        if self.lo_B is None:
            z = self.slopes * (self.loX + self.sum_bias)  # (lo states, summed)
            self.lo_Bmax = np.abs(z).max(axis=0)
            self.lo_B = np.exp(np.clip(z, -745, 709)).T.copy()  # unit-major: a unit's lo states side by side
            self.lo_low = (self.loX + self.sum_bias) @ self.sum_low  # the lower values' terms
        a = self.slopes * X_r  # (rows, summed)
        top = (np.abs(a).max(axis=0) + self.lo_Bmax).max()
        if top > 600:
            return None
        per = float(np.log1p(np.exp(top)))
        folds = 0
        while folds < 4 and 2 ** (folds + 1) * per < 600:
            folds += 1
        A = np.exp(a)
        n_sum, n_lo = self.lo_B.shape
        pad = (-n_sum) % 2**folds  # padded units: a factor of exactly 1
        chunk = max(1, min(n_lo, 2**17 // (n_sum + pad)))
        t = np.empty((n_sum + pad, chunk))
        t[n_sum:] = 1.0
        out = np.empty((A.shape[0], n_lo))
        for r in range(A.shape[0]):
            for j in range(0, n_lo, chunk):
                c = min(chunk, n_lo - j)
                u = t[:, :c]
                np.multiply(A[r, :, None], self.lo_B[:, j : j + c], out=u[:n_sum])
                u[:n_sum] += 1
                u[n_sum:] = 1.0
                w = u.shape[0]
                for _ in range(folds):
                    w //= 2
                    u[:w] *= u[w : 2 * w]
                np.log(u[:w], out=u[:w])
                u[:w].sum(axis=0, out=out[r, j : j + c])
        out += (X_r @ self.sum_low)[:, None]
        out += self.lo_low[None, :]
        return out

    def weights(self, row_s):
        """The tile as factorised weights over the whole lo table (:class:`_Weights`), with
        ``exp(lw[r, l] - scale) = rows[r] P[r, l] cols[l]``, or None where the tile's mass
        relative to ``scale`` (the sum of the rows' and the columns' largest exponents, an
        upper bound only up to the doubled factors) would lose its terms to underflow.

        No exponential per state: ``exp(beta g_r . T_l)`` with ``g_r = T_r J_rl`` is a
        product of one factor per lo unit, so a row's table over the lo states is built by
        doubling -- the last unit the least significant digit, each unit in turn copying the
        table so far times its factor at its upper value relative to its lower one. Where
        those factors' product could overflow, each is shifted by its larger value first."""
        beta = self.beta
        T_r = self._stat(row_s, self.row_cols)
        a_r = beta * (self._neg_self(row_s, self.row_cols) + 0.5 * np.sum((T_r @ self.Jrr) * T_r, axis=1))
        g = beta * (T_r @ self.Jrl)  # (rows, lo units)
        f0, f1 = g * self.t0, g * self.t1
        up = f1 - f0
        if np.maximum(up, 0).sum(axis=1).max() < 600:  # relative to the lower values: no overflow
            shift, e0, e1 = f0, None, np.exp(up)
        else:
            shift = np.maximum(f0, f1)
            e0, e1 = np.exp(f0 - shift), np.exp(f1 - shift)
        P = np.empty((row_s.shape[0], self.lo.n))
        P[:, 0] = 1.0
        w = 1
        for j in range(g.shape[1] - 1, -1, -1):
            np.multiply(P[:, :w], e1[:, j, None], out=P[:, w : 2 * w])
            if e0 is not None:
                P[:, :w] *= e0[:, j, None]
            w *= 2
        row = a_r + shift.sum(axis=1)
        row_max = float(row.max())
        rows = np.exp(row - row_max)
        by_row = rows * (P @ self.col_weight)
        if not 1e-250 < by_row.sum() < np.inf:  # terms lost to underflow: take the tile by logarithms
            return None
        return P, rows, self.col_weight, row_max + self.col_max, by_row

    def full_states(self, row_s, lo_idx):
        R, Lo = row_s.shape[0], lo_idx.size
        st = np.zeros((R, Lo, self.prog.n_columns))
        st[:, :, self.row_cols] = row_s[:, None, :]
        st[:, :, self.lo.cols] = self.lo.values(lo_idx)[None, :, :]
        return st.reshape(R * Lo, -1)

    def _tile_generic(self, row_s, lo_idx):
        st = self.full_states(row_s, lo_idx)
        lw = self.prog.log_weight(st, self.summed if self.sum_cols.size else None, self.beta)
        return lw.reshape(row_s.shape[0], lo_idx.size)

    def expected_summed_state(self, row_s, lo_idx):
        """E[s_c | rest] for summed columns, shape (R, Lo, n_summed)."""
        T_r = self._stat(row_s, self.row_cols)
        X = (T_r @ self.JrS)[:, None, :] + self.loX[lo_idx][None, :, :]
        out = np.empty_like(X)
        for L, idx, pos in self.sum_layers:
            pp = {k: v[idx] for k, v in L.params.items()}
            out[..., pos] = L.ops.expected_state(X[..., pos], pp, self.beta, L.width)
        return out


def _split(units, lo_max=2**12):
    """Split enumerated units into row digits (high) and a lo table of at most lo_max."""
    n_lo, k = 1, len(units)
    while k > 0:
        L, _ = units[k - 1]
        m = L.kind.n_states(L.width)
        if n_lo * m > lo_max:
            break
        n_lo *= m
        k -= 1
    return units[:k], units[k:]


class _Weights(NamedTuple):
    """A tile as factorised weights: ``lw[r, l] = log(rows[r] P[r, l] cols[l]) + scale``
    (see :meth:`_Tiler.weights`)."""

    P: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    scale: float
    by_row: np.ndarray  # the rows' masses, rows * (P @ cols)

    def sums(self):
        """``(total, row masses, column masses)`` of ``exp(lw - scale)``: matrix-vector
        products over ``P``, no weight array made."""
        by_col = (self.rows @ self.P) * self.cols
        return float(self.by_row.sum()), self.by_row, by_col


def _iterate(program, p, beta, lo_max=2**12, weights=False):
    """Yield (tiler, row_states, lo_idx, lw) over every enumerated state; with ``weights``
    a tile may come as :class:`_Weights` instead of log weights (where the tiler builds
    them by doubling), in tiles that stay in the cache."""
    hi, lo = _split(p.enumerated, max(lo_max, 2**14) if weights else lo_max)
    hi_e = _Units(program, hi)
    tiler = _Tiler(program, hi_e.cols, lo, p.summed, beta)
    n_lo = tiler.lo.n
    doubling = weights and tiler.doubling
    per_row = n_lo * max(1, tiler.sum_cols.size) * (1 if tiler.fast else program.n_columns)
    R = max(1, (_CACHED_TILE if doubling else _TILE) // per_row)
    lo_idx = np.arange(n_lo)
    for start in range(0, hi_e.n, R):
        idx = np.arange(start, min(start + R, hi_e.n))
        row_s = hi_e.values(idx)
        tile = tiler.weights(row_s) if doubling else None
        yield tiler, row_s, lo_idx, (_Weights(*tile) if tile is not None else tiler.tile(row_s, lo_idx))


class _LSE:
    """Streaming log-sum-exp with weighted accumulators rescaled on the fly."""

    def __init__(self):
        self.m = -np.inf
        self.s = 0.0
        self.acc = {}

    def _rescale(self, m):
        if m > self.m:
            scale = math.exp(self.m - m) if np.isfinite(self.m) else 0.0
            self.s *= scale
            for k in self.acc:
                self.acc[k] = self.acc[k] * scale
            self.m = m

    def add_sums(self, scale, total, **values):
        """Add a tile given by its sums relative to ``exp(scale)``: ``total`` and, per
        term, its value (a tile of :class:`_Weights`)."""
        self._rescale(scale)
        f = math.exp(scale - self.m)
        self.s += total * f
        for k, v in values.items():
            self.acc[k] = self.acc.get(k, 0) + v * f

    def add(self, lw, **terms):
        """Add a tile of log weights; each term is a function of p = exp(lw - m) giving an
        array to sum."""
        m = float(np.max(lw))
        if not np.isfinite(m):
            return
        self._rescale(m)
        p = np.exp(lw - self.m)
        self.s += float(np.sum(p))
        for k, fn in terms.items():
            v = fn(p)
            self.acc[k] = self.acc.get(k, 0) + v

    @property
    def log_total(self):
        return self.m + math.log(self.s)


@checked(program=InstanceOf(Program), beta=BETA, max_states=COUNT)
def log_partition(program, beta=1.0, max_states=DEFAULT_MAX_STATES):
    r"""Exact ``log Z(beta) = log sum_s exp(-beta E(s))`` (states of real units integrated).

    Cost: O(S (c + k)) for S enumerated states, c enumerated columns and k summed ones.

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    beta : float
        Inverse temperature, >= 0 (0: every state equally likely).
    max_states : int
        The most enumerated states allowed.

    Returns
    -------
    float

    Raises
    ------
    EnumerationTooLargeError
        If more than ``max_states`` states would be enumerated; the message states the
        count and the estimated time and memory.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).

    Examples
    --------
    Four uncoupled spins: ``Z = 2^4``.

    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.ising(2, periodic=False, coupling=0.0))
    >>> bool(abs(log_partition(prog) - 4 * np.log(2)) < 1e-12)
    True
    """
    program = _host64(program)
    p = plan(program, max_states=max_states)
    acc = _LSE()
    for _, _, _, lw in _iterate(program, p, beta, weights=True):
        if isinstance(lw, _Weights):
            acc.add_sums(lw.scale, float(lw.by_row.sum()))
        else:
            acc.add(lw)
    return acc.log_total


@checked(program=InstanceOf(Program), beta=BETA, max_states=COUNT)
def marginals(program, beta=1.0, max_states=DEFAULT_MAX_STATES, return_log_partition=False):
    """Exact marginal means ``E[s]`` of every node (category probabilities for softmax).

    Returns a dict: node -> array (layers: shape (n,) or (n, K)) or float (single units);
    with ``return_log_partition=True`` the pair ``(marginals, log Z)`` from the same pass.

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    beta : float
        Inverse temperature, >= 0 (0: every state equally likely).
    max_states : int
        The most enumerated states allowed.
    return_log_partition : bool
        Whether to return ``log Z`` too.

    Returns
    -------
    dict or (dict, float)
        Means of binary units are ``p(s = 1)``; of spins ``E[s]`` in [-1, 1].

    Raises
    ------
    EnumerationTooLargeError
        If more than ``max_states`` states would be enumerated; the message states the
        count and the estimated time and memory.
    ModelError
        If summed units belong to a directed net.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).

    Examples
    --------
    The lecture's machine (:mod:`graphmrf.models`):

    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
    >>> means, log_z = marginals(prog, return_log_partition=True)
    >>> {node: round(m, 4) for node, m in means.items()}, round(log_z, 4)
    ({'v1': 0.7711, 'v2': 0.6101, 'h1': 0.7119, 'h2': 0.4765}, 3.6811)
    """
    program = _host64(program)
    p = plan(program, max_states=max_states)
    acc = _LSE()
    for tiler, row_s, lo_idx, lw in _iterate(program, p, beta, weights=True):
        lo_s = tiler.lo_s if tiler.fast and lo_idx.size == tiler.lo.n else tiler.lo.values(lo_idx)
        hi_cols, lo_cols, sum_cols = tiler.row_cols, tiler.lo.cols, tiler.sum_cols
        if isinstance(lw, _Weights):  # the masses of rows and of lo states, by two products
            total, by_row, by_col = lw.sums()
            acc.add_sums(lw.scale, total, row=by_row @ row_s, lo=by_col @ lo_s)
            continue
        terms = {
            "row": lambda P, row_s=row_s: P.sum(1) @ row_s,
            "lo": lambda P, lo_s=lo_s: P.sum(0) @ lo_s,
        }
        if tiler.sum_cols.size:
            if tiler.fast:
                E = tiler.expected_summed_state(row_s, lo_idx)
                terms["sum"] = lambda P, E=E: np.einsum("rl,rlc->c", P, E)
            else:
                raise ModelError("exact.marginals: summed units need an undirected model")
        acc.add(lw, **terms)
    mean = np.zeros(program.n_columns)
    mean[hi_cols] = acc.acc.get("row", 0) / acc.s
    mean[lo_cols] = acc.acc.get("lo", 0) / acc.s
    if sum_cols.size:
        mean[sum_cols] = acc.acc["sum"] / acc.s
    out = _by_node(program, mean)
    return (out, acc.log_total) if return_log_partition else out


def _by_node(program, vec):
    """Split a per-column vector into a dict node -> value, in the graph's node order."""
    out = {}
    for node in program.graph.nodes:
        L = program.layer_of(node)
        v = vec[program.columns(node)]
        if L.declared:
            out[node] = v.reshape(L.n, L.width) if L.width > 1 else v.copy()
        else:
            out[node] = float(v[0]) if L.width == 1 else v.copy()
    return out


def _units_in_node_order(program):
    out = []
    for node in program.graph.nodes:
        li, u = program.spec.unit_index[node]
        L = program.layers[li]
        out.extend((L, k) for k in range(L.n)) if L.declared else out.append((L, u))
    return out


def _visible_units(program):
    return [(L, u) for L, u in _all_units(program) if L.visible[u]]


@checked(program=InstanceOf(Program), beta=BETA, max_states=COUNT)
def distribution(program, beta=1.0, max_states=DEFAULT_MAX_STATES):
    """Exact distribution of the visible units, hidden units summed out.

    Returns ``(states, probs)``: every visible configuration (rows, in the column order
    of ``program.visible_columns``, enumerated with the first visible unit as the most
    significant digit) and its probability ``p(v)``.

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    beta : float
        Inverse temperature, >= 0 (0: every state equally likely).
    max_states : int
        The most (visible states x enumerated hidden states) allowed.

    Returns
    -------
    states : numpy.ndarray (visible states, visible columns)
    probs : numpy.ndarray (visible states,)
        Summing to 1.

    Raises
    ------
    EnumerationTooLargeError
        If more than ``max_states`` states would be enumerated; the message states the
        count and the estimated time and memory.
    ModelError
        If visible units are real-valued.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
    >>> states, probs = distribution(prog)
    >>> states.tolist(), np.round(probs, 4).tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0849, 0.1441, 0.305, 0.466])
    """
    program = _host64(program)
    vis = _visible_units(program)
    if any(not L.kind.discrete for L, _ in vis):
        raise ModelError(
            "exact.distribution: visible units are real-valued; a distribution over them has no finite table"
        )
    vis_mask = program.visible_mask
    p = plan(program, fixed=vis_mask, hidden_only=True, max_states=max_states)
    V = _Units(program, vis)
    if V.n * p.n_states > max_states:
        raise EnumerationTooLargeError(
            f"exact.distribution: {V.n} visible states x {p.n_states} hidden states exceeds max_states={max_states}",
            V.n * p.n_states,
            max_states,
        )
    lo = p.enumerated
    lo_u = _Units(program, lo)
    tiler = _Tiler(program, V.cols, lo, p.summed, beta)
    logp = np.empty(V.n)
    R = max(1, _TILE // max(1, lo_u.n * max(1, tiler.sum_cols.size)))
    lo_idx_all = np.arange(lo_u.n)
    for start in range(0, V.n, R):
        idx = np.arange(start, min(start + R, V.n))
        row_s = V.values(idx)
        acc = np.full(idx.size, -np.inf)
        for ls in range(0, lo_u.n, 2**16):
            lo_idx = lo_idx_all[ls : ls + 2**16]
            lw = tiler.tile(row_s, lo_idx)
            acc = np.logaddexp(acc, _lse_rows(lw))
        logp[start : start + idx.size] = acc
    log_z = _lse_rows(logp[None, :])[0]
    states = V.values(np.arange(V.n))
    order = np.argsort(V.cols)
    return states[:, order], np.exp(logp - log_z)


def _lse_rows(a):
    return logsumexp(a, axis=1)


@dataclass
class Table:
    """Every joint state with -E, exp(-E), p(v, h) and p(v) (for tiny models)."""

    columns: list
    states: np.ndarray
    neg_energy: np.ndarray
    weight: np.ndarray
    p_joint: np.ndarray
    p_visible: np.ndarray
    log_z: float

    def __str__(self):
        widths = [max(4, len(str(c))) for c in self.columns]
        head = " ".join(f"{c:>{w}}" for c, w in zip(self.columns, widths))
        lines = [f"{head} | {'-E':>7} {'exp(-E)':>9} {'p(v,h)':>7} {'p(v)':>7}"]
        for s, ne, w, pj, pv in zip(self.states, self.neg_energy, self.weight, self.p_joint, self.p_visible):
            vals = " ".join(f"{v:>{k}g}" for v, k in zip(s, widths))
            lines.append(f"{vals} | {ne:7.3f} {w:9.3f} {pj:7.3f} {pv:7.3f}")
        lines.append(f"Z = {math.exp(self.log_z):.4g}  (log Z = {self.log_z:.6g})")
        return "\n".join(lines)


@checked(program=InstanceOf(Program), beta=BETA, max_states=COUNT)
def table(program, beta=1.0, max_states=2**16):
    """Enumerate every joint state of a tiny discrete model (no analytic sums).

    States are listed with the first unit as the most significant digit; ``p_visible``
    is the marginal probability of each row's visible configuration. The lecture's
    table, printed.

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    beta : float
        Inverse temperature, >= 0 (0: every state equally likely).
    max_states : int
        The most joint states allowed.

    Returns
    -------
    Table
        ``columns`` (unit names), ``states``, ``neg_energy`` (``-E``), ``weight``
        (``exp(-E)``), ``p_joint``, ``p_visible`` and ``log_z``; ``str`` of it is the table.

    Raises
    ------
    EnumerationTooLargeError
        If more than ``max_states`` states would be enumerated; the message states the
        count and the estimated time and memory.
    ModelError
        If a unit is real-valued.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
    >>> for line in str(table(prog)).splitlines()[-4:]:
    ...     print(line)
       1    1    0    1 |   1.000     2.718   0.068   0.466
       1    1    1    0 |   2.000     7.389   0.186   0.466
       1    1    1    1 |   2.000     7.389   0.186   0.466
    Z = 39.69  (log Z = 3.6811)
    """
    program = _host64(program)
    units = _units_in_node_order(program)
    if any(not L.kind.discrete for L, _ in units):
        raise ModelError("exact.table: real-valued units have no finite table; use exact.log_partition")
    U = _Units(program, units)
    if U.n > max_states:
        raise EnumerationTooLargeError(
            f"exact.table: {U.n} joint states exceeds max_states={max_states}", U.n, max_states
        )
    states = np.zeros((U.n, program.n_columns))
    states[:, U.cols] = U.values(np.arange(U.n))
    neg_e = program.log_weight(states, None, beta)
    log_z = _lse_rows(neg_e[None, :])[0]
    p = np.exp(neg_e - log_z)
    vis = program.visible_columns
    keys = states[:, vis]
    _, inv = np.unique(keys, axis=0, return_inverse=True)
    pv = np.bincount(inv.ravel(), weights=p)[inv.ravel()]
    names = []
    for L, u in units:
        base = str(L.nodes[u]) if not L.declared else f"{L.name}{u}"
        names.extend([base] if L.width == 1 else [f"{base}.{k}" for k in range(L.width)])
    return Table(names, states[:, U.cols], neg_e, np.exp(neg_e), p, pv, log_z)


@checked(program=InstanceOf(Program), beta=BETA, max_states=COUNT)
def joint(program, beta=1.0, max_states=2**20):
    """Exact distribution over every discrete unit, real-valued units integrated out.

    Returns ``(states, probs, columns)``: states over the discrete units' columns, listed
    like :func:`table` (graph node order, first unit most significant), their
    probabilities, and the program columns the states refer to. For a model without
    real-valued units this is the full joint distribution.

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    beta : float
        Inverse temperature, >= 0 (0: every state equally likely).
    max_states : int
        The most discrete states allowed.

    Returns
    -------
    states : numpy.ndarray (states, discrete columns)
    probs : numpy.ndarray (states,)
    columns : int array
        The Program columns of ``states``' columns.

    Raises
    ------
    EnumerationTooLargeError
        If more than ``max_states`` states would be enumerated; the message states the
        count and the estimated time and memory.
    ModelError
        If real-valued units are not conditionally independent given the discrete ones.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
    >>> states, probs, columns = joint(prog)
    >>> states.shape, round(float(probs[-1]), 3), columns.tolist()  # p(1111)
    ((16, 4), 0.186, [0, 1, 2, 3])
    """
    program = _host64(program)
    units = [(L, u) for L, u in _units_in_node_order(program) if L.kind.discrete]
    real = np.zeros(program.n_columns, bool)
    for L in program.layers:
        if not L.kind.discrete:
            real[L.sl] = True
    if real.any() and (program.directed or not program.independent(real)):
        raise ModelError(
            "exact.joint: real-valued units must be conditionally independent given the discrete ones to be "
            "integrated out"
        )
    U = _Units(program, units)
    if U.n > max_states:
        raise EnumerationTooLargeError(
            f"exact.joint: {U.n} discrete states exceeds max_states={max_states}", U.n, max_states
        )
    tiler = _Tiler(program, U.cols, [], real, beta)
    lw = np.concatenate(
        [tiler.tile(U.values(np.arange(a, min(a + 2**14, U.n))), np.arange(1))[:, 0] for a in range(0, U.n, 2**14)]
    )
    p = np.exp(lw - lw.max())
    return U.values(np.arange(U.n)), p / p.sum(), U.cols


def _data_rows(program, data):
    """Visible rows checked for exact likelihoods: every value exactly in its unit's
    support (no fractions, nothing missing), as float64 on the host."""
    return check_data(program, data, means=False)


@checked(program=InstanceOf(Program), reduce=Options("mean", "none"), max_states=COUNT)
def log_likelihood(program, data, reduce="mean", max_states=DEFAULT_MAX_STATES):
    """Exact log-likelihood ``log p(v) = -F(v) - log Z`` of each row of ``data``.

    ``reduce="mean"`` (default) returns the average, ``"none"`` one value per row.

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    data : array (rows, visible columns)
        Visible vectors, every value in its unit's support (0 or 1 for binary units: no
        fractions, nothing missing).
    reduce : {"mean", "none"}
        Average over rows, or one value per row.
    max_states : int
        The most enumerated states allowed.

    Returns
    -------
    float or numpy.ndarray (rows,)

    Raises
    ------
    EnumerationTooLargeError
        If more than ``max_states`` states would be enumerated; the message states the
        count and the estimated time and memory.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).
        Also if ``data`` has the wrong shape or a value outside its unit's support.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
    >>> round(log_likelihood(prog, [[1, 1], [0, 0]]), 4), np.round(log_likelihood(prog, [[1, 1]], reduce="none"), 4)
    (-1.6152, array([-0.7635]))
    """
    program = _host64(program)
    data = _data_rows(program, data)
    log_z = log_partition(program, max_states=max_states)
    lp = _log_unnormalised_visible(program, data, max_states) - log_z
    return float(lp.mean()) if reduce == "mean" else lp


def _log_unnormalised_visible(program, data, max_states, with_tiles=False):
    p = plan(program, fixed=program.visible_mask, hidden_only=True, max_states=max_states)
    tiler = _Tiler(program, program.visible_columns, p.enumerated, p.summed, 1.0)
    lo_idx = np.arange(tiler.lo.n)
    out = np.empty(data.shape[0])
    R = max(1, _TILE // max(1, tiler.lo.n * max(1, tiler.sum_cols.size)))
    for start in range(0, data.shape[0], R):
        rows = data[start : start + R]
        acc = np.full(rows.shape[0], -np.inf)
        for ls in range(0, tiler.lo.n, 2**16):
            acc = np.logaddexp(acc, _lse_rows(tiler.tile(rows, lo_idx[ls : ls + 2**16])))
        out[start : start + rows.shape[0]] = acc
    return out


@checked(program=InstanceOf(Program), max_states=COUNT)
def log_likelihood_grad(program, data, max_states=DEFAULT_MAX_STATES):
    r"""Exact gradient of the mean log-likelihood with respect to every parameter.

    .. math:: \nabla_\theta \frac1N \sum_n \log p(v_n)
              = E_{data}\, E_{h|v}[-\partial_\theta E] - E_{model}[-\partial_\theta E]

    Returns a dict with the keys of ``program.params`` (arrays in float64). For a
    directed net the model term vanishes (Z = 1) and is computed all the same.

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    data : array (rows, visible columns)
        Visible vectors, every value in its unit's support.
    max_states : int
        The most enumerated states allowed.

    Returns
    -------
    dict of numpy.ndarray

    Raises
    ------
    EnumerationTooLargeError
        If more than ``max_states`` states would be enumerated; the message states the
        count and the estimated time and memory.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (``beta < 0``, ``max_states < 1``).
        Also if ``data`` has the wrong shape or a value outside its unit's support.

    Examples
    --------
    The lecture's clamped phase with ``v = 11`` raises every coupling:

    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
    >>> g = log_likelihood_grad(prog, [[1, 1]])
    >>> np.round(g["units[binary]~units[binary].weight"], 3).tolist()
    [0.172, 0.198, 0.11]
    """
    program = _host64(program)
    data = _data_rows(program, data)
    # model term
    p = plan(program, max_states=max_states)
    log_z = log_partition(program, max_states=max_states)
    model = _weighted_stats(program, p, None, log_z)
    # data term: each row's hidden posterior
    ph = plan(program, fixed=program.visible_mask, hidden_only=True, max_states=max_states)
    log_pv = _log_unnormalised_visible(program, data, max_states)
    tiler = _Tiler(program, program.visible_columns, ph.enumerated, ph.summed, 1.0)
    lo_idx = np.arange(tiler.lo.n)
    pos = {}
    R = max(1, 2**16 // max(1, tiler.lo.n))
    for start in range(0, data.shape[0], R):
        rows = data[start : start + R]
        for ls in range(0, tiler.lo.n, 2**12):
            li = lo_idx[ls : ls + 2**12]
            lw = tiler.tile(rows, li)
            w = np.exp(lw - log_pv[start : start + rows.shape[0], None]) / data.shape[0]
            st = tiler.full_states(rows, li)
            s = program.sufficient_stats(st, w.ravel(), summed=ph.summed if ph.summed.any() else None)
            for k, v in s.items():
                pos[k] = pos.get(k, 0) + v
    return {k: pos[k] - model[k] for k in model}


@checked(program=InstanceOf(Program), reduce=Options("mean", "none"))
def pseudo_log_likelihood(program, data, reduce="mean"):
    """Exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)`` over every visible unit.

    Every site is used (no random site, unlike scikit-learn's estimator), hidden units are
    summed analytically through free energies, and nothing is enumerated, so it works at
    any size where the hidden units are conditionally independent. Returns a dict:
    ``"total"`` (the sum over visible units, averaged over rows) and ``"per_variable"``
    (the total divided by the number of visible units); ``reduce="none"`` gives the
    per-row totals instead.

    Cost: ``1 + sum_i |support_i|`` free energies per row (Besag 1975).

    Parameters
    ----------
    program : Program
        The compiled model (a float64 NumPy copy of it does the sums).
    data : array (rows, visible columns)
        Visible vectors, every value in its unit's support.
    reduce : {"mean", "none"}
        A dict of averages, or the per-row totals.

    Returns
    -------
    dict or numpy.ndarray (rows,)

    Raises
    ------
    ModelError
        If the hidden units cannot be summed analytically (see :meth:`Program.free_energy`).
    TypeError
        If ``program`` is not a Program or ``data`` not an array of numbers.
    ValueError
        If ``reduce`` is neither, or ``data`` has the wrong shape or a value outside its
        unit's support.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=1.0))
    >>> pll = pseudo_log_likelihood(prog, [[1, 0, 1], [0, 0, 1]])
    >>> round(pll["total"], 4), round(pll["per_variable"], 4)
    (-2.2993, -0.7664)
    """
    program = _host64(program)
    data = _data_rows(program, data)
    rows = np.zeros((data.shape[0], program.n_columns))
    rows[:, program.visible_columns] = data
    f0 = -program.free_energy(rows)
    total = np.zeros(data.shape[0])
    n_vis = 0
    for L in program.layers:
        for u in range(L.n):
            if not L.visible[u]:
                continue
            n_vis += 1
            c = slice(L.offset + u * L.width, L.offset + (u + 1) * L.width)
            values = np.eye(L.width) if L.kind.onehot else np.asarray(L.kind.support, dtype=np.float64)[:, None]
            alts = []
            for val in values:
                r = rows.copy()
                r[:, c] = val
                alts.append(-program.free_energy(r))
            total += f0 - logsumexp(np.stack(alts, axis=1), axis=1)
    if reduce == "none":
        return total
    return {"total": float(total.mean()), "per_variable": float(total.mean() / max(n_vis, 1))}


def _weighted_stats(program, p, fixed_rows, log_z):
    out = {}
    for tiler, row_s, lo_idx, lw in _iterate(program, p, 1.0, lo_max=2**8):
        w = np.exp(lw - log_z)
        st = tiler.full_states(row_s, lo_idx)
        s = program.sufficient_stats(st, w.ravel(), summed=p.summed if p.summed.any() else None)
        for k, v in s.items():
            out[k] = out.get(k, 0) + v
    return out
