r"""Deep Boltzmann machines (Salakhutdinov & Hinton 2009): mean-field inference, the learning
rule, greedy pre-training, and likelihood estimates.

A DBM is the graph :func:`graphmrf.dbm` builds -- layers ``v, h1, ..., hL``, undirected
couplings between consecutive layers only -- so its posterior ``p(h | v)`` does not
factorise and the positive phase of Boltzmann learning cannot be summed analytically as an
RBM's can. This module supplies what makes a DBM learn:

* :func:`mean_field` -- the fully factorised approximation ``q(h) = prod_j q(h_j)`` that
  maximises the variational lower bound, found by the fixed-point iteration

  .. math:: \mu^{(l)} \leftarrow E\big[h^{(l)} \,\big|\, x^{(l)}\big], \qquad
            x^{(l)} = \mu^{(l-1)} W^{(l)} + \mu^{(l+1)} W^{(l+1)\top}

  (for binary units ``mu = sigmoid(b + x)``), layer by layer in the order of the compiled
  blocks, with optional damping, until no mean moves by more than ``tol``;
* :func:`variational_bound` -- ``log p(v) >= E_q[-E(v, h)] + H(q) - log Z``, equal to
  ``log p(v)`` when the posterior factorises (an RBM);
* :func:`mean_field_pcd` -- the gradient estimator for :func:`graphmrf.fit`: the
  mean-field positive phase, the negative phase from persistent Gibbs chains (PCD), with
  :func:`decaying_rate` as the learning-rate schedule stochastic approximation asks for,
  and :func:`chains_at_data` to start the persistent chains at training rows;
* :func:`pretrain` -- greedy layer-wise pre-training by RBMs trained with
  :func:`graphmrf.fit`: the bottom RBM with its visible layer doubled, the top one with its
  hidden layer doubled (both tied, :func:`graphmrf.constraints.tied`), the middle ones plain
  with their weights halved when composed into the DBM (Salakhutdinov & Hinton 2009, section 3.1);
* :func:`log_partition` -- annealed importance sampling of ``log Z`` with the odd layers
  (``h1, h3, ...``) summed out analytically given the even ones, with its standard error.

A two-hidden-layer DBM small enough to enumerate: the bound lies below the exact
log-likelihood, and the AIS estimate of log Z agrees with the exact one.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.dbm([6, 4, 3], seed=0, scale=1.0), dtype=np.float64)
>>> v = np.array([[1, 0, 1, 1, 0, 0], [0, 1, 1, 0, 1, 1]])
>>> log_z = gm.exact.log_partition(prog)
>>> bound = variational_bound(prog, v, log_z, reduce="none")
>>> bool(np.all(bound <= gm.exact.log_likelihood(prog, v, reduce="none")))
True
>>> est = log_partition(prog, n_chains=200, betas=300, seed=0)
>>> bool(abs(est.log_z - log_z) < 4 * est.stderr + 0.01)
True
"""

import time
from typing import NamedTuple

import numpy as np

from .arguments import COUNT, AnyOf, Boolean, Function, InstanceOf, Integer, Options, Real, Seed, checked
from .backend import as_generator, to_host
from .builders import rbm as _rbm_graph
from .compile import compile as _compile
from .constraints import tied
from .errors import ModelError
from .learn import place_visible
from .program import Program
from .samplers.gibbs import block_gibbs
from .samplers.progress import Progress
from .train import fit
from .workspace import Workspace

__all__ = [
    "MeanField",
    "mean_field",
    "variational_bound",
    "mean_field_pcd",
    "chains_at_data",
    "decaying_rate",
    "Pretraining",
    "pretrain",
    "AISEstimate",
    "log_partition",
]


# --------------------------------------------------------------------------- structure
class _Structure:
    """What the functions here need to know about a model, found once: the hidden layers in
    the order of the compiled blocks (a layer-wise mean-field sweep), and the visible ones."""

    def __init__(self, program, where):
        if program.directed or any(L.directed for L in program.layers):
            raise ModelError(f"{where}: expected an undirected model (a DBM); this one has directed layers")
        self.hidden, self.visible = [], []
        for L in program.layers:
            if L.visible.all():
                self.visible.append(L)
            elif not L.visible.any():
                self.hidden.append(L)
            else:
                raise ModelError(
                    f"{where}: layer {L.name!r} mixes visible and hidden units; mean field updates whole hidden layers"
                )
        if not self.hidden:
            raise ModelError(f"{where}: the model has no hidden layer")
        for L in self.hidden:
            if not L.ops.linear_in_state:
                raise ModelError(
                    f"{where}: hidden layer {L.name!r} has {L.kind.name!r} units; mean field here needs units whose "
                    "energy is affine in their state ('binary', 'spin' or 'softmax')"
                )
            if L.lateral:
                raise ModelError(
                    f"{where}: hidden layer {L.name!r} has lateral couplings; a layer-wise mean field needs none"
                )
        order = {L.index: i for i, L in enumerate(self.hidden)}
        in_blocks = [p.layer for b in program.blocks for p in b if p.layer.index in order and p.whole]
        # a layer split across blocks (a user's blocks) is updated once, whole, at its first part
        seen, self.sweep = set(), []
        for L in in_blocks + self.hidden:
            if L.index not in seen:
                seen.add(L.index)
                self.sweep.append(L)
        # the bottom-up start doubles a layer's input when a coupling to a later layer is missing
        later = {L.index: False for L in self.hidden}
        for c in program.couplings:
            a, b = c.a.index, c.b.index
            if a in later and b > a:
                later[a] = True
            if b in later and a > b:
                later[b] = True
        self.has_later = later
        # hidden layers whose bottom-up start the first iteration recomputes from the same
        # inputs: no layer after them (so their start is not doubled, and no later start
        # reads them) and in the first block (updated before any of their neighbours change)
        first = {p.layer.index for p in program.blocks[0] if p.whole} if program.blocks else set()
        self.recomputed = {L.index for L in self.hidden if not later[L.index] and L.index in first}
        # the fast paths' plan: each layer's dense couplings, ``(coupling, other layer, whether
        # the layer is the coupling's a side)``, when every coupling is dense and between two
        # layers and every statistic is the state (0/1 and spin units); else None
        if program.identity_statistic and all(not c.sparse and c.type == "undirected" for c in program.couplings):
            self.feeds = {
                L.index: [(c, c.b if c.a is L else c.a, c.a is L) for c in program.couplings if L in (c.a, c.b)]
                for L in program.layers
            }
        else:
            self.feeds = None

    @classmethod
    def of(cls, program, where, workspace=None):
        """The structure of ``program``, kept in ``workspace`` while its blocks stay."""
        if workspace is None:
            return cls(program, where)
        found = workspace.get("dbm structure")
        if found is not None and found.blocks is program.blocks:
            return found
        found = cls(program, where)
        found.blocks = program.blocks
        return workspace.put("dbm structure", found)


