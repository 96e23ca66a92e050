r"""Gradient estimators for maximum likelihood: the Boltzmann learning rule and its kin.

Every estimator returns the gradient of the mean log-likelihood of a batch of visible
vectors,

.. math:: \nabla_\theta \frac1N \sum_n \log p(v_n) =
          \langle -\partial_\theta E \rangle_{\text{data}} - \langle -\partial_\theta E \rangle_{\text{model}},

as a dict keyed like ``program.params`` -- for a coupling ``w_ij`` that is the lecture's
``<s_i s_j>_clamped - <s_i s_j>_free``. The *positive* (clamped) phase averages the
sufficient statistics with the visible units held at the data and the hidden ones from
``p(h | v)`` -- analytically when the hidden units are conditionally independent, by
clamped Gibbs sampling otherwise; the *negative* (free) phase averages them over samples of
the model. Each phase is normalised by its own number of rows or chains.

* :func:`contrastive_divergence` -- CD-k (the free chains start at the data) and PCD-k
  (persistent chains): the one training step of :func:`graphmrf.fit`;
* :func:`boltzmann_gradient` -- the lecture's rule with both phases sampled and the free
  chains started afresh, with Monte Carlo standard errors;
* :func:`exact_gradient` -- both phases by enumeration (tiny models).

The lecture's machine with the data "v = 11": the clamped phase raises every coupling.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")), dtype=np.float64)
>>> g = exact_gradient(prog, np.array([[1, 1]]))
>>> np.round(g["units[binary]~units[binary].weight"], 3).tolist()
[0.172, 0.198, 0.11]
"""

from typing import NamedTuple

import numpy as np

from . import exact
from .arguments import COUNT, AnyOf, Boolean, InstanceOf, Integer, checked
from .backend import as_generator
from .errors import ModelError
from .layout import Part
from .program import Program
from .samplers.gibbs import block_gibbs
from .support import check_data, check_state
from .workspace import Workspace

__all__ = [
    "contrastive_divergence",
    "boltzmann_gradient",
    "exact_gradient",
    "positive_phase",
    "negative_phase",
    "Phase",
    "summed_layers",
    "place_visible",
]


class Phase(NamedTuple):
    """One phase of the Boltzmann rule: ``stats`` (batch mean of ``-dE/dtheta``),
    ``state`` (the chains at the end) and ``stderr`` (Monte Carlo standard error of each
    mean; None unless asked for, zeros where the mean is exact).

    Attributes
    ----------
    stats : dict
        ``<-dE/dtheta>`` of each parameter over the phase's chains.
    state : array (chains, columns)
        The chains at the end.
    stderr : dict or None
        Standard errors of ``stats`` (batch means over independent chains).

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0), dtype=np.float64)
    >>> phase = positive_phase(prog, np.array([[1, 0]]), 0, errors=True)
    >>> phase.stats["v.bias"].tolist(), phase.stderr["v.bias"].tolist(), phase.state.shape
    ([1.0, 0.0], [0.0, 0.0], (1, 3))
    """

    stats: dict
    state: object
    stderr: dict


@checked(program=InstanceOf(Program))
def exact_gradient(program, data):
    """Both phases by exact enumeration (see :func:`graphmrf.exact.log_likelihood_grad`).

    Parameters
    ----------
    program : Program
        A model small enough to enumerate.
    data : array (rows, visible columns)
        Visible vectors, every value in its unit's support.

    Returns
    -------
    dict
        The gradient of the mean log-likelihood, keyed like ``program.params`` (float64).

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If ``data`` has the wrong shape or a value outside its unit's support.
    EnumerationTooLargeError
        If the model is too large to enumerate.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0), dtype=np.float64)
    >>> sorted(exact_gradient(prog, np.array([[1, 0]])))
    ['h.bias', 'v.bias', 'v~h.weight']
    """
    return exact.log_likelihood_grad(program, data)