def _check_rows(program, data, where, what="data"):
    """``data`` as an array (examples, visible columns) of the Program's dtype, finite."""
    xp = program.xp
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {what} must be an array of real numbers; got dtype {data.dtype}")
    nv = program.visible_columns.size
    if data.ndim != 2 or data.shape[1] != nv:
        raise ValueError(
            f"{where}: {what} must have shape (examples, {nv}) (the visible columns); got {tuple(data.shape)}"
        )
    data = xp.asarray(data, dtype=program.dtype)
    flat = data.reshape(-1)
    if not np.isfinite(float(xp.dot(flat, flat))) and not bool(xp.all(xp.isfinite(data))):
        raise ValueError(f"{where}: {what} has NaN or infinite entries")
    return data


# --------------------------------------------------------------------------- mean field
class MeanField(NamedTuple):
    """The result of :func:`mean_field`: ``means`` (a state array: the data in the visible
    columns, the means ``mu`` of ``q`` in the hidden ones), the ``iterations`` run, the
    largest change of a mean in the last one, and whether it fell to ``tol``.

    Attributes
    ----------
    means : array (examples, columns)
        The data in the visible columns, the means of ``q`` in the hidden ones (on the
        Program's backend, in its dtype); ``program.energy(means)`` is ``E(v, mu)``.
    iterations : int
        Fixed-point iterations run.
    change : float
        The largest change of a mean in the last iteration.
    converged : bool
        Whether ``change <= tol``.

    Examples
    --------
    An RBM's posterior factorises: the bottom-up start is the fixed point, and the first
    iteration changes nothing.

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(6, 3, seed=0), dtype=np.float64)
    >>> q = mean_field(prog, np.ones((4, 6)), tol=1e-12)
    >>> q.iterations, q.change, q.converged
    (1, 0.0, True)
    """

    means: object
    iterations: int
    change: float
    converged: bool


def _upward(program, q, structure):
    """The bottom-up start: each hidden layer (in declared order) from the layers set
    before it, its input doubled when it also has a layer after it (standing in for the
    missing top-down input, as in Salakhutdinov & Hinton's code)."""
    for L in structure.hidden:
        q[:, L.sl] = 0
    T = program.statistic(q)
    done = {L.index for L in structure.visible}
    for L in structure.hidden:
        x = _input_from(program, T, L, done)
        if structure.has_later[L.index]:
            x *= 2
        q[:, L.sl] = L.ops.expected_state(x, L.params, 1.0, L.width, consume=True)
        if T is not q:
            T[:, L.sl] = L.ops.statistic(q[:, L.sl], L.params)
        done.add(L.index)


def _input_from(program, T, L, done):
    """``x = sum_j W_ij T(s_j)`` of layer ``L`` over the couplings to the layers in
    ``done`` only (the upward pass skips the products with layers still at zero)."""
    x = None
    for c in program.couplings:
        if c.a is L and c.b.index in done:
            term = T[:, c.b.sl] @ c.dense().T
        elif c.b is L and c.a.index in done:
            term = T[:, c.a.sl] @ c.dense()
        else:
            continue
        if x is None:
            x = term
        else:
            x += term
    return program.xp.zeros((T.shape[0], L.cols), dtype=T.dtype) if x is None else x


def _fixed_point(program, q, structure, tol, max_iter, damping):
    """Iterate ``mu_l <- E[h_l | x_l(mu)]`` in place over the hidden columns of ``q`` (layer
    by layer, in block order); returns ``(iterations, largest change of the last one)``.
    With ``tol = 0`` the change is measured in the last iteration only."""
    xp = program.xp
    T = program.statistic(q)  # q itself for 0/1 and spin units
    change, it = np.inf, 0
    for it in range(1, max_iter + 1):
        measure = tol > 0 or it == max_iter
        change = 0.0
        for L in structure.sweep:
            mu = L.ops.expected_state(program.field(T, L), L.params, 1.0, L.width, consume=True)
            old = q[:, L.sl]
            if damping:
                mu *= 1 - damping
                mu += damping * old
            if measure and mu.size:
                diff = xp.subtract(mu, old, out=xp.empty_like(mu))
                change = max(change, float(xp.max(xp.abs(diff, out=diff))))
            old[...] = mu
            if T is not q:
                T[:, L.sl] = L.ops.statistic(mu, L.params)
        if measure and change <= tol:
            break
    return it, change


def _infer(program, q, structure, tol, max_iter, damping, upward, products=None, report=True):
    """The mean field of the rows of ``q`` (visible columns set), in place: from the
    bottom-up start (``upward``) or from the hidden columns of ``q``; the fast path where it
    applies (``report=False``: no change measured when ``tol = 0``). Returns
    ``(iterations, change)``."""
    if structure.feeds is not None:
        return _dense_mean_field(program, q, structure, tol, max_iter, damping, upward, products, report)
    if upward:
        _upward(program, q, structure)
    return _fixed_point(program, q, structure, tol, max_iter, damping)


class _Products:
    """The coupling inputs ``x_i = sum_j W_ij s_j`` of whole layers for the fast paths, from
    dense weights: ``s_b W^T`` through a row-major copy of ``W^T`` made when the object is
    (once per mini-batch; OpenBLAS multiplies by a row-major matrix about a fifth faster
    than by a transposed view), ``s_a W`` through ``W`` itself."""

    def __init__(self, program, structure, workspace=None):
        xp = program.xp
        ws = Workspace() if workspace is None else workspace
        self.feeds = structure.feeds
        self.transposed = {}
        for c in program.couplings:
            buf = ws.array(("W^T", c.key), (c.b.cols, c.a.cols), c.W.dtype, xp)
            buf[...] = c.W.T
            self.transposed[c.key] = buf

    def input(self, L, source, among=None):
        """``x`` of layer ``L`` from the layers in ``among`` (all when None), reading each
        one's state from ``source(layer)``; None when no coupling is counted."""
        x = None
        for c, other, on_a in self.feeds[L.index]:
            if among is not None and other.index not in among:
                continue
            term = source(other) @ (self.transposed[c.key] if on_a else c.W)
            if x is None:
                x = term
            else:
                x += term
        return x


def _dense_mean_field(program, q, structure, tol, max_iter, damping, upward, products=None, report=True):
    """:func:`_upward` and :func:`_fixed_point` for dense couplings and statistics that are
    the state: the same updates in the same order, with three savings -- the clamped
    layers' input to each hidden layer is computed once, not once per iteration; the means
    live in arrays of their own (contiguous; a new mean replaces the old by reference, no
    copy) until they are written into ``q`` at the end; the products go through
    :class:`_Products`. With ``tol = 0`` the change is measured in the last iteration only
    (``report``), or not at all."""
    xp = program.xp
    hidden = {L.index for L in structure.hidden}
    P = _Products(program, structure) if products is None else products
    mu = {}

    def state(layer):
        return mu[layer.index] if layer.index in hidden else q[:, layer.sl]

    def with_clamped(x, L):
        c0 = clamped[L.index]
        if c0 is None:
            return x if x is not None else xp.zeros((q.shape[0], L.cols), dtype=q.dtype)
        if x is None:
            return c0.copy()
        x += c0
        return x

    outside = {L.index for L in program.layers} - hidden
    clamped = {L.index: P.input(L, state, outside) for L in structure.hidden}  # fixed through the iteration
    skipped = set()
    if upward:
        for L in structure.hidden:
            if L.index in structure.recomputed:  # the first update gives it the same value: skip it here
                skipped.add(L.index)
                continue
            x = with_clamped(P.input(L, state, set(mu)), L)
            if structure.has_later[L.index]:
                x *= 2
            mu[L.index] = L.ops.expected_state(x, L.params, 1.0, L.width, consume=True)
    else:
        mu = {L.index: xp.ascontiguousarray(q[:, L.sl]) for L in structure.hidden}
    change, it = np.inf, 0
    for it in range(1, max_iter + 1):
        measure = tol > 0 or (report and it == max_iter)
        change = 0.0
        for L in structure.sweep:
            x = with_clamped(P.input(L, state, hidden), L)
            new = L.ops.expected_state(x, L.params, 1.0, L.width, consume=True)
            if L.index in skipped:  # its start value is this one: no change, nothing to damp
                skipped.discard(L.index)
                mu[L.index] = new
                continue
            old = mu[L.index]
            if damping:
                new *= 1 - damping
                new += damping * old
            if measure and new.size:
                change = max(change, float(xp.max(xp.abs(new - old))))
            mu[L.index] = new
        if measure and change <= tol:
            break
    for L in structure.hidden:
        q[:, L.sl] = mu[L.index]
    return it, change


def _dense_sweep(program, state, rng, structure, products, ws):
    """One sweep of block Gibbs sampling of ``state`` in place, as
    :func:`graphmrf.samplers.block_gibbs` does it (the same blocks, draws and order), with
    the inputs of whole layers from :class:`_Products`."""
    for block in program.blocks:
        for part in block:
            x = products.input(part.layer, lambda layer: state[:, layer.sl]) if part.whole else None
            program.update_part(state, state, part, rng, x=x, workspace=ws)


def _add(x, y):
    x += y
    return x


@checked(program=InstanceOf(Program), tol=Real(0.0), max_iter=COUNT, damping=Real(0.0, 1.0, closed="left"))
def mean_field(program, data, *, tol=1e-6, max_iter=100, damping=0.0, init=None):
    r"""Mean-field posterior of the hidden layers given visible rows: the fixed point of

    .. math:: \mu_j = E[h_j \mid x_j], \qquad x_j = \sum_i W_{ij} T(s_i)

    over the neighbours of ``h_j`` (the data for visible units, the means ``mu`` for hidden
    ones); for binary units ``mu_j = sigmoid(b_j + x_j)``. Each iteration updates the hidden
    layers one after another in the order of the compiled blocks (for a DBM the even layers
    ``h2, h4, ...``, then the odd ones), each from the newest means of its neighbours:
    ``mu <- (1 - damping) E[h | x(mu)] + damping mu``. It stops once no mean changes by
    more than ``tol``, or after ``max_iter`` iterations.

    Parameters
    ----------
    program : Program
        An undirected model whose hidden units fill whole layers of ``binary``, ``spin`` or
        ``softmax`` units without lateral couplings (a DBM; an RBM, where one iteration is
        exact).
    data : array (examples, visible columns)
        Visible rows (values in their units' ranges; binary values may be probabilities).
    tol : float >= 0
        Stop when the largest change of a mean is at most this (0: run ``max_iter``).
    max_iter : int
    damping : float in [0, 1)
        Weight of the old mean in each update (slows the iteration, can stop oscillations).
    init : array (examples, columns), optional
        Starting means in its hidden columns (e.g. the last call's ``means``). Default: a
        bottom-up pass in which a layer with a layer above takes twice its input from below.

    Returns
    -------
    MeanField
        ``means`` (a state array), ``iterations``, ``change``, ``converged``.

    Raises
    ------
    TypeError
        If ``program`` is not a Program, ``data`` not an array of real numbers, or an
        option of the wrong type.
    ModelError
        For a model without hidden layers, with hidden units of another kind, or with
        couplings within a hidden layer.
    ValueError
        For rows (or ``init``) of the wrong shape or with NaN, or an option out of its range.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.dbm([6, 4, 3], seed=0, scale=1.0), dtype=np.float64)
    >>> q = mean_field(prog, np.ones((2, 6)), tol=1e-10)
    >>> q.converged, q.means.shape
    (True, (2, 13))
    """
    structure = _Structure(program, "mean_field")
    data = _check_rows(program, data, "mean_field")
    xp = program.xp
    q = xp.zeros((data.shape[0], program.n_columns), dtype=program.dtype)
    place_visible(program, q, data)
    if init is not None:
        init = program.check_shape(init, "init")
        if init.shape[0] != data.shape[0]:
            raise ValueError(f"mean_field: init has {init.shape[0]} rows; data has {data.shape[0]}")
        for L in structure.hidden:
            q[:, L.sl] = init[:, L.sl]
    iterations, change = _infer(program, q, structure, tol, max_iter, damping, upward=init is None)
    return MeanField(q, iterations, change, change <= tol)


def _entropy(program, means, structure):
    r"""``H(q) = -sum_j sum_s q_j(s) log q_j(s)`` of the factorised ``q`` with these means,
    per row (float64)."""
    xp = program.xp
    total = xp.zeros(means.shape[0], dtype=np.float64)
    for L in structure.hidden:
        mu = xp.asarray(means[:, L.sl], dtype=np.float64)
        if L.kind.onehot:
            probs = [mu]
        else:
            lo, hi = L.ops.d.values
            p1 = xp.clip((mu - lo) / (hi - lo), 0.0, 1.0)
            probs = [p1, 1 - p1]
        for p in probs:
            # 0 log 0 = 0
            total -= xp.sum(xp.where(p > 0, p * xp.log(xp.where(p > 0, p, 1.0)), 0.0), axis=1)
    return total