def place_visible(program, state, data):
    """Write ``data`` into the visible columns of ``state`` (a slice when they are one run).

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (rows, columns)
        Written in place.
    data : array (rows, visible columns)
        The visible values, in declared order.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0))
    >>> state = np.zeros((2, 3))
    >>> place_visible(prog, state, np.array([[1, 0], [0, 1]]))
    >>> state.tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    vis = program.visible_columns
    if vis.size and vis[-1] - vis[0] + 1 == vis.size:
        state[:, int(vis[0]) : int(vis[-1]) + 1] = data
    else:
        state[:, program.xp.asarray(vis)] = data


def summed_layers(program):
    """``(layers, column mask)`` of the hidden units when every one sits in a whole layer
    that can be summed analytically (an RBM, a BM without hidden-hidden couplings), else
    None.

    Parameters
    ----------
    program : Program
        The compiled model.

    Returns
    -------
    (list of Layer, bool array (columns,)) or None

    Examples
    --------
    >>> import graphmrf as gm
    >>> layers, mask = summed_layers(gm.compile(gm.rbm(2, 1, seed=0)))
    >>> layers, mask.tolist()
    ([Layer('h', kind='binary', n=1)], [False, False, True])
    >>> summed_layers(gm.compile(gm.boltzmann(2, 2, seed=0))) is None  # h~h couples them
    True
    """
    summed = program.hidden_summable()
    if summed is None:
        return None
    hidden = [L for L in program.layers if L.n and summed[L.sl].all()]
    return (hidden, summed) if int(summed.sum()) == sum(L.cols for L in hidden) else None


# --------------------------------------------------------------------------- CD and PCD
@checked(program=InstanceOf(Program), k=COUNT, mean_field=AnyOf(None, Boolean()), positive_sweeps=Integer(0))
def contrastive_divergence(
    program, data, rng, *, k=1, chains=None, mean_field=None, positive_sweeps=10, workspace=None, out=None, scale=1.0
):
    """The CD-k / PCD-k gradient of one mini-batch: the lecture's pseudo-code, batched.

    1. *positive phase*: visible units at the data, hidden units given them -- their
       means ``E[h | v]`` when they can be summed (an RBM), else ``positive_sweeps``
       sweeps of clamped Gibbs sampling;
    2. the free chains start at the data with ``h`` drawn from ``p(h | v)`` (CD,
       ``chains=None``) or continue where they were (PCD, ``chains`` an array);
    3. ``k`` sweeps of block Gibbs sampling of the free chains;
    4. *negative phase*: the chains' statistics; the gradient is
       ``<-dE/dtheta>_data - <-dE/dtheta>_chains`` (times ``scale``).

    Parameters
    ----------
    program : Program
        The model; its parameters are read, not changed.
    data : array (examples, visible columns)
        A mini-batch; NaN marks an *absent* unit (CD only): each example is then its own
        RBM over the units it observed, sharing the weights -- the absent unit is held at
        zero in both phases, so it adds nothing to the hidden units' input and gets no
        gradient (the collaborative-filtering RBM).
    rng : Generator or seed
        Random generator of the sampled phases.
    k : int
        Gibbs sweeps of the free chains.
    chains : array (chains, columns), optional
        PCD's persistent chains: advanced in place and returned (passing the returned
        array back continues them). None: CD-k.
    mean_field : bool, optional
        Free-phase statistics of summable hidden units from the chains' ``E[h | v]``
        (the same expectation, less variance) instead of their sampled values. Default:
        True for CD (Hinton's guide: the last hidden update uses probabilities), False for
        PCD (its chains carry sampled units anyway).
    positive_sweeps : int
        Clamped Gibbs sweeps when the hidden units cannot be summed.
    workspace : Workspace, optional
        The caller's reused buffers (a training loop passes one). With a workspace, CD's
        returned chains live in it and are valid until the next call with it; without
        one they are the caller's.
    out : dict, optional
        Arrays shaped like ``params`` that receive the gradient (no allocation per batch).
    scale : float
        Multiplies the gradient (a training loop passes its learning rate: free).

    Returns
    -------
    (dict, array)
        The gradient (keys of ``program.params``) and the free chains.

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (a count below its minimum).
        Also if ``data`` or ``chains`` has the wrong shape or a value outside its unit's
        support.
    ModelError
        If ``data`` has missing values and ``chains`` is given (PCD).

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(6, 4, seed=0), seed=0)
    >>> v = np.random.default_rng(0).integers(0, 2, (8, 6))
    >>> g, chains = contrastive_divergence(prog, v, np.random.default_rng(1), k=1)
    >>> sorted(g), g["v~h.weight"].shape, chains.shape
    (['h.bias', 'v.bias', 'v~h.weight'], (6, 4), (8, 10))
    """
    rng = as_generator(rng, program.backend)
    ws = Workspace() if workspace is None else workspace
    cd = chains is None
    plan = _Plan.of(program, ws, cd, cd if mean_field is None else bool(mean_field))
    data, absent = _batch(program, data, cd)
    clamped, free, caller = _work_rows(program, ws, data, chains)
    # 1. positive phase: the visible units at the data, the hidden units given them
    positive = _positive_phase(program, plan, clamped, data, rng, ws, positive_sweeps, fused=plan.fuse and not cd)
    # 2. the free chains start at the data (CD) or continue (PCD)
    keep = _absent_mask(program, absent, ws)
    if cd:
        _start_at_data(program, plan, free, clamped, positive, rng, ws, copy_all=keep is not None)
    # 3. k sweeps of block Gibbs (the last one also gives the inputs the statistics reuse)
    negative_fields = _sweeps(program, plan, free, clamped, positive, k, rng, keep, ws, cd)
    # 4. negative phase, and <.>_data - <.>_model
    grad = _contrast(program, plan, clamped, free, positive, negative_fields, ws, out, scale)
    if caller is not None:
        caller[...] = free
        free = caller
    return grad, free


def _batch(program, data, cd):
    """The mini-batch checked against its units' kinds (:func:`graphmrf.support.check_data`);
    NaN (absent units, CD only) become zeros, returned with their mask."""
    xp = program.xp
    data = check_data(program, data, missing=True, means=True)
    flat = data.reshape(-1)
    # one dot product (a BLAS pass, several times faster than a sum) is finite for data
    # without NaN unless it overflows: the mask is made only then
    if np.isfinite(float(xp.dot(flat, flat))):
        return data, None
    absent = xp.isnan(data)
    if not bool(xp.any(absent)):
        return data, None
    if not cd:
        raise ModelError(
            "data: missing values (NaN) make each example its own RBM; train them with rule='cd' (CD-k), not "
            "persistent chains"
        )
    return xp.where(absent, 0, data), absent


def _work_rows(program, ws, data, chains):
    """The clamped rows and the free chains, as the two halves of one work array: the
    final weighted pass over both then needs no concatenation. Returns ``(clamped, free,
    caller)``, ``caller`` being PCD chains to copy the advanced ones back into (None when
    the caller passed back the work array's own rows)."""
    xp = program.xp
    n0 = data.shape[0]
    if chains is not None:
        chains = program.check_shape(chains, "chains")
    n1 = n0 if chains is None else int(chains.shape[0])
    both = ws.array("contrastive_divergence", (n0 + n1, program.n_columns), program.dtype, xp)
    clamped, free = both[:n0], both[n0:]
    caller = None
    if chains is not None and not _same_array(chains, free):  # the caller's chains: checked, copied in
        free[...] = check_state(program, chains, "chains")
        caller = chains
    return clamped, free, caller


def _same_array(a, b):
    """True when ``a`` and ``b`` are the same memory with the same layout (NumPy only)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )


def _absent_mask(program, absent, ws):
    """The clamp mask holding absent visible units at zero in the free phase, or None."""
    if absent is None:
        return None
    keep = program.xp.zeros((absent.shape[0], program.n_columns), dtype=bool)
    keep[:, program.xp.asarray(program.visible_columns)] = absent
    return keep


class _Positive:
    """The positive phase: the hidden layers' inputs and means given the data (analytic),
    or the clamped chains' statistics (sampled)."""

    __slots__ = ("fields", "mean", "stats")

    def __init__(self):
        self.fields, self.mean, self.stats = {}, {}, None


def _positive_phase(program, plan, clamped, data, rng, ws, sweeps, fused):
    """Clamp the visible units of ``clamped`` at ``data`` and find the hidden units given
    them. ``fused``: PCD ends its sweep with the hidden layers, and their inputs for the
    clamped rows are then computed in the same matrix product as the chains' (the means
    are filled in by :func:`_sweeps`)."""
    positive = _Positive()
    if not plan.summable:  # coupled hidden units: clamped Gibbs chains from a random start
        clamped[...] = program.random_state(clamped.shape[0], seed=rng)
        place_visible(program, clamped, data)
        for _ in range(sweeps):
            block_gibbs(program, clamped, rng, clamp=plan.visible, inplace=True, workspace=ws)
        positive.stats = program.sufficient_stats(clamped)
        return positive
    if plan.zero_hidden:  # statistics of the hidden columns are computed: keep them finite
        for L in plan.hidden:
            clamped[:, L.sl] = 0
    place_visible(program, clamped, data)
    if fused:
        return positive
    T = program.statistic(clamped)
    for L in plan.hidden:
        x = program.field(T, L)
        positive.fields[L.index] = x
        if plan.linear:  # the 0/1 layers give up their input: the mean is computed in its memory
            positive.mean[L.index] = L.ops.expected_state(x, L.params, 1.0, L.width, consume=L.index in plan.bernoulli)
    return positive


def _start_at_data(program, plan, free, clamped, positive, rng, ws, copy_all=False):
    """CD: the free chains start at the clamped rows, hidden units drawn from p(h | v)
    (``copy_all``: every column is copied, as held absent units must be)."""
    if not plan.summable:
        free[...] = clamped
        return
    if plan.copy_all or copy_all:
        free[...] = clamped
    else:  # the sweep's first block redraws every other layer from the hidden units alone
        for sl in plan.copy_slices:
            free[:, sl] = clamped[:, sl]  # statistics must stay finite
    xp = program.xp
    T = program.statistic(free)
    for L in plan.hidden:
        if L.index in plan.bernoulli:
            # a 0/1 unit from its mean: the same uniforms and draw as update_part, without
            # computing the sigmoid a second time
            mean = positive.mean[L.index]
            xp.less(ws.uniform(rng, mean.shape, program.dtype, xp), mean, out=free[:, L.sl])
        else:
            program.update_part(free, T, Part(L, 0, L.n), rng, x=positive.fields[L.index].copy(), workspace=ws)


def _sweeps(program, plan, free, clamped, positive, k, rng, keep, ws, cd):
    """``k`` block-Gibbs sweeps of the free chains, in place; returns the hidden layers'
    inputs of the last sweep when the negative phase can reuse them."""
    T = program.statistic(free)
    fields = {}
    for sweep in range(k):
        last = sweep == k - 1
        for part, is_hidden in plan.parts:
            if last and is_hidden and plan.fuse and not cd:
                fields.update(_fused_hidden_update(program, plan, part, free, clamped, positive, T, rng, ws))
            elif last and is_hidden and plan.reuse:
                x = program.field(T, part.layer)  # E[h | v] of the free chains needs this input
                fields[part.layer.index] = x
                if not cd:  # CD discards its chains: the last hidden draw is not needed
                    program.update_part(free, T, part, rng, x=x.copy(), workspace=ws)
            else:
                program.update_part(free, T, part, rng, keep=keep, workspace=ws)
    if plan.mean_field and plan.summable and not plan.reuse:
        fields = {L.index: program.field(T, L) for L in plan.hidden}
    return fields


def _fused_hidden_update(program, plan, part, free, clamped, positive, T, rng, ws):
    """PCD's last hidden update: one matrix product gives the input of the clamped rows
    (their means: the positive phase) and of the chains (their draw)."""
    L = part.layer
    n0 = clamped.shape[0]
    both = ws.array("contrastive_divergence", (n0 + free.shape[0], program.n_columns), program.dtype, program.xp)
    x_all = program.field(program.statistic(both), L)
    positive.mean[L.index] = L.ops.expected_state(x_all[:n0], L.params, 1.0, L.width, consume=L.index in plan.bernoulli)
    x = x_all[n0:]
    fields = {}
    if plan.mean_field:
        fields[L.index] = x
        x = x.copy()
    program.update_part(free, T, part, rng, x=x, workspace=ws)
    return fields


def _contrast(program, plan, clamped, free, positive, fields, ws, out, scale):
    """``scale * (<-dE/dtheta>_clamped - <-dE/dtheta>_free)``."""
    if plan.linear:
        # statistics affine in the state (binary, spin, softmax): a summed unit contributes
        # those of its mean, so both phases are one pass over the clamped rows and the
        # chains, weighted +1/n0 and -1/n1 (the chains keep their sampled hidden units)
        n0, n1 = clamped.shape[0], free.shape[0]
        drawn = []
        for L in plan.hidden:
            clamped[:, L.sl] = positive.mean[L.index]
            if plan.mean_field:
                if not plan.cd:  # PCD's chains keep their sampled hidden units
                    drawn.append((L.sl, free[:, L.sl].copy()))
                free[:, L.sl] = L.ops.expected_state(fields[L.index], L.params, 1.0, L.width, consume=True)
        both = ws.array("contrastive_divergence", (n0 + n1, program.n_columns), program.dtype, program.xp)
        grad = program.sufficient_stats(both, weights=plan.weights(n0, n1, scale), out=out)
        for sl, units in drawn:
            free[:, sl] = units
        return grad
    if plan.summable:
        grad = program.sufficient_stats(clamped, summed=plan.summed, fields=positive.fields, out=out)
    else:
        grad = positive.stats if out is None else {key: _assign(out[key], v) for key, v in positive.stats.items()}
    work = ws.get("negative statistics") or ws.put(
        "negative statistics", {key: program.xp.empty_like(v) for key, v in program.params.items()}
    )
    summed = plan.summed if plan.mean_field and plan.summable else None
    negative = program.sufficient_stats(free, summed=summed, fields=fields or None, out=work)
    for key in grad:
        grad[key] -= negative[key]
        if scale != 1.0:
            grad[key] *= scale
    return grad


def _assign(dst, src):
    dst[...] = src
    return dst


class _Plan:
    """What :func:`contrastive_divergence` decides from the model's structure alone: kept
    in the workspace while the blocks stay and the hidden units' independence is
    structural (it is recomputed when it depends on which weights are zero)."""

    @classmethod
    def of(cls, program, ws, cd, mean_field):
        key = ("cd plan", cd, mean_field)
        plan = ws.get(key)
        if plan is not None and plan.blocks is program.blocks:
            return plan
        plan = cls(program, cd, mean_field)
        if _structurally_independent(program, ~program.visible_mask):
            ws.put(key, plan)
        return plan

    def __init__(self, program, cd, mean_field):
        self.blocks = program.blocks
        self.cd, self.mean_field = cd, mean_field
        self.visible = program.visible_mask
        found = summed_layers(program)
        self.summable = found is not None
        self.hidden, self.summed = found if found is not None else ([], None)
        ids = {L.index for L in self.hidden}
        self.linear = self.summable and all(L.ops.linear_in_state for L in self.hidden)
        self.bernoulli = {
            L.index
            for L in self.hidden
            if self.linear and not L.kind.onehot and tuple(getattr(L.ops.d, "values", ())) == (0, 1)
        }
        self.zero_hidden = not (self.linear and program.identity_statistic)
        first = {p.layer.index for p in program.blocks[0] if p.whole}
        # whole layers in the first block have no couplings among them: when every non-hidden
        # layer is there, it is redrawn from the hidden units alone and nothing else is copied
        self.copy_all = not all(L.index in first for L in program.layers if L.index not in ids)
        self.copy_slices = [] if program.identity_statistic else [L.sl for L in program.layers if L.index not in ids]
        self.parts = [(p, p.layer.index in ids) for b in program.blocks for p in b]
        free_last = max(
            (i for i, b in enumerate(program.blocks) if any(p.layer.index not in ids for p in b)), default=-1
        )
        last_hidden = all(i > free_last for i, b in enumerate(program.blocks) if any(p.layer.index in ids for p in b))
        self.reuse = self.summable and mean_field and last_hidden
        # the hidden layers, whole, close the sweep: their input can take the clamped rows too
        whole = all(p.whole for p, h in self.parts if h)
        self.fuse = self.linear and last_hidden and whole and bool(self.hidden)
        self.xp, self.dtype = program.xp, program.dtype
        self._w = {}

    def weights(self, n0, n1, scale):
        """``+scale/n0`` for each clamped row and ``-scale/n1`` for each chain."""
        key = (n0, n1, scale)
        w = self._w.get(key)
        if w is None:
            if len(self._w) > 8:
                self._w.clear()
            xp, dt = self.xp, self.dtype
            w = self._w[key] = xp.concatenate([xp.full(n0, scale / n0, dtype=dt), xp.full(n1, -scale / n1, dtype=dt)])
        return w


def _structurally_independent(program, mask):
    """True when no coupling has columns of ``mask`` at both ends (so the answer of
    :meth:`Program.independent` cannot change with the weights)."""
    return not any(mask[c.a.sl].any() and mask[c.b.sl].any() for c in program.couplings)


# --------------------------------------------------------------------------- the sampled Boltzmann rule
def _stats_and_se(program, state, summed=None, n_batches=50):
    """Mean statistics over chains and their standard errors by batch means: the chains
    are independent, so the spread of the means of ``n_batches`` groups gives the error."""
    xp = program.xp
    n = state.shape[0]
    mean = program.sufficient_stats(state, summed=summed)
    b = min(n_batches, n)
    if b < 2:
        return mean, {k: xp.zeros_like(v) for k, v in mean.items()}
    edges = np.linspace(0, n, b + 1).astype(int)
    sq = {k: 0 for k in mean}
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = program.sufficient_stats(state[lo:hi], summed=summed)
        w = (hi - lo) / n
        for k in s:
            sq[k] = sq[k] + w * (s[k] - mean[k]) ** 2
    # var(mean) = var(batch mean) / b, with the batch means weighted by their sizes
    return mean, {k: xp.sqrt(sq[k] * b / (b - 1) / b) for k in mean}


@checked(
    program=InstanceOf(Program), sweeps=Integer(0), chains_per_example=COUNT, errors=Boolean(), draw_hidden=Boolean()
)
def positive_phase(program, data, rng, *, sweeps=10, chains_per_example=1, state=None, errors=False, draw_hidden=True):
    """Clamped statistics: visible units at the data, hidden units from p(h | v).

    Analytic when the hidden units are conditionally independent given the visible ones
    (an RBM, a Boltzmann machine without hidden-hidden couplings); otherwise
    ``chains_per_example`` clamped Gibbs chains per example run ``sweeps`` sweeps (from
    ``state`` when given, e.g. the last positive phase's chains). ``draw_hidden=False``
    skips drawing analytically summed hidden units into the returned state.

    Parameters
    ----------
    program : Program
        The compiled model.
    data : array (examples, visible columns)
        The visible vectors.
    rng : Generator or seed
        Random generator of the clamped chains and the hidden draws.
    sweeps : int
        Clamped Gibbs sweeps (when the hidden units cannot be summed).
    chains_per_example : int
        Clamped chains per example.
    state : array (rows, columns), optional
        Where the clamped chains' hidden units start.
    errors : bool
        Whether to estimate standard errors.
    draw_hidden : bool
        Whether to draw summed hidden units into the returned state.

    Returns
    -------
    Phase

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (a count below its minimum), or ``data`` lies
        outside its units' support (:func:`graphmrf.support.check_data`).

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0), dtype=np.float64)
    >>> positive_phase(prog, np.array([[1, 0]]), 0).stats["v.bias"].tolist()
    [1.0, 0.0]
    """
    xp = program.xp
    rng = as_generator(rng, program.backend)
    data = check_data(program, data)
    rows = xp.repeat(data, chains_per_example, axis=0) if chains_per_example > 1 else data
    summed = program.hidden_summable()
    init = (
        program.random_state(rows.shape[0], seed=rng)
        if summed is None
        else xp.zeros((rows.shape[0], program.n_columns), dtype=program.dtype)
    )
    place_visible(program, init, rows)
    mask = xp.asarray(program.visible_mask)
    if state is not None:
        init[:, ~mask] = xp.asarray(state)[:, ~mask]
    if summed is not None:
        T = program.statistic(init)
        fields = {L.index: program.field(T, L) for L in program.layers if L.n and summed[L.sl].all()}
        if errors:
            mean, se = _stats_and_se(program, init, summed)
        else:
            mean, se = program.sufficient_stats(init, summed=summed, fields=fields), None
        if draw_hidden:
            for L in program.layers:
                if L.index in fields:
                    program.update_part(
                        init, program.statistic(init), Part(L, 0, L.n), rng, 1.0, x=fields[L.index].copy()
                    )
        return Phase(mean, init, se)
    for _ in range(sweeps):
        init, _ = block_gibbs(program, init, rng, clamp=mask, inplace=True)
    mean, se = _stats_and_se(program, init) if errors else (program.sufficient_stats(init), None)
    return Phase(mean, init, se)


@checked(program=InstanceOf(Program), sweeps=Integer(0), errors=Boolean())
def negative_phase(program, state, rng, *, sweeps=1, errors=False, clamp=None):
    """Free statistics: ``sweeps`` Gibbs sweeps of (a copy of) the chains in ``state``,
    then their mean (units where ``clamp`` is True keep their values).

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        Where the free chains start (copied).
    rng : Generator or seed
        Random generator of the sweeps.
    sweeps : int
        Block Gibbs sweeps before the statistics.
    errors : bool
        Whether to estimate standard errors (batch means over the chains).
    clamp : bool array, optional
        Units that keep their values.

    Returns
    -------
    Phase

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (a count below its minimum).

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0))
    >>> phase = negative_phase(prog, prog.random_state(200, seed=0), 0, sweeps=2, errors=True)
    >>> sorted(phase.stats) == sorted(phase.stderr), bool(phase.stderr["v.bias"].max() < 0.1)
    (True, True)
    """
    rng = as_generator(rng, program.backend)
    s = program.xp.array(check_state(program, state), copy=True)
    for _ in range(sweeps):
        s, _ = block_gibbs(program, s, rng, clamp=clamp, inplace=True)
    mean, se = _stats_and_se(program, s) if errors else (program.sufficient_stats(s), None)
    return Phase(mean, s, se)


@checked(
    program=InstanceOf(Program), chains=AnyOf(None, COUNT), sweeps=COUNT, positive_sweeps=Integer(0), errors=Boolean()
)
def boltzmann_gradient(program, data, rng, *, chains=None, sweeps=100, positive_sweeps=10, errors=False):
    """The lecture's Boltzmann learning rule, both phases sampled: ``<s_i s_j>_clamped -
    <s_i s_j>_free`` with the free chains started afresh (independent draws) and run
    ``sweeps`` sweeps -- an estimate of the exact gradient once they have mixed, with Monte
    Carlo standard errors (``errors=True``) from the chains' independence.

    Parameters
    ----------
    program : Program
        The compiled model.
    data : array (examples, visible columns)
        The visible vectors.
    rng : Generator or seed
        Random generator of both phases.
    chains : int, optional
        Free chains (default: one per example).
    sweeps : int
        Sweeps of the free chains.
    positive_sweeps : int
        Clamped sweeps (when the hidden units cannot be summed).
    errors : bool
        Whether to estimate standard errors.

    Returns
    -------
    (dict, Phase, Phase)
        The gradient and the two phases.

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule (a count below its minimum).

    Examples
    --------
    The lecture's machine with the data "v = 11", against the exact gradient:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")), dtype=np.float64)
    >>> g, pos, neg = boltzmann_gradient(prog, np.repeat([[1, 1]], 500, axis=0), 0, sweeps=30)
    >>> key = "units[binary]~units[binary].weight"
    >>> g[key].shape
    (3,)
    >>> g, pos, neg = boltzmann_gradient(prog, np.repeat([[1, 1]], 2000, axis=0), 0, sweeps=30, errors=True)
    >>> se = np.sqrt(pos.stderr[key] ** 2 + neg.stderr[key] ** 2)
    >>> bool(np.all(np.abs(g[key] - exact_gradient(prog, [[1, 1]])[key]) < 4 * se))
    True
    """
    rng = as_generator(rng, program.backend)
    pos = positive_phase(program, data, rng, sweeps=positive_sweeps, errors=errors)
    start = program.random_state(chains or int(np.shape(data)[0]), seed=rng)
    neg = negative_phase(program, start, rng, sweeps=sweeps, errors=errors)
    return {k: pos.stats[k] - neg.stats[k] for k in pos.stats}, pos, neg