@checked(
    program=InstanceOf(Program),
    log_z=Real(),
    reduce=Options("mean", "none"),
    tol=Real(0.0),
    max_iter=COUNT,
    damping=Real(0.0, 1.0, closed="left"),
)
def variational_bound(program, data, log_z, *, reduce="mean", tol=1e-6, max_iter=100, damping=0.0):
    r"""The variational lower bound on ``log p(v)`` given by the mean-field posterior ``q``:

    .. math:: \log p(v) \ge \sum_h q(h) \log p^*(v, h) + H(q) - \log Z
              = -E(v, \mu) + H(q) - \log Z,

    where ``-E(v, mu)`` is the energy at the means (``E`` is affine in each unit and ``q``
    factorises, so it equals ``E_q[-E(v, h)]``) and ``H(q)`` the entropy of the factorised
    posterior. Equality holds when the true posterior factorises (an RBM, or a DBM whose
    upper layers are decoupled); otherwise the gap is ``KL(q || p(h | v))``.

    Parameters
    ----------
    program : Program
        As for :func:`mean_field`.
    data : array (examples, visible columns)
    log_z : float
        ``log Z`` of the model: exact (:func:`graphmrf.exact.log_partition`, tiny models)
        or estimated (:func:`log_partition`; the bound is then an estimate too).
    reduce : {"mean", "none"}
        The mean over rows, or one value per row.
    tol, max_iter, damping
        Of the mean-field iteration (:func:`mean_field`).

    Returns
    -------
    float or array (examples,)

    Raises
    ------
    TypeError
        If ``program`` is not a Program, ``log_z`` not a number, or ``data`` not an array
        of real numbers.
    ModelError
        For a model :func:`mean_field` cannot handle.
    ValueError
        For rows of the wrong width or with NaN, a ``log_z`` that is not finite, or an
        unknown ``reduce``.

    Examples
    --------
    A DBM with one hidden layer is an RBM: its posterior factorises and the bound is exact.

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.dbm([5, 3], seed=1, scale=1.0), dtype=np.float64)
    >>> v = np.array([[1, 0, 1, 1, 0]])
    >>> b = variational_bound(prog, v, gm.exact.log_partition(prog))
    >>> bool(abs(b - gm.exact.log_likelihood(prog, v)) < 1e-10)
    True
    """
    structure = _Structure(program, "variational_bound")
    q = mean_field(program, data, tol=tol, max_iter=max_iter, damping=damping)
    energy = program.xp.asarray(program.energy(q.means), dtype=np.float64)
    lw = to_host(-energy + _entropy(program, q.means, structure)) - float(log_z)
    return float(lw.mean()) if reduce == "mean" else lw


# --------------------------------------------------------------------------- the learning rule
@checked(
    program=InstanceOf(Program),
    k=COUNT,
    mean_field=AnyOf(None, Boolean()),
    positive_sweeps=Integer(1),
    tol=Real(0.0),
    damping=Real(0.0, 1.0, closed="left"),
)
def mean_field_pcd(
    program,
    data,
    rng,
    *,
    k=1,
    chains=None,
    mean_field=None,
    positive_sweeps=10,
    workspace=None,
    out=None,
    scale=1.0,
    tol=1e-5,
    damping=0.0,
):
    r"""The DBM gradient of one mini-batch: a mean-field positive phase and a persistent
    negative phase (Salakhutdinov & Hinton 2009, algorithm 1).

    1. *positive phase*: the visible units at the data, the hidden units at the means
       ``mu`` of the mean-field posterior (:func:`mean_field`: at most ``positive_sweeps``
       iterations, stopping at ``tol``);
    2. *negative phase*: ``k`` sweeps of block Gibbs sampling of the persistent chains;
    3. the gradient ``<-dE/dtheta>_{data, q} - <-dE/dtheta>_{chains}`` (times ``scale``),
       for a coupling ``<v mu^T>_data - <v h^T>_chains``: one weighted pass over the
       clamped rows and the chains together.

    Pass it to :func:`graphmrf.fit` as the rule, which hands it the persistent chains,
    ``k``, ``positive_sweeps``, its workspace and its learning rate: ``gm.fit(prog, X,
    rule=mean_field_pcd, lr=decaying_rate(0.01, 50), k=5)``; other ``tol`` and
    ``damping`` through ``functools.partial(mean_field_pcd, tol=..., damping=...)``.

    Parameters
    ----------
    program : Program
        As for :func:`mean_field`.
    data : array (examples, visible columns)
    rng : Generator or seed
    k : int
        Gibbs sweeps of the chains per update.
    chains : array (chains, columns)
        The persistent chains (in the Program's dtype and backend), advanced in place and
        returned.
    mean_field : bool, optional
        Negative-phase statistics of the layers the sweep drew last (a DBM's odd layers)
        from their conditional means given the rest (less variance, same expectation);
        default False (the sampled units).
    positive_sweeps : int
        Largest number of mean-field iterations.
    workspace : Workspace, optional
        The caller's reused buffers (:func:`graphmrf.fit` passes one).
    out : dict, optional
        Arrays shaped like ``params`` that receive the gradient.
    scale : float
        Multiplies the gradient (the learning rate).
    tol, damping : float
        Of the mean-field iteration.

    Returns
    -------
    (dict, array)
        The gradient (keys of ``program.params``) and the chains.

    Raises
    ------
    TypeError
        If ``program`` is not a Program, or an option of the wrong type.
    ModelError
        For a model :func:`mean_field` cannot handle.
    ValueError
        Without persistent chains, for chains or rows of the wrong width, or an option out
        of its range.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.dbm([6, 4, 3], seed=0), seed=0)
    >>> X = np.random.default_rng(0).integers(0, 2, (20, 6))
    >>> hist = gm.fit(prog, X, rule=mean_field_pcd, epochs=2, lr=0.05, chains=10, monitors=("log_likelihood",))
    >>> len(hist["log_likelihood"]), hist.persistent.shape
    (3, (10, 13))
    """
    if chains is None:
        raise ValueError(
            "mean_field_pcd: chains must be the persistent chains, an array (chains, columns); got None "
            "(graphmrf.fit passes them: rule=mean_field_pcd)"
        )
    rng = as_generator(rng, program.backend)
    chains = program.check_shape(chains, "chains")
    ws = Workspace() if workspace is None else workspace
    structure = _Structure.of(program, "mean_field_pcd", ws)
    data = _check_rows(program, data, "mean_field_pcd")
    clamped, free, both = _rows(program, ws, data.shape[0], chains)
    # dense couplings: the products of this step through row-major copies of W^T
    products = _Products(program, structure, ws) if structure.feeds is not None else None
    # 1. positive phase: the data and the mean-field means of the hidden layers
    place_visible(program, clamped, data)
    _infer(program, clamped, structure, tol, positive_sweeps, damping, upward=True, products=products, report=False)
    # 2. negative phase: k sweeps of block Gibbs sampling of the persistent chains
    for _ in range(k):
        _sweep_chains(program, free, rng, structure, products, ws)
    # 3. <.>_data - <.>_chains in one weighted pass over both
    drawn = _rao_blackwell(program, free, structure) if mean_field else []
    grad = program.sufficient_stats(
        both, weights=_weights(program, ws, clamped.shape[0], free.shape[0], scale), out=out
    )
    for sl, units in drawn:  # the chains keep their sampled units
        free[:, sl] = units
    chains[...] = free
    return grad, chains


def _sweep_chains(program, free, rng, structure, products, ws):
    """One sweep of block Gibbs sampling of the chains (:func:`_dense_sweep` when the
    products are at hand)."""
    if products is None:
        block_gibbs(program, free, rng, inplace=True, workspace=ws)
    else:
        _dense_sweep(program, free, rng, structure, products, ws)


def _rows(program, ws, n0, chains):
    """The clamped rows and a copy of the chains as the two halves of one work array, so
    that the statistics of both phases are one weighted pass. Returns ``(clamped, free,
    both)``."""
    chains = program.check_shape(chains, "chains")
    both = ws.array("mean_field_pcd", (n0 + int(chains.shape[0]), program.n_columns), program.dtype, program.xp)
    both[n0:] = chains
    return both[:n0], both[n0:], both


def _weights(program, ws, n0, n1, scale):
    """``+scale/n0`` for each clamped row and ``-scale/n1`` for each chain (kept per size)."""
    held = ws.get("mean_field_pcd weights")
    if held is None or held[0] != (n0, n1, scale):
        xp, dt = program.xp, program.dtype
        w = xp.concatenate([xp.full(n0, scale / n0, dtype=dt), xp.full(n1, -scale / n1, dtype=dt)])
        held = ws.put("mean_field_pcd weights", ((n0, n1, scale), w))
    return held[1]


def _rao_blackwell(program, free, structure):
    """Replace the layers of the last block (drawn last) by their conditional means given
    the rest; returns the sampled values to put back."""
    hidden = {L.index for L in structure.hidden}
    T = program.statistic(free)
    drawn = []
    for part in program.blocks[-1]:
        L = part.layer
        if L.index in hidden and part.whole:
            x = program.field(T, L)
            drawn.append((L.sl, free[:, L.sl].copy()))
            free[:, L.sl] = L.ops.expected_state(x, L.params, 1.0, L.width, consume=True)
    return drawn


@checked(program=InstanceOf(Program), seed=Seed())
def chains_at_data(program, data, *, seed=None):
    r"""Persistent chains that start at data rows: the visible units at the rows, each hidden
    unit drawn from its mean-field posterior ``q(h_j)`` (:func:`mean_field`).

    Chains started at random states spend the first updates far from the model, and the
    negative phase then pulls the parameters toward undoing noise; started at the data they
    begin near the pre-trained model's equilibrium. Pass them to :func:`graphmrf.fit` as
    ``persistent=``.

    Parameters
    ----------
    program : Program
        As for :func:`mean_field`.
    data : array (chains, visible columns)
        One row per chain.
    seed : int or Generator, optional

    Returns
    -------
    array (chains, columns)
        In the Program's dtype, every unit in its support.

    Raises
    ------
    TypeError
        If ``program`` is not a Program, ``data`` not an array of real numbers, or ``seed``
        not a seed.
    ModelError
        For a model :func:`mean_field` cannot handle.
    ValueError
        For rows of the wrong width or with NaN.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.dbm([6, 4, 3], seed=0))
    >>> s = chains_at_data(prog, np.eye(6)[:5], seed=0)
    >>> s.shape, bool(np.array_equal(s[:, :6], np.eye(6)[:5])), set(np.unique(s)) <= {0.0, 1.0}
    ((5, 13), True, True)
    """
    structure = _Structure(program, "chains_at_data")
    data = _check_rows(program, data, "chains_at_data")  # named here, not as mean_field's
    q = mean_field(program, data).means
    rng = program.generator(seed)
    xp = program.xp
    for L in structure.hidden:
        mu = q[:, L.sl]
        if L.kind.onehot:  # a category per unit, drawn by Gumbel-max from the means
            g = -xp.log(-xp.log(xp.clip(rng.random(mu.shape, dtype=q.dtype), 1e-12, 1 - 1e-7)))
            logp = xp.log(xp.clip(mu, 1e-30, None)) + g
            idx = xp.argmax(logp.reshape(q.shape[0], L.n, L.width), axis=2)
            q[:, L.sl] = (xp.arange(L.width)[None, None, :] == idx[..., None]).reshape(q.shape[0], -1)
        else:
            lo, hi = L.ops.d.values
            u = rng.random(mu.shape, dtype=q.dtype)
            q[:, L.sl] = lo + (hi - lo) * (u < (mu - lo) / (hi - lo))
    return q


@checked(initial=Real(0.0, closed="neither"), tau=Real(0.0, closed="neither"), floor=Real(0.0))
def decaying_rate(initial, tau, *, floor=0.0):
    r"""A learning-rate schedule ``lr(epoch) = max(initial * tau / (tau + epoch - 1), floor)``
    for :func:`graphmrf.fit`.

    Stochastic approximation (the persistent chains of PCD) converges when the rates
    satisfy ``sum lr = inf`` and ``sum lr^2 < inf``, which the ``1/t`` decay does; the rate
    halves after ``tau`` epochs.

    Parameters
    ----------
    initial : float > 0
        The rate of the first epoch.
    tau : float > 0
        Epochs until the rate has halved.
    floor : float >= 0
        The rate never falls below this (0: it decays for ever).

    Returns
    -------
    function
        ``lr(epoch)`` for epochs 1, 2, ..., to pass as ``graphmrf.fit(..., lr=...)``.

    Raises
    ------
    TypeError
        If an argument is not a number.
    ValueError
        If ``initial`` or ``tau`` is not a finite real > 0, or ``floor`` is negative.

    Examples
    --------
    >>> lr = decaying_rate(0.01, 10)
    >>> [round(lr(e), 5) for e in (1, 11, 31)]
    [0.01, 0.005, 0.0025]
    """

    def lr(epoch):
        return max(initial * tau / (tau + epoch - 1), floor)

    lr.__name__ = f"decaying_rate({initial}, {tau})"
    return lr


# --------------------------------------------------------------------------- greedy pre-training
class Pretraining(NamedTuple):
    """What :func:`pretrain` trained: the ``rbms`` (compiled, bottom first; the bottom one
    with a doubled visible layer, the top one with a doubled hidden layer) and each one's
    training ``histories``.

    Attributes
    ----------
    rbms : list of Program
        The trained RBMs, bottom first.
    histories : list of History
        Each RBM's :func:`graphmrf.fit` history, in the same order.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.dbm([6, 4, 3], seed=0))
    >>> pre = pretrain(prog, np.eye(6), epochs=2, batch_size=3, seed=0)
    >>> len(pre.rbms), [h["epoch"] for h in pre.histories]
    (2, [[0, 1, 2], [0, 1, 2]])
    """

    rbms: list
    histories: list


def _chain(program, where):
    """The layers of a DBM bottom-up and the coupling keys between them, each with whether
    its weight is stored (lower layer, upper layer)."""
    structure = _Structure(program, where)
    if len(structure.visible) != 1 or program.layers[0] is not structure.visible[0]:
        raise ModelError(f"{where}: expected a DBM whose first layer is the only visible one (graphmrf.dbm)")
    layers = program.layers
    links = []
    for i in range(len(layers) - 1):
        found = [c for c in program.couplings if {c.a.index, c.b.index} == {i, i + 1} and c.type == "undirected"]
        if len(found) != 1 or found[0].sparse:
            raise ModelError(
                f"{where}: expected one dense coupling between layers {layers[i].name!r} and {layers[i + 1].name!r}"
            )
        links.append((found[0].key, found[0].a.index == i))
    if len(program.couplings) != len(links):
        extra = [c.key for c in program.couplings if c.key not in {k for k, _ in links}]
        raise ModelError(f"{where}: expected couplings between consecutive layers only (a DBM); got also {extra}")
    for L in layers[1:]:
        if L.kind.name != "binary":
            raise ModelError(
                f"{where}: hidden layer {L.name!r} has {L.kind.name!r} units; pre-training builds binary RBMs"
            )
    if layers[0].kind.name not in ("binary", "gaussian"):
        raise ModelError(
            f"{where}: visible layer {layers[0].name!r} has {layers[0].kind.name!r} units; "
            "expected 'binary' or 'gaussian'"
        )
    return layers, links


def _hidden_means(program, data, chunk=10000):
    """``E[h | v]`` of an RBM for visible rows, in chunks (on the host, the Program's dtype)."""
    xp = program.xp
    L = program.layer_of("h")
    out = np.empty((data.shape[0], L.cols), dtype=program.dtype)
    for a in range(0, data.shape[0], chunk):
        rows = xp.asarray(data[a : a + chunk], dtype=program.dtype)
        s = xp.zeros((rows.shape[0], program.n_columns), dtype=program.dtype)
        place_visible(program, s, rows)
        x = program.field(program.statistic(s), L)
        out[a : a + chunk] = to_host(L.ops.expected_state(x, L.params, 1.0, L.width, consume=True))
    return out


@checked(
    program=InstanceOf(Program),
    epochs=COUNT,
    lr=AnyOf(Real(0.0, closed="neither"), Function()),
    rule=Options("cd", "pcd"),
    k=COUNT,
    batch_size=COUNT,
    momentum=Real(0.0, 1.0, closed="left"),
    weight_decay=Real(0.0),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    stop_when=AnyOf(None, Function()),
)
def pretrain(
    program,
    data,
    *,
    epochs=10,
    lr=0.05,
    rule="cd",
    k=1,
    batch_size=100,
    momentum=0.5,
    weight_decay=0.0,
    monitors=("weight_norm",),
    seed=None,
    progress=None,
    stop_when=None,
):
    r"""Greedy layer-wise pre-training of a DBM (Salakhutdinov & Hinton 2009, section 3.1),
    composed into ``program.params`` in place.

    A stack of RBMs is trained bottom-up with :func:`graphmrf.fit`, each on the hidden means
    ``E[h | v]`` of the one below. In the DBM each middle layer hears both its neighbours,
    while an RBM hears one; the RBMs are changed so that the composed model counts every
    input once:

    * the bottom RBM has its visible layer *doubled* (``[v, v]`` with tied weights and
      biases, :func:`graphmrf.constraints.tied`): its ``p(h1 | v) = sigmoid(2 v W1 + c1)`` stands for the DBM's
      ``sigmoid(v W1 + W2 h2 + b1)``;
    * the top RBM has its hidden layer doubled: ``p(h_{L-1} | h_L) = sigmoid(2 W_L h_L + a)``;
    * middle RBMs are plain, and their weights are *halved* in the DBM.

    The DBM then takes ``W1`` and ``W_L`` as learned and ``W_l / 2`` in between; the
    visible biases from the bottom RBM, the top biases from the top RBM, and each middle
    layer's biases the mean of its two RBMs' (the geometric mean of their conditionals). A
    DBM with one hidden layer is an RBM and is trained as one.

    Parameters
    ----------
    program : Program
        A DBM (:func:`graphmrf.dbm`: layers ``v, h1, ..., hL``, binary hidden units, binary or
        gaussian visible units); its parameters are overwritten.
    data : array (examples, visible columns)
    epochs, lr, rule, k, batch_size, momentum, weight_decay, monitors, seed, progress, stop_when
        For each RBM's :func:`graphmrf.fit` (``rule``: "cd" or "pcd"; ``stop_when`` may end
        an RBM's training early, e.g. on a time budget).

    Returns
    -------
    Pretraining
        The trained RBMs and their histories.

    Raises
    ------
    TypeError
        If ``program`` is not a Program, ``data`` not an array of real numbers, or an
        option of the wrong type.
    ModelError
        When ``program`` is not a DBM.
    ValueError
        For data of the wrong width or with NaN, or an option out of its range.
    DivergenceError
        From an RBM's :func:`graphmrf.fit`, when a step makes a parameter non-finite.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> X = gm.datasets.bars_and_stripes(3)
    >>> prog = gm.compile(gm.dbm([9, 6, 4], seed=0), dtype=np.float64)
    >>> pre = pretrain(prog, X, epochs=20, lr=0.1, seed=0)
    >>> [[(L.name, L.n) for L in r.layers] for r in pre.rbms]    # doubled v, then doubled h
    [[('v', 18), ('h', 6)], [('v', 6), ('h', 8)]]
    >>> W2 = pre.rbms[1].params["v~h.weight"]
    >>> bool(np.array_equal(prog.params["h1~h2.weight"], W2[:, :4]))
    True
    """
    layers, links = _chain(program, "pretrain")
    data = to_host(_check_rows(program, data, "pretrain"))
    # drawn on the host: the program's own generator where it is NumPy's (compile(seed=...) holds)
    rng = program.generator(seed) if program.backend.name == "numpy" else as_generator(seed)
    L = len(layers) - 1
    options = dict(
        epochs=epochs,
        lr=lr,
        k=k,
        batch_size=batch_size,
        momentum=momentum,
        weight_decay=weight_decay,
        monitors=monitors,
        progress=progress,
        stop_when=stop_when,
    )
    vis = layers[0]
    sigma = to_host(program.get(vis.name, "sigma")) if vis.kind.name == "gaussian" else 1.0
    rbms, histories, below = [], [], data
    for i in range(1, L + 1):
        n_in, n_out = layers[i - 1].n, layers[i].n
        double_v, double_h = i == 1 and L > 1, i == L and L > 1
        v_kind = vis.kind.name if i == 1 else "binary"
        rows = np.hstack([below, below]) if double_v else below
        g = _rbm_graph(
            n_in * (2 if double_v else 1),
            n_out * (2 if double_h else 1),
            visible=v_kind,
            sigma=np.tile(np.ravel(sigma), 2) if (double_v and v_kind == "gaussian") else sigma,
            seed=int(rng.integers(2**31)),
            data=rows if v_kind == "binary" else None,
        )
        W = g.edges["v", "h"]["weight"]
        if double_v:  # the copies start equal and stay tied
            W[n_in:] = W[:n_in]
        if double_h:
            W[:, n_out:] = W[:, :n_out]
        rbm = _compile(g, backend=program.backend, dtype=program.dtype)
        estimator = tied(rule, "v") if double_v else tied(rule, "h") if double_h else rule
        histories.append(_fit(rbm, rows, estimator, int(rng.integers(2**31)), options))
        rbms.append(rbm)
        if i < L:
            below = _hidden_means(rbm, rows)
    _compose(program, layers, links, rbms)
    return Pretraining(rbms, histories)


def _fit(rbm, rows, estimator, seed, options):
    return fit(rbm, rows, rule=estimator, seed=seed, **options)


def _compose(program, layers, links, rbms):
    """Write the RBMs' parameters into the DBM (see :func:`pretrain`)."""
    L = len(rbms)
    host = [{k: to_host(v) for k, v in r.params.items()} for r in rbms]
    params = program.params
    xp = program.xp
    for i, (key, lower_first) in enumerate(links, start=1):
        W = host[i - 1]["v~h.weight"]
        n_in, n_out = layers[i - 1].cols, layers[i].n
        W = W[:n_in, :n_out]  # the first copy of a doubled layer
        if L > 1 and 1 < i < L:
            W = W / 2  # a middle RBM: halved
        params[key][...] = xp.asarray(W if lower_first else W.T, dtype=program.dtype)
    for j, layer in enumerate(layers):
        for name in layer.params:
            own = []
            if j >= 1:  # the hidden side of RBM j
                own.append(host[j - 1][f"h.{name}"][: layer.cols])
            if j < L:  # the visible side of RBM j + 1
                own.append(host[j][f"v.{name}"][: layer.cols])
            params[f"{layer.name}.{name}"][...] = xp.asarray(np.mean(own, axis=0), dtype=program.dtype)


# --------------------------------------------------------------------------- AIS
class AISEstimate(NamedTuple):
    """An AIS estimate of ``log Z``: ``log_z``, its ``stderr`` (delta method:
    ``std(w) / (mean(w) sqrt(n))``), the effective sample size ``ess = (sum w)^2 / sum w^2``,
    the runs' ``log_weights``, ``log_z_base`` and the ``seconds`` it took.

    Attributes
    ----------
    log_z : float
        The estimate, ``log_z_base + log mean(w)``.
    stderr : float
        Its standard error by the delta method.
    ess : float
        Effective sample size of the weights, between 1 and the number of runs.
    log_weights : array (runs,)
        Each run's log importance weight, float64 on the host.
    log_z_base : float
        ``log Z`` of the base model (exact).
    seconds : float
        Wall-clock time of the estimate.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> est = log_partition(gm.compile(gm.dbm([6, 4, 3], seed=0)), n_chains=20, betas=50, seed=0)
    >>> est.log_weights.shape, bool(1 <= est.ess <= 20), bool(est.stderr >= 0)
    ((20,), True, True)
    """

    log_z: float
    stderr: float
    ess: float
    log_weights: np.ndarray
    log_z_base: float
    seconds: float


def _summed_block(program, where):
    """``(summed block, other blocks)``: the block of whole hidden layers (a DBM's odd
    layers) summed out analytically, the others sampled; every coupling must join the two."""
    structure = _Structure(program, where)
    hidden = {L.index for L in structure.hidden}
    found = [b for b in program.blocks if all(p.whole and p.layer.index in hidden for p in b)]
    if not found:
        raise ModelError(f"{where}: no block of whole hidden layers to sum out (expected a DBM or an RBM)")
    summed = max(found, key=lambda b: sum(p.layer.cols for p in b))
    inside = {p.layer.index for p in summed}
    for c in program.couplings:
        if (c.a.index in inside) == (c.b.index in inside):
            raise ModelError(
                f"{where}: coupling {c.key} does not join the summed layers to the others; expected a bipartite "
                "model of layers (a DBM)"
            )
    return summed, [b for b in program.blocks if b is not summed]


def _base_parameters(program, data):
    """The base model: the target's biases (visible biases from ``data``'s frequencies when
    given, binary units), no couplings."""
    base = {k: program.xp.array(v, copy=True) for k, v in program.params.items()}
    for c in program.couplings:
        base[c.key][...] = 0
    if data is not None:
        for L in program.layers:
            if L.visible.all() and L.kind.name == "binary":
                cols = np.searchsorted(program.visible_columns, np.arange(L.sl.start, L.sl.stop))
                p = np.clip(np.asarray(to_host(data), dtype=np.float64)[:, cols].mean(axis=0), 1e-3, 1 - 1e-3)
                base[f"{L.name}.bias"][...] = program.xp.asarray(np.log(p / (1 - p)), dtype=program.dtype)
    return base


@checked(program=InstanceOf(Program), n_chains=Integer(2), seed=Seed(), progress=AnyOf(None, Boolean()))
def log_partition(program, *, n_chains=100, betas=10000, data=None, seed=None, progress=None):
    r"""Annealed importance sampling of ``log Z`` of a DBM, the odd layers summed out
    (Salakhutdinov & Hinton 2009, section 4; Salakhutdinov & Murray 2008).

    The path runs from a base model with the target's biases (visible ones from ``data``)
    and no couplings, whose ``log Z`` is a sum of one-unit terms, to the target, through
    ``p_k`` with couplings ``beta_k W`` and biases ``(1 - beta_k) b_base + beta_k b``. The
    state is the even layers ``e = (v, h2, ...)``; the odd ones are summed analytically,

    .. math:: \log p^*_k(e) = -\sum_{\text{even}} f_k(s) + \sum_{\text{odd } j}
              \log \sum_{h_j} e^{\ell_k(h_j;\, \beta_k x_j(e))},

    (for binary units ``softplus(b_j + beta_k x_j)``), so the importance weight of a run is
    ``prod_k p*_k(e_k) / p*_{k-1}(e_k)``. Between steps the chains move by one Gibbs sweep
    at ``p_k`` (odd layers given the even ones, then the even ones), the same kernels as
    every other sampler, run at the step's parameters. ``log Z = log Z_base + log mean(w)``.

    Parameters
    ----------
    program : Program
        A DBM (or an RBM): the hidden layers of one compiled block are summed out, and every
        coupling joins that block to the rest. Its parameters are read, never changed.
    n_chains : int >= 2
        Independent AIS runs, batched.
    betas : int or increasing array from 0 to 1
        An int K gives K steps evenly spaced in beta.
    data : array (examples, visible columns), optional
        Sets the base model's visible biases (a better-matched start).
    seed : int or Generator, optional
    progress : bool, optional

    Returns
    -------
    AISEstimate

    Raises
    ------
    TypeError
        If ``program`` is not a Program, ``data`` not an array of real numbers, or an
        option of the wrong type.
    ModelError
        When no block of hidden layers can be summed.
    ValueError
        For ``betas`` that are not an integer >= 1 or an increasing array from 0 to 1,
        ``data`` of the wrong width or with NaN, or ``n_chains`` below 2.

    Examples
    --------
    A DBM with one hidden layer is an RBM:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.dbm([8, 5], seed=0, scale=1.0))
    >>> est = log_partition(prog, n_chains=100, betas=500, seed=0)
    >>> bool(abs(est.log_z - gm.exact.log_partition(prog)) < 4 * est.stderr + 0.01)
    True
    """
    started = time.perf_counter()
    summed, others = _summed_block(program, "log_partition")
    betas = _schedule(betas)
    if data is not None:  # (a wrong width reached NumPy's IndexError, NaN a NaN estimate)
        data = _check_rows(program, data, "log_partition")
    rng = program.generator(seed)
    work = program.copy()  # the path moves its parameters
    summed_w = next(b for b in work.blocks if [p.layer.index for p in b] == [p.layer.index for p in summed])
    others_w = [b for b in work.blocks if b is not summed_w]
    xp = work.xp
    target = {k: xp.array(v, copy=True) for k, v in work.params.items()}
    base = _base_parameters(work, data)
    couplings = {c.key for c in work.couplings}
    odd = [p.layer for p in summed_w]
    odd_ids = {L.index for L in odd}

    def set_beta(b):
        for key, v in work.params.items():
            v[...] = b * target[key] if key in couplings else (1 - b) * base[key] + b * target[key]

    def fields(s):
        """The odd layers' inputs at the target couplings (``program``'s own), in float64;
        at ``beta`` they are ``beta`` times these."""
        T = program.statistic(s)
        return {L.index: xp.asarray(program.field(T, program.layers[L.index]), dtype=np.float64) for L in odd}

    base64 = {k: xp.asarray(v, dtype=np.float64) for k, v in base.items()}
    target64 = {k: xp.asarray(v, dtype=np.float64) for k, v in target.items()}

    def log_weight(s, F, b):
        """``log p*_beta(e)`` per chain, in float64 (the odd layers summed)."""
        lw = xp.zeros(s.shape[0], dtype=np.float64)
        for L in work.layers:
            p = {n: (1 - b) * base64[f"{L.name}.{n}"] + b * target64[f"{L.name}.{n}"] for n in L.params}
            if L.index in odd_ids:
                lw += xp.sum(L.ops.log_partition(b * F[L.index], p, 1.0, L.width), axis=1)
            else:
                lw -= xp.sum(L.ops.self_energy(xp.asarray(s[:, L.sl], dtype=np.float64), p), axis=1)
        return lw

    ws = Workspace()
    # exact draws from the base model (no couplings): one sweep of the even layers
    set_beta(0.0)
    s = work.random_state(n_chains, seed=rng)
    _sweep_even(work, s, others_w, rng, ws)
    F = fields(s)
    log_w = xp.zeros(n_chains, dtype=np.float64)
    prev = log_weight(s, F, 0.0)
    with Progress(betas.size - 1, "AIS (DBM)", progress) as bar:
        for b in betas[1:]:
            b = float(b)
            log_w += log_weight(s, F, b) - prev
            if b < 1:
                set_beta(b)
                _sweep(work, s, F, b, summed_w, others_w, rng, ws)
                F = fields(s)
                prev = log_weight(s, F, b)
            bar.update()
    log_w = to_host(log_w)
    log_z_base = _base_log_z(work, base)
    m = log_w.max()
    w = np.exp(log_w - m)
    mean = w.mean()
    se = float(w.std(ddof=1) / (mean * np.sqrt(n_chains)))
    return AISEstimate(
        log_z_base + m + float(np.log(mean)),
        se,
        float(w.sum() ** 2 / (w**2).sum()),
        log_w,
        log_z_base,
        time.perf_counter() - started,
    )


def _sweep_even(work, s, others, rng, ws):
    """The units of the blocks ``others`` (the even layers) drawn given the rest, in place."""
    T = work.statistic(s)
    for block in others:
        for part in block:
            work.update_part(s, T, part, rng, workspace=ws)


def _sweep(work, s, F, beta, summed, others, rng, ws):
    """One Gibbs sweep at the step's parameters: the odd layers given the even ones (their
    input is ``beta F``, already computed), then the even layers."""
    T = work.statistic(s)
    for part in summed:
        work.update_part(s, T, part, rng, x=work.xp.asarray(beta * F[part.layer.index], dtype=work.dtype), workspace=ws)
    _sweep_even(work, s, others, rng, ws)


def _base_log_z(work, base):
    """``log Z`` of the base model: a sum of one-unit log-partition functions."""
    xp = work.xp
    total = 0.0
    for L in work.layers:
        p = {n: xp.asarray(base[f"{L.name}.{n}"], dtype=np.float64) for n in L.params}
        total += float(to_host(xp.sum(L.ops.log_partition(xp.zeros((1, L.cols), dtype=np.float64), p, 1.0, L.width))))
    return total


def _schedule(betas):
    """``betas`` as an increasing float64 array from 0 to 1 (an int K: K even steps)."""
    if isinstance(betas, (int, np.integer)) and not isinstance(betas, bool):
        if betas < 1:
            raise ValueError(
                f"log_partition: betas must be an integer >= 1 or an increasing array from 0 to 1; got {betas}"
            )
        return np.linspace(0.0, 1.0, int(betas) + 1)
    try:
        arr = np.asarray(betas, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"log_partition: betas must be an integer >= 1 or an increasing array from 0 to 1; got {betas!r}"
        ) from None
    if arr.ndim != 1 or arr.size < 2 or arr[0] != 0 or arr[-1] != 1 or np.any(np.diff(arr) <= 0):
        raise ValueError(
            "log_partition: betas must be an integer >= 1 or an increasing array from 0 to 1; got "
            f"an array of shape {arr.shape}"
        )
    return arr
